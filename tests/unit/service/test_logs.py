"""No secret in a log line: the redacting filter on its own, and on the handlers mode's logging set-up makes.

The whole-log scan of a real ``editsync run`` at debug is in tests/integration/test_hostile_probe.py.
"""

from __future__ import annotations

import base64
import logging

import pytest
from mode.utils.logging import setup_logging

from streams.runtime.logs import KnownSecrets, Redactor, install

SECRETS = ["whsec-Ab/c+d=", "shpat_123", "pvx-pass", base64.b64encode(b"pvx-pass").decode(), "cb-token-9"]


@pytest.fixture
def redactor() -> Redactor:
    redactor = Redactor()
    redactor.protect(SECRETS)
    return redactor


def formatted(redactor: Redactor, message: str, *args: object, exc: BaseException | None = None) -> str:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, message, args,
                               (type(exc), exc, exc.__traceback__) if exc else None)
    assert redactor.filter(record) is True  # never drops a line
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize("line", [
    "HTTP Request: POST http://127.0.0.1:6066/webhooks/peoplevox?token=cb-token-9&order=1001 \"200 OK\"",
    "HTTP Request: POST http://h/webhooks/peoplevox?event=S&token=unconfigured-token&at=1",
    "callback url http://h/p?order=1&access_token=zzz",
    "<ns0:password>cHZ4LXBhc3M=</ns0:password>",
    "<ns0:SessionId>a1b2c3</ns0:SessionId>",
    "headers {'Authorization': 'Bearer nsuite-xyz', 'X-Shopify-Access-Token': 'shpat_123'}",
    "X-Shopify-Hmac-Sha256: c2lnbmF0dXJl",
    "secret in an encoded url: whsec-Ab%2Fc%2Bd%3D",
    'token answer {"access_token": "eyJhbGciOi.x.y", "token_type": "Bearer", "expires_in": 3600}',
    "grant_type=client_credentials&client_assertion_type=jwt-bearer&client_assertion=eyJhbGciOi.x.y",
])
def test_secrets_and_credentials_are_redacted(redactor, line):
    text = formatted(redactor, "%s", line)
    assert "[redacted]" in text
    for secret in [*SECRETS, "unconfigured-token", "zzz", "a1b2c3", "nsuite-xyz", "c2lnbmF0dXJl", "whsec-Ab%2Fc%2Bd%3D",
                   "eyJhbGciOi"]:
        assert secret not in text


def test_a_traceback_is_redacted_too(redactor):
    try:
        raise RuntimeError("Client error for url 'http://h/cb?token=cb-token-9'")
    except RuntimeError as error:
        text = formatted(redactor, "failed", exc=error)
    assert "Traceback" in text and "cb-token-9" not in text and "token=[redacted]" in text


def test_percent_signs_in_a_redacted_message_survive_a_second_formatting(redactor):
    # mode's formatter wraps args again (a None becomes (None,)): the message must not be formatted twice.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "100%% of %s", ("shpat_123",), None)
    redactor.filter(record)
    redactor.filter(record)
    assert record.getMessage() == "100% of [redacted]"


def test_install_reaches_the_handlers_modes_logging_set_up_creates(redactor, capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(loglevel="DEBUG")  # what Faust's worker does at start: new root handlers, on stderr
        install(redactor)
        logging.getLogger("httpx").info("HTTP Request: POST http://h/webhooks/peoplevox?token=%s", "cb-token-9")
        logging.getLogger("zeep.transports").debug("<ns0:password>%s</ns0:password>", SECRETS[3])
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    written = capsys.readouterr().err
    assert "token=[redacted]" in written and "cb-token-9" not in written and SECRETS[3] not in written


def test_known_secrets_in_texts_for_people_spare_short_values_but_not_encoded_forms():
    """The inbox's responses: a development value like "x" stays (it would garble every word), a real secret
    goes whether it appears as given or URL-encoded."""
    known = KnownSecrets(["x", "whsec-Ab/c+d="], min_length=8)
    assert known.hide("next: whsec-Ab/c+d= and whsec-Ab%2Fc%2Bd%3D") == "next: [redacted] and [redacted]"
