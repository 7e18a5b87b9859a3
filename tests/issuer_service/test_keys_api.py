"""The key history API (scope admin): list, rotate, revoke, record; the DID document follows; 401/403/404/409/422."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from issuer.store.keyevents import change_tenant_keys
from tests.issuer_service.servicekit import chain, service  # noqa: F401


def _did_json(service, slug: str) -> dict:
    r = service.client.get(f"/tenants/{slug}/did.json")
    assert r.status_code == 200
    return r.json()


def test_listing_needs_an_admin_key_and_shows_the_current_keys(service):  # noqa: F811
    assert service.client.get("/key-history").status_code == 401
    assert service.client.get("/key-history", headers=service.a.auth("issue")).status_code == 403
    r = service.client.get("/key-history", headers=service.a.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["did"] == service.a.did and body["events"] == []
    assert [(k["role"], k["number"], k["current"]) for k in body["keys"]] == [("signing", 1, True),
                                                                               ("anchoring", 1, True)]
    assert all(k["created"] for k in body["keys"])


def test_rotating_the_signing_key_records_it_and_the_did_document_keeps_the_old_one(service):  # noqa: F811
    r = service.client.post("/key-history/signing/rotate", json={"reason": "yearly rotation"},
                            headers=service.a.auth())
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(e["event"], e["state"]) for e in body["events"]] == [("signing key 2 added", "recorded"),
                                                                  ("signing key 1 retired", "recorded")]
    assert all(e["transaction"] and e["block"] for e in body["events"])
    old = next(k for k in body["keys"] if k["role"] == "signing" and k["number"] == 1)
    assert old["retired"] and old["reason"] == "yearly rotation" and not old["current"]
    document = _did_json(service, "uni-a")
    assert f"{service.a.did}#key-2" in document["assertionMethod"]
    assert f"{service.a.did}#key-1" not in document["assertionMethod"]
    assert next(m for m in document["verificationMethod"] if m["id"] == f"{service.a.did}#key-1")["retired"]
    # The other tenant is untouched.
    assert _did_json(service, "uni-b")["assertionMethod"][0] == f"{service.b.did}#key-1"


def test_credentials_issued_before_and_after_an_anchoring_key_revocation_verify(service):  # noqa: F811
    from tests.issuer_service.test_api import assert_verified, vc_api_credential, verifier_for  # noqa: PLC0415

    def issue_and_wait() -> dict:
        r = service.client.post("/credentials/issue", json={"credential": vc_api_credential(service, service.a)},
                                headers=service.a.auth("issue"))
        assert r.status_code == 201, r.text
        cid = r.json()["verifiableCredential"]["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            latest = service.client.get(f"/credentials/{cid}", headers=service.a.auth()).json()
            if isinstance(latest.get("proof"), list):
                return latest
            time.sleep(0.1)
        raise AssertionError(f"{cid} not anchored within 60 s")

    before = issue_and_wait()
    r = service.client.post("/key-history/anchoring/revoke", json={"reason": "key leaked"}, headers=service.a.auth())
    assert r.status_code == 200, r.text
    current = next(k["address"] for k in r.json()["keys"] if k["role"] == "anchoring" and k["current"])
    assert {e["sender"] for e in r.json()["events"]} == {current}  # the leaked key is never used again
    after = issue_and_wait()
    assert after["proof"][1]["verificationMethod"].endswith("-2")
    verifier = verifier_for(service, service.a)
    assert_verified(verifier, before)
    assert_verified(verifier, after)


def test_bad_changes_are_named(service):  # noqa: F811
    h = service.a.auth()
    assert service.client.post("/key-history/admin/rotate", json={"reason": "x"}, headers=h).status_code == 422
    assert service.client.post("/key-history/signing/rotate", json={}, headers=h).status_code == 422
    r = service.client.post("/key-history/signing/revoke", json={"reason": "x", "number": 9}, headers=h)
    assert r.status_code == 422 and "no signing key 9" in r.json()["detail"]
    assert service.client.post("/key-history/signing/rotate", json={"reason": "x"},
                               headers=service.a.auth("revoke")).status_code == 403


def test_unrecorded_events_make_the_next_change_a_conflict_until_recorded(service):  # noqa: F811
    state = service.app.state
    with state.sessionmaker() as s:
        from issuer.store.tenants import get_tenant

        tenant_id = get_tenant(s, "uni-a").id
    change_tenant_keys(state.sessionmaker, state.box, tenant_id, action="rotate", role="signing", reason="x",
                       chain_id=state.ledger.chain_id, now=datetime.now(timezone.utc))
    r = service.client.post("/key-history/anchoring/rotate", json={"reason": "y"}, headers=service.a.auth())
    assert r.status_code == 409 and "not yet recorded" in r.json()["detail"]
    assert service.client.get("/key-history", headers=service.a.auth()).json()["events"][0]["state"] == "pending"
    r = service.client.post("/key-history/record", headers=service.a.auth())
    assert r.status_code == 200 and {e["state"] for e in r.json()["events"]} == {"recorded"}
    assert service.client.post("/key-history/anchoring/rotate", json={"reason": "y"},
                               headers=service.a.auth()).status_code == 200
