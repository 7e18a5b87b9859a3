"""Schemathesis against the issuer service's OpenAPI schema, in process (ASGI: no server, no network), with a valid
admin API key: 0 server errors, and every answer documented (status, media type, body schema).

Same approach as the verifier's (tests/service/test_openapi_fuzz.py, which says why schemathesis' pytest plugin is
not used): operations are parametrized with plain pytest, each case drawn from ``operation.as_strategy(mode)``, and
checked with schemathesis's own checks. The app is started once (its lifespan opens the database and the ledger) and
the cases go through it. A fuzzed ``POST /keys/{id}/revoke`` may revoke the very key the fuzzer uses; the key is
un-revoked before each case, so the fuzzing keeps reaching past authentication. Targeted cases with real objects
(an achievement, a roster, a delivered batch and its share token) check the success answers through the same checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from sqlalchemy import update

import schemathesis
from issuer.service.app import create_app
from issuer.store.models import ApiKey
from tests.issuer_service.servicekit import TestClient, add_tenant, example_spec, settings_for
from tests.issuer_service.test_api import roster_csv

SETTINGS_KW = dict(run_worker=False, max_body_bytes=64 * 1024, max_csv_bytes=64 * 1024, max_rows=50)
SCHEMA_DOC = create_app(settings_for(Path("/nonexistent"), **SETTINGS_KW)).openapi()
SCHEMA = schemathesis.openapi.from_dict(SCHEMA_DOC)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
NEGATABLE = {label for label, op in OPERATIONS.items()
             if op.definition.raw.get("parameters") or op.definition.raw.get("requestBody")}
FUZZ_CASES = [(label, mode) for label in sorted(OPERATIONS) for mode in GenerationMode
              if mode is GenerationMode.POSITIVE or label in NEGATABLE]
EXPECTED_OPERATIONS = {
    "GET /health", "GET /tenants/{slug}/did.json", "POST /achievements", "GET /achievements",
    "GET /achievements/{achievement_id}", "POST /achievements/{achievement_id}/rosters", "GET /rosters/{roster_id}",
    "POST /rosters/{roster_id}/issue", "GET /batches", "GET /batches/{batch_id}", "GET /batches/{batch_id}/credentials",
    "POST /credentials/issue", "GET /credentials/{credential_id}", "GET /share/{token}", "GET /share/{token}/qr.svg",
    "GET /share/{token}/qr.png", "GET /share/{token}/certificate.pdf", "POST /keys", "GET /keys",
    "POST /keys/{key_id}/revoke", "GET /key-history", "POST /key-history/{role}/rotate",
    "POST /key-history/{role}/revoke", "POST /key-history/record", "GET /credentials/{credential_id}/europass",
    "POST /credentials/{credential_id}/revoke", "POST /credentials/{credential_id}/suspend",
    "POST /credentials/{credential_id}/reinstate", "POST /status/changes", "POST /credentials/status",
    "GET /credentials/{credential_id}/status", "GET /status/lists", "GET /status/publications",
    "GET /tenants/{slug}/status/{list_id}",
}
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much])
FUZZ_CHECKS = [not_a_server_error, response_schema_conformance]
ALL_RESPONSE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                       response_schema_conformance]


def without_lifespan(app):
    """The app for schemathesis's client, which runs a lifespan around every call: the started app's lifespan must
    not end (and clear its state) after each case, so lifespan events are acknowledged here and go no further."""

    async def asgi(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await app(scope, receive, send)

    return asgi


class Fuzzed:
    def __init__(self, app, client, tenant):
        self.app, self.client, self.tenant = app, client, tenant
        self.asgi = without_lifespan(app)
        self.headers = tenant.auth("admin")

    def unrevoke(self) -> None:
        with self.app.state.sessionmaker() as session:
            session.execute(update(ApiKey).values(revoked_at=None))
            session.commit()

    def call(self, case, checks):
        self.unrevoke()
        return case.call_and_validate(app=self.asgi, checks=checks, headers=self.headers)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    from issuer.ledger.embedded import EmbeddedChain

    chain = EmbeddedChain()
    app = create_app(settings_for(tmp_path_factory.mktemp("fuzz"), **SETTINGS_KW), ledger=chain.provider())
    with TestClient(app) as client:  # runs the lifespan: database, ledger (the runner is off: settings)
        tenant = add_tenant(app, "fuzz-uni", "Fuzz University")
        yield Fuzzed(app, client, tenant)


def test_every_operation_loads_and_the_expected_ones_are_there():
    errors = [str(result.err()) for result in SCHEMA.get_all_operations() if not hasattr(result, "ok")]
    assert errors == []
    assert EXPECTED_OPERATIONS == OPERATIONS.keys(), sorted(OPERATIONS)


def test_the_fuzzed_schema_is_the_one_the_app_serves(fuzzed):
    r = fuzzed.client.get("/openapi.json")
    assert r.status_code == 200 and r.json() == SCHEMA_DOC


@pytest.mark.parametrize(("label", "mode"), FUZZ_CASES, ids=[f"{label}-{mode}" for label, mode in FUZZ_CASES])
def test_no_server_error_and_schema_conformant_responses(fuzzed, label, mode):
    strategy = OPERATIONS[label].as_strategy(generation_mode=mode)
    seen: dict[int, int] = {}

    @FUZZ
    @given(data=st.data())
    def run(data):
        case = data.draw(strategy, label="case")
        response = fuzzed.call(case, FUZZ_CHECKS)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    run()
    assert sum(seen.values()) >= 1, "hypothesis ran no example"
    assert all(status < 500 for status in seen), seen


def coverage_cases(label: str) -> list:
    operation = OPERATIONS[label]
    config = SCHEMA.config.generation_for(operation=operation)
    return list(SCHEMA.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=config))


def failures_of(fuzzed, cases, checks) -> list[str]:
    found = []
    for case in cases:
        try:
            fuzzed.call(case, checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                body = "-" if isinstance(case.body, NotSet) else repr(case.body)[:120]
                found.append(f"{case.method} {case.formatted_path} query={repr(case.query)[:120]} body={body}: "
                             f"{failure.title}: {' / '.join(failure.message.splitlines())}")
    return found


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_coverage_cases_give_no_server_error_and_conform(fuzzed, label):
    cases = coverage_cases(label)
    assert cases
    found = failures_of(fuzzed, cases, FUZZ_CHECKS)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_coverage_cases_answer_documented_statuses_and_media_types(fuzzed, label):
    method = label.split(" ", 1)[0]
    cases = [case for case in coverage_cases(label) if case.method.upper() == method]
    found = failures_of(fuzzed, cases, ALL_RESPONSE_CHECKS)
    assert not found, "\n".join(found)


# ── targeted cases with real objects, every response check ──────────────────────────────────────────────────

def test_the_success_answers_conform(fuzzed):
    op = OPERATIONS
    created = fuzzed.call(op["POST /achievements"].Case(body=example_spec(), media_type="application/json"),
                          ALL_RESPONSE_CHECKS)
    assert created.status_code == 201, created.text
    achievement = created.json()["id"]
    got = fuzzed.call(op["GET /achievements/{achievement_id}"].Case(path_parameters={"achievement_id": achievement}),
                      ALL_RESPONSE_CHECKS)
    assert got.status_code == 200
    uploaded = fuzzed.client.post(f"/achievements/{achievement}/rosters", headers=fuzzed.headers,
                                  files={"file": ("r.csv", roster_csv(), "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    roster = uploaded.json()["id"]
    assert fuzzed.call(op["GET /rosters/{roster_id}"].Case(path_parameters={"roster_id": roster}),
                       ALL_RESPONSE_CHECKS).status_code == 200
    issued = fuzzed.call(op["POST /rosters/{roster_id}/issue"].Case(path_parameters={"roster_id": roster}),
                         ALL_RESPONSE_CHECKS)
    assert issued.status_code == 202
    batch = issued.json()["batch"]["id"]
    again = fuzzed.call(op["POST /rosters/{roster_id}/issue"].Case(path_parameters={"roster_id": roster}),
                        ALL_RESPONSE_CHECKS)
    assert again.status_code == 409
    for label in ("GET /batches/{batch_id}", "GET /batches/{batch_id}/credentials"):
        assert fuzzed.call(op[label].Case(path_parameters={"batch_id": batch}), ALL_RESPONSE_CHECKS).status_code == 200
    items = fuzzed.client.get(f"/batches/{batch}/credentials", headers=fuzzed.headers).json()["items"]
    token = items[0]["share_url"].rsplit("/", 1)[1]
    pending = fuzzed.call(op["GET /share/{token}"].Case(path_parameters={"token": token}), ALL_RESPONSE_CHECKS)
    assert pending.status_code == 409  # the runner is off: nothing is signed
    for label in ("GET /achievements", "GET /batches", "GET /keys", "GET /health"):
        assert fuzzed.call(op[label].Case(), ALL_RESPONSE_CHECKS).status_code == 200
    did = fuzzed.call(op["GET /tenants/{slug}/did.json"].Case(path_parameters={"slug": fuzzed.tenant.slug}),
                      ALL_RESPONSE_CHECKS)
    assert did.status_code == 200 and did.json()["id"] == fuzzed.tenant.did
    key = fuzzed.call(op["POST /keys"].Case(body={"name": "k", "scopes": ["issue"]}, media_type="application/json"),
                      ALL_RESPONSE_CHECKS)
    assert key.status_code == 201
    revoked = fuzzed.call(op["POST /keys/{key_id}/revoke"].Case(path_parameters={"key_id": key.json()["id"]}),
                          ALL_RESPONSE_CHECKS)
    assert revoked.status_code == 200


def test_a_vc_api_credential_is_201_and_conforms(fuzzed):
    from tests.issuer_service.test_api import vc_api_credential

    case = OPERATIONS["POST /credentials/issue"].Case(
        body={"credential": vc_api_credential(None, fuzzed.tenant)}, media_type="application/json")
    r = fuzzed.call(case, ALL_RESPONSE_CHECKS)
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    got = fuzzed.call(OPERATIONS["GET /credentials/{credential_id}"].Case(path_parameters={"credential_id": vc["id"]}),
                      ALL_RESPONSE_CHECKS)
    assert got.status_code == 200 and got.json() == vc


def test_an_unauthenticated_request_is_a_documented_401(fuzzed):
    case = OPERATIONS["GET /batches"].Case()
    r = case.call_and_validate(app=fuzzed.asgi, checks=ALL_RESPONSE_CHECKS)
    assert r.status_code == 401


def test_malformed_json_is_a_documented_400(fuzzed):
    r = fuzzed.client.post("/credentials/issue", headers={**fuzzed.headers, "Content-Type": "application/json"},
                           content=b"{not json")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert "400" in SCHEMA_DOC["paths"]["/credentials/issue"]["post"]["responses"]
