"""Tenant isolation: a key of tenant A gets 404 (never 403) for every object of tenant B, its lists never show B's
objects, and it cannot issue as B. B's objects are real: an achievement, a roster, a delivered batch and its
credentials, and a VC-API credential."""

from __future__ import annotations

import pytest

from tests.issuer_service.servicekit import chain, service  # noqa: F401
from tests.issuer_service.test_api import issue_roster_batch, vc_api_credential, wait_delivered


@pytest.fixture
def b_objects(service):  # noqa: F811
    """Tenant B's achievement, roster, delivered batch and a VC-API credential."""
    objects = issue_roster_batch(service, service.b)
    wait_delivered(service, service.b, objects["batch"])
    credentials = service.client.get(f"/batches/{objects['batch']}/credentials", headers=service.b.auth()).json()
    objects["credential"] = credentials["items"][0]["id"]
    issued = service.client.post("/credentials/issue", headers=service.b.auth("issue"),
                                 json={"credential": vc_api_credential(service, service.b)})
    assert issued.status_code == 201, issued.text
    objects["vc_credential"] = issued.json()["verifiableCredential"]["id"]
    return objects


def test_a_key_of_tenant_a_gets_404_for_every_object_of_tenant_b(service, b_objects):  # noqa: F811
    c, a = service.client, service.a
    reads = [f"/achievements/{b_objects['achievement']}", f"/rosters/{b_objects['roster']}",
             f"/batches/{b_objects['batch']}", f"/batches/{b_objects['batch']}/credentials",
             f"/credentials/{b_objects['credential']}", f"/credentials/{b_objects['vc_credential']}"]
    for path in reads:
        assert c.get(path, headers=service.b.auth()).status_code == 200, path  # B sees its own objects
        r = c.get(path, headers=a.auth())
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.json()["type"].endswith("/not-found")
    writes = [("POST", f"/rosters/{b_objects['roster']}/issue", {}),
              ("POST", f"/achievements/{b_objects['achievement']}/rosters",
               {"files": {"file": ("r.csv", b"given_name,family_name,email\nA,B,a@b.example\n", "text/csv")}})]
    for method, path, body in writes:
        r = c.request(method, path, headers=a.auth(), **body)
        assert r.status_code == 404, (path, r.status_code, r.text)
    b_key = c.get("/keys", headers=service.b.auth()).json()["items"][0]["id"]
    assert c.post(f"/keys/{b_key}/revoke", headers=a.auth()).status_code == 404
    assert c.get("/batches", headers=service.b.auth()).status_code == 200  # B's key still works


def test_tenant_a_lists_show_none_of_tenant_bs_objects(service, b_objects):  # noqa: F811
    c, a = service.client, service.a
    achievements = c.get("/achievements", headers=a.auth()).json()
    batches = c.get("/batches", headers=a.auth()).json()
    keys = c.get("/keys", headers=a.auth()).json()
    assert achievements == {"items": [], "total": 0}
    assert batches == {"items": [], "total": 0}
    b_prefixes = {k["prefix"] for k in c.get("/keys", headers=service.b.auth()).json()["items"]}
    assert b_prefixes and not b_prefixes & {k["prefix"] for k in keys["items"]}


def test_tenant_a_cannot_issue_as_tenant_b(service, b_objects):  # noqa: F811
    credential = vc_api_credential(service, service.b)  # names B's DID as issuer
    r = service.client.post("/credentials/issue", headers=service.a.auth("issue"), json={"credential": credential})
    assert r.status_code == 422, r.text
    assert [e["field"].split(".")[:2] for e in r.json()["errors"]] == [["credential", "issuer"]]
    assert service.a.did in r.json()["detail"] or service.b.did in r.json()["detail"]


def test_tenant_a_cannot_define_an_achievement_awarded_by_tenant_b(service):  # noqa: F811
    from tests.issuer_service.servicekit import example_spec

    spec = example_spec()
    spec["awarding_body"]["did"] = service.b.did
    r = service.client.post("/achievements", headers=service.a.auth(), json=spec)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["awarding_body.did"]
