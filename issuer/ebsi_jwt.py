"""EBSI-profile JWT credentials: VCDM 1.1 credentials signed as JWS compact (``vc-jwt``), as EBSI's VC framework
fixes them, for the accreditations of the trust chain (ebsi/trust.py) and for micro-credentials (ebsi_attestation).

The JWS is made by joserfc (RFC 7515/7518), not by hand. The EBSI profile around it (EBSI VC framework, "JWT VC"):
header ``typ: JWT``, ``alg`` ES256 (P-256) or ES256K (secp256k1), ``kid`` a verification method of the issuer's DID
(registered in the DID Registry); claims ``iss`` = vc.issuer, ``sub`` = vc.credentialSubject.id, ``jti`` = vc.id,
``iat`` = vc.issued, ``nbf`` = vc.validFrom (= vc.issuanceDate), ``exp`` = vc.expirationDate, ``vc`` = the credential.

ES256K signatures are normalised to low S (s <= n/2), as Ethereum and libsecp256k1 require: a strict secp256k1
verifier refuses the high-S twin that a plain ECDSA signer emits half the time (RFC 7518 accepts both; so does the
EBSI JavaScript library, tests/node/test_ebsi_jwt_node.py).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey

from verifier.base58btc import b58encode
from verifier.jwtvc import CURVE_OF_ALG

VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def new_ebsi_did(random: bytes | None = None) -> str:
    """A legal entity's ``did:ebsi`` (EBSI DID method v1): ``z`` + base58btc(0x01 || 16 random bytes)."""
    random = os.urandom(16) if random is None else random
    if len(random) != 16:
        raise ValueError(f"a did:ebsi subject identifier is 16 bytes, got {len(random)}")
    return "did:ebsi:z" + b58encode(b"\x01" + random)


def utc_text(when: datetime) -> str:
    """``2025-01-01T00:00:00Z``: the VCDM 1.1 date-time form every EBSI schema accepts."""
    if when.tzinfo is None:
        raise ValueError(f"{when!r} has no time zone")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class JwtSigner:
    """A DID's signing key for credential JWTs. ``kid`` is ``<did>#<RFC 7638 thumbprint>``, as EBSI names methods."""

    did: str
    alg: str
    key: ECKey  # holds the private key: never logged, never put in a report

    def __post_init__(self) -> None:
        if self.alg not in CURVE_OF_ALG:
            raise ValueError(f"alg must be one of {sorted(CURVE_OF_ALG)}, got {self.alg!r}")
        if self.key.as_dict(private=False).get("crv") != CURVE_OF_ALG[self.alg]:
            raise ValueError(f"{self.alg} needs a {CURVE_OF_ALG[self.alg]} key")

    @classmethod
    def generate(cls, did: str, alg: str = "ES256") -> JwtSigner:
        return cls(did, alg, ECKey.generate_key(CURVE_OF_ALG[alg], private=True))

    @classmethod
    def from_private_jwk(cls, did: str, jwk: Mapping[str, Any], alg: str | None = None) -> JwtSigner:
        alg = alg or next(a for a, c in CURVE_OF_ALG.items() if c == jwk.get("crv"))
        return cls(did, alg, ECKey.import_key(dict(jwk)))

    def __repr__(self) -> str:  # the dataclass default would print the key object; keys are never shown
        return f"JwtSigner(did={self.did!r}, alg={self.alg!r}, kid={self.kid!r})"

    @property
    def fragment(self) -> str:
        return self.key.thumbprint()

    @property
    def kid(self) -> str:
        return f"{self.did}#{self.fragment}"

    def public_jwk(self) -> dict[str, str]:
        return {k: v for k, v in self.key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")}

    def private_jwk(self) -> dict[str, str]:
        return dict(self.key.as_dict(private=True))

    def verification_method(self) -> dict[str, Any]:
        """The DID document entry of this key (JsonWebKey2020, as EBSI's DID Registry shows keys)."""
        return {"id": self.kid, "type": "JsonWebKey2020", "controller": self.did, "publicKeyJwk": self.public_jwk()}


def _low_s(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    if s <= _SECP256K1_N // 2:
        return token
    fixed = base64.urlsafe_b64encode(r + (_SECP256K1_N - s).to_bytes(32, "big")).rstrip(b"=").decode()
    return f"{head}.{payload}.{fixed}"


def _numeric_date(value: Any, field: str) -> int:
    if not isinstance(value, str):
        raise ValueError(f"vc.{field}: expected a date-time, got {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"vc.{field}: {value!r} has no time zone")
    return int(parsed.timestamp())


def sign_credential_jwt(vc: Mapping[str, Any], signer: JwtSigner) -> str:
    """The compact JWS of a VCDM 1.1 credential issued by ``signer.did`` (claims derived from the credential)."""
    issuer = vc.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer != signer.did:
        raise ValueError(f"vc.issuer {issuer!r} is not the signer's DID {signer.did}")
    if vc.get("validFrom") != vc.get("issuanceDate"):
        raise ValueError("vc.validFrom and vc.issuanceDate must be equal (EBSI VC framework)")
    subject = vc.get("credentialSubject")
    claims: dict[str, Any] = {"jti": vc["id"]}
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    claims.update(iss=issuer, nbf=_numeric_date(vc["validFrom"], "validFrom"))
    if vc.get("expirationDate") is not None:
        claims["exp"] = _numeric_date(vc["expirationDate"], "expirationDate")
    claims.update(iat=_numeric_date(vc["issued"], "issued"), vc=dict(vc))
    header = {"alg": signer.alg, "typ": "JWT", "kid": signer.kid}
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    token = jws.serialize_compact(header, payload, signer.key, algorithms=[signer.alg])
    return _low_s(token) if signer.alg == "ES256K" else token


# ── EBSI-profile micro-credentials ───────────────────────────────────────────────────────────────────────────────
TIR_PATH = "/trusted-issuers-registry/v5/issuers"
TSR_PATH = "/trusted-schemas-registry/v3/schemas"
ATTESTATION_SCHEMA_ID = "zDpWGUBenmqXzurskry9Nsk6vq2R8thh9VSeoRqguoyMD"  # EBSI Verifiable Attestation 2024-01 (npm 1.3.0)
STATUS_LIST_SCHEMA_ID = "z7DmpwC9doRxZrtQ9PBjz8qQgGWqojkGExELnrw1x8qdi"  # EBSI StatusList2021 credential 2024-01
EDC_TYPE = "EuropeanDigitalCredential"
_JWK_JCS_PUB = b"\xd1\xd6\x03"  # multicodec jwk_jcs-pub (0xeb51) as a varint


def ebsi_did_key(did: str) -> str:
    """The same key as an EBSI natural person's ``did:key``: multicodec jwk_jcs-pub of the key's JCS-canonical JWK
    (EBSI key DID method; the EBSI libraries resolve no other did:key codec). ``did:key:z6Mk…`` (Ed25519) in."""
    from verifier import keys

    if keys.multibase_decode(did.removeprefix("did:key:")).startswith(_JWK_JCS_PUB):
        return did  # already jwk_jcs-pub
    key = keys.decode_multikey(did.removeprefix("did:key:"))
    jwk = keys.public_key_to_jwk(key)
    canonical = json.dumps({k: jwk[k] for k in sorted(jwk) if k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return "did:key:z" + b58encode(_JWK_JCS_PUB + canonical.encode("utf-8"))


@dataclass(frozen=True)
class StatusEntry:
    """Where a credential's revocation bit lives: list ``list_url`` (served under the registry's proxy path), ``index``."""

    list_url: str
    index: int

    def to_json(self) -> dict[str, str]:
        return {"id": f"{self.list_url}#{self.index}", "type": "StatusList2021Entry", "statusPurpose": "revocation",
                "statusListIndex": str(self.index), "statusListCredential": self.list_url}


def status_list_url(registry_url: str, did: str, proxy_id: str, list_id: str) -> str:
    """EBSI's status list location: under the issuer's proxy in the Trusted Issuers Registry."""
    return f"{registry_url.rstrip('/')}{TIR_PATH}/{did}/proxies/{proxy_id}/credentials/status/{list_id}"


def ebsi_attestation(credential: Mapping[str, Any], *, issuer_did: str, registry_url: str, accreditation_url: str,
                     status: StatusEntry, schema_id: str) -> dict[str, Any]:
    """The EBSI-profile (VCDM 1.1) ``VerifiableAttestation`` of an anchorcred credential, unsigned.

    The subject and issuer are the Europass (ELM 3) ones of ``issuer.europass.to_europass`` (the 16 EU elements in
    ``credentialSubject.hasClaim``); the issuer is the university's ``did:ebsi`` (the TI of the trust registry), the
    learner the EBSI ``did:key`` of their key; ``termsOfUse`` names the TI's accreditation in the registry.
    """
    from issuer.europass import to_europass  # the ELM mapping lives there (verifier.elm.MAPPING)

    edc = to_europass(dict(credential))
    subject = dict(edc["credentialSubject"])
    if not str(subject.get("id", "")).startswith("did:key:"):
        raise ValueError(f"credential {edc['id']}: the EBSI profile identifies the learner by a did:key, and this "
                         f"credential's subject is {subject.get('id')!r}")
    subject["id"] = ebsi_did_key(subject["id"])
    issuer = {**edc["issuer"], "id": issuer_did}
    valid_from = edc["validFrom"]
    vc: dict[str, Any] = {
        "@context": edc["@context"],
        "id": edc["id"],
        "type": ["VerifiableCredential", "VerifiableAttestation", EDC_TYPE],
        "issuer": issuer,
        "issuanceDate": valid_from,
        "validFrom": valid_from,
        "issued": edc.get("issued", valid_from),
        "credentialSubject": subject,
        "credentialSchema": [
            {"id": f"{registry_url.rstrip('/')}{TSR_PATH}/{ATTESTATION_SCHEMA_ID}", "type": "FullJsonSchemaValidator2021"},
            {"id": f"{registry_url.rstrip('/')}{TSR_PATH}/{schema_id}", "type": "FullJsonSchemaValidator2021"},
        ],
        "termsOfUse": {"id": accreditation_url, "type": "IssuanceCertificate"},
        "credentialStatus": status.to_json(),
    }
    if edc.get("validUntil"):
        vc["expirationDate"] = edc["validUntil"]
    return vc


def status_list_vc(*, issuer_did: str, list_url: str, revoked: set[int] | frozenset[int], size: int = 131_072,
                   issued: datetime, registry_url: str, valid_until: datetime | None = None) -> dict[str, Any]:
    """A StatusList2021 credential (EBSI 2024-01 schema): GZIP bitstring, bit 0 the most significant of byte 0, in
    base64 without padding (what the EBSI library decodes). ``size`` bits: 131,072 (16 KiB) hides a batch."""
    import gzip

    if size % 8 or size <= 0 or any(not 0 <= i < size for i in revoked):
        raise ValueError(f"size must be a positive multiple of 8 and every index below it (size {size})")
    bits = bytearray(size // 8)
    for i in revoked:
        bits[i // 8] |= 0x80 >> (i % 8)
    encoded = base64.b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode("ascii")
    vc: dict[str, Any] = {
        "@context": [VC1_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "VerifiableAttestation", "StatusList2021Credential"],
        "issuer": issuer_did,
        "issuanceDate": utc_text(issued),
        "validFrom": utc_text(issued),
        "issued": utc_text(issued),
        "credentialSubject": {"id": f"{list_url}#list", "type": "StatusList2021", "statusPurpose": "revocation",
                              "encodedList": encoded},
        "credentialSchema": {"id": f"{registry_url.rstrip('/')}{TSR_PATH}/{STATUS_LIST_SCHEMA_ID}",
                             "type": "FullJsonSchemaValidator2021"},
    }
    if valid_until is not None:
        vc["expirationDate"] = utc_text(valid_until)
    return vc
