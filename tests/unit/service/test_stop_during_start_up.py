"""A stop signal during start-up ends ``editsync run`` cleanly wherever it lands, C code included."""

from __future__ import annotations

import signal

import pytest

from streams.runtime.settings import Settings
from streams.wiring import runner
from streams.wiring.shutdown import StopDeadline, StopRequested


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setattr(signal, "signal", lambda *_: None)  # leave the test runner's own handlers alone
    return Settings(shopify_webhook_secret="a-sixteen-char-secret", data_dir=tmp_path)


def raising(error: BaseException):
    def start_up(*_):
        raise error
    return start_up


def test_a_stop_raised_inside_c_code_is_a_stop_not_a_crash(settings, monkeypatch):
    wrapped = SystemError("<class 'Metrics'> returned a result with an exception set")
    wrapped.__cause__ = StopRequested("SIGTERM")
    monkeypatch.setattr(runner, "_run", raising(wrapped))
    runner.run(settings, StopDeadline())  # returns: exit code 0


def test_any_other_system_error_still_fails(settings, monkeypatch):
    monkeypatch.setattr(runner, "_run", raising(SystemError("something else")))
    with pytest.raises(SystemError):
        runner.run(settings, StopDeadline())
