"""The `editsync` command's arguments, checked before anything is asked of a running service."""

from __future__ import annotations

import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from streams.runtime.settings import ConfigError, Settings
from streams.wiring.cli import main


@pytest.mark.parametrize("argv", [["order", "#1001"], ["order", "1001 "], ["replay", "--order", "#1001"]])
def test_an_order_name_where_an_order_id_belongs_is_refused_with_what_to_give(argv, capsys):
    """Orders are found by Shopify's numeric id; a name would only be answered 404 "no such order"."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert "is not an order id: give Shopify's numeric order id" in capsys.readouterr().err


@pytest.mark.parametrize("variable, value, says", [
    ("EDITSYNC_PEOPLEVOX_CUTOFF_STATUS", "picking", "must be one of New, Picking, Packed, Despatched"),
    ("EDITSYNC_LOG_LEVEL", "verbose", "must be one of debug, info, warning, error"),
    ("EDITSYNC_WEB_PORT", "abc", "valid integer"),
    ("EDITSYNC_RECREATE_MARKERS", r'{"note_patterns": ["edited from #\\d+"]}', "must have exactly one group"),
    ("EDITSYNC_RECREATE_MARKERS", '{"note_patterns": ["(("]}', "is not a regular expression"),
    ("EDITSYNC_RECREATE_MARKERS", r'{"note_patterns": ["from (#\d+)"]}', "is not JSON"),  # \d is no JSON escape
    ("EDITSYNC_PEOPLEVOX_COLUMNS", '{"gift_message": ', "is not JSON"),
    ("EDITSYNC_RECREATE_MARKERS", '{"tag_prefixes": [" "]}', "must not be empty"),
    ("EDITSYNC_RECREATE_MARKERS", '{"tag_prefix": ["orig-"]}', "(tag_prefix): Extra inputs are not permitted"),
])
def test_a_setting_that_cannot_work_stops_every_command_naming_the_variable(variable, value, says, monkeypatch, capsys):
    """Before anything starts (no broker, no sandboxes), exit 2 and one line an operator can act on."""
    monkeypatch.setenv(variable, value)
    assert main(["topics"]) == 2
    err = capsys.readouterr().err
    assert f"editsync: configuration error: {variable}" in err and says in err and "Traceback" not in err


@pytest.mark.parametrize("secret", ["s", "short-secret"])
def test_a_webhook_secret_too_short_to_be_shopifys_is_a_configuration_error(secret):
    with pytest.raises(ConfigError, match="EDITSYNC_SHOPIFY_WEBHOOK_SECRET is .* characters long"):
        Settings(shopify_webhook_secret=secret).require_webhook_secret()
    assert Settings(shopify_webhook_secret="x" * 16).require_webhook_secret() == b"x" * 16


@pytest.fixture
def answering(monkeypatch, tmp_path):
    """A stand-in for the API that answers every request with one canned (status, content type, body);
    the CLI runs from an empty directory, as from anywhere but the server's."""
    answer: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answer["status"])
            self.send_header("Content-Type", answer["type"])
            self.end_headers()
            self.wfile.write(answer["body"].encode())

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.chdir(tmp_path)
    for variable in ("EDITSYNC_API_TOKEN", "EDITSYNC_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("EDITSYNC_API_URL", f"http://127.0.0.1:{server.server_address[1]}")

    def answer_with(status: int, body: str, content_type: str = "application/json") -> None:
        answer.update(status=status, body=body, type=content_type)

    yield answer_with
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("argv", [["exceptions", "list"], ["order", "5000000042"], ["replay", "--order", "5000000042"]])
def test_without_a_token_the_cli_names_where_it_looked_and_makes_none(argv, answering, tmp_path, capsys):
    """A token made here could only be refused by the server (which keeps its own): say where to find the real one."""
    answering(200, "{}")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "editsync: configuration error: no API token" in err
    assert "EDITSYNC_API_TOKEN" in err and ".editsync-data/api-token" in err
    assert not (tmp_path / ".editsync-data").exists(), "nothing written where the CLI happened to run"


@pytest.mark.parametrize("where", ["variable", "file"])
def test_a_token_the_server_refuses_is_said_to_be_the_wrong_one(where, answering, monkeypatch, tmp_path, capsys):
    answering(401, '{"error": "a valid bearer token is required"}')
    if where == "variable":
        monkeypatch.setenv("EDITSYNC_API_TOKEN", "not-the-servers")
    else:
        (tmp_path / ".editsync-data").mkdir()
        (tmp_path / ".editsync-data" / "api-token").write_text("not-the-servers\n")
    assert main(["exceptions", "list"]) == 1
    err = capsys.readouterr().err
    assert "refused the token from" in err and "does not match the server's token" in err
    assert ("EDITSYNC_API_TOKEN" if where == "variable" else ".editsync-data/api-token") in err
    assert "Traceback" not in err


def test_an_error_answer_that_is_not_json_shows_its_status_and_start(answering, monkeypatch, capsys):
    """A proxy in front of the API answers in HTML: show what came back, not a JSON decoding traceback."""
    answering(502, "<html><body>Bad gateway: upstream editsync not reachable</body></html>", "text/html")
    monkeypatch.setenv("EDITSYNC_API_TOKEN", "t" * 20)
    assert main(["order", "5000000042"]) == 1
    err = capsys.readouterr().err
    assert "editsync: 502: Bad Gateway" in err and "upstream editsync not reachable" in err


REAL_SYSTEMS = {"EDITSYNC_SHOPIFY_ADMIN_URL": "https://shop.example", "EDITSYNC_SHOPIFY_ACCESS_TOKEN": "t",
                "EDITSYNC_PEOPLEVOX_URL": "https://pvx.example/C/resources/integrationservicev4.asmx",
                "EDITSYNC_PEOPLEVOX_CLIENT_ID": "C", "EDITSYNC_PEOPLEVOX_USERNAME": "u",
                "EDITSYNC_PEOPLEVOX_PASSWORD": "p", "EDITSYNC_ERP_URL": "https://erp.example",
                "EDITSYNC_ERP_CLIENT_ID": "c", "EDITSYNC_ERP_CERTIFICATE_ID": "k",
                "EDITSYNC_ERP_PRIVATE_KEY_FILE": "/nonexistent/key.pem",
                "EDITSYNC_SHOPIFY_WEBHOOK_SECRET": "x" * 32}


@pytest.mark.parametrize("token", [None, ""])
def test_a_real_peoplevox_without_one_fleet_callback_token_stops_the_start(token, monkeypatch, tmp_path, capsys):
    """A token made per data dir is refused by every other worker the Service hands a callback to: exit 2 at
    start (before any broker is reached), naming the variable and that every worker shares one value."""
    for name, value in {**REAL_SYSTEMS, "EDITSYNC_DATA_DIR": str(tmp_path),
                        "EDITSYNC_KAFKA_BOOTSTRAP": "127.0.0.1:1"}.items():
        monkeypatch.setenv(name, value)
    if token is not None:
        monkeypatch.setenv("EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN", token)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert main(["run"]) == 2
    finally:  # `run` arms its stop handlers first: pytest's own come back
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    err = capsys.readouterr().err
    assert "editsync: configuration error: EDITSYNC_PEOPLEVOX_CALLBACK_TOKEN is required" in err
    assert "the same on every worker" in err and "Traceback" not in err
    assert not (tmp_path / "peoplevox-callback-token").exists(), "no token made for one worker alone"


def test_the_sandboxes_keep_a_callback_token_made_for_the_data_dir(tmp_path):
    """`make run` starts its own Peoplevox (one worker): the token is made once and kept."""
    settings = Settings(data_dir=tmp_path)
    settings.require_downstream()
    assert settings.callback_token() == Settings(data_dir=tmp_path).callback_token() != ""
    configured = Settings(data_dir=tmp_path, peoplevox_callback_token="fleet-token",
                          **{name.removeprefix("EDITSYNC_").lower(): value for name, value in REAL_SYSTEMS.items()})
    configured.require_downstream()
    assert configured.callback_token() == "fleet-token"
