"""What one ``editsync run`` must have to itself before it starts anything: its data dir and its web port.

A second run on the same data dir would start its own embedded broker, find the first's table stores ahead
of that empty broker and discard them under the running worker, and overwrite the first's sandbox
addresses and bootstrap file. A taken web port otherwise surfaces only after the broker and sandboxes
started, as a traceback from deep in the web server. Both are refused up front, as configuration errors.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from streams.runtime.settings import ConfigError

LOCK_FILE = "run.lock"


class DataDirClaim:
    """An exclusive lock on ``<data dir>/run.lock`` for the life of the process (the kernel drops it when the
    process ends, however it ends, so a crash never leaves the data dir claimed)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def __enter__(self) -> DataDirClaim:
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ConfigError(f"EDITSYNC_DATA_DIR {self.path.parent} is in use by another editsync run (pid "
                              f"{holder}): stop it, or give this one a data dir of its own") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock; the file stays, empty of meaning
            self._file = None


def require_free_port(host: str, port: int) -> None:
    """Refuse a web port another process listens on (a second `make run`, say), before anything starts."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise ConfigError(f"EDITSYNC_WEB_HOST {host}:{port} cannot be bound: {error.strerror}") from error
            raise ConfigError(f"EDITSYNC_WEB_PORT {port} on {host} is in use (another editsync run?): stop it, "
                              f"or set another port") from None
