"""The fast lane for POST /credentials/verify answers exactly as the FastAPI route does, and hands everything that
is not certainly well-formed to the route (which then answers with its problem details)."""

from __future__ import annotations

import copy
import json
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import verifier.service.fastlane as fastlane
from tests.service.timeless import timeless
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings


def app_for(batch, *, lane: bool):
    app = create_app(VerifierSettings(), verifier=batch.verifier())
    if not lane:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not fastlane.CredentialFastLane]
    return app


@pytest.fixture
def lane_calls(monkeypatch):
    calls = []
    real = fastlane.answer_credential

    async def counted(*args, **kwargs):
        calls.append(kwargs["size"])
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastlane, "answer_credential", counted)
    return calls


def tampered(doc):
    doc = copy.deepcopy(doc)
    doc["credentialSubject"]["result"][0]["value"] += " (edited)"
    return doc


def answers(batch, *, lane: bool, requests):
    out = []
    with TestClient(create_app(VerifierSettings(), verifier=batch.verifier()) if lane else app_for(batch, lane=False),
                    raise_server_exceptions=False) as client:
        for content, ctype in requests:
            r = client.post("/credentials/verify", content=content, headers={"content-type": ctype})
            body = r.json()
            if r.status_code == 200:
                timeless(body)  # two runs a second apart differ only by the clock
            headers = {k: v for k, v in r.headers.items() if k != "content-length"}
            out.append((r.status_code, headers, body))
    return out


def test_the_lane_and_the_route_answer_alike(embedded, lane_calls):
    _, batch = embedded
    requests = [
        (json.dumps({"verifiableCredential": batch.credential(0)}).encode(), "application/json"),
        (json.dumps({"verifiableCredential": tampered(batch.credential(1)), "options": {"x": 1}}).encode(),
         "application/json; charset=utf-8"),
        (json.dumps({"verifiableCredential": {"id": 7}}).encode(), "application/ld+json"),
        (b'{"verifiableCredential": "nope"}', "application/json"),  # 422, from the route either way
        (b"{nope", "application/json"),  # 400
        (json.dumps({"verifiableCredential": batch.credential(0)}).encode(), "text/plain"),  # 422: not read as JSON
    ]
    with_lane = answers(batch, lane=True, requests=requests)
    assert len(lane_calls) == 3  # the three well-formed ones took the lane
    without = answers(batch, lane=False, requests=requests)
    assert len(lane_calls) == 3
    assert [a[0] for a in with_lane] == [200, 200, 200, 422, 400, 422]
    assert with_lane == without


def test_a_service_not_started_is_left_to_the_route(embedded):
    _, batch = embedded
    app = create_app(VerifierSettings(), verifier=batch.verifier())
    client = TestClient(app, raise_server_exceptions=False)  # no `with`: the lifespan does not run
    r = client.post("/credentials/verify", json={"verifiableCredential": batch.credential(0)})
    assert r.status_code == 503 and r.json()["title"] == "Service not ready"
