"""The `editsync` command's arguments, checked before anything is asked of a running service."""

from __future__ import annotations

import pytest

from streams.service.cli import main
from streams.service.config import ConfigError, Settings


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
])
def test_a_setting_that_cannot_work_stops_every_command_naming_the_variable(variable, value, says, monkeypatch, capsys):
    """Before anything starts (no broker, no sandboxes), exit 2 and one line an operator can act on."""
    monkeypatch.setenv(variable, value)
    assert main(["topics"]) == 2
    err = capsys.readouterr().err
    assert f"editsync: configuration error: {variable}: " in err and says in err and "Traceback" not in err


@pytest.mark.parametrize("secret", ["s", "short-secret"])
def test_a_webhook_secret_too_short_to_be_shopifys_is_a_configuration_error(secret):
    with pytest.raises(ConfigError, match="EDITSYNC_SHOPIFY_WEBHOOK_SECRET is .* characters long"):
        Settings(shopify_webhook_secret=secret).require_webhook_secret()
    assert Settings(shopify_webhook_secret="x" * 16).require_webhook_secret() == b"x" * 16
