"""VC-API ``POST /presentations/verify``: 200 with the presentation's checks and one result per credential; 400/422
problem details naming the field for requests that are not a presentation verification request."""

from __future__ import annotations

import warnings

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.holderkit import Holder, holder_batch
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings

CHALLENGE = "a1b2c3"
DOMAIN = "verifier.example.com"
PRESENTATION_CHECKS = ["presentation_format", "presentation_signature", "challenge", "credentials", "holder_binding"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    holder, other = Holder(Ed25519PrivateKey.generate()), Holder(Ed25519PrivateKey.generate())
    return holder, other, holder_batch(tmp_path_factory.mktemp("holder") / "out", holder, other)


@pytest.fixture(scope="module")
def client(world):
    _, _, batch = world
    settings = VerifierSettings(max_credentials=2, max_body_bytes=256 * 1024)
    with TestClient(create_app(settings, verifier=batch.verifier()), raise_server_exceptions=False) as c:
        yield c


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def test_a_good_presentation_is_verified_with_a_result_per_credential(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE, domain=DOMAIN)
    r = client.post("/presentations/verify",
                    json={"verifiablePresentation": vp, "options": {"challenge": CHALLENGE, "domain": DOMAIN}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True and body["verdict"] == "verified"
    assert [c["id"] for c in body["checks"]] == PRESENTATION_CHECKS
    assert {c["status"] for c in body["checks"]} == {"pass"}
    assert body["errors"] == [] and body["warnings"] == []
    [cred] = body["credentialResults"]
    assert cred["verified"] is True and cred["report"]["credential_id"] == batch.credential(0)["id"]
    assert [c["id"] for c in cred["checks"]][:2] == ["format", "signature"]
    assert body["report"]["signer"] == holder.did and "credentials" not in body["report"]


def test_a_wrong_challenge_is_200_not_verified_with_the_reason(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge="stale")
    body = client.post("/presentations/verify",
                       json={"verifiablePresentation": vp, "options": {"challenge": CHALLENGE}}).json()
    assert body["verified"] is False and body["verdict"] == "failed"
    [error] = body["errors"]
    assert error["type"].endswith("check-failed#challenge") and "stale" in error["detail"]


def test_without_a_challenge_the_answer_warns_and_is_not_verified(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)])
    body = client.post("/presentations/verify", json={"verifiablePresentation": vp}).json()
    assert body["verified"] is False and body["verdict"] == "partially_verified"
    assert [w["type"].rsplit("#", 1)[1] for w in body["warnings"]] == ["challenge"]
    assert "replay" in body["warnings"][0]["detail"]


def test_a_holder_who_is_not_the_subject_fails_holder_binding(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(2)], challenge=CHALLENGE)
    body = client.post("/presentations/verify",
                       json={"verifiablePresentation": vp, "options": {"challenge": CHALLENGE}}).json()
    status = {c["id"]: c["status"] for c in body["checks"]}
    assert status["holder_binding"] == "fail" and status["credentials"] == "pass"
    assert body["credentialResults"][0]["verified"] is True


def test_an_unsigned_presentation_fails(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)])
    del vp["proof"]
    body = client.post("/presentations/verify", json={"verifiablePresentation": vp, "options": {}}).json()
    assert body["verified"] is False
    assert any(e["type"].endswith("#presentation_signature") and "unsigned" in e["detail"] for e in body["errors"])


def test_unsupported_options_are_warnings(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(0)], challenge=CHALLENGE)
    body = client.post("/presentations/verify", json={
        "verifiablePresentation": vp, "options": {"challenge": CHALLENGE, "checks": ["proof"], "unknown": 1}}).json()
    assert body["verified"] is True
    assert [w["detail"] for w in body["warnings"]] == ["options.checks is not supported; every check runs",
                                                      "options.unknown is not supported; every check runs"]


def test_too_many_embedded_credentials_is_a_failed_format_check_not_an_error(client, world):
    holder, _, batch = world
    vp = holder.present([batch.credential(i) for i in range(3)], challenge=CHALLENGE)
    body = client.post("/presentations/verify",
                       json={"verifiablePresentation": vp, "options": {"challenge": CHALLENGE}}).json()
    assert body["verdict"] == "failed" and body["credentialResults"] == []
    assert "at most 2 credentials" in body["checks"][0]["reason"]


@pytest.mark.parametrize("payload, status, field", [
    ({"presentation": {}}, 422, "verifiablePresentation"),
    ({"verifiablePresentation": "eyJhbGciOi..."}, 422, "verifiablePresentation"),
    ({"verifiablePresentation": {}, "options": {"challenge": 7}}, 422, "options.challenge"),
    ({"verifiablePresentation": {}, "options": {"challenge": ""}}, 422, "options.challenge"),
    ({"verifiablePresentation": {}, "options": {"domain": ["a", "b"]}}, 422, "options.domain"),
    ({"verifiablePresentation": {}, "extra": 1}, 422, "extra"),
])
def test_a_request_that_is_not_a_presentation_request_is_a_problem_naming_the_field(client, payload, status, field):
    body = problem(client.post("/presentations/verify", json=payload), status)
    assert field in [e["field"] for e in body["errors"]], body
    assert field in body["detail"]


def test_a_body_that_is_not_json_is_a_400_problem_even_for_a_browser(client):
    r = client.post("/presentations/verify", content=b"{nope",
                    headers={"content-type": "application/json", "accept": "text/html"})
    assert "not JSON" in problem(r, 400)["detail"]


def test_the_operation_is_in_the_openapi_document(client):
    op = client.get("/openapi.json").json()["paths"]["/presentations/verify"]["post"]
    assert {"200", "400", "413", "422"} <= op["responses"].keys()
