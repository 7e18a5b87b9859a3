"""A small token service standing in for EBSI's Authorisation API v4: short-lived bearer tokens for a DID (or an
account), after a request signed with the key that controls it.

EBSI hands out access tokens for an OpenID4VP presentation. Here the presentation is replaced by one signed request,
kept in the same place of the exchange (``POST /authorisation/v4/token``, form fields ``grant_type=vp_token``,
``scope``, ``vp_token``): ``vp_token`` is a compact JWS, ``alg`` ES256K, whose header carries the signer's public key
(``jwk``, secp256k1) and whose payload is ``{"iss": <DID or eip155:<chainId>:<address>>, "aud": <this token URL>,
"iat", "exp" (at most 5 minutes after iat), "jti"}``. The token is granted when:

- ``iss`` is a DID in the DID Registry and the key's address controls it: ``didr_write``, ``tir_invite``,
  ``tir_write``, ``timestamp_write``;
- ``iss`` is a DID not registered yet, and onboarding is open (or the DID is allowed): ``didr_invite`` only, to
  insert its own document with that key;
- ``iss`` is ``eip155:<chainId>:<address>`` of the key itself: every scope for the ledger's admin; ``timestamp_write``
  for anyone else when onboarding is open (or the account is allowed): an issuer whose DID is a did:web timestamps
  with its anchoring account, and the verifier ties that account to the DID through the DID document.

The token binds the scopes to the signer's address: the JSON-RPC methods only build transactions ``from`` it. It is
``base64url(payload) "." base64url(HMAC-SHA256)`` with the facade's secret: nothing to store, nothing to look up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import APIRouter, Depends, Form, Request

from ebsi.errors import AuthorisationError, ForbiddenError, InvalidParamsError
from ebsi.ledger import EbsiLedger
from ebsi.service.settings import SCOPES, EbsiSettings
from verifier import keys

__all__ = ["Token", "TokenService", "router"]

MAX_REQUEST_LIFETIME = 300  # seconds between iat and exp of a signed token request
CLOCK_SKEW = 60
_EIP155 = re.compile(r"eip155:([0-9]{1,20}):(0x[0-9a-fA-F]{40})")


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: str, what: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise AuthorisationError(f"{what} is not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Token:
    subject: str  # a DID, or eip155:<chainId>:<address>
    address: str  # EIP-55: the account the scopes are for
    scopes: frozenset[str]
    expires: int


class TokenService:
    def __init__(self, settings: EbsiSettings, ledger: EbsiLedger):
        self._secret = (settings.token_secret.get_secret_value().encode() if settings.token_secret
                        else secrets.token_bytes(32))
        self._ttl = settings.token_ttl
        self._open = settings.onboarding == "open"
        self._allowed = {s.lower() for s in settings.allowed_subjects}
        self._ledger = ledger
        self._seen: dict[str, int] = {}  # jti -> exp: a signed request is good for one token
        self._lock = threading.Lock()

    # ---- issuing
    def issue(self, vp_token: str, requested: set[str], audience: str, *, now: int | None = None) -> tuple[str, Token]:
        now = int(time.time()) if now is None else now
        unknown = requested - set(SCOPES) - {"openid"}
        if unknown:
            raise InvalidParamsError(f"unknown scope(s) {sorted(unknown)}; known: {list(SCOPES)}")
        requested = requested - {"openid"}
        if not requested:
            raise InvalidParamsError(f"scope names no write scope; known: {list(SCOPES)}")
        header, payload, address = self._verify_request(vp_token, audience, now)
        subject = payload["iss"]
        grantable = self._grantable(subject, address)
        refused = requested - grantable
        if refused:
            raise ForbiddenError(f"{subject} (key {address}) may not have scope(s) {sorted(refused)}; "
                                 f"grantable: {sorted(grantable) or 'none'}")
        with self._lock:
            self._seen = {j: e for j, e in self._seen.items() if e >= now}
            if payload["jti"] in self._seen:
                raise AuthorisationError(f"token request {payload['jti']!r} was already used")
            if len(self._seen) >= 100_000:
                raise AuthorisationError("too many token requests in flight; try again in a few minutes")
            self._seen[payload["jti"]] = int(payload["exp"])
        token = Token(subject, address, frozenset(requested), now + self._ttl)
        return self._encode(token), token

    def _verify_request(self, vp_token: str, audience: str, now: int) -> tuple[dict, dict, str]:
        parts = vp_token.split(".") if isinstance(vp_token, str) and len(vp_token) < 16_384 else []
        if len(parts) != 3:
            raise AuthorisationError("vp_token must be a compact JWS (header.payload.signature)")
        try:
            header = json.loads(_unb64u(parts[0], "JWS header"))
            payload = json.loads(_unb64u(parts[1], "JWS payload"))
        except ValueError as exc:
            raise AuthorisationError("vp_token header and payload must be JSON objects") from exc
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise AuthorisationError("vp_token header and payload must be JSON objects")
        if header.get("alg") != "ES256K":
            raise AuthorisationError(f"vp_token alg must be ES256K, got {header.get('alg')!r}")
        try:
            key = keys.jwk_to_public_key(header.get("jwk") if isinstance(header.get("jwk"), dict) else {})
        except keys.KeyFormatError as exc:
            raise AuthorisationError(f"vp_token header jwk: {exc}") from exc
        if key.kind != "secp256k1":
            raise AuthorisationError("vp_token header jwk must be a secp256k1 key")
        signature = _unb64u(parts[2], "JWS signature")
        if len(signature) != 64:
            raise AuthorisationError("ES256K signature must be 64 bytes (r || s)")
        point = b"\x04" + keys.decompress_secp256k1(key.raw)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), point)
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise AuthorisationError("vp_token signature does not verify with the header's key") from exc
        for claim in ("iss", "aud", "iat", "exp", "jti"):
            if claim not in payload:
                raise AuthorisationError(f"vp_token payload lacks {claim!r}")
        if payload["aud"] != audience:
            raise AuthorisationError(f"vp_token aud must be {audience!r}, got {payload['aud']!r}")
        iat, exp = payload["iat"], payload["exp"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
            raise AuthorisationError("vp_token iat and exp must be integers (seconds since the epoch)")
        if not iat - CLOCK_SKEW <= now <= exp or exp - iat > MAX_REQUEST_LIFETIME or iat > now + CLOCK_SKEW:
            raise AuthorisationError(f"vp_token is not current (iat {iat}, exp {exp}, now {now}; "
                                     f"at most {MAX_REQUEST_LIFETIME}s long)")
        if not isinstance(payload["jti"], str) or not 8 <= len(payload["jti"]) <= 128:
            raise AuthorisationError("vp_token jti must be a string of 8 to 128 characters")
        if not isinstance(payload["iss"], str):
            raise AuthorisationError("vp_token iss must be a DID or eip155:<chainId>:<address>")
        return header, payload, keys.eth_address_from_secp256k1(key.raw)

    def _grantable(self, subject: str, address: str) -> set[str]:
        m = _EIP155.fullmatch(subject)
        if m is not None:
            if int(m.group(1)) != self._ledger.chain_id or m.group(2).lower() != address.lower():
                raise ForbiddenError(f"{subject} is not the account of the signing key ({address}) on chain "
                                     f"{self._ledger.chain_id}")
            if address.lower() == self._ledger.deployment.admin.lower():
                return set(SCOPES)
            allowed = self._open or subject.lower() in self._allowed or address.lower() in self._allowed
            return {"timestamp_write"} if allowed else set()
        if not subject.startswith("did:") or len(subject) > 256:
            raise AuthorisationError(f"vp_token iss must be a DID or eip155:<chainId>:<address>, got {subject!r:.80}")
        if self._ledger.did_exists(subject):
            if not self._ledger.is_controller(subject, address):
                raise ForbiddenError(f"key {address} does not control {subject} in the DID Registry")
            return {"didr_write", "tir_invite", "tir_write", "timestamp_write"}
        return {"didr_invite"} if self._open or subject.lower() in self._allowed else set()

    # ---- checking
    def _encode(self, token: Token) -> str:
        body = _b64u(json.dumps({"sub": token.subject, "addr": token.address, "scp": sorted(token.scopes),
                                 "exp": token.expires, "n": secrets.token_hex(8)}, separators=(",", ":")).encode())
        return body + "." + _b64u(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def check(self, authorization: str | None, *, now: int | None = None) -> Token:
        """The token of an ``Authorization: Bearer`` header; ``AuthorisationError`` if missing, forged or expired."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthorisationError("this operation needs an access token: Authorization: Bearer <token> "
                                     "(get one at /authorisation/v4/token)")
        text = authorization[len("Bearer "):].strip()
        body, _, mac = text.partition(".")
        expected = _b64u(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
        if not mac or not hmac.compare_digest(mac, expected):
            raise AuthorisationError("access token is invalid (not issued by this ledger, or altered)")
        data: dict[str, Any] = json.loads(_unb64u(body, "token"))
        now = int(time.time()) if now is None else now
        if int(data["exp"]) < now:
            raise AuthorisationError("access token expired; get a new one at /authorisation/v4/token")
        return Token(data["sub"], data["addr"], frozenset(data["scp"]), int(data["exp"]))


router = APIRouter(tags=["authorisation"])


def _tokens(request: Request) -> TokenService:
    return request.app.state.tokens


@router.post("/authorisation/v4/token")
def token(request: Request, tokens: Annotated[TokenService, Depends(_tokens)],
          grant_type: Annotated[str, Form()], scope: Annotated[str, Form()],
          vp_token: Annotated[str, Form(max_length=16_384)]) -> dict[str, Any]:
    """Exchanges a signed token request (see the module's notes) for a short-lived bearer token."""
    if grant_type != "vp_token":
        raise InvalidParamsError(f"grant_type must be 'vp_token', got {grant_type!r}")
    audience = request.app.state.public_url(request) + "/authorisation/v4/token"
    access, granted = tokens.issue(vp_token, set(scope.split()), audience)
    return {"access_token": access, "token_type": "Bearer", "expires_in": granted.expires - int(time.time()),
            "scope": " ".join(["openid", *sorted(granted.scopes)])}
