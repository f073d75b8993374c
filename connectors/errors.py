"""How every connector reports failure, so sinks can decide between retrying and raising an exception.

What a system said beyond the reason is a ``ResultDetail``: the result the sink
writes carries it as it is, so the engine and the inbox read what the connector set.
"""

from __future__ import annotations

from streams.core.details import ResultDetail


class ConnectorError(Exception):
    def __init__(self, reason: str, detail: ResultDetail | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or ResultDetail()


class TransientError(ConnectorError):
    """Worth retrying later: throttling, 5xx, timeouts, the system being down."""

    def __init__(self, reason: str, retry_after_s: float | None = None, detail: ResultDetail | None = None) -> None:
        super().__init__(reason, detail)
        self.retry_after_s = retry_after_s


class PermanentError(ConnectorError):
    """Retrying the same request cannot help: refused data, bad credentials, invalid reference."""


class AccessDenied(PermanentError):
    """The system refused because the app lacks a permission; retrying cannot help until a person grants it.

    ``required_access`` names what is missing as the system states it (for Shopify an access scope such as
    ``read_orders``, or protected customer data approval), so the exception it becomes can say what to grant.
    """

    def __init__(self, system: str, required_access: str, detail: ResultDetail | None = None) -> None:
        super().__init__(f"{system} denied access: the app needs {required_access}",
                         (detail or ResultDetail()).model_copy(update={"required_access": required_access}))
        self.required_access = required_access
