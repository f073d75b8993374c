"""The Shopify connector tells a bad moment from a refusal, over httpx's MockTransport (no network).

Answers replayed here: Shopify's ``INTERNAL_SERVER_ERROR`` answered with HTTP 200
(shopify.dev changelog "Improved GraphQL errors", whose example this is), a proxy's
HTML page, 5xx, 429, connection errors and timeouts.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.errors import PermanentError, TransientError
from connectors.shopify import ShopifyAdmin

INTERNAL_ERROR = {"errors": [{"message": "Internal error. Looks like something went wrong on our end.",
                              "extensions": {"code": "INTERNAL_SERVER_ERROR",
                                             "requestId": "d2f47302-8559-4961-9a5b-3de60172aa29"}}]}


def shopify_answering(response: httpx.Response | Exception) -> ShopifyAdmin:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    return ShopifyAdmin("https://shop.example", "token", client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                        max_throttle_retries=0)


@pytest.mark.parametrize("response", [
    httpx.Response(200, json=INTERNAL_ERROR),
    httpx.Response(200, text="<html><body>Bad gateway</body></html>"),
    httpx.Response(502, text="<html>Bad gateway</html>"),
    httpx.Response(429, headers={"Retry-After": "0"}),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("timed out"),
], ids=["internal-error-200", "html-200", "502", "429", "connect", "timeout"])
def test_shopify_bad_moments_are_transient(response):
    with pytest.raises(TransientError):
        asyncio.run(shopify_answering(response).fetch_order("1"))


@pytest.mark.parametrize("response", [
    httpx.Response(200, json={"errors": [{"message": "Field 'nope' doesn't exist on type 'Order'",
                                          "extensions": {"code": "undefinedField"}}]}),
    httpx.Response(401, json={"errors": "[API] Invalid API key or access token"}),
], ids=["invalid-query", "401"])
def test_shopify_refusals_are_permanent(response):
    with pytest.raises(PermanentError):
        asyncio.run(shopify_answering(response).fetch_order("1"))
