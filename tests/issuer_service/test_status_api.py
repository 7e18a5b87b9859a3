"""Credential status through the issuer service (TestClient, embedded chain, publisher thread running): revoke,
suspend and reinstate from the API (one, many, the VC-API form), the CLI and the admin pages; scopes and tenant
isolation; the public list with Cache-Control, ETag, Last-Modified and 304; one publication per list for many
changes; SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import gzip
import time
from email.utils import format_datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from issuer.service.__main__ import main as service_cli
from issuer.store.models import StatusChange
from tests.issuer_service.servicekit import (SECRET, Service, TenantKeys, chain, pg_url,  # noqa: F401
                                             settings_for, start_service)
from tests.issuer_service.test_api import issue_roster_batch, vc_api_credential, wait_delivered
from tests.issuer_service.test_pages import csrf, log_in, text_of

PUBLISH_TIMEOUT = 60.0


@pytest.fixture
def fast(tmp_path, chain):  # noqa: F811
    """The service with status lists published as soon as they change (SQLite)."""
    yield from start_service(settings_for(tmp_path, status_publish_interval=0), chain)


def issued_ids(service: Service, tenant: TenantKeys) -> list[str]:
    batch = issue_roster_batch(service, tenant)["batch"]
    wait_delivered(service, tenant, batch)
    items = service.client.get(f"/batches/{batch}/credentials", headers=tenant.auth()).json()["items"]
    return [item["id"] for item in items]


def entries(service: Service, tenant: TenantKeys, cid: str) -> dict[str, dict[str, Any]]:
    doc = service.client.get(f"/credentials/{cid}", headers=tenant.auth()).json()
    return {e["statusPurpose"]: e for e in doc["credentialStatus"]}


def wait_published(service: Service, tenant: TenantKeys, cid: str) -> dict[str, Any]:
    deadline = time.monotonic() + PUBLISH_TIMEOUT
    while time.monotonic() < deadline:
        body = service.client.get(f"/credentials/{cid}/status", headers=tenant.auth()).json()
        if body["published"] and all(e["listVersion"] > 0 for e in body["entries"]):
            return body
        time.sleep(0.1)
    raise AssertionError(f"status of {cid} not published within {PUBLISH_TIMEOUT}s: {body}")


def served_bit(service: Service, entry: dict[str, Any]) -> bool:
    path = entry["statusListCredential"].split("localhost:8081", 1)[1]
    r = service.client.get(path)
    assert r.status_code == 200, r.text
    encoded = r.json()["credentialSubject"]["encodedList"]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    index = int(entry["statusListIndex"])
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def status_flow(service: Service) -> None:
    c, a, b = service.client, service.a, service.b
    ids = issued_ids(service, a)
    first, second, third = ids[:3]
    assert set(entries(service, a, first)) == {"revocation", "suspension"}

    # Who may: the revoke scope (or admin) of the credential's own tenant.
    r = c.post(f"/credentials/{first}/revoke", json={"reason": "forged"})
    assert r.status_code == 401
    r = c.post(f"/credentials/{first}/revoke", headers=a.auth("issue"), json={"reason": "forged"})
    assert r.status_code == 403 and "revoke" in r.json()["detail"]
    r = c.post(f"/credentials/{first}/revoke", headers=b.auth("revoke"), json={"reason": "forged"})
    assert r.status_code == 404  # another tenant's credential is not found, like one that does not exist
    r = c.post(f"/credentials/{first}/revoke", headers=a.auth("revoke"), json={})
    assert r.status_code == 422 and "reason" in r.text

    r = c.post(f"/credentials/{first}/revoke", headers=a.auth("revoke"), json={"reason": "forged transcript"})
    assert r.status_code == 202, r.text
    assert r.json() == {"action": "revoke", "changed": [first], "unchanged": [], "published": False}
    r = c.post("/status/changes", headers=a.auth("revoke"),
               json={"action": "suspend", "credentialIds": [second, third], "reason": "under review"})
    assert r.status_code == 202 and r.json()["changed"] == [second, third]
    r = c.post(f"/credentials/{third}/reinstate", headers=a.auth("revoke"), json={"reason": "cleared"})
    assert r.status_code == 202 and r.json()["changed"] == [third]

    # Refusals name what is wrong and change nothing.
    r = c.post("/status/changes", headers=a.auth("revoke"),
               json={"action": "reinstate", "credentialIds": [second, first], "reason": "x"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "credentialIds[1]"
    assert "revoked for good" in r.json()["errors"][0]["detail"]
    r = c.post("/status/changes", headers=a.auth("revoke"),
               json={"action": "revoke", "credentialIds": [second, "urn:uuid:nope"], "reason": "x"})
    assert r.status_code == 404 and r.json()["errors"] == [{"field": "credentialIds[1]",
                                                            "detail": "no such credential for this tenant"}]
    r = c.post("/status/changes", headers=a.auth("revoke"),
               json={"action": "delete", "credentialIds": [second], "reason": "x"})
    assert r.status_code == 422

    state = {cid: wait_published(service, a, cid) for cid in (first, second, third)}
    assert [(s["revoked"], s["suspended"]) for s in state.values()] == [(True, False), (False, True), (False, False)]
    assert [h["action"] for h in state[third]["history"]] == ["suspend", "reinstate"]
    assert state[first]["history"][0]["actor"].startswith("api key ")
    assert served_bit(service, entries(service, a, first)["revocation"]) is True
    assert served_bit(service, entries(service, a, second)["suspension"]) is True
    assert served_bit(service, entries(service, a, third)["suspension"]) is False
    assert served_bit(service, entries(service, a, ids[3])["revocation"]) is False

    lists = c.get("/status/lists", headers=a.auth()).json()
    assert sorted(sl["purpose"] for sl in lists) == ["revocation", "suspension"]
    assert all(sl["version"] >= 2 and sl["size"] >= 131_072 and not sl["pending"] for sl in lists)
    assert c.get("/status/lists", headers=b.auth()).json() == []  # tenant B issued nothing
    pubs = c.get("/status/publications", headers=a.auth()).json()
    assert all(p["state"] == "published" and p["gas_used"] > 0 and p["tx_hash"] for p in pubs)


def test_status_flow_on_sqlite(fast):
    status_flow(fast)


@pytest.mark.postgres
def test_status_flow_on_postgres(tmp_path, chain, pg_url):  # noqa: F811
    for svc in start_service(settings_for(tmp_path, database_url=pg_url, status_publish_interval=0), chain):
        status_flow(svc)


def test_the_public_list_has_caching_headers_and_answers_304(fast):
    ids = issued_ids(fast, fast.a)
    entry = entries(fast, fast.a, ids[0])["revocation"]
    wait_published(fast, fast.a, ids[0])
    path = entry["statusListCredential"].split("localhost:8081", 1)[1]
    r = fast.client.get(path)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "public, max-age=60"
    assert r.headers["access-control-allow-origin"] == "*"
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    doc = r.json()
    assert etag.strip('"') == next(sl for sl in fast.client.get("/status/lists", headers=fast.a.auth()).json()
                                   if sl["url"] == entry["statusListCredential"])["digest"]
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"] and doc["issuer"] == fast.a.did
    assert fast.client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert fast.client.get(path, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert fast.client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    assert fast.client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    from email.utils import parsedate_to_datetime

    earlier = format_datetime(parsedate_to_datetime(modified) - timedelta(seconds=1), usegmt=True)
    assert fast.client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    # A change publishes a new list: the old ETag no longer matches.
    fast.client.post(f"/credentials/{ids[0]}/revoke", headers=fast.a.auth("revoke"), json={"reason": "r"})
    wait_published(fast, fast.a, ids[0])
    again = fast.client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    # Unknown lists, another tenant's path, malformed ids.
    other = path.replace(f"/tenants/{fast.a.slug}/", f"/tenants/{fast.b.slug}/")
    assert fast.client.get(other).status_code == 404
    assert fast.client.get(path[:-1] + ("0" if path[-1] != "0" else "1")).status_code == 404
    assert fast.client.get(f"/tenants/{fast.a.slug}/status/not-a-uuid").status_code == 422


def test_many_changes_one_publication_one_transaction(tmp_path, chain):  # noqa: F811
    for svc in start_service(settings_for(tmp_path, status_publish_interval=0), chain):
        ids = issued_ids(svc, svc.a)
        for cid in ids:
            wait_published(svc, svc.a, cid)
        publisher = svc.app.state.publisher
        publisher.stop()  # hold publications back while the changes come in, one request each
        for cid in ids:
            r = svc.client.post(f"/credentials/{cid}/revoke", headers=svc.a.auth("revoke"), json={"reason": "r"})
            assert r.status_code == 202
        before = {p["id"] for p in svc.client.get("/status/publications", headers=svc.a.auth()).json()}
        publisher.start()
        for cid in ids:
            wait_published(svc, svc.a, cid)
        new = [p for p in svc.client.get("/status/publications", headers=svc.a.auth()).json()
               if p["id"] not in before]
        assert len(new) == 1 and new[0]["ones"] == len(ids) and new[0]["tx_hash"]


def test_vc_api_issue_adds_status_and_vc_api_status_update(fast):
    c, a = fast.client, fast.a
    r = c.post("/credentials/issue", headers=a.auth("issue"), json={"credential": vc_api_credential(fast, a)})
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert [e["statusPurpose"] for e in vc["credentialStatus"]] == ["revocation", "suspension"]
    own = vc_api_credential(fast, a)
    own["credentialStatus"] = vc["credentialStatus"]
    r = c.post("/credentials/issue", headers=a.auth("issue"), json={"credential": own})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "credential.credentialStatus"

    body = {"credentialId": vc["id"], "credentialStatus": [{"type": "BitstringStatusListCredential",
                                                            "status": "suspended"}]}
    r = c.post("/credentials/status", headers=a.auth("revoke"), json=body)
    assert r.status_code == 202 and r.json()["changed"] == [vc["id"]]
    body["credentialStatus"] = [{"type": "BitstringStatusListCredential", "status": "unsuspended"},
                                {"type": "BitstringStatusListCredential", "status": "revoked"}]
    r = c.post("/credentials/status", headers=a.auth("revoke"), json={**body, "reason": "diploma mill"})
    assert r.status_code == 202 and r.json()["action"] == "reinstate+revoke"
    status = c.get(f"/credentials/{vc['id']}/status", headers=a.auth()).json()
    assert (status["revoked"], status["suspended"]) == (True, False)
    assert [(h["action"], h["reason"]) for h in status["history"]] == [
        ("suspend", "(no reason given: VC-API status update)"), ("reinstate", "diploma mill"),
        ("revoke", "diploma mill")]
    # All items or none: the second item cannot apply (revoked), so the first is not applied either.
    body["credentialStatus"] = [{"type": "BitstringStatusListCredential", "status": "suspended"}]
    r = c.post("/credentials/status", headers=a.auth("revoke"), json=body)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "credentialId"
    for bad, field in ((["BitstringStatusListCredential", "deleted"], "credentialStatus[0].status"),
                       (["StatusList2021Credential", "revoked"], "credentialStatus[0].type")):
        body["credentialStatus"] = [{"type": bad[0], "status": bad[1]}]
        r = c.post("/credentials/status", headers=a.auth("revoke"), json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    r = c.post("/credentials/status", headers=fast.b.auth("revoke"), json=body | {
        "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}]})
    assert r.status_code == 404


def test_revoke_from_the_cli(fast, monkeypatch, capsys, tmp_path):
    ids = issued_ids(fast, fast.a)
    for name, value in {"ISSUER_SECRET_KEY": SECRET, "ISSUER_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# to suspend\n{ids[1]}\n{ids[2]}\n", "utf-8")
    assert service_cli(["revoke", fast.a.slug, ids[0], "--reason", "forged"]) == 0
    assert "revoked 1 credential(s)" in capsys.readouterr().out
    assert service_cli(["suspend", fast.a.slug, "--ids-file", str(ids_file), "--reason", "review"]) == 0
    assert "suspended 2 credential(s)" in capsys.readouterr().out
    assert service_cli(["reinstate", fast.a.slug, ids[0], "--reason", "oops"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: nothing changed") and "revoked for good" in err
    assert service_cli(["revoke", fast.b.slug, ids[0], "--reason", "x"]) == 2
    assert "no such credential for tenant 'uni-b'" in capsys.readouterr().err
    assert service_cli(["revoke", fast.a.slug, "--reason", "x"]) == 2
    state = wait_published(fast, fast.a, ids[0])
    assert state["revoked"] and state["history"][0]["actor"].startswith("cli ")
    assert served_bit(fast, entries(fast, fast.a, ids[0])["revocation"]) is True
    assert wait_published(fast, fast.a, ids[2])["suspended"] is True


def test_revoke_from_the_admin_pages(fast):
    c = fast.client
    ids = issued_ids(fast, fast.a)
    assert log_in(c, fast.a.slug).status_code == 303
    page = c.get(f"/admin/credentials/{ids[0]}/status")
    assert page.status_code == 200 and "Valid (not revoked, not suspended)" in text_of(page.text)
    r = c.post(f"/admin/credentials/{ids[0]}/status", data={"action": "suspend", "reason": "under review"})
    assert r.status_code == 403  # no CSRF token
    r = c.post(f"/admin/credentials/{ids[0]}/status",
               data={"csrf_token": csrf(page.text), "action": "suspend", "reason": "under review"})
    assert r.status_code == 200 and "Suspended. The change is published" in text_of(r.text)
    assert "Reinstate" in r.text
    r = c.post(f"/admin/credentials/{ids[0]}/status",
               data={"csrf_token": csrf(page.text), "action": "reinstate", "reason": "cleared"})
    assert "Reinstated" in text_of(r.text)
    overview = c.get("/admin/status")
    assert overview.status_code == 200 and "Status lists" in overview.text
    r = c.post("/admin/status", data={"csrf_token": csrf(overview.text), "action": "revoke", "reason": "fraud",
                                      "ids": f"{ids[1]}\n{ids[2]}, urn:uuid:nope"})
    assert r.status_code == 404 and "urn:uuid:nope" in text_of(r.text)  # nothing changed, the form kept
    assert f"{ids[1]}\n{ids[2]}, urn:uuid:nope" in r.text
    r = c.post("/admin/status", data={"csrf_token": csrf(overview.text), "action": "revoke", "reason": "fraud",
                                      "ids": f"{ids[1]}\n{ids[2]}"})
    assert r.status_code == 200 and "Revoked 2 credential(s)" in text_of(r.text)
    batch_page = c.get(f"/admin/batches/{fast.client.get('/batches', headers=fast.a.auth()).json()['items'][0]['id']}")
    assert f"/admin/credentials/{ids[0]}/status" in batch_page.text
    with fast.db() as s:
        actors = {(h.credential_id, h.action.value, h.actor) for h in s.scalars(select(StatusChange))}
    assert actors == {(ids[0], "suspend", "admin admin"), (ids[0], "reinstate", "admin admin"),
                      (ids[1], "revoke", "admin admin"), (ids[2], "revoke", "admin admin")}
    assert wait_published(fast, fast.a, ids[1])["revoked"] is True
    # Another tenant's credential is not found on the pages either.
    assert c.get(f"/admin/credentials/{ids[0]}/status").status_code == 200
    c.post("/admin/logout", data={"csrf_token": csrf(c.get("/admin").text)})
    assert log_in(c, fast.b.slug).status_code == 303
    assert c.get(f"/admin/credentials/{ids[0]}/status").status_code == 404


def test_end_to_end_the_verifier_reads_what_was_published(fast):
    """issue -> verified (status passed); revoke -> failed "revoked"; suspend -> failed "suspended"; reinstate ->
    verified again; the issuer's site down -> status indeterminate, never verified."""
    from datetime import datetime, timezone

    from verifier.did import DidResolver
    from verifier.ledger.evm import CachingReader, LedgerRouter
    from verifier.statuslists import StatusListSource
    from verifier.verify import Verifier

    from tests.issuer_service.statuskit import ClientFetcher, wait_lists_published

    c, a = fast.client, fast.a
    ids = issued_ids(fast, a)
    docs = {cid: c.get(f"/credentials/{cid}", headers=a.auth()).json() for cid in ids[:2]}
    wait_lists_published(c, a.auth())
    fetcher = ClientFetcher(c, fast.app.state.settings.public_url)

    resolver = DidResolver()
    resolver.add(c.get(f"/tenants/{a.slug}/did.json").json(), "the issuer service's did.json")

    def judge(cid: str):
        # A fresh verifier each time (its ledger reader and list source cache): the list and the registry as they
        # are now, not as a cache kept them.
        ledger = CachingReader(LedgerRouter({fast.chain.chain_id: fast.chain.reader()}))
        verifier = Verifier(ledger=ledger, did_resolver=resolver, status_source=StatusListSource(fetcher=fetcher))
        report = verifier.verify(docs[cid], now=datetime.now(timezone.utc), source="test")
        return report.verdict.value, report.check("status")

    verdict, status = judge(ids[0])
    assert verdict == "verified" and status.status.value == "pass", status
    c.post(f"/credentials/{ids[0]}/revoke", headers=a.auth("revoke"), json={"reason": "forged"})
    c.post(f"/credentials/{ids[1]}/suspend", headers=a.auth("revoke"), json={"reason": "review"})
    wait_published(fast, a, ids[0])
    wait_published(fast, a, ids[1])
    wait_lists_published(c, a.auth())
    verdict, status = judge(ids[0])
    assert verdict == "failed" and status.status.value == "fail" and "revoked" in status.reason, status
    verdict, status = judge(ids[1])
    assert verdict == "failed" and status.status.value == "fail" and "suspended" in status.reason, status
    c.post(f"/credentials/{ids[1]}/reinstate", headers=a.auth("revoke"), json={"reason": "cleared"})
    wait_published(fast, a, ids[1])
    wait_lists_published(c, a.auth())
    verdict, status = judge(ids[1])
    assert verdict == "verified" and status.status.value == "pass", status
    fetcher.down = True
    verdict, status = judge(ids[1])
    assert verdict == "partially_verified" and status.status.value == "indeterminate", status
