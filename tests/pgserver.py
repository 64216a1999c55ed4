"""A throwaway PostgreSQL server for tests: its own cluster in a temporary directory, on a free
loopback port, trust authentication, stopped and deleted afterwards.

PostgreSQL will not run as root, so under root the cluster belongs to the `postgres` system
user (created by the Debian package) and initdb/pg_ctl run through `runuser`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from itertools import count
from pathlib import Path

INSTALL_HINT = "install the Debian package postgresql (scripts/system-deps.sh)"


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    for candidate in reversed(found):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(on_path):
        return Path(on_path[0]).parent
    raise PostgresUnavailable(f"no initdb/pg_ctl under /usr/lib/postgresql/*/bin: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root and no runuser to drop to postgres")
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError as error:
                raise PostgresUnavailable(f"no postgres system user: {INSTALL_HINT}") from error
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        # Not under pytest's basetemp: that is private to root (0700) and postgres must enter.
        self.root = Path(tempfile.mkdtemp(prefix="office-pg-"))
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self._names = count(1)
        self._started = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.as_postgres, *args], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed (exit {done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}\n{log}"
            )

    def start(self) -> PostgresServer:
        try:
            self._start()
        except BaseException:
            self.stop()  # no half-made cluster left in /tmp
            raise
        return self

    def _start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D", str(self.data),
            "-U", "postgres",
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        # A taken port (another test run) fails the start: try a few.
        for attempt in range(3):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    str(self.bin / "pg_ctl"),
                    "-D", str(self.data),
                    "-l", str(self.log),
                    "-o", options,
                    "-w", "-t", "60",
                    "start",
                )  # fmt: skip
                self._started = True
                break
            except PostgresUnavailable:
                if attempt == 2:
                    raise
                time.sleep(0.5)

    def _admin(self):
        try:
            import psycopg
        except ImportError as error:
            raise PostgresUnavailable(
                "psycopg is not installed: pip install -e '.[postgres]'"
            ) from error
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{next(self._names)}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            if self._started:
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
