"""Logging for ``editsync run``: no secret in any line, whichever library writes it, at any level.

Secrets reach log lines through third-party loggers more than through
editsync's own: httpx logs every request URL at INFO (the Peoplevox callback
URL carries its token in the query string), zeep logs whole SOAP envelopes at
DEBUG (``Authenticate`` carries the Peoplevox password, base64-encoded, and
every later call the session id); NetSuite's OAuth token answer carries an
access token, the token request a signed client assertion. So redaction is a filter on every handler,
applied to the formatted message, the traceback and the stack: every
configured secret (as given, URL-encoded, and in the forms the settings
list), every query parameter and header that carries a credential by name,
and SOAP credential elements.

Faust's worker replaces the root handlers when it starts (mode's
``setup_logging``), so :func:`install` runs again from its
``on_setup_root_logger`` hook.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[redacted]"

_CREDENTIAL_NAMES = (r"(?:token|access_token|refresh_token|id_token|client_assertion|password|passwd|secret|"
                     r"client_secret|api_key|apikey|signature|sessionid)")
_PATTERNS = (
    # ?token=…, &password=… in URLs and query strings
    re.compile(rf"(?i)([?&;]{_CREDENTIAL_NAMES}=)[^&#\s'\"<>]*"),
    # Authorization: Bearer …, X-Shopify-Access-Token: …, X-Shopify-Hmac-Sha256: … (also as dict reprs)
    re.compile(r"(?i)((?:authorization|x-shopify-access-token|x-shopify-hmac-sha256)['\"]?\s*[:=,]\s*['\"]?)"
               r"(?:(?:bearer|basic)\s+)?[^\s'\",}]+"),
    # <password>…</password>, <ns0:SessionId>…</ns0:SessionId> in SOAP envelopes
    re.compile(rf"(?i)(<(?:\w+:)?{_CREDENTIAL_NAMES}(?:\s[^>]*)?>)[^<]*"),
    # "access_token": "…" in JSON (an OAuth token answer), also as a Python repr
    re.compile(rf"(?i)(['\"]{_CREDENTIAL_NAMES}['\"]\s*:\s*['\"])[^'\"]*"),
)


class KnownSecrets:
    """Every secret this process knows, as given and URL-encoded, replaced in any text (longest first).

    ``min_length`` spares texts meant for people from a short development value (``x``) that would
    garble every word it appears in; log lines take every length."""

    def __init__(self, secrets: Iterable[str] = (), min_length: int = 1) -> None:
        self._min_length = min_length
        self._forms: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        forms = set(self._forms)
        for secret in secrets:
            if len(secret) >= self._min_length:
                forms.update((secret, quote(secret, safe=""), quote(secret)))
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def hide(self, text: str) -> str:
        for secret in self._forms:
            text = text.replace(secret, REDACTED)
        return text


class Redactor(logging.Filter):
    """Rewrites each record so that its formatted text carries no secret; never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self._known = KnownSecrets()

    def protect(self, secrets: Iterable[str]) -> None:
        self._known.add(secrets)

    def redact(self, text: str) -> str:
        text = self._known.hide(text)
        for pattern in _PATTERNS:
            text = pattern.sub(rf"\g<1>{REDACTED}", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = Redactor()


def install(redactor: Redactor = REDACTOR) -> None:
    """Put the redactor on every handler there is: the root's, any logger's own, and logging's last resort."""
    loggers = [logging.getLogger()] + [logger for logger in logging.root.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    handlers = {handler for logger in loggers for handler in logger.handlers}
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    for handler in handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)


def configure(level: str, secrets: Iterable[str], redactor: Redactor = REDACTOR) -> None:
    """Logging before the worker starts (broker, sandboxes, topics), redacted from the first line."""
    redactor.protect(secrets)
    logging.basicConfig(level=level.upper(), stream=sys.stdout,
                        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
    logging.captureWarnings(True)
    install(redactor)
