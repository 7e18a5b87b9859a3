"""VC-API issuance: the unsigned credential is completed, signed and put in the tenant's open batch; every bad input
is an IssuanceError naming the field."""

from __future__ import annotations

import copy
import re

import pytest

from issuer.store.engine import CredentialPendingError, IssuanceError, issue_credential, latest_document
from issuer.store.models import Batch, BatchState, CredentialRecord, Tenant
from issuer.store.tenants import identity_of
from tests.store.kit import make_tenant, roster_batch, vc_api_credential
from verifier.dataintegrity import verify_eddsa_proof


@pytest.fixture
def tenant_id(sessions, box) -> int:
    return make_tenant(sessions, box)[0]


def _issue(sessions, box, tenant_id, credential):
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        return issue_credential(s, box, tenant, credential)


def test_completed_signed_and_appended(sessions, box, tenant_id):
    with sessions() as s:
        tenant = s.get(Tenant, tenant_id)
        did, identity = tenant.did, identity_of(tenant, box)
    sent = vc_api_credential(did)
    kept = copy.deepcopy(sent)
    first = _issue(sessions, box, tenant_id, sent)
    assert sent == kept  # the caller's dict is not modified
    doc = first.document
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", doc["id"]) and first.id == doc["id"]
    assert list(doc)[:2] == ["@context", "id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["validFrom"])
    assert doc["issuer"]["id"] == did
    proof = doc["proof"]
    assert proof["cryptosuite"] == "eddsa-rdfc-2022" and proof["verificationMethod"] == f"{did}#key-1"
    assert verify_eddsa_proof(doc, proof, identity.ed25519_public)
    tampered = {**doc, "validFrom": "2020-01-01T00:00:00Z"}
    assert not verify_eddsa_proof(tampered, proof, identity.ed25519_public)
    assert len(first.leaf) == 64 and len(first.share_token) == 43
    second = _issue(sessions, box, tenant_id, vc_api_credential(did, 1))
    assert first.batch_id == second.batch_id
    assert (first.position, second.position) == (0, 1)
    with sessions() as s:
        batch = s.get(Batch, first.batch_id)
        assert batch.state is BatchState.OPEN and batch.total == 2 and batch.achievement_id is None
    assert latest_document(second) == second.document and latest_document(second) is not second.document


def test_a_given_id_and_issuer_string_are_kept(sessions, box, tenant_id):
    with sessions() as s:
        did = s.get(Tenant, tenant_id).did
    cred = vc_api_credential(did)
    cred["issuer"] = did
    cred["id"] = "urn:uuid:3f0c5e8e-51b4-4d0e-9a3f-0d7c4d3b2a10"
    cred["validFrom"] = "2026-01-31T12:00:00Z"
    record = _issue(sessions, box, tenant_id, cred)
    assert record.id == cred["id"] and record.document["issuer"] == did
    assert record.document["validFrom"] == "2026-01-31T12:00:00Z"
    with pytest.raises(IssuanceError) as info:
        _issue(sessions, box, tenant_id, cred)
    assert info.value.field == "id" and "issued already" in info.value.message


def _bad(cred, **changes):
    cred = copy.deepcopy(cred)
    for key, value in changes.items():
        if value is _DROP:
            cred.pop(key, None)
        else:
            cred[key] = value
    return cred


_DROP = object()


@pytest.mark.parametrize("make, field, message", [
    (lambda c, did: [c], "credential", "must be a JSON object"),
    (lambda c, did: _bad(c, proof={"type": "DataIntegrityProof"}), "proof", "unsigned"),
    (lambda c, did: _bad(c, **{"@context": ["https://www.w3.org/2018/credentials/v1"]}), "@context", "starting with"),
    (lambda c, did: _bad(c, type=["OpenBadgeCredential"]), "type", "VerifiableCredential"),
    (lambda c, did: _bad(c, credentialSubject=_DROP), "credentialSubject", "required"),
    (lambda c, did: _bad(c, issuer="did:web:other.example"), "issuer", "did:web:other.example"),
    (lambda c, did: _bad(c, issuer={**c["issuer"], "id": "did:web:other.example"}), "issuer.id", "other.example"),
    (lambda c, did: _bad(c, issuer=42), "issuer", "DID"),
    (lambda c, did: _bad(c, id="not a uri"), "id", "absolute URI"),
    (lambda c, did: _bad(c, id="urn:x:" + "a" * 100), "id", "at most 100"),
    (lambda c, did: _bad(c, validFrom="yesterday"), "validFrom", "dateTime"),
    (lambda c, did: _bad(c, validUntil="2026-13"), "validUntil", "dateTime"),
    (lambda c, did: _bad(c, credentialSubject={**c["credentialSubject"], "favouriteColour": "blue"}),
     "credentialSubject.favouriteColour", "favouriteColour"),
    (lambda c, did: _bad(c, **{"@context": c["@context"] + ["https://contexts.example/unknown.jsonld"]}),
     "@context", "unknown.jsonld"),
])
def test_bad_credentials_name_the_field(sessions, box, tenant_id, make, field, message):
    with sessions() as s:
        did = s.get(Tenant, tenant_id).did
    with pytest.raises(IssuanceError) as info:
        _issue(sessions, box, tenant_id, make(vc_api_credential(did), did))
    assert info.value.field == field, info.value
    assert message in info.value.message
    with sessions() as s:  # nothing stored
        assert s.query(CredentialRecord).count() == 0


def test_an_unsigned_roster_credential_is_pending(sessions, box):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 1)
    with sessions() as s:
        record = s.query(CredentialRecord).filter_by(batch_id=batch_id).one()
    with pytest.raises(CredentialPendingError, match="not signed yet"):
        latest_document(record)
