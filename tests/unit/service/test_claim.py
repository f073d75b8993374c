"""One `editsync run` per data dir and per web port, refused up front (streams/wiring/claim.py)."""

from __future__ import annotations

import os
import socket

import pytest

from streams.runtime.settings import ConfigError
from streams.wiring.claim import DataDirClaim, require_free_port


def test_a_data_dir_in_use_is_refused_naming_the_holder_and_free_again_once_released(tmp_path):
    with DataDirClaim(tmp_path):
        with pytest.raises(ConfigError, match=rf"EDITSYNC_DATA_DIR .* in use by another editsync run \(pid {os.getpid()}\)"):
            DataDirClaim(tmp_path).__enter__()
    with DataDirClaim(tmp_path):  # released when the holder stopped
        pass


def test_a_web_port_someone_listens_on_is_refused_and_a_free_one_is_not():
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's server does
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(ConfigError, match=f"EDITSYNC_WEB_PORT {port} on 127.0.0.1 is in use"):
            require_free_port("127.0.0.1", port)
    require_free_port("127.0.0.1", port)
