"""Schemathesis against the verifier service's OpenAPI schema, in process (ASGI: no server, no network).

Issue 3 asks for 0 server errors under schema-driven fuzzing. Every operation the app documents is fuzzed with
hypothesis-generated requests, both ones that fit the schema (positive) and ones that do not (negative), and every
response must be a non-5xx whose body matches the schema documented for its status. A real credential from the
embedded batch must verify (200) through the same machinery.

Why not ``@schema.parametrize()``: schemathesis 4.32.5's pytest plugin gives every operation the same node id under
pytest 9.2 (``test_fuzz`` six times), and ``schemathesis.pytest.from_fixture`` fails with ``'Function' object has no
attribute '_nodeid'``. So operations are parametrized here with plain pytest and each case is drawn from
``operation.as_strategy(mode)``; the checks are schemathesis's own.

The schema fuzzed is ``create_app(...).openapi()`` computed at import (pure: the factory starts nothing); a test below
asserts it is exactly what the running app serves at /openapi.json. Verify-by-link goes through a guarded fetcher
with a mock transport and an empty resolver, so generated URLs never reach DNS or the network.

A handled 5xx fails as schemathesis's "Server error"; an unhandled exception fails with its own traceback (the
in-process ASGI client re-raises what Starlette's ServerErrorMiddleware re-raises), which names the bug directly.
Every answer must also be documented (status and media type), and a 405 must carry its Allow header.
"""

from __future__ import annotations

import copy
import json
import warnings

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

with warnings.catch_warnings():  # starlette's TestClient warns that it prefers httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.holderkit import Holder
from verifier.fetch import FetchPolicy, GuardedFetcher
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings

SETTINGS = VerifierSettings(max_files=5, max_credentials=6, max_body_bytes=64 * 1024, max_upload_bytes=1 << 20)
SCHEMA_DOC = create_app(SETTINGS).openapi()
SCHEMA = schemathesis.openapi.from_dict(SCHEMA_DOC)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
# Negative cases need something to negate: an operation without parameters or body (GET /health, GET /) has none.
NEGATABLE = {label for label, op in OPERATIONS.items()
             if op.definition.raw.get("parameters") or op.definition.raw.get("requestBody")}
FUZZ_CASES = [(label, mode) for label in sorted(OPERATIONS) for mode in GenerationMode
              if mode is GenerationMode.POSITIVE or label in NEGATABLE]
# The operations the verifier documents today; the fuzz below covers whatever the schema holds, this only makes a
# vanished operation (or a schema schemathesis cannot load) fail loudly instead of silently fuzzing less.
EXPECTED_OPERATIONS = {"GET /health", "POST /credentials/verify", "POST /presentations/verify", "GET /",
                       "POST /verify", "GET /verify/link", "POST /verify.csv"}
SHARE_HOST = "93.184.216.34"  # an IP literal: vetted as public, then answered by the mock transport, never contacted
# Bounded for CI: 30 examples per operation and mode, no per-example deadline (the first verification warms caches).
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FUZZ_CHECKS = [not_a_server_error, response_schema_conformance]
ALL_RESPONSE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                       response_schema_conformance]


@pytest.fixture(scope="module")
def app(embedded):
    _, batch = embedded
    good = json.dumps(batch.credential(0)).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/c/good":
            return httpx.Response(200, headers={"content-type": "application/json"}, content=good)
        return httpx.Response(404, headers={"content-type": "application/json"}, content=b"{}")

    # An empty resolver: any host name is "could not resolve"; IP literals reach only the mock transport.
    fetcher = GuardedFetcher(FetchPolicy(), transport=httpx.MockTransport(handler), resolver={})
    yield create_app(SETTINGS, verifier=batch.verifier(), fetcher=fetcher)
    fetcher.close()


# ── the schema under test ───────────────────────────────────────────────────────────────────────────────────

def test_every_operation_loads_and_the_expected_ones_are_there():
    errors = [str(result.err()) for result in SCHEMA.get_all_operations() if not hasattr(result, "ok")]
    assert errors == []
    assert EXPECTED_OPERATIONS <= OPERATIONS.keys(), sorted(OPERATIONS)


def test_the_fuzzed_schema_is_the_one_the_app_serves(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.json() == SCHEMA_DOC


# ── fuzzing: no 5xx, and bodies match the documented schema ─────────────────────────────────────────────────

@pytest.mark.parametrize(("label", "mode"), FUZZ_CASES, ids=[f"{label}-{mode}" for label, mode in FUZZ_CASES])
def test_no_server_error_and_schema_conformant_responses(app, label, mode):
    strategy = OPERATIONS[label].as_strategy(generation_mode=mode)
    seen: dict[int, int] = {}

    @FUZZ
    @given(data=st.data())
    def run(data):
        case = data.draw(strategy, label="case")
        response = case.call_and_validate(app=app, checks=FUZZ_CHECKS)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    run()
    assert sum(seen.values()) >= 1, "hypothesis ran no example"
    assert all(status < 500 for status in seen), seen


# ── schemathesis's coverage cases: boundaries, missing and wrongly typed fields, undeclared methods ──────────

def coverage_cases(label: str) -> list:
    operation = OPERATIONS[label]
    config = SCHEMA.config.generation_for(operation=operation)
    return list(SCHEMA.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=config))


def failures_of(app, cases, checks) -> list[str]:
    """Every failing case (not just the first), each with how to reproduce it."""
    found = []
    for case in cases:
        try:
            case.call_and_validate(app=app, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                found.append(f"{case.method} {case.formatted_path} query={repr(case.query)[:120]} body={'-' if isinstance(case.body, NotSet) else repr(case.body)[:120]}: "
                             f"{failure.title}: {' / '.join(failure.message.splitlines())}")
    return found


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_coverage_cases_give_no_server_error_and_conform(app, label):
    cases = coverage_cases(label)
    assert len(cases) >= 2
    found = failures_of(app, cases, FUZZ_CHECKS)
    assert not found, "\n".join(found)


# Documented status codes and media types, on the operation's own method (every answer the service gives is in the
# OpenAPI document: problem details for the API, pages for the page routes).
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_coverage_cases_answer_documented_statuses_and_media_types(app, label):
    method = label.split(" ", 1)[0]
    cases = [case for case in coverage_cases(label) if case.method.upper() == method]
    found = failures_of(app, cases, ALL_RESPONSE_CHECKS)
    assert not found, "\n".join(found)


# ── targeted examples through the same machinery, with every response check ─────────────────────────────────

def test_a_real_credential_verifies_200_and_conforms(app, embedded):
    _, batch = embedded
    case = OPERATIONS["POST /credentials/verify"].Case(
        body={"verifiableCredential": batch.credential(0), "options": {}}, media_type="application/json")
    response = case.call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True and body["verdict"] == "verified"
    # Every check passed, but those this verifier was not asked to make (no trust root, no status entry): skipped.
    assert {c["id"] for c in body["checks"] if c["status"] != "pass"} <= {"issuer_trust", "status"}, body["checks"]
    assert {c["status"] for c in body["checks"]} <= {"pass", "skipped"}
    assert body["report"]["credential_id"] == batch.credential(0)["id"]


def test_a_tampered_credential_is_200_not_verified_and_conforms(app, embedded):
    _, batch = embedded
    doc = copy.deepcopy(batch.credential(1))
    doc["credentialSubject"]["result"][0]["value"] += " (edited)"
    case = OPERATIONS["POST /credentials/verify"].Case(body={"verifiableCredential": doc},
                                                       media_type="application/json")
    response = case.call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is False and body["verdict"] == "failed"
    assert {c["id"]: c["status"] for c in body["checks"]}["signature"] == "fail"


def test_a_signed_presentation_is_200_and_conforms(app, embedded):
    _, batch = embedded
    holder = Holder(Ed25519PrivateKey.generate())
    vp = holder.present([batch.credential(0)], challenge="x1")
    case = OPERATIONS["POST /presentations/verify"].Case(
        body={"verifiablePresentation": vp, "options": {"challenge": "x1"}}, media_type="application/json")
    response = case.call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 200, response.text
    body = response.json()
    status = {c["id"]: c["status"] for c in body["checks"]}
    # the example roster's learner is not this holder: everything passes but the binding
    assert status == {"presentation_format": "pass", "presentation_signature": "pass", "challenge": "pass",
                      "credentials": "pass", "holder_binding": "fail"}
    assert body["credentialResults"][0]["verified"] is True


def test_a_body_that_is_not_a_verification_request_is_a_documented_422(app):
    case = OPERATIONS["POST /credentials/verify"].Case(body={"verifiableCredential": "not an object"},
                                                       media_type="application/json")
    response = case.call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 422
    assert response.headers["content-type"][0].startswith("application/problem+json")
    assert response.json()["status"] == 422


def test_health_is_200_and_conforms(app):
    response = OPERATIONS["GET /health"].Case().call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_share_link_to_a_real_credential_is_200(app):
    case = OPERATIONS["GET /verify/link"].Case(query={"url": f"https://{SHARE_HOST}/c/good"})
    response = case.call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 200
    assert response.headers["content-type"][0].startswith("text/html")
    assert "Verified" in response.text


def test_a_body_over_the_limit_is_a_documented_413(app):
    doc = {"verifiableCredential": {"padding": "x" * (SETTINGS.max_body_bytes + 1)}}
    case = OPERATIONS["POST /credentials/verify"].Case(body=doc, media_type="application/json")
    response = case.call_and_validate(app=app, checks=ALL_RESPONSE_CHECKS)
    assert response.status_code == 413
    assert response.json()["status"] == 413


# RFC 9110 §15.5.6: a 405 MUST carry Allow. Starlette puts it on the HTTPException; the service's problem handler
# (verifier/service/problems.py, install_problem_handlers._http) builds a new response and drops exc.headers.
# schemathesis reports it as ST204 "Wrong response to undeclared method" on every operation.
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_an_undeclared_method_is_405_with_allow(app, label):
    method, path = label.split(" ", 1)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.request("TRACE", path)
    assert r.status_code == 405
    assert method in [m.strip() for m in r.headers.get("allow", "").split(",")], dict(r.headers)
