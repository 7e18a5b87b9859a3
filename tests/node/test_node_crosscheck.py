"""Cross-check: credentials signed by anchorcred verify with @digitalbazaar/vc (JavaScript), offline."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.shapes import Canonicalizer
from verifier.dataintegrity import create_eddsa_proof
from verifier.keys import did_key_document

pytestmark = pytest.mark.node

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parents[1] / ".." / "shared" / "conformance" / "cross-impl-vectors"
CREATED = "2024-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def node_ready() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the JavaScript cross-check (not found on PATH)")
    if not VECTORS.is_dir():
        pytest.skip(f"cross-impl vectors not found at {VECTORS}")
    if not (HERE / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600)


def _issuer() -> tuple[dict[str, Any], Ed25519PrivateKey]:
    key = json.loads((VECTORS / "issuer-key.json").read_text(encoding="utf-8"))
    return key, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key["seedHex"]))


def _signed_ob3(canon: Canonicalizer | None = None, proof_id: str | None = None) -> dict[str, Any]:
    key, secret = _issuer()
    doc = json.loads((VECTORS / "doc-ob3.json").read_text(encoding="utf-8"))
    doc["issuer"]["id"] = key["controller"]
    proof = create_eddsa_proof(
        doc, sign=secret.sign, verification_method=key["id"], created=CREATED, proof_id=proof_id, canon=canon
    )
    return {**doc, "proof": proof}


def _js_verify(credential: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    key, _ = _issuer()
    payload = {"credential": credential, "didDocuments": {key["controller"]: did_key_document(key["controller"])}}
    path = tmp_path / "input.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    run = subprocess.run(
        ["node", str(HERE / "verify.mjs"), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_js_verifies_our_ob3_signature(node_ready: None, tmp_path: Path) -> None:
    result = _js_verify(_signed_ob3(), tmp_path)
    assert result == {"verified": True, "checked": "eddsa-rdfc-2022 proofs only", "eddsaProofs": 1,
                      "ignoredProofs": 0, "errors": []}


def test_js_verifies_signature_made_on_the_fast_path(node_ready: None, tmp_path: Path) -> None:
    canon = Canonicalizer()
    _signed_ob3(canon)  # learn the shape
    signed = _signed_ob3(canon)
    assert canon.hits >= 1
    assert _js_verify(signed, tmp_path)["verified"] is True


def test_js_rejects_tampered_credential(node_ready: None, tmp_path: Path) -> None:
    tampered = copy.deepcopy(_signed_ob3())
    tampered["credentialSubject"]["achievement"]["name"] = "Doctor of Everything"
    result = _js_verify(tampered, tmp_path)
    assert result["verified"] is False
    assert result["errors"], result


def test_js_ignores_a_chained_merkle_proof(node_ready: None, tmp_path: Path) -> None:
    signed = _signed_ob3(proof_id="urn:uuid:4a1b1b2e-0000-4000-8000-000000000001")
    merkle = {"type": "DataIntegrityProof", "cryptosuite": "merkle-proof-2019", "proofPurpose": "assertionMethod",
              "previousProof": signed["proof"]["id"], "verificationMethod": "did:example:anchor#key-1",
              "proofValue": "z1111"}
    both = {**signed, "proof": [signed["proof"], merkle]}
    result = _js_verify(both, tmp_path)
    assert result["verified"] is True and result["ignoredProofs"] == 1
