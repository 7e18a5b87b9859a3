"""eddsa-rdfc-2022 against the W3C vc-di-eddsa test vectors (every intermediate) and the cross-implementation vectors."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.canonical import canonicalize
from verifier.shapes import Canonicalizer
from verifier.dataintegrity import (
    create_eddsa_proof,
    proof_config_of,
    proof_hash,
    proofs_of,
    secured_without,
    verify_eddsa_proof,
)
from verifier.documentloader import DocumentLoader
from verifier.errors import ProofFormatError
from verifier.keys import decode_ed25519_secret, decode_multikey
from verifier.rdfc import canonicalize_nquads

CONFORMANCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance"
EDDSA = CONFORMANCE / "w3c-test-vectors" / "vc-di-eddsa-TestVectors"
CROSS = CONFORMANCE / "cross-impl-vectors"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
pytestmark = pytest.mark.skipif(not EDDSA.is_dir(), reason=f"W3C vc-di-eddsa test vectors not found at {EDDSA}")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loader() -> DocumentLoader:
    # The W3C examples context is in no npm package and not shipped: a test-only extra, from the conformance data.
    index = _json(CONFORMANCE / "contexts" / "index.json")
    return DocumentLoader(extra={EXAMPLES_V2: _json(CONFORMANCE / "contexts" / index[EXAMPLES_V2])})


@pytest.fixture(scope="module")
def canon(loader: DocumentLoader) -> Canonicalizer:
    return Canonicalizer(loader=loader)


def _key_pair() -> tuple[Ed25519PrivateKey, bytes]:
    pair = _json(EDDSA / "keyPair.json")
    secret = Ed25519PrivateKey.from_private_bytes(decode_ed25519_secret(pair["privateKeyMultibase"]))
    return secret, decode_multikey(pair["publicKeyMultibase"]).raw


def _text(name: str, folder: Path | None = None) -> str:
    return ((folder or EDDSA / "eddsa-rdfc-2022") / name).read_text(encoding="utf-8")


def test_every_intermediate_of_the_w3c_vector(loader: DocumentLoader, canon: Canonicalizer) -> None:
    unsigned = _json(EDDSA / "unsigned.json")
    config = _json(EDDSA / "eddsa-rdfc-2022" / "proofConfigDataInt.json")
    canon_doc = canonicalize(unsigned, loader=loader)
    assert canon_doc == _text("canonDocDataInt.txt")
    assert canon.canonicalize(unsigned) == canon_doc
    proof_canon = canonicalize(config, loader=loader)
    assert proof_canon == _text("proofCanonDataInt.txt")
    assert hashlib.sha256(canon_doc.encode()).hexdigest() == _text("docHashDataInt.txt").strip()
    assert hashlib.sha256(proof_canon.encode()).hexdigest() == _text("proofHashDataInt.txt").strip()
    digest = proof_hash(unsigned, config, canon)
    assert digest.hex() == _text("combinedHashDataInt.txt").strip()
    secret, public = _key_pair()
    assert secret.sign(digest).hex() == _text("sigHexDataInt.txt").strip()

    options = {k: v for k, v in config.items() if k != "@context"}
    proof = create_eddsa_proof(
        unsigned,
        sign=secret.sign,
        verification_method=options["verificationMethod"],
        created=options["created"],
        canon=canon,
    )
    assert proof["proofValue"] == _text("sigBTC58DataInt.txt").strip()
    signed = _json(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json")
    assert proof == signed["proof"]
    assert verify_eddsa_proof(signed, signed["proof"], public, canon) is True


def test_default_loader_refuses_the_examples_context() -> None:
    from verifier.errors import ContextError

    signed = _json(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json")
    with pytest.raises(ContextError, match="unknown JSON-LD context https://www.w3.org/ns/credentials/examples/v2"):
        verify_eddsa_proof(signed, signed["proof"], _key_pair()[1])


def test_employment_vector_hashes_and_signature() -> None:
    # Its context (citizenship v4rc1) is not shipped; check RDFC idempotence, hashes and signature from the texts.
    folder = EDDSA / "eddsa-rdfc-2022" / "employ"
    canon_doc, proof_canon = _text("canonDocDataInt.txt", folder), _text("proofCanonDataInt.txt", folder)
    assert canonicalize_nquads(canon_doc) == canon_doc
    assert canonicalize_nquads(proof_canon) == proof_canon
    doc_hash = hashlib.sha256(canon_doc.encode()).digest()
    config_hash = hashlib.sha256(proof_canon.encode()).digest()
    assert doc_hash.hex() == _text("docHashDataInt.txt", folder).strip()
    assert config_hash.hex() == _text("proofHashDataInt.txt", folder).strip()
    assert (config_hash + doc_hash).hex() == _text("combinedHashDataInt.txt", folder).strip()
    secret, _ = _key_pair()
    assert secret.sign(config_hash + doc_hash).hex() == _text("sigHexDataInt.txt", folder).strip()


def test_tampered_w3c_vector_fails(canon: Canonicalizer) -> None:
    signed = _json(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json")
    signed["credentialSubject"]["alumniOf"] = "The School of Tampering"
    assert verify_eddsa_proof(signed, signed["proof"], _key_pair()[1], canon) is False


@pytest.mark.parametrize(
    ("name", "count"), [("signedProofSet1", 1), ("signedProofSet2", 2), ("signedProofChain1", 3), ("signedProofChain2", 4)]
)
def test_proof_sets_and_chains(name: str, count: int, canon: Canonicalizer) -> None:
    signed = _json(EDDSA / "proof-set-chain" / f"{name}.json")
    proofs = proofs_of(signed)
    assert len(proofs) == count
    for proof in proofs:
        public = decode_multikey(proof["verificationMethod"].split("#")[-1]).raw
        assert verify_eddsa_proof(signed, proof, public, canon) is True
    # Dropping the proof a chained proof builds on breaks it: the chain names a proof that is gone.
    chained = [p for p in proofs if "previousProof" in p]
    if chained:
        broken = copy.deepcopy(signed)
        broken["proof"] = [p for p in proofs if p.get("id") not in (
            [chained[0]["previousProof"]] if isinstance(chained[0]["previousProof"], str) else chained[0]["previousProof"])]
        with pytest.raises(ProofFormatError, match="previousProof names proofs not in the document"):
            verify_eddsa_proof(broken, chained[0], b"\x00" * 32, canon)


def test_secured_without_for_chain() -> None:
    signed = _json(EDDSA / "proof-set-chain" / "signedProofChain2.json")
    proofs = proofs_of(signed)
    first = secured_without(signed, proofs[0])
    assert "proof" not in first
    last = secured_without(signed, proofs[-1])
    assert last["proof"]["id"] == proofs[-1]["previousProof"]


@pytest.mark.skipif(not CROSS.is_dir(), reason=f"cross-impl vectors not found at {CROSS}")
@pytest.mark.parametrize("name", ["vc2-eddsa-rdfc-2022", "vc2-min-eddsa-rdfc-2022", "vc2-eddsa-rdfc-2022-revoked"])
def test_cross_impl_vectors_verify_and_tampered_fail(name: str, canon: Canonicalizer) -> None:
    signed = _json(CROSS / f"{name}.json")
    public = decode_multikey(signed["proof"]["verificationMethod"].split("#")[-1]).raw
    assert verify_eddsa_proof(signed, signed["proof"], public, canon) is True
    tampered = copy.deepcopy(signed)
    tampered["validFrom"] = "2099-01-01T00:00:00Z"
    assert verify_eddsa_proof(tampered, tampered["proof"], public, canon) is False
    config = proof_config_of({k: v for k, v in signed.items() if k != "proof"}, signed["proof"])
    assert "proofValue" not in config and config["@context"] == signed["@context"]


@pytest.mark.skipif(not CROSS.is_dir(), reason=f"cross-impl vectors not found at {CROSS}")
def test_cross_impl_unsigned_canonical_form(loader: DocumentLoader) -> None:
    signed = _json(CROSS / "vc2-eddsa-rdfc-2022.json")
    unsigned = secured_without(signed, signed["proof"])
    assert canonicalize(unsigned, loader=loader) == (CROSS / "vc2-unsigned.canonical.nq").read_text(encoding="utf-8")


@pytest.mark.skipif(not CROSS.is_dir(), reason=f"cross-impl vectors not found at {CROSS}")
def test_our_signature_equals_digital_bazaar_signature(canon: Canonicalizer) -> None:
    # Ed25519 is deterministic: re-signing the vector with the same key and options must give the same proofValue.
    key = _json(CROSS / "issuer-key.json")
    secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key["seedHex"]))
    signed = _json(CROSS / "vc2-min-eddsa-rdfc-2022.json")
    proof = create_eddsa_proof(
        secured_without(signed, signed["proof"]),
        sign=secret.sign,
        verification_method=signed["proof"]["verificationMethod"],
        created=signed["proof"]["created"],
        canon=canon,
    )
    assert proof == signed["proof"]
