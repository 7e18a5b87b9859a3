"""verifier.dataintegrity: create/verify eddsa-rdfc-2022 proofs, malformed proofs, proof sets and chains."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verifier.shapes import Canonicalizer
from verifier.dataintegrity import (
    create_eddsa_proof,
    proof_config_of,
    proof_hash,
    proofs_of,
    secured_without,
    verify_eddsa_proof,
)
from verifier.errors import ProofFormatError, UnmappedTermError
from verifier.keys import did_key_from_ed25519, multibase_encode

SECRET = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
PUBLIC = SECRET.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
DID = did_key_from_ed25519(PUBLIC)
VM = f"{DID}#{DID.removeprefix('did:key:')}"
CREATED = "2024-01-01T00:00:00Z"


def _credential(name: str = "Alice") -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000002",
        "type": ["VerifiableCredential"],
        "issuer": DID,
        "name": "Minimal VC 2.0",
        "validFrom": CREATED,
        "credentialSubject": {"id": "did:example:alice", "name": name},
    }


def _signed(doc: dict[str, Any] | None = None, canon: Canonicalizer | None = None, **kw: Any) -> dict[str, Any]:
    doc = doc or _credential()
    proof = create_eddsa_proof(doc, sign=SECRET.sign, verification_method=VM, created=CREATED, canon=canon, **kw)
    return {**doc, "proof": proof}


def test_sign_then_verify_with_and_without_canonicalizer() -> None:
    canon = Canonicalizer()
    signed = _signed(canon=canon)
    assert signed["proof"]["proofValue"].startswith("z")
    assert verify_eddsa_proof(signed, signed["proof"], PUBLIC) is True
    assert verify_eddsa_proof(signed, signed["proof"], PUBLIC, canon) is True
    assert _signed() == signed  # fast and full paths sign the same bytes


def test_proof_configs_of_a_batch_share_one_template() -> None:
    # Proof configurations differ per credential (their ids), so they are not memoised by value; they share one
    # shape, so only the first of each shape (document, proof configuration) runs the full JSON-LD algorithm.
    canon = Canonicalizer()
    for name in ("A", "B", "C"):
        _signed(_credential(name), canon=canon, proof_id=f"urn:uuid:0000000{name.lower()}-0000-4000-8000-000000000000")
    counters = canon.counters()
    assert counters["full_runs"] == 0 and counters["fallbacks"] == 0
    assert counters["hits"] == 6


def test_tampered_document_and_wrong_key_fail() -> None:
    signed = _signed()
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["name"] = "Mallory"
    assert verify_eddsa_proof(tampered, tampered["proof"], PUBLIC) is False
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert verify_eddsa_proof(signed, signed["proof"], other) is False
    moved = copy.deepcopy(signed)
    moved["proof"]["created"] = "2025-01-01T00:00:00Z"
    assert verify_eddsa_proof(moved, moved["proof"], PUBLIC) is False


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("type", "Ed25519Signature2020", "proof type must be 'DataIntegrityProof'"),
        ("cryptosuite", "eddsa-jcs-2022", "cryptosuite must be 'eddsa-rdfc-2022'"),
        ("proofValue", "uABC", "starting with 'z'"),
        ("proofValue", "z0OIl", "invalid base58btc"),
        ("proofValue", multibase_encode(b"\x01" * 63), "64-byte Ed25519 signature, got 63 bytes"),
        ("proofValue", None, "starting with 'z'"),
    ],
)
def test_malformed_proofs_raise_with_reason(field: str, value: Any, reason: str) -> None:
    signed = _signed()
    signed["proof"][field] = value
    with pytest.raises(ProofFormatError, match=reason):
        verify_eddsa_proof(signed, signed["proof"], PUBLIC)


def test_undefined_term_in_signed_document_is_an_error_not_a_pass() -> None:
    signed = _signed()
    signed["credentialSubject"]["sneaky"] = "added later"
    with pytest.raises(UnmappedTermError, match="sneaky"):
        verify_eddsa_proof(signed, signed["proof"], PUBLIC)


def test_proof_hash_is_two_sha256() -> None:
    doc = _credential()
    config = proof_config_of(doc, {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                                   "created": CREATED, "verificationMethod": VM, "proofPurpose": "assertionMethod"})
    digest = proof_hash(doc, config)
    assert len(digest) == 64 and digest[:32] != digest[32:]


def test_chain_of_two_proofs() -> None:
    first = _signed(proof_id="urn:uuid:first")
    second = create_eddsa_proof(first, sign=SECRET.sign, verification_method=VM, created=CREATED,
                                proof_id="urn:uuid:second", previous_proof="urn:uuid:first")
    chained = {**first, "proof": [first["proof"], second]}
    assert [p["id"] for p in proofs_of(chained)] == ["urn:uuid:first", "urn:uuid:second"]
    assert secured_without(chained, second)["proof"] == first["proof"]
    assert "proof" not in secured_without(chained, first["proof"])
    assert verify_eddsa_proof(chained, chained["proof"][0], PUBLIC) is True
    assert verify_eddsa_proof(chained, chained["proof"][1], PUBLIC) is True
    # The second proof covers the first: altering the first breaks the second as well.
    altered = copy.deepcopy(chained)
    altered["proof"][0]["created"] = "2030-01-01T00:00:00Z"
    assert verify_eddsa_proof(altered, altered["proof"][1], PUBLIC) is False


def test_a_foreign_second_proof_does_not_disturb_the_first() -> None:
    signed = _signed(proof_id="urn:uuid:sig")
    foreign = {"type": "DataIntegrityProof", "cryptosuite": "merkle-proof-2019", "proofValue": "zabc",
               "previousProof": "urn:uuid:sig"}
    both = {**signed, "proof": [signed["proof"], foreign]}
    assert verify_eddsa_proof(both, both["proof"][0], PUBLIC) is True
    with pytest.raises(ProofFormatError, match="cryptosuite"):
        verify_eddsa_proof(both, foreign, PUBLIC)


def test_previous_proof_must_exist() -> None:
    signed = _signed()
    ghost = dict(signed["proof"], previousProof="urn:uuid:missing")
    with pytest.raises(ProofFormatError, match="urn:uuid:missing"):
        secured_without({**signed, "proof": [signed["proof"], ghost]}, ghost)
