"""Cross-check of a really issued credential: @digitalbazaar/vc verifies its eddsa-rdfc-2022 signature, offline.

The example batch is issued on the embedded chain through the real issuer path; one credential (with its chained
merkle-proof-2019 proof still present) and the issuer's did:web DID document are written to files, and
tests/node/verify.mjs resolves the DID from that file (``--did-document``), the way an employer would hold
``/.well-known/did.json``. The merkle proof is anchorcred's own check; the JavaScript side skips it and says so.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.batchkit import embedded_batch
from verifier.report import Verdict

pytestmark = pytest.mark.node

HERE = Path(__file__).resolve().parent
VERIFIED = {"verified": True, "checked": "eddsa-rdfc-2022 proofs only", "eddsaProofs": 1, "ignoredProofs": 1,
            "errors": []}


@pytest.fixture(scope="module")
def node_ready() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the JavaScript cross-check (not found on PATH)")
    if not (HERE / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600)


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    _chain, batch = embedded_batch(tmp_path_factory.mktemp("issued") / "out")
    return batch


def _js_verify(credential: dict[str, Any], did_document: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    credential_file, did_file = tmp_path / "credential.json", tmp_path / "did.json"
    credential_file.write_text(json.dumps(credential), encoding="utf-8")
    did_file.write_text(json.dumps(did_document), encoding="utf-8")
    run = subprocess.run(
        ["node", str(HERE / "verify.mjs"), "--did-document", str(did_file), str(credential_file)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _proof_types(credential: dict[str, Any]) -> list[str]:
    return [p["cryptosuite"] for p in credential["proof"]]


def test_js_verifies_an_issued_credential_with_its_merkle_proof(node_ready, issued, tmp_path):
    assert issued.did_document["id"] == "did:web:www.tu-example.de"
    for i in (0, issued.result.count - 1):
        credential = issued.credential(i)
        assert _proof_types(credential) == ["eddsa-rdfc-2022", "merkle-proof-2019"]
        assert credential["proof"][0]["verificationMethod"] == "did:web:www.tu-example.de#key-1"
        assert _js_verify(credential, issued.did_document, tmp_path) == VERIFIED, f"credential {i}"
        # and anchorcred's own verifier agrees on the same file (signature, Merkle inclusion, anchor, ...)
        assert issued.verifier().verify(credential, source=f"credential {i}").verdict is Verdict.VERIFIED


@pytest.mark.parametrize(
    "where, value",
    [
        (("credentialSubject", "achievement", "name"), "Doctor of Everything"),
        (("validFrom",), "2001-01-01T00:00:00Z"),
        (("issuer", "name"), "Another University"),
    ],
)
def test_js_rejects_a_tampered_issued_credential(node_ready, issued, tmp_path, where, value):
    credential = copy.deepcopy(issued.credential(1))
    target = credential
    for key in where[:-1]:
        target = target[key]
    assert target[where[-1]] != value
    target[where[-1]] = value
    result = _js_verify(credential, issued.did_document, tmp_path)
    assert result["verified"] is False and result["eddsaProofs"] == 1
    assert result["errors"], result


def test_js_resolves_the_issuer_did_from_the_given_document(node_ready, issued, tmp_path):
    """The DID document from the file is what decides: without key-1 as an assertion method, nothing verifies."""
    demoted = copy.deepcopy(issued.did_document)
    demoted["assertionMethod"] = [m for m in demoted["assertionMethod"] if not m.endswith("#key-1")]
    result = _js_verify(issued.credential(0), demoted, tmp_path)
    assert result["verified"] is False
    assert any("assertionMethod" in e or "not authorized" in e for e in result["errors"]), result

    other = copy.deepcopy(issued.did_document)
    other["id"] = "did:web:other.example"
    result = _js_verify(issued.credential(0), other, tmp_path)
    assert result["verified"] is False
    assert any("did:web:www.tu-example.de" in e for e in result["errors"]), result
