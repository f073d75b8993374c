"""Who may read and act on exceptions (pure): the API's bearer token, the inbox's session and CSRF tokens.

The API takes ``Authorization: Bearer <token>`` and nothing else, so a browser
never sends its credentials to it by itself. The inbox signs a person in with
the same token and keeps only a signed session in its cookie (the name they
gave and when, under an HMAC keyed by the token): the token never goes back
to the browser, and rotating it ends every session. Every form that changes
something carries a CSRF token derived from the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

SESSION_MAX_AGE_MS = 12 * 3600 * 1000


def _mac(token: str, *parts: str) -> str:
    digest = hmac.new(token.encode(), "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def bearer_ok(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def token_ok(presented: str, token: str) -> bool:
    return hmac.compare_digest(presented.strip().encode(), token.encode())


@dataclass(frozen=True)
class Session:
    name: str
    issued_at: int

    def cookie(self, token: str) -> str:
        name = base64.urlsafe_b64encode(self.name.encode()).decode().rstrip("=")
        return f"{name}.{self.issued_at}.{_mac(token, 'session', name, str(self.issued_at))}"

    @classmethod
    def from_cookie(cls, value: str | None, token: str, now: int) -> Session | None:
        """The session a cookie proves, or None when it is absent, forged, or too old."""
        try:
            name, issued, mac = (value or "").split(".")
            issued_at = int(issued)
            decoded = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(mac.encode(), _mac(token, "session", name, issued).encode()):
            return None
        if not 0 <= now - issued_at <= SESSION_MAX_AGE_MS:
            return None
        return cls(decoded, issued_at)


def csrf_token(token: str, cookie: str) -> str:
    return _mac(token, "csrf", cookie)


def csrf_ok(presented: str | None, token: str, cookie: str) -> bool:
    return hmac.compare_digest((presented or "").encode(), csrf_token(token, cookie).encode())


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser names the page a POST came from; a form posted from another site is refused.

    No Origin header (older clients, curl) is accepted here: the CSRF token still has to match.
    """
    if not origin:
        return True
    return origin.split("://", 1)[-1].rstrip("/") == (host or "")
