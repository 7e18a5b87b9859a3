"""The recognition scorecard in the verifier's answers: the API (route and fast lane alike), the page, the CLI JSON."""

from __future__ import annotations

import json
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings

CRITERIA = ["quality", "authenticity", "level", "learning_outcomes", "workload", "assessment", "identity"]


@pytest.fixture(scope="module")
def client(embedded, tmp_path_factory):
    _, batch = embedded
    settings = VerifierSettings(data_dir=tmp_path_factory.mktemp("verifier-data"))
    with TestClient(create_app(settings, verifier=batch.verifier()), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8; x=1"])
def test_the_api_answers_with_the_scorecard(client, embedded, content_type):
    """The fast lane takes plain application/json; an unusual media type goes to the route: both give the card."""
    _, batch = embedded
    r = client.post("/credentials/verify", content=json.dumps({"verifiableCredential": batch.credential(0)}),
                    headers={"content-type": content_type})
    assert r.status_code == 200, r.text
    body = r.json()
    card = body["recognition"]
    assert [c["id"] for c in card["criteria"]] == CRITERIA
    assert {c["id"]: c["score"] for c in card["criteria"]} == {
        "quality": 3, "authenticity": 2, "level": 3, "learning_outcomes": 3, "workload": 3, "assessment": 3,
        "identity": 2}
    assert card["eu_elements"]["status"] == "pass"
    assert body["report"]["recognition"] == card


def test_a_tampered_credential_scores_zero_for_authenticity(client, embedded):
    _, batch = embedded
    doc = batch.credential(1)
    doc["credentialSubject"]["result"][0]["value"] = "1.0"
    card = client.post("/credentials/verify", json={"verifiableCredential": doc}).json()["recognition"]
    authenticity = card["criteria"][1]
    assert (authenticity["score"], authenticity["reason"]) == (0, "signature, integrity failed")


def test_the_page_shows_the_scorecard_as_a_table_in_words(client, embedded):
    _, batch = embedded
    r = client.post("/verify", files=[("files", ("c.json", batch.result.files[0].read_bytes(), "application/json"))])
    assert r.status_code == 200
    html = r.text
    assert '<table class="scorecard"' in html and "Recognition scorecard" in html
    assert '<th scope="row">Level</th>' in html and "EQF level 6" in html
    assert "3 of 3" in html and "Green</span>: fully evidenced" in html and "Amber</span>: partly evidenced" in html
    assert "EU elements: passed" in html


def test_the_page_offers_the_signed_pdf_report(client, embedded):
    _, batch = embedded
    r = client.post("/verify", files=[("files", ("c.json", batch.result.files[0].read_bytes(), "application/json"))])
    assert '<form class="noprint report-pdf" method="post" action="/report.pdf">' in r.text
    assert "Download the signed PDF report" in r.text


@pytest.mark.parametrize("how", ["json", "form"])
def test_report_pdf_is_signed_by_the_service_key(client, embedded, how):
    from verifier.pdfreport import read_report_pdf
    from verifier.reportsign import credential_digest

    _, batch = embedded
    doc = batch.credential(2)
    if how == "json":
        r = client.post("/report.pdf", json={"verifiableCredential": doc})
    else:
        r = client.post("/report.pdf", data={"credential": json.dumps(doc)})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="verification-report-')
    signed = read_report_pdf(r.content)
    assert signed.signer == client.app.state.report_key.did
    assert signed.content["credential"]["digest"] == credential_digest(doc)
    assert signed.content["verdict"] == "verified"
    assert [c["score"] for c in signed.content["recognition"]["criteria"]] == [3, 2, 3, 3, 3, 3, 2]


def test_report_pdf_refuses_what_is_no_credential(client):
    r = client.post("/report.pdf", json={"credential": {}})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert client.post("/report.pdf", json={"verifiableCredential": [1]}).status_code == 422
    assert client.post("/report.pdf", data={"credential": "{not json"}).status_code == 400
    assert client.post("/report.pdf", content=b"x", headers={"content-type": "text/plain"}).status_code == 415


def test_the_service_makes_its_key_once(tmp_path, embedded):
    _, batch = embedded
    settings = VerifierSettings(data_dir=tmp_path)
    with TestClient(create_app(settings, verifier=batch.verifier())) as c:
        first = c.app.state.report_key.did
    assert (tmp_path / "report-key.pem").stat().st_mode & 0o777 == 0o600
    with TestClient(create_app(settings, verifier=batch.verifier())) as c:
        assert c.app.state.report_key.did == first
    other = tmp_path / "elsewhere" / "key.pem"
    with TestClient(create_app(VerifierSettings(data_dir=tmp_path, report_key_file=other),
                               verifier=batch.verifier())) as c:
        assert c.app.state.report_key.did != first and other.exists()


def test_the_cli_json_carries_the_scorecard(embedded, tmp_path):
    """`anchorcred verify --json`: with no ledger configured the anchor is not confirmed, so authenticity is 1."""
    from typer.testing import CliRunner

    from anchorcred_cli import app

    _, batch = embedded
    result = CliRunner().invoke(app, ["verify", "--json", "--data-dir", str(tmp_path), "--did-document",
                                      str(batch.result.did_document), str(batch.result.files[0])])
    assert result.exit_code == 1, result.output  # partially verified: the anchor could not be checked
    card = json.loads(result.output)[0]["recognition"]
    assert [c["id"] for c in card["criteria"]] == CRITERIA
    authenticity = card["criteria"][1]
    assert authenticity["score"] == 1 and authenticity["reason"].startswith("signature verified; not confirmed: anchor")
