"""How every connector reports failure, so sinks can decide between retrying and raising an exception."""

from __future__ import annotations


class ConnectorError(Exception):
    def __init__(self, reason: str, detail: dict | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or {}


class TransientError(ConnectorError):
    """Worth retrying later: throttling, 5xx, timeouts, the system being down."""

    def __init__(self, reason: str, retry_after_s: float | None = None, detail: dict | None = None) -> None:
        super().__init__(reason, detail)
        self.retry_after_s = retry_after_s


class PermanentError(ConnectorError):
    """Retrying the same request cannot help: refused data, bad credentials, invalid reference."""


class AccessDenied(PermanentError):
    """The system refused because the app lacks a permission; retrying cannot help until a person grants it.

    ``required_access`` names what is missing as the system states it (for Shopify an access scope such as
    ``read_orders``, or protected customer data approval), so the exception it becomes can say what to grant.
    """

    def __init__(self, system: str, required_access: str, detail: dict | None = None) -> None:
        super().__init__(f"{system} denied access: the app needs {required_access}",
                         {"required_access": required_access, **(detail or {})})
        self.required_access = required_access
