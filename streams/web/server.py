"""The web server editsync runs on Faust: its own views only, and connections that cannot be held open.

Faust mounts built-in pages on the web port by default: ``/router`` and
``/table`` (``GET /table/order-state/<id>/`` serves an order's whole state,
shipping address included, to anyone), and, depending on its settings and
``APP_WEB_*`` environment variables, ``/graph``, ``/stats``, ``/performance``
and an index at ``/``. That port faces Shopify, so none of them is mounted,
whatever Faust's settings say: the only routes are the views editsync
registers itself, each listed in the "HTTP endpoints" table of docs/operating/service-port.md.

aiohttp closes a connection whose request headers are not complete within
``keepalive_timeout`` (the timer starts when the connection is made and
again after every answer), so idle and half-sent-header connections are
bounded by the same setting as idle keep-alives.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.web import AppRunner, UrlDispatcher
from faust.types import AppT
from faust.web.drivers.aiohttp import Web

log = logging.getLogger(__name__)


class EditsyncWeb(Web):
    """Faust's aiohttp driver without Faust's built-in pages, with a bounded idle time per connection."""

    def __init__(self, app: AppT, read_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        # Replaces the driver's runner before it is set up: same application, with timeouts.
        self._runner = AppRunner(self.web_app, access_log=None, keepalive_timeout=read_timeout_s)

    def _enabled_blueprints(self) -> list[tuple[str, Any]]:
        return []

    def init_server(self) -> None:
        super().init_server()
        log.info("web routes: %s", ", ".join(served_routes(self.web_app.router)))


def served_routes(router: UrlDispatcher) -> list[str]:
    """Every ``METHOD /path`` the router answers, in the notation of docs/operating/service-port.md."""
    return sorted({f"{route.method} {route.resource.canonical}" for route in router.routes()
                   if route.resource is not None})
