"""JWT-encoded credentials of the EBSI profile (VCDM 1.1 ``vc-jwt``): decoding, and the signature check with a JWK.

Pure: no I/O. The JWS itself is checked by joserfc (RFC 7515 compact serialization, RFC 7518 §3.4 ECDSA); this
module adds only what the EBSI profile fixes around it: the algorithms it allows (ES256K on secp256k1, ES256 on P-256),
``typ: JWT``, a ``kid`` that is a DID URL, and a ``vc`` claim that is a JSON object. A token that breaks one of
those is malformed (``JwtFormatError``); a signature that does not verify is a plain ``False``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from verifier.document import parse_datetime
from verifier.errors import InvalidInputError

MAX_JWT_CHARS = 256 * 1024  # an accreditation or a micro-credential is a few kB; far below harm
# alg -> the JWK curve it signs with (EBSI VC framework: ES256K or ES256 for legal entities)
CURVE_OF_ALG = {"ES256K": "secp256k1", "ES256": "P-256"}


class JwtFormatError(InvalidInputError):
    """A JWT that is not a well-formed EBSI-profile credential JWT."""


@dataclass(frozen=True)
class CredentialJwt:
    token: str
    header: Mapping[str, Any]
    claims: Mapping[str, Any]  # the JWT claims set: iss, sub, jti, nbf, exp, iat, vc

    @property
    def vc(self) -> Mapping[str, Any]:
        return self.claims["vc"]

    @property
    def kid(self) -> str:
        return self.header["kid"]

    @property
    def alg(self) -> str:
        return self.header["alg"]

    @property
    def issuer(self) -> str | None:
        issuer = self.vc.get("issuer")
        issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        return issuer if isinstance(issuer, str) else None


def _b64json(part: str, what: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JwtFormatError(f"JWT {what}: not base64url-encoded JSON ({exc})") from exc


def decode_credential_jwt(token: Any) -> CredentialJwt:
    """The header and claims of a credential JWT, checked for shape only (the signature is not checked here)."""
    if not isinstance(token, str):
        raise JwtFormatError(f"expected a JWT string, got {type(token).__name__}")
    token = token.strip()
    if len(token) > MAX_JWT_CHARS:
        raise JwtFormatError(f"JWT longer than {MAX_JWT_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwtFormatError(f"expected a compact JWS of three dot-separated parts, got {len(parts)} part(s)")
    header, claims = _b64json(parts[0], "header"), _b64json(parts[1], "payload")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtFormatError("JWT header and payload must be JSON objects")
    alg = header.get("alg")
    if alg not in CURVE_OF_ALG:
        raise JwtFormatError(f"JWT header alg: expected one of {sorted(CURVE_OF_ALG)}, got {alg!r}")
    if header.get("typ") != "JWT":
        raise JwtFormatError(f"JWT header typ: expected 'JWT', got {header.get('typ')!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid.startswith("did:") or "#" not in kid:
        raise JwtFormatError(f"JWT header kid: expected a DID URL with a fragment, got {kid!r:.80}")
    if not isinstance(claims.get("vc"), dict):
        raise JwtFormatError("JWT payload: the 'vc' claim (the credential) is missing or not an object")
    return CredentialJwt(token, header, claims)


def verify_jwt_signature(jwt: CredentialJwt, public_jwk: Mapping[str, Any]) -> bool:
    """Whether the JWS verifies with this public key; a key whose curve does not fit ``alg`` is a JwtFormatError."""
    curve = CURVE_OF_ALG[jwt.alg]
    if public_jwk.get("kty") != "EC" or public_jwk.get("crv") != curve:
        raise JwtFormatError(
            f"key {jwt.kid}: alg {jwt.alg} needs an EC {curve} key, got kty {public_jwk.get('kty')!r} crv {public_jwk.get('crv')!r}"
        )
    try:
        key = ECKey.import_key({k: public_jwk[k] for k in ("kty", "crv", "x", "y")})
    except (KeyError, ValueError, JoseError) as exc:
        raise JwtFormatError(f"key {jwt.kid}: not a valid {curve} public JWK ({exc})") from exc
    try:
        jws.deserialize_compact(jwt.token, key, algorithms=[jwt.alg])
    except JoseError:
        return False
    except ValueError:  # a signature of the wrong length, a point off the curve: no valid signature either
        return False
    return True


def timestamp_of(value: Any) -> datetime | None:
    """A VCDM 1.1 date-time (``2025-01-01T00:00:00Z``) or a NumericDate (seconds) as an aware UTC datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or "T" not in value:  # a date alone is no date-time
        return None
    return parse_datetime(value)
