"""The verifier service (VC-API and the employer's page) over a real batch issued on the embedded chain."""

from __future__ import annotations

import copy
import csv
import io
import json
import warnings

import pytest

with warnings.catch_warnings():  # starlette's TestClient warns that it prefers httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings, get_settings
from verifier.verify import CHECKS

PROBLEM_KEYS = {"type", "title", "status", "detail"}


@pytest.fixture(scope="module")
def client(embedded):
    _, batch = embedded
    settings = VerifierSettings(max_files=5, max_credentials=6, max_body_bytes=64 * 1024, max_upload_bytes=1 << 20)
    with TestClient(create_app(settings, verifier=batch.verifier()), raise_server_exceptions=False) as c:
        yield c


def tampered(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    doc["credentialSubject"]["result"][0]["value"] += " (edited)"
    return doc


def files_of(batch, n: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (p.name, p.read_bytes(), "application/json")) for p in batch.result.files[:n]]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= body.keys()
    assert body["status"] == status
    assert body["type"].startswith("https://anchorcred.org/problems/")
    return body


# ── VC-API ─────────────────────────────────────────────────────────────────────────────────────────────────

def test_a_good_credential_verifies(client, embedded):
    _, batch = embedded
    r = client.post("/credentials/verify", json={"verifiableCredential": batch.credential(0), "options": {}})
    assert r.status_code == 200
    body = r.json()
    assert body["verified"] is True and body["verdict"] == "verified"
    assert [c["id"] for c in body["checks"]] == [cid for cid, _title in CHECKS]
    assert {c["id"]: c["status"] for c in body["checks"] if c["status"] != "pass"} == {
        "issuer_trust": "skipped", "status": "skipped"}
    assert body["errors"] == [] and body["warnings"] == []
    assert body["report"]["credential_id"] == batch.credential(0)["id"]
    assert body["report"]["anchor"]["chain_id"] == batch.chain_id
    assert body["report"]["issuer"]["id"] == "did:web:www.tu-example.de"


def test_a_tampered_credential_is_200_not_verified_with_the_signature_failing(client, embedded):
    _, batch = embedded
    r = client.post("/credentials/verify", json={"verifiableCredential": tampered(batch.credential(1))})
    assert r.status_code == 200
    body = r.json()
    assert body["verified"] is False and body["verdict"] == "failed"
    status = {c["id"]: c["status"] for c in body["checks"]}
    assert status["signature"] == "fail"
    assert status["integrity"] == "fail"
    failed = [e for e in body["errors"] if e["type"].endswith("#signature")]
    assert len(failed) == 1 and "signature" in failed[0]["detail"].lower()


def test_unsupported_options_are_warnings_and_change_nothing(client, embedded):
    _, batch = embedded
    r = client.post("/credentials/verify",
                    json={"verifiableCredential": batch.credential(2), "options": {"checks": ["proof"], "domain": "x"}})
    body = r.json()
    assert body["verified"] is True
    assert [w["detail"] for w in body["warnings"]] == [
        "options.checks is not supported; every check runs", "options.domain is not supported; every check runs"]


def test_a_body_that_is_not_json_is_a_400_problem(client):
    r = client.post("/credentials/verify", content=b"{not json", headers={"content-type": "application/json"})
    body = assert_problem(r, 400)
    assert "not JSON" in body["detail"]


def test_a_body_without_verifiable_credential_is_a_422_problem_naming_the_field(client):
    body = assert_problem(client.post("/credentials/verify", json={"credential": {}}), 422)
    assert "verifiableCredential" in body["detail"]
    assert {"field": "verifiableCredential", "detail": "Field required"} in body["errors"]


def test_a_credential_that_is_not_an_object_is_a_422_problem(client):
    body = assert_problem(client.post("/credentials/verify", json={"verifiableCredential": "eyJhbGciOi..."}), 422)
    assert [e["field"] for e in body["errors"]] == ["verifiableCredential"]


def test_a_body_over_the_limit_is_a_413_problem(client):
    big = {"verifiableCredential": {"pad": "x" * (70 * 1024)}}
    body = assert_problem(client.post("/credentials/verify", json=big), 413)
    assert "at most 65536 bytes" in body["detail"]


def test_a_chunked_body_over_the_limit_is_refused_too(client):
    def chunks():
        yield b'{"verifiableCredential": {"pad": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}}'
    r = client.post("/credentials/verify", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(r, 413)


def test_unknown_paths_and_methods_are_problems(client):
    assert_problem(client.get("/nope"), 404)
    assert_problem(client.get("/credentials/verify"), 405)


def test_health_and_openapi(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/credentials/verify", "/health", "/verify", "/verify.csv", "/"} <= paths.keys()
    assert "multipart/form-data" in paths["/verify"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200


# ── the page ───────────────────────────────────────────────────────────────────────────────────────────────

def test_the_page_is_an_accessible_form(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="en">' in html
    assert '<label for="credential">' in html and 'id="credential"' in html
    assert '<label for="files">' in html and 'type="file" multiple' in html
    assert "<script" not in html and "http://" not in html.split("</head>")[0].replace('http-equiv', '')
    assert "default-src 'none'" in r.headers["content-security-policy"]
    css = client.get("/static/verifier.css")
    assert css.status_code == 200 and "@media print" in css.text


def test_a_pasted_credential_renders_its_report(client, embedded):
    _, batch = embedded
    doc = batch.credential(3)
    r = client.post("/verify", data={"credential": json.dumps(doc)})
    assert r.status_code == 200
    html = r.text
    assert "Verdict: Verified" in html
    assert html.count('class="status">Passed:</span>') == 6
    assert doc["id"] in html
    assert "Confirmations" in html and "Block" in html and "Transaction" in html
    assert "did:web:www.tu-example.de" in html
    assert "ECTS" in html and "EQF 6" in html  # the EU elements in readable form


def test_a_tampered_credential_renders_red_with_its_reason(client, embedded):
    _, batch = embedded
    r = client.post("/verify", data={"credential": json.dumps(tampered(batch.credential(4)))})
    assert r.status_code == 200
    assert "Verdict: Failed" in r.text
    assert 'class="check check-fail"' in r.text and "Failed:</span>" in r.text


def test_bulk_upload_of_three_files_renders_three_reports(client, embedded):
    _, batch = embedded
    r = client.post("/verify", files=files_of(batch, 3))
    assert r.status_code == 200
    assert r.text.count('<article class="report"') == 3
    assert r.text.count("Verdict: Verified") == 3
    assert "3 credentials:" in r.text and "3 verified, 0 partially verified," in r.text
    for p in batch.result.files[:3]:
        assert p.name in r.text
    assert 'download="verdicts.csv"' in r.text


def test_csv_of_verdicts_has_a_header_and_one_row_per_file(client, embedded):
    _, batch = embedded
    files = files_of(batch, 2) + [("files", ("bad.json", json.dumps(tampered(batch.credential(5))).encode(), "application/json"))]
    r = client.post("/verify.csv", files=files)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["source", "credential_id", "verdict", "check", "reason"]
    assert len(rows) == 4
    assert [row[2] for row in rows[1:]] == ["verified", "verified", "failed"]
    assert rows[1][0] == batch.result.files[0].name and rows[1][1] == batch.credential(0)["id"]
    assert rows[3][3] == "signature" and rows[3][4]


def test_unreadable_files_get_a_failed_report_not_an_error(client):
    r = client.post("/verify.csv", files=[("files", ("x.json", b"\xff\xfe", "application/json")),
                                          ("files", ("y.json", b"{oops", "application/json"))])
    rows = list(csv.reader(io.StringIO(r.text)))
    assert [(row[0], row[2], row[3]) for row in rows[1:]] == [("x.json", "failed", "format"), ("y.json", "failed", "format")]
    assert "not UTF-8" in rows[1][4] and "not valid JSON" in rows[2][4]


def test_an_empty_form_is_a_page_message(client):
    r = client.post("/verify", data={"credential": "  "}, headers={"accept": "text/html"})
    assert r.status_code == 400
    assert "text/html" in r.headers["content-type"]
    assert "No credential given" in r.text and "Traceback" not in r.text


def test_too_many_files_is_refused_clearly(client, embedded):
    _, batch = embedded
    r = client.post("/verify", files=files_of(batch, 6), headers={"accept": "text/html"})
    assert r.status_code == 400
    assert "Too many files" in r.text and "Maximum number of files is 5" in r.text


def test_too_many_credentials_is_refused_clearly(client):
    docs = [{"id": f"urn:uuid:{i}"} for i in range(7)]  # counted before anything is verified
    body = assert_problem(client.post("/verify.csv", data={"credential": json.dumps(docs)}), 413)
    assert "7 credentials" in body["detail"] and "at most 6" in body["detail"]


# ── settings and the app built from them ───────────────────────────────────────────────────────────────────

def test_settings_come_from_verifier_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("VERIFIER_MAX_FILES", "7")
    monkeypatch.setenv("VERIFIER_DID_DOCUMENTS", json.dumps([str(tmp_path / "did.json")]))
    s = get_settings()
    assert s.max_files == 7 and s.did_documents == [tmp_path / "did.json"]


def test_an_app_built_from_settings_verifies_with_configured_did_documents(embedded, tmp_path):
    """Without an injected verifier the lifespan builds one: DID document from a file, no ledger configured, so
    the anchor is grey (indeterminate) and the verdict partially verified, never verified."""
    _, batch = embedded
    settings = VerifierSettings(did_documents=[batch.result.did_document])
    with TestClient(create_app(settings)) as c:
        assert c.get("/health").json()["did_documents"] == 1
        body = c.post("/credentials/verify", json={"verifiableCredential": batch.credential(0)}).json()
    status = {ch["id"]: ch["status"] for ch in body["report"]["checks"]}
    assert status["signature"] == "pass" and status["anchor"] == "indeterminate"
    assert body["verdict"] == "partially_verified" and body["verified"] is False


class Exploding:
    def verify(self, *a, **k):
        raise RuntimeError("secret internal detail")


def test_an_unexpected_error_is_a_500_problem_without_internals():
    with TestClient(create_app(VerifierSettings(), verifier=Exploding()), raise_server_exceptions=False) as c:
        r = c.post("/credentials/verify", json={"verifiableCredential": {}})
    body = assert_problem(r, 500)
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
    assert body["title"] == "Internal error"
