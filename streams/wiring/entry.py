"""The `editsync` command: a stop signal is honoured from its first instruction.

The CLI's imports (pydantic, Faust, confluent-kafka) take a few tenths of a second, and a SIGTERM in
that time used to kill the process (exit 143) before `editsync run` armed its own handlers. Nothing has
started then, so leaving at once is a clean stop: exit 0, as at any later moment. The CLI puts each
command's own handling in place once it knows the command (streams/wiring/cli.py).
"""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stop_before_start(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop_before_start)
    from streams.wiring.cli import main as cli_main  # the slow imports, now interruptible

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
