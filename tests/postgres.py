"""A throwaway PostgreSQL server from Debian's packages (installed by `make test`), on a free loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from streams.kafka.broker import free_port


def binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@dataclass(frozen=True)
class PostgresServer:
    url: str  # SQLAlchemy URL of the empty database made for the test
    bin_dir: str
    home: str
    port: int
    as_user: tuple[str, ...]  # initdb refuses to run as root: run the server as Debian's postgres user then

    def run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.run(f"{self.bin_dir}/pg_ctl", "-D", os.path.join(self.home, "data"), "-w", "-t", "30", "-l",
                 os.path.join(self.home, "server.log"), "-o",
                 f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the database fails over."""
        self.run(f"{self.bin_dir}/pg_ctl", "-D", os.path.join(self.home, "data"), "-w", "-m", "fast", "stop")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A running server with an empty database; the server and its files are gone afterwards."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    as_user = ("runuser", "-u", "postgres", "--") if os.geteuid() == 0 else ()
    home = tempfile.mkdtemp(prefix="editsync-pg-")
    if as_user:
        shutil.chown(home, "postgres")
    port = free_port()
    server = PostgresServer(f"postgresql+psycopg://editsync@127.0.0.1:{port}/editsync", bin_dir, home, port, as_user)
    try:
        server.run(f"{bin_dir}/initdb", "-D", os.path.join(home, "data"), "-U", "editsync", "--auth=trust", "-E", "UTF8")
        server.start()
        try:
            server.run(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "editsync", "editsync")
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)
