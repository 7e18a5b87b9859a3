"""GET /credentials/{id}/europass: scope issue, tenant isolation (404 for another tenant's credential), the export
of a delivered credential (the same 16 elements as the credential, read back by the verifier)."""

from __future__ import annotations

from urllib.parse import quote

from tests.issuer_service.servicekit import chain, service  # noqa: F401
from tests.issuer_service.test_api import issue_roster_batch, wait_delivered
from verifier.elm import read_edc
from verifier.euelements import eu_elements_summary


def test_export_scope_isolation_and_content(service):  # noqa: F811
    c = service.client
    objects = issue_roster_batch(service, service.a)
    wait_delivered(service, service.a, objects["batch"])
    items = c.get(f"/batches/{objects['batch']}/credentials", headers=service.a.auth()).json()["items"]
    cid = items[0]["id"]
    path = f"/credentials/{quote(cid, safe=':')}/europass"

    r = c.get(path, headers=service.a.auth("issue"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/ld+json")
    edc = r.json()
    assert edc["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    assert edc["identifier"]["notation"] == cid
    with service.db() as db:
        from issuer.store.models import CredentialRecord

        document = db.get(CredentialRecord, cid).document
    assert eu_elements_summary(read_edc(edc)) == eu_elements_summary(document)

    assert c.get(path, headers=service.a.auth("admin")).status_code == 200  # admin holds every scope
    assert c.get(path, headers=service.a.auth("revoke")).status_code == 403
    assert c.get(path).status_code == 401
    other = c.get(path, headers=service.b.auth("issue"))
    assert other.status_code == 404 and "for this tenant" in other.json()["detail"]
    assert c.get("/credentials/urn:uuid:00000000-0000-4000-8000-000000000000/europass",
                 headers=service.a.auth("issue")).status_code == 404
