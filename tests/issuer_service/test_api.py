"""The issuer API end to end, on the embedded chain: define the example achievement, upload the example roster with a
renamed column (mapping), see a bad row refused, fix it, issue, follow the batch to delivered, and verify every
credential with the ``verifier`` package (over the same chain and the tenant's did.json as the app serves it). Then
the VC-API: issue one credential (201, signed), watch its merkle-proof-2019 proof arrive, and the 400/422 answers.
The flow runs once more on PostgreSQL (marker ``postgres``)."""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from datetime import date, datetime, timezone
from typing import Any

import pytest

from issuer.achievement import parse_achievement
from issuer.batch import issuer_profile
from issuer.credential import build_credential
from issuer.roster import Learner
from tests.issuer_service.servicekit import (EXAMPLES, Service, TenantKeys, chain, example_spec, pg_url,  # noqa: F401
                                             service, settings_for, start_service)
from verifier.did import DidResolver
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.verify import Verifier

DELIVERY_TIMEOUT = 90.0


# ── helpers (also used by the isolation tests) ──────────────────────────────────────────────────────────────

def roster_csv(*, rename: tuple[str, str] | None = None, bad_email_row: int | None = None) -> bytes:
    """examples/roster.csv, with one header renamed and/or the e-mail of one spreadsheet row broken."""
    lines = (EXAMPLES / "roster.csv").read_text("utf-8").splitlines()
    if rename:
        lines[0] = lines[0].replace(rename[0], rename[1], 1)
    if bad_email_row is not None:
        cells = lines[bad_email_row - 1].split(",")
        cells[2] = "not an e-mail"
        lines[bad_email_row - 1] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode("utf-8")


def learner_rows() -> int:
    return len([line for line in (EXAMPLES / "roster.csv").read_text("utf-8").splitlines()[1:] if line.strip()])


def create_achievement(service: Service, tenant: TenantKeys) -> str:
    r = service.client.post("/achievements", headers=tenant.auth(), json=example_spec())
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(service: Service, tenant: TenantKeys, achievement: str, data: bytes, mapping: str | None = None):
    form = {"mapping": mapping} if mapping is not None else {}
    return service.client.post(f"/achievements/{achievement}/rosters", headers=tenant.auth("issue"),
                               files={"file": ("roster.csv", data, "text/csv")}, data=form)


def issue_roster_batch(service: Service, tenant: TenantKeys) -> dict[str, str]:
    achievement = create_achievement(service, tenant)
    r = upload(service, tenant, achievement, roster_csv())
    assert r.status_code == 201 and r.json()["problems"] == [], r.text
    roster = r.json()["id"]
    r = service.client.post(f"/rosters/{roster}/issue", headers=tenant.auth("issue"))
    assert r.status_code == 202, r.text
    return {"achievement": achievement, "roster": roster, "batch": r.json()["batch"]["id"]}


def wait_delivered(service: Service, tenant: TenantKeys, batch: str) -> dict[str, Any]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    seen = []
    while time.monotonic() < deadline:
        body = service.client.get(f"/batches/{batch}", headers=tenant.auth()).json()
        if not seen or seen[-1] != body["state"]:
            seen.append(body["state"])
        if body["state"] == "delivered":
            return body
        assert body["state"] != "failed", body
        time.sleep(0.1)
    raise AssertionError(f"batch {batch} not delivered within {DELIVERY_TIMEOUT}s; states seen: {seen}")


def vc_api_credential(service: Service, tenant: TenantKeys, **drop: bool) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential naming ``tenant`` as issuer (built as the CLI builds one)."""
    spec = example_spec()
    spec["awarding_body"]["did"] = tenant.did
    achievement = parse_achievement(spec)
    learner = Learner(row=2, given_name="Maria", family_name="Nowak", email="maria.nowak@example.org",
                      learner_did=None, grade="1.3", ects=5.0, completion_date=date(2025, 6, 30))
    doc = build_credential(achievement, learner, issuer=issuer_profile(achievement, tenant.did),
                           issued=datetime.now(timezone.utc).replace(microsecond=0),
                           credential_id=f"urn:uuid:{uuid.uuid4()}", salt=secrets.token_hex(16))
    for key, yes in drop.items():
        if yes:
            doc.pop(key)
    return doc


def verifier_for(service: Service, tenant: TenantKeys) -> Verifier:
    """A verifier over the same chain, trusting the DID document the app serves for ``tenant`` and fetching its
    status lists from the app (once they are published: a credential's status is judged against anchored lists)."""
    from verifier.statuslists import StatusListSource

    from tests.issuer_service.statuskit import ClientFetcher, wait_lists_published

    r = service.client.get(f"/tenants/{tenant.slug}/did.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    resolver = DidResolver()
    resolver.add(r.json(), "the issuer service's did.json")
    chain = service.chain
    wait_lists_published(service.client, tenant.auth())
    source = StatusListSource(fetcher=ClientFetcher(service.client, service.app.state.settings.public_url))
    return Verifier(ledger=CachingReader(LedgerRouter({chain.chain_id: chain.reader()})), did_resolver=resolver,
                    status_source=source)


def assert_verified(verifier: Verifier, doc: dict[str, Any]) -> None:
    report = verifier.verify(doc, now=datetime.now(timezone.utc), source="issuer service")
    failing = [(c.id, c.status.value, c.reason) for c in report.checks if c.status.value != "pass"]
    assert report.verdict.value == "verified", failing


def proof_suites(doc: dict[str, Any]) -> list[str]:
    proofs = doc.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs] if proofs else []
    return [p.get("cryptosuite") for p in proofs]


# ── the registrar's flow ────────────────────────────────────────────────────────────────────────────────────

def registrar_flow(service: Service) -> None:
    c, a = service.client, service.a
    achievement = create_achievement(service, a)
    got = c.get(f"/achievements/{achievement}", headers=a.auth("issue")).json()
    assert got["spec"]["awarding_body"]["did"] == a.did and got["title"] == "Applied Data Protection Engineering"

    # The registrar's export calls the first column "Vorname"; the mapping says which of ours it is.
    unmapped = upload(service, a, achievement, roster_csv(rename=("given_name", "Vorname")))
    assert unmapped.status_code == 201
    assert any("unknown column(s) 'vorname'" in p for p in unmapped.json()["problems"]), unmapped.json()

    bad = upload(service, a, achievement, roster_csv(rename=("given_name", "Vorname"), bad_email_row=3),
                 mapping='{"given_name": "Vorname"}')
    assert bad.status_code == 201, bad.text
    body = bad.json()
    assert body["problems"] == ["row 3: email must be an e-mail address, got 'not an e-mail'"]
    assert body["columns"][:3] == ["given_name", "family_name", "email"]
    assert body["mapping"] == {"given_name": "Vorname"}
    assert body["rows"] == learner_rows() and body["preview"][0]["given_name"] == "Ana"
    assert len(body["preview"]) == min(10, learner_rows())
    refused = c.post(f"/rosters/{body['id']}/issue", headers=a.auth("issue"))
    assert refused.status_code == 409 and "row 3: email" in refused.json()["detail"]
    assert c.get("/batches", headers=a.auth()).json()["total"] == 0  # nothing was signed or queued

    fixed = upload(service, a, achievement, roster_csv(rename=("given_name", "Vorname")),
                   mapping='{"given_name": "Vorname"}')
    assert fixed.status_code == 201 and fixed.json()["problems"] == [], fixed.text
    assert c.get(f"/rosters/{fixed.json()['id']}", headers=a.auth()).json()["preview"] == fixed.json()["preview"]
    issued = c.post(f"/rosters/{fixed.json()['id']}/issue", headers=a.auth("issue"))
    assert issued.status_code == 202, issued.text
    batch = issued.json()["batch"]
    assert batch["total"] == learner_rows() and batch["achievement_id"] == achievement
    again = c.post(f"/rosters/{fixed.json()['id']}/issue", headers=a.auth("issue"))
    assert again.status_code == 409 and batch["id"] in again.json()["detail"]

    delivered = wait_delivered(service, a, batch["id"])
    assert delivered["root"] and delivered["tx"] and delivered["block"] and delivered["chain_id"] == service.chain.chain_id

    listing = c.get(f"/batches/{batch['id']}/credentials", headers=a.auth()).json()
    assert listing["total"] == learner_rows() == len(listing["items"])
    assert [item["position"] for item in listing["items"]] == list(range(learner_rows()))
    verifier = verifier_for(service, a)
    for item in listing["items"]:
        assert item["status"] == "anchored"
        doc = c.get(f"/credentials/{item['id']}", headers=a.auth()).json()
        assert doc["id"] == item["id"] and doc["issuer"]["id"] == a.did
        assert proof_suites(doc) == ["eddsa-rdfc-2022", "merkle-proof-2019"]
        assert_verified(verifier, doc)
        # the public share endpoints answer with the same credential, its QR codes and its certificate
        share_path = item["share_url"].removeprefix("http://localhost:8081")
        shared = c.get(share_path)
        assert shared.status_code == 200 and shared.json() == doc
        assert shared.headers["access-control-allow-origin"] == "*"
        assert shared.headers["content-type"].startswith("application/json")
        assert item["verify_url"].startswith("http://localhost:8080/verify/link?url=http%3A%2F%2Flocalhost%3A8081")
    token_path = listing["items"][0]["share_url"].removeprefix("http://localhost:8081")
    svg = c.get(token_path + "/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    png = c.get(token_path + "/qr.png?scale=4")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    pdf = c.get(token_path + "/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert c.get("/share/" + "x" * 43).status_code == 404


def test_registrar_flow_on_sqlite(service):  # noqa: F811
    registrar_flow(service)


@pytest.mark.postgres
def test_registrar_flow_on_postgres(tmp_path, chain, pg_url):  # noqa: F811
    for svc in start_service(settings_for(tmp_path, database_url=pg_url), chain):
        registrar_flow(svc)
        vc_api_flow(svc)


# ── achievements: every problem with its path ───────────────────────────────────────────────────────────────

def test_an_invalid_achievement_is_422_listing_every_path(service):  # noqa: F811
    spec = example_spec()
    spec["ects"] = "five"
    spec["learning_outcomes"][1]["esco"] = "not an iri"
    del spec["title"]
    spec["colour"] = "blue"
    r = service.client.post("/achievements", headers=service.a.auth(), json=spec)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"ects", "learning_outcomes[1].esco", "title", "colour"} <= fields, fields


def test_a_roster_upload_with_a_bad_mapping_is_422_naming_it(service):  # noqa: F811
    achievement = create_achievement(service, service.a)
    cases = {'{"nickname": "x"}': "mapping.nickname", '["given_name"]': "mapping", "{nope": "mapping",
             '{"given_name": "Vorname"}': "mapping.given_name"}
    for mapping, field in cases.items():
        r = upload(service, service.a, achievement, roster_csv(), mapping=mapping)
        assert r.status_code == 422, (mapping, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (mapping, r.json())
    r = upload(service, service.a, achievement, "given_name,family_name,email\nJosé,Ñ,j@x.example\n".encode("latin-1"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


def test_a_roster_over_the_row_limit_is_refused(tmp_path, chain):  # noqa: F811
    for svc in start_service(settings_for(tmp_path, max_rows=3, run_worker=False), chain):
        achievement = create_achievement(svc, svc.a)
        r = upload(svc, svc.a, achievement, roster_csv())
        assert r.status_code == 422 and "at most 3" in r.json()["detail"]


# ── VC-API ──────────────────────────────────────────────────────────────────────────────────────────────────

def vc_api_flow(service: Service) -> None:
    c, a = service.client, service.a
    unsigned = vc_api_credential(service, a, id=True, validFrom=True)
    r = c.post("/credentials/issue", headers=a.auth("issue"), json={"credential": unsigned})
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["id"].startswith("urn:uuid:") and vc["validFrom"] and vc["issuer"]["id"] == a.did
    assert proof_suites(vc) == ["eddsa-rdfc-2022"]
    assert c.get(f"/credentials/{vc['id']}", headers=a.auth()).json() == vc  # signed, not anchored yet

    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        latest = c.get(f"/credentials/{vc['id']}", headers=a.auth()).json()
        if len(proof_suites(latest)) == 2:
            break
        failed = c.get("/batches", params={"state": "failed"}, headers=a.auth()).json()["items"]
        assert not failed, [(b["id"], b["error"]) for b in failed]
        time.sleep(0.1)
    assert proof_suites(latest) == ["eddsa-rdfc-2022", "merkle-proof-2019"], latest.get("proof")
    assert {k: v for k, v in latest.items() if k != "proof"} == {k: v for k, v in vc.items() if k != "proof"}
    assert_verified(verifier_for(service, a), latest)


def test_vc_api_issue_then_anchored(service):  # noqa: F811
    vc_api_flow(service)


def test_vc_api_keeps_a_given_id_and_refuses_it_twice(service):  # noqa: F811
    unsigned = vc_api_credential(service, service.a)
    first = service.client.post("/credentials/issue", headers=service.a.auth("issue"), json={"credential": unsigned})
    assert first.status_code == 201 and first.json()["verifiableCredential"]["id"] == unsigned["id"]
    again = service.client.post("/credentials/issue", headers=service.a.auth("issue"), json={"credential": unsigned})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "credential.id"


def test_vc_api_same_id_racing_is_409_not_500(service, monkeypatch):  # noqa: F811
    """Two requests with one client-chosen id at once: the early lookup misses for both, the database refuses one."""
    from sqlalchemy.orm import Session

    unsigned = vc_api_credential(service, service.a)
    first = service.client.post("/credentials/issue", headers=service.a.auth("issue"), json={"credential": unsigned})
    assert first.status_code == 201
    real_scalar = Session.scalar

    def scalar(self, statement, *a, **k):  # the store's duplicate-id lookup runs before the other request commits
        text = str(statement)
        return 0 if "count" in text and "credentials.id" in text else real_scalar(self, statement, *a, **k)

    monkeypatch.setattr(Session, "scalar", scalar)
    racing = service.client.post("/credentials/issue", headers=service.a.auth("issue"), json={"credential": unsigned})
    assert racing.status_code == 409, racing.text
    assert racing.json()["errors"][0]["field"] == "credential.id"


def test_vc_api_malformed_json_is_400(service):  # noqa: F811
    r = service.client.post("/credentials/issue", headers={**service.a.auth("issue"),
                                                            "Content-Type": "application/json"},
                            content=b'{"credential": {"type": ')
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/malformed-json")


def _unacceptable(service: Service) -> list[tuple[str, Any, str]]:
    base = vc_api_credential(service, service.a)
    no_subject = copy.deepcopy(base)
    del no_subject["credentialSubject"]
    other_issuer = copy.deepcopy(base)
    other_issuer["issuer"]["id"] = "did:web:elsewhere.example"
    undefined_term = copy.deepcopy(base)
    undefined_term["credentialSubject"]["favouriteColour"] = "blue"
    with_proof = copy.deepcopy(base)
    with_proof["proof"] = {"type": "DataIntegrityProof"}
    no_context = copy.deepcopy(base)
    del no_context["@context"]
    return [
        ("no credentialSubject", {"credential": no_subject}, "credential.credentialSubject"),
        ("another issuer", {"credential": other_issuer}, "credential.issuer"),
        ("an undefined term", {"credential": undefined_term}, "credential.credentialSubject.favouriteColour"),
        ("a proof already", {"credential": with_proof}, "credential.proof"),
        ("no @context", {"credential": no_context}, "credential.@context"),
        ("not an object", {"credential": "a string"}, "credential"),
        ("no credential at all", {"verifiableCredential": base}, "credential"),
        ("an unsupported option", {"credential": base, "options": {"credentialStatus": {"type": "x"}}},
         "options.credentialStatus"),
    ]


def test_vc_api_unacceptable_credentials_are_422_naming_the_field(service):  # noqa: F811
    for why, body, field in _unacceptable(service):
        r = service.client.post("/credentials/issue", headers=service.a.auth("issue"), json=body)
        assert r.status_code == 422, (why, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), why
        fields = [e["field"] for e in r.json()["errors"]]
        assert any(f == field or f.startswith(field + ".") or field.startswith(f + ".") for f in fields) \
            and any(f.startswith(field.split(".")[0]) for f in fields), (why, fields)
        assert field.split(".")[-1].lstrip("@") in r.json()["detail"] or field == "credential", (why, r.json())


def test_vc_api_body_over_the_limit_is_413(tmp_path, chain):  # noqa: F811
    for svc in start_service(settings_for(tmp_path, max_body_bytes=4096, run_worker=False), chain):
        big = vc_api_credential(svc, svc.a)
        big["description"] = "x" * 5000
        r = svc.client.post("/credentials/issue", headers=svc.a.auth("issue"), json={"credential": big})
        assert r.status_code == 413 and r.json()["status"] == 413


def test_a_credential_not_signed_yet_is_409_and_unknown_is_404(tmp_path, chain):  # noqa: F811
    for svc in start_service(settings_for(tmp_path, run_worker=False), chain):  # no runner: nothing gets signed
        objects = issue_roster_batch(svc, svc.a)
        items = svc.client.get(f"/batches/{objects['batch']}/credentials", headers=svc.a.auth()).json()["items"]
        assert items and all(i["status"] == "pending" for i in items)
        r = svc.client.get(f"/credentials/{items[0]['id']}", headers=svc.a.auth())
        assert r.status_code == 409 and r.json()["type"].endswith("/credential-pending")
        assert svc.client.get(items[0]["share_url"].removeprefix("http://localhost:8081")).status_code == 409
        assert svc.client.get("/credentials/urn:uuid:00000000-0000-4000-8000-000000000000",
                              headers=svc.a.auth()).status_code == 404


def test_health_and_did_document(service):  # noqa: F811
    health = service.client.get("/health").json()
    assert health["status"] == "ok" and health["database"] == "ok" and health["chain_id"] == service.chain.chain_id
    doc = service.client.get(f"/tenants/{service.a.slug}/did.json").json()
    assert doc["id"] == service.a.did
    assert service.a.did == "did:web:localhost%3A8081:tenants:uni-a"
    methods = {m["id"].split("#")[1] for m in doc["verificationMethod"]}
    assert f"anchor-eip155-{service.chain.chain_id}" in methods
    assert service.client.get("/tenants/nobody/did.json").status_code == 404


def test_openapi_documents_every_route_with_its_problems(service):  # noqa: F811
    doc = service.client.get("/openapi.json").json()
    assert service.client.get("/docs").status_code == 200
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            statuses = set(op["responses"])
            if path.startswith(("/achievements", "/rosters", "/batches", "/keys", "/credentials")):
                assert {"401", "403"} <= statuses, (method, path, statuses)
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")) and status != "422" or (status == "422" and "application/problem+json" in response.get("content", {})):
                    assert "application/problem+json" in response["content"], (method, path, status)
