"""Status entries at issuance (roster batches and the VC-API), index allocation, and status changes, on SQLite and
PostgreSQL (issuer.status.allocation, issuer.status.changes)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from issuer.status.allocation import allocate
from issuer.status.bitstring import MIN_LIST_SIZE
from issuer.status.changes import StatusChangeError, change_status, status_of
from issuer.store.engine import create_roster_batch, issue_credential
from issuer.store.errors import IssuanceError
from issuer.store.models import (AchievementRecord, StatusChange, StatusEntry, StatusList, StatusPurpose, Tenant)
from tests.store.kit import PUBLIC_URL, Chain, documents, learners, make_tenant, vc_api_credential


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain()


def status_batch(sessions, tenant_id: int, achievement_id: str, n: int) -> str:
    with sessions.begin() as s:
        batch = create_roster_batch(s, s.get(Tenant, tenant_id), s.get(AchievementRecord, achievement_id),
                                    learners(n), public_url=PUBLIC_URL)
        return batch.id


def _check_entries(doc: dict, slug: str = "tu-example") -> None:
    entries = doc["credentialStatus"]
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    for e in entries:
        assert e["type"] == "BitstringStatusListEntry"
        assert e["statusListCredential"].startswith(f"{PUBLIC_URL}/tenants/{slug}/status/")
        assert e["id"] == f"{e['statusListCredential']}#{e['statusListIndex']}"
        assert 0 <= int(e["statusListIndex"]) < MIN_LIST_SIZE and isinstance(e["statusListIndex"], str)
    assert entries[0]["statusListCredential"] != entries[1]["statusListCredential"]  # one list per purpose


def test_roster_credentials_carry_both_entries_and_verify(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = status_batch(sessions, tenant_id, achievement_id, 9)
    chain.runner(sessions, box).run_until_idle()
    records = documents(sessions, batch_id)
    verifier = chain.verifier(sessions, box, tenant_id)
    for r in records:
        _check_entries(r.document)
        report = verifier.verify(r.document)
        assert report.verdict.value in ("verified", "partially_verified"), [c.to_json() for c in report.checks]
        assert all(c.status.value != "fail" for c in report.checks)
    with sessions() as s:
        lists = s.scalars(select(StatusList).where(StatusList.tenant_id == tenant_id)).all()
        assert sorted(sl.purpose.value for sl in lists) == ["revocation", "suspension"]
        assert all(sl.size >= MIN_LIST_SIZE for sl in lists)
        stored = {(e.credential_id, e.purpose): e.list_index for e in s.scalars(select(StatusEntry))}
    for r in records:  # what the document says is what the issuer's records say
        for e in r.document["credentialStatus"]:
            assert stored[(r.id, StatusPurpose(e["statusPurpose"]))] == int(e["statusListIndex"])


def test_a_batch_without_public_url_carries_no_status(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    with sessions.begin() as s:
        batch_id = create_roster_batch(s, s.get(Tenant, tenant_id), s.get(AchievementRecord, achievement_id),
                                       learners(2)).id
    chain.runner(sessions, box).run_until_idle()
    assert all("credentialStatus" not in r.document for r in documents(sessions, batch_id))


def test_vc_api_credential_gets_entries_before_it_is_signed(sessions, box, chain):
    tenant_id, _ = make_tenant(sessions, box)
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        record = issue_credential(s, box, tenant, vc_api_credential(tenant.did), public_url=PUBLIC_URL)
        doc = record.document
    _check_entries(doc)
    report = chain.verifier(sessions, box, tenant_id).verify(doc)
    signature = report.check("signature")
    assert signature.status.value == "pass"  # the entries are inside what was signed
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        own = vc_api_credential(tenant.did)
        own["credentialStatus"] = doc["credentialStatus"][0]
        with pytest.raises(IssuanceError) as caught:
            issue_credential(s, box, tenant, own, public_url=PUBLIC_URL)
        assert caught.value.field == "credentialStatus"


def test_indices_are_random_and_unique_within_a_list(sessions, box):
    tenant_id, _ = make_tenant(sessions, box)
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(5000)]
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        allocate(s, tenant, ids[:10], public_url=PUBLIC_URL)  # a few one by one (probing), then in bulk
        allocate(s, tenant, ids[10:], public_url=PUBLIC_URL)
    with sessions() as s:
        rows = s.execute(select(StatusEntry.credential_id, StatusEntry.list_index)
                         .where(StatusEntry.purpose == StatusPurpose.REVOCATION)).all()
    order = {cid: index for cid, index in rows}
    indices = [order[cid] for cid in ids]
    assert len(set(indices)) == len(indices) == 5000
    # Not handed out in order: neighbours in issuance order are not neighbours in the list, and the indices cover
    # the whole list (a sequential allocator would give 0..4999).
    steps = sum(1 for a, b in zip(indices, indices[1:]) if abs(a - b) <= 1)
    assert steps < 5
    assert min(indices) < MIN_LIST_SIZE // 10 and max(indices) > MIN_LIST_SIZE * 9 // 10
    # About half of them fall in each half of the list (binomial, 5000 draws: 6 sigma is ~210).
    assert abs(sum(1 for i in indices if i < MIN_LIST_SIZE // 2) - 2500) < 250


def test_a_full_list_is_followed_by_a_new_one(sessions, box):
    tenant_id, _ = make_tenant(sessions, box)
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(40)]
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        # Lists of 16 entries (never served: only to fill one here); the 40 entries fill two and start a third.
        allocate(s, tenant, ids[:3], public_url=PUBLIC_URL, size=16)
        allocate(s, tenant, ids[3:], public_url=PUBLIC_URL, size=16)
    with sessions() as s:
        counts = s.execute(select(StatusEntry.list_id, func.count()).where(StatusEntry.purpose ==
                                                                          StatusPurpose.SUSPENSION)
                           .group_by(StatusEntry.list_id)).all()
        indices = s.execute(select(StatusEntry.list_id, StatusEntry.list_index)).all()
    assert sorted(n for _, n in counts) == [8, 16, 16]
    assert len(set(indices)) == len(indices) == 80
    assert all(0 <= index < 16 for _, index in indices)


# ── changes ─────────────────────────────────────────────────────────────────────────────────────────────────

def _issued(sessions, box, n: int) -> tuple[int, list[str]]:
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = status_batch(sessions, tenant_id, achievement_id, n)
    with sessions() as s:
        ids = s.scalars(select(StatusEntry.credential_id).where(StatusEntry.purpose == StatusPurpose.REVOCATION)
                        .distinct()).all()
    assert len(ids) == n and batch_id
    return tenant_id, sorted(ids)


def test_revoke_suspend_reinstate_rules_and_records(sessions, box):
    tenant_id, ids = _issued(sessions, box, 4)
    a, b, c, d = ids
    with sessions.begin() as s:
        done = change_status(s, tenant_id, [a, b], "revoke", reason="forged transcript", actor="api key abc")
        assert done.changed == [a, b] and done.unchanged == []
        assert list(done.lists.values()) == [2]  # one revision for the request, whatever its size
    with sessions.begin() as s:
        again = change_status(s, tenant_id, [a, c], "revoke", reason="again", actor="admin jo")
        assert again.changed == [c] and again.unchanged == [a]
    with sessions.begin() as s:
        assert change_status(s, tenant_id, [d], "suspend", reason="under review", actor="cli").changed == [d]
    with sessions.begin() as s:
        with pytest.raises(StatusChangeError) as caught:
            change_status(s, tenant_id, [d, a], "reinstate", reason="cleared", actor="cli")
        assert list(caught.value.conflicts) == [a] and "revoked for good" in caught.value.conflicts[a]
    with sessions.begin() as s:
        with pytest.raises(StatusChangeError) as caught:
            change_status(s, tenant_id, [b], "suspend", reason="x", actor="cli")
        assert "cannot be suspended" in caught.value.conflicts[b]
    with sessions.begin() as s:
        assert change_status(s, tenant_id, [d], "reinstate", reason="cleared", actor="cli").changed == [d]
        assert change_status(s, tenant_id, [d], "reinstate", reason="cleared", actor="cli").unchanged == [d]
    with sessions() as s:
        state = {cid: status_of(s, tenant_id, cid) for cid in ids}
        history = [(h.credential_id, h.action.value, h.reason, h.actor) for h in
                   s.scalars(select(StatusChange).order_by(StatusChange.id))]
    assert [(x["revoked"], x["suspended"]) for x in state.values()] == [(True, False), (True, False),
                                                                        (True, False), (False, False)]
    assert history == [(a, "revoke", "forged transcript", "api key abc"), (b, "revoke", "forged transcript",
                                                                          "api key abc"),
                       (c, "revoke", "again", "admin jo"), (d, "suspend", "under review", "cli"),
                       (d, "reinstate", "cleared", "cli")]
    assert state[d]["published"] is False and [h["action"] for h in state[d]["history"]] == ["suspend", "reinstate"]


def test_a_request_is_all_or_nothing(sessions, box):
    tenant_id, ids = _issued(sessions, box, 2)
    other_tenant, other_ids = _issued_for_other(sessions, box)
    with sessions.begin() as s:
        with pytest.raises(StatusChangeError) as caught:
            change_status(s, tenant_id, [ids[0], "urn:uuid:nope", other_ids[0]], "revoke", reason="r", actor="x")
        # Another tenant's credential is unknown here, exactly like one that does not exist.
        assert caught.value.unknown == ["urn:uuid:nope", other_ids[0]]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(StatusChange)) == 0
        assert status_of(s, tenant_id, ids[0])["revoked"] is False
        assert status_of(s, tenant_id, other_ids[0]) is None


def _issued_for_other(sessions, box) -> tuple[int, list[str]]:
    tenant_id, achievement_id = make_tenant(sessions, box, slug="other-uni")
    status_batch(sessions, tenant_id, achievement_id, 1)
    with sessions() as s:
        ids = s.scalars(select(StatusEntry.credential_id).where(StatusEntry.tenant_id == tenant_id).distinct()).all()
    return tenant_id, list(ids)


def test_a_credential_issued_without_status_cannot_be_revoked(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    with sessions.begin() as s:
        batch_id = create_roster_batch(s, s.get(Tenant, tenant_id), s.get(AchievementRecord, achievement_id),
                                       learners(1)).id
    cid = documents(sessions, batch_id)[0].id
    with sessions.begin() as s:
        with pytest.raises(StatusChangeError) as caught:
            change_status(s, tenant_id, [cid], "revoke", reason="r", actor="x")
        assert "without credentialStatus" in caught.value.conflicts[cid]


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": "  "}, "needs a reason"),
    ({"reason": "x" * 1001}, "at most 1000"),
    ({"ids": []}, "at least one credential"),
    ({"ids": ["u"] * 2 + [f"id{i}" for i in range(10_000)]}, "at most 10000"),
])
def test_bad_requests_say_what_is_wrong(sessions, box, kwargs, message):
    tenant_id, ids = _issued(sessions, box, 1)
    with sessions.begin() as s:
        with pytest.raises(ValueError, match=message):
            change_status(s, tenant_id, kwargs.get("ids", ids), "revoke", reason=kwargs.get("reason", "r"),
                          actor="x")
