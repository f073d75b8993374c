"""NetSuite OAuth 2.0 client credentials (machine to machine): a signed JWT buys a 60-minute access token.

Oracle's NetSuite help, "OAuth 2.0 Client Credentials Flow": the client
POSTs ``grant_type=client_credentials``, ``client_assertion_type=
urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a JWT
``client_assertion`` to ``<account>.suitetalk.api.netsuite.com/services/rest/
auth/oauth2/v1/token``. The JWT header names ``alg`` (PS256/384/512 or
ES256/384/512) and ``kid`` (the certificate id of the mapping); its payload
``iss`` (the integration record's client id), ``scope``, ``aud`` (the token
endpoint), ``iat`` and ``exp`` (under 60 minutes after ``iat``); it is signed
with the certificate's private key. The answer's ``access_token`` lasts
``expires_in`` seconds (3600); there is no refresh token, so the client asks
again. Tokens are renewed ahead of expiry and once more when a request is
answered 401.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from connectors.errors import PermanentError, TransientError
from streams.core.details import ResultDetail

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300  # well under the 60 minutes NetSuite allows between iat and exp
RENEW_BEFORE_S = 60.0
EC_ALGORITHMS = {"secp256r1": ("ES256", hashes.SHA256, 32), "secp384r1": ("ES384", hashes.SHA384, 48),
                 "secp521r1": ("ES512", hashes.SHA512, 66)}


class ClientCredentials:
    """Access tokens for one integration record, renewed before they expire."""

    def __init__(self, token_url: str, client_id: str, certificate_id: str, private_key_pem: bytes,
                 client: httpx.AsyncClient, scope: str = "rest_webservices",
                 clock: Callable[[], float] = time.time) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._certificate_id = certificate_id
        self._key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(self._key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise ValueError("the NetSuite certificate key must be RSA (PS256) or EC (ES256/384/512)")
        self._client = client
        self._scope = scope
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.issued = 0

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                await self._request_token()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """The API refused this token (401): the next call asks for a new one, unless one came meanwhile."""
        if self._token == token:
            self._token = None

    def assertion(self) -> str:
        now = int(self._clock())
        alg, sign = self._signer()
        header = {"typ": "JWT", "alg": alg, "kid": self._certificate_id}
        payload = {"iss": self._client_id, "scope": [self._scope], "aud": self.token_url, "iat": now,
                   "exp": now + ASSERTION_LIFETIME_S, "jti": str(uuid.uuid4())}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
        return f"{signing_input}.{_b64(sign(signing_input.encode()))}"

    def _signer(self) -> tuple[str, Callable[[bytes], bytes]]:
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            return "PS256", lambda data: key.sign(
                data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        alg, digest, size = EC_ALGORITHMS[key.curve.name]

        def sign(data: bytes) -> bytes:  # JWS wants r || s, fixed width, not DER
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest())))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

        return alg, sign

    async def _request_token(self) -> None:
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion()}
        try:
            response = await self._client.post(self.token_url, data=form)
        except httpx.HTTPError as error:
            raise TransientError(f"NetSuite token endpoint unreachable: {type(error).__name__}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"NetSuite token endpoint answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200 or "access_token" not in answer:
            reason = answer.get("error_description") or answer.get("error") or response.status_code
            raise PermanentError(f"NetSuite refused the client credentials: {reason}",
                                 ResultDetail(http_status=response.status_code, error=answer.get("error")))
        lifetime = float(answer.get("expires_in", 3600))
        self._token = str(answer["access_token"])
        self._renew_at = self._clock() + lifetime - min(RENEW_BEFORE_S, lifetime / 10)
        self.issued += 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
