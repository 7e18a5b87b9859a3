"""The status list credential (W3C Bitstring Status List v1.0 §2.2 ``BitstringStatusListCredential``), signed
eddsa-rdfc-2022 by the tenant's signing key, and its digest: SHA-256 of the RDFC-1.0 canonical N-Quads of the signed
credential (with its proof), computed exactly like a batch leaf (``issuer.batch.Signer``). That digest is what one
``publishStatus(listId, digest)`` transaction anchors, with ``listId = keccak256(utf8(url))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from issuer.batch import Signer
from issuer.credential import VC2_CONTEXT
from issuer.keys import IssuerIdentity
from issuer.status.bitstring import Bitstring
from verifier.shapes import Canonicalizer

__all__ = ["SignedList", "list_credential", "sign_list"]

_CANON = Canonicalizer()  # every list credential has one shape: learned once per process


@dataclass(frozen=True)
class SignedList:
    document: dict[str, Any]  # the list credential with its eddsa-rdfc-2022 proof
    digest: bytes  # 32 bytes, as anchored


def list_credential(url: str, issuer_did: str, purpose: str, bits: Bitstring, *, valid_from: str) -> dict[str, Any]:
    """The unsigned list credential (spec §2.2). No ``validUntil``: a list stays the latest until the registry
    anchors a newer one, which is what a verifier checks (freshness comes from the ledger, not from a date)."""
    return {
        "@context": [VC2_CONTEXT],  # VC 2.0 defines every Bitstring Status List term
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": bits.encode(),
        },
    }


def sign_list(document: dict[str, Any], identity: IssuerIdentity, *, created: str) -> SignedList:
    """Signs ``document`` and returns it with its proof and its digest (SHA-256 of the canonical form with proof)."""
    if document.get("issuer") != identity.did:
        raise ValueError(f"list credential issuer {document.get('issuer')!r} is not the signer's DID {identity.did}")
    proof, digest = Signer([], identity, created, canon=_CANON).sign_document(document)
    return SignedList({**document, "proof": proof}, digest)
