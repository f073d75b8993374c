"""`editsync` honours a stop signal from its first instruction (streams/wiring/entry.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# SIGTERM arrives while the CLI's modules are still being imported, before any command has armed its own
# handlers: deterministic, where a signal sent after a sleep could land before or after that moment.
SIGNALLED_WHILE_IMPORTING = """
import builtins, os, signal, sys
from streams.wiring import entry
sys.argv = ["editsync", "run"]
real_import = builtins.__import__
def signalled(name, *args, **kwargs):
    if name == "streams.wiring.cli":
        os.kill(os.getpid(), signal.SIGTERM)
    return real_import(name, *args, **kwargs)
builtins.__import__ = signalled
entry.main()
print("went on")
"""


def test_a_stop_signal_during_the_imports_is_a_clean_stop():
    done = subprocess.run([sys.executable, "-c", SIGNALLED_WHILE_IMPORTING], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "went on" not in done.stdout and "Traceback" not in done.stderr
