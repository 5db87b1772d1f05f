"""Office Open XML files (.docx, .xlsx, .pptx) are zips: checked before any reader opens
them, so a damaged, password-protected or bomb-sized file ends as a clear reason.

A password-protected Office file is not a zip at all but an OLE compound file holding an
`EncryptedPackage` stream; a zip bomb declares its unpacked sizes in the central
directory, which zipfile enforces while reading (a member that unpacks to more than it
declares fails its CRC check), so the declared sizes are a safe bound.
"""

from __future__ import annotations

import io
import zipfile

from service.errors import BadDocument, EncryptedDocument, OverBudget
from service.ingest.formats.base import MAX_PACKING_RATIO, MAX_UNPACKED_BYTES

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_package(name: str, data: bytes, kind: str) -> io.BytesIO:
    """The file's bytes, ready for python-docx/openpyxl/python-pptx, once they are known to
    be a sane zip; `kind` ("Word", "Excel", "PowerPoint") is for the reasons."""
    if data.startswith(_OLE_SIGNATURE):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" \
                in data:
            raise EncryptedDocument(name, f"password-protected {kind} file; save a copy "
                                    "without the password")
        raise BadDocument(name, f"an old binary {kind} file (.doc/.xls/.ppt), not Office "
                          "Open XML; save it in the current format")
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BadDocument(name, f"damaged {kind} file (not a readable zip: {exc})") from exc
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise OverBudget(name, f"unpacks to {unpacked:,} bytes (limit "
                         f"{MAX_UNPACKED_BYTES:,}): a zip bomb or a file too big to read")
    for member in members:
        if member.file_size > 10_000_000 and (
                member.file_size > MAX_PACKING_RATIO * max(member.compress_size, 1)):
            raise OverBudget(name, f"{member.filename} packs {member.file_size:,} bytes "
                             f"into {member.compress_size:,} (a zip bomb?)")
    return io.BytesIO(data)
