"""The sandbox's OAuth 2.0 client credentials (machine-to-machine) token endpoint and its access tokens.

Rules, from Oracle's NetSuite help ("OAuth 2.0 Client Credentials Flow"):
- ``POST /services/rest/auth/oauth2/v1/token``, form-encoded, with
  ``grant_type=client_credentials``, ``client_assertion_type=
  urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and
  ``client_assertion`` a JWT signed with the private key of the certificate
  mapped to the integration record ("POST Request to the Token Endpoint and
  the Access Token Response", section_162755359851).
- The assertion's header has ``typ`` JWT, ``alg`` one of PS256, PS384, PS512,
  ES256, ES384, ES512, and ``kid`` the certificate id from the mapping; its
  payload ``iss`` (the integration's client id), ``scope`` (``restlets``,
  ``rest_webservices``, ``suite_analytics``), ``aud`` (the token endpoint
  URL), ``iat`` and ``exp``, where ``exp`` is less than 60 minutes after
  ``iat`` ("The Request Token Structure", section_162790605110). RS256, which
  the page's older example shows, is not in that list: refused here.
- The answer is ``{"access_token", "expires_in", "token_type": "bearer"}``;
  the access token is valid for 60 minutes, and no refresh token is issued in
  this flow: the client asks again (same page). The lifetime is a setting here
  so a test can let tokens expire in seconds.
- Requests carry ``Authorization: Bearer <access token>`` ("OAuth 2.0 for REST
  Web Services", section_157780312610); an expired or unknown token is
  answered 401 ``INVALID_LOGIN`` like any failed login.
- Refusals at the token endpoint use OAuth's own error shape (RFC 6749,
  section 5.2: 400 with ``error`` ``invalid_request``, ``invalid_grant``,
  ``unsupported_grant_type``, ``invalid_scope``); NetSuite's exact wording is
  not public, so each refusal names its reason in ``error_description``.
The signature is verified with the certificate's public key (RSA-PSS or
ECDSA, RFC 7518 sections 3.4 and 3.5).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
SCOPES = frozenset({"restlets", "rest_webservices", "suite_analytics"})
MAX_ASSERTION_LIFETIME_S = 3600
CLOCK_SKEW_S = 60


class TokenRefused(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class Integration:
    """One integration record with its mapped certificate (client credentials setup)."""

    client_id: str
    certificate_id: str
    public_key_pem: bytes
    token_lifetime_s: float = 3600.0
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch s)

    def issue(self, form: dict[str, str], token_url: str, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        if form.get("grant_type") != "client_credentials":
            raise TokenRefused("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenRefused("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        self._verify(form.get("client_assertion") or "", token_url, now)
        token = secrets.token_urlsafe(32)
        self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
        self.tokens[token] = now + self.token_lifetime_s
        return {"access_token": token, "expires_in": str(int(self.token_lifetime_s)), "token_type": "bearer"}

    def valid(self, authorization: str | None, now: float | None = None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        expiry = self.tokens.get(authorization[7:])
        return expiry is not None and expiry > (time.time() if now is None else now)

    def expire_all(self) -> None:
        self.tokens.clear()

    def _verify(self, assertion: str, token_url: str, now: float) -> None:
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header, payload = json.loads(_unb64(header_b64)), json.loads(_unb64(payload_b64))
            signature = _unb64(signature_b64)
        except ValueError as error:
            raise TokenRefused("invalid_request", f"client_assertion is not a JWT: {error}") from error
        alg = header.get("alg", "")
        if header.get("typ") != "JWT" or alg[:2] not in ("PS", "ES") or alg[2:] not in HASHES:
            raise TokenRefused("invalid_grant", f"unsupported JWT header typ={header.get('typ')} alg={alg}")
        if header.get("kid") != self.certificate_id:
            raise TokenRefused("invalid_grant", "kid does not name a certificate mapped to this integration")
        if payload.get("iss") != self.client_id:
            raise TokenRefused("invalid_grant", "iss is not the client id of an integration record")
        if payload.get("aud") != token_url:
            raise TokenRefused("invalid_grant", f"aud must be {token_url}")
        scopes = payload.get("scope")
        scopes = scopes.split(",") if isinstance(scopes, str) else list(scopes or [])
        if "rest_webservices" not in scopes or not set(scopes) <= SCOPES:
            raise TokenRefused("invalid_scope", "scope must include rest_webservices")
        iat, exp = payload.get("iat"), payload.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
            raise TokenRefused("invalid_grant", "iat and exp are required")
        if exp - iat > MAX_ASSERTION_LIFETIME_S or exp <= now or iat > now + CLOCK_SKEW_S:
            raise TokenRefused("invalid_grant", "the assertion is expired, not yet valid or lives over 60 minutes")
        signing_input = f"{header_b64}.{payload_b64}".encode()
        if not _signature_valid(self.public_key_pem, alg, signing_input, signature):
            raise TokenRefused("invalid_grant", "the assertion's signature does not verify with the certificate")


def _signature_valid(public_key_pem: bytes, alg: str, signing_input: bytes, signature: bytes) -> bool:
    key = serialization.load_pem_public_key(public_key_pem)
    digest = HASHES[alg[2:]]()
    try:
        if alg.startswith("PS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input,
                       padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), digest)
            return True
        if alg.startswith("ES") and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2  # JWS carries r || s, not DER
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
            key.verify(der, signing_input, ec.ECDSA(digest))
            return True
    except InvalidSignature:
        return False
    return False


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
