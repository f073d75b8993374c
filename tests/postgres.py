"""A throwaway PostgreSQL server from Debian's packages (installed by `make test`), on a free loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from streams.kafka.broker import free_port


def binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL of an empty database; the server and its files are gone afterwards."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    # initdb refuses to run as root: run the server as Debian's postgres user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    home = tempfile.mkdtemp(prefix="editsync-pg-")
    if as_user:
        shutil.chown(home, "postgres")
    data, port = os.path.join(home, "data"), free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=60)

    try:
        run(f"{bin_dir}/initdb", "-D", data, "-U", "editsync", "--auth=trust", "-E", "UTF8")
        run(f"{bin_dir}/pg_ctl", "-D", data, "-w", "-t", "30", "-l", os.path.join(home, "server.log"), "-o",
            f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        try:
            run(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "editsync", "editsync")
            yield f"postgresql+psycopg://editsync@127.0.0.1:{port}/editsync"
        finally:
            run(f"{bin_dir}/pg_ctl", "-D", data, "-w", "-m", "fast", "stop")
    finally:
        shutil.rmtree(home, ignore_errors=True)
