"""Hostile or odd input gets a clear verdict or a clear error: never a traceback, never evidence from the wrong place."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from issuer.keys import new_identity
from verifier import keys
from verifier.errors import LedgerUnavailableError
from verifier.ledger.errors import LedgerResponseError
from verifier.ledger.evm import HttpTransport, _utc, redact_url
from verifier.report import Verdict

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import anchorcred_cli; anchorcred_cli.main()", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def copied(embedded, tmp_path):
    """Two credentials of the session batch and the issuer's real DID document, in a fresh folder."""
    chain, batch = embedded
    folder = tmp_path / "creds"
    folder.mkdir()
    for p in batch.result.files[:2]:
        shutil.copy(p, folder / p.name)
    real = tmp_path / "real-did.json"
    shutil.copy(batch.result.did_document, real)
    return batch, folder, real


def test_a_did_document_beside_the_credentials_never_overrides_the_one_named(copied, tmp_path):
    batch, folder, real = copied
    forged = copy.deepcopy(batch.did_document)
    other = new_identity(None)
    forged["verificationMethod"][0]["publicKeyMultibase"] = keys.encode_multikey(keys.PublicKey("Ed25519", other.ed25519_public))
    (folder / "did.json").write_text(json.dumps(forged), "utf-8")
    files = [str(p) for p in sorted(folder.glob("*.json")) if p.name != "did.json"]

    proc = cli("verify", "--json", "--data-dir", str(tmp_path), "--did-document", str(real), *files)
    signature = json.loads(proc.stdout)[0]["checks"][1]
    assert signature["status"] == "pass" and str(real) in signature["reason"]

    proc = cli("verify", "--json", "--data-dir", str(tmp_path), *files)
    signature = json.loads(proc.stdout)[0]["checks"][1]
    assert signature["status"] == "fail" and "beside the credentials" in signature["reason"]


def test_rpc_credentials_never_reach_a_message():
    url = "http://user:s3cret@127.0.0.1:9/v3/APIKEY123"
    assert redact_url(url) == "http://127.0.0.1:9"
    with pytest.raises(LedgerUnavailableError) as err:
        HttpTransport(url, timeout=0.5).request("eth_chainId", [])
    text = str(err.value)
    assert "s3cret" not in text and "APIKEY123" not in text and "127.0.0.1:9" in text


def test_a_block_time_out_of_range_is_a_ledger_answer_error():
    with pytest.raises(LedgerResponseError, match="not a representable time"):
        _utc(10**20)


def test_proofs_with_odd_ids_and_deep_nesting_fail_cleanly(embedded):
    chain, batch = embedded
    verifier = batch.verifier()
    doc = batch.credential(0)
    doc["proof"][0]["previousProof"] = "urn:x"
    doc["proof"][1]["id"] = ["not", "a", "string"]
    assert verifier.verify(doc).verdict is Verdict.FAILED

    deep = batch.credential(0)
    node = deep["credentialSubject"]
    for _ in range(800):
        node["x"] = {}
        node = node["x"]
    report = verifier.verify(deep)
    assert report.verdict is Verdict.FAILED
    assert "deep" in report.checks[0].reason


def test_verification_methods_with_odd_ids_are_ignored(embedded):
    chain, batch = embedded
    did_doc = copy.deepcopy(batch.did_document)
    did_doc["verificationMethod"].insert(0, {"id": 42, "publicKeyMultibase": ["x"]})
    did_doc["verificationMethod"].append({"id": "#k", "publicKeyMultibase": ["not", "a", "string"]})
    report = batch.verifier(did_document=did_doc).verify(batch.credential(0))
    assert report.verdict is Verdict.VERIFIED


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--rpc-url", "http://127.0.0.1:9", "--chain-id", "1", "--registry", "0x123"], "registry_address"),
        (["--rpc-url", "ftp://127.0.0.1:9", "--chain-id", "1"], "rpc_url"),
    ],
)
def test_bad_ledger_options_are_usage_errors(tmp_path, args, expected):
    cred = tmp_path / "c.json"
    cred.write_text("{}", "utf-8")
    proc = cli("verify", "--data-dir", str(tmp_path), *args, str(cred))
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr


def test_unreadable_inputs_are_reported_not_raised(tmp_path):
    folder = tmp_path / "adir.json"
    folder.mkdir()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000, "utf-8")
    proc = cli("verify", "--json", "--data-dir", str(tmp_path), str(folder), str(deep))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    reports = json.loads(proc.stdout)
    assert [r["verdict"] for r in reports] == ["failed", "failed"]
    assert "cannot be read" in reports[0]["checks"][0]["reason"]
    assert "nested too deep" in reports[1]["checks"][0]["reason"]


def test_a_did_document_that_is_not_an_object_is_a_usage_error(tmp_path):
    bad = tmp_path / "did.json"
    bad.write_text("[1, 2]", "utf-8")
    cred = tmp_path / "c.json"
    cred.write_text("{}", "utf-8")
    proc = cli("verify", "--data-dir", str(tmp_path), "--did-document", str(bad), str(cred))
    assert proc.returncode == 2 and "JSON object" in proc.stderr and "Traceback" not in proc.stderr
