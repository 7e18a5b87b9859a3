"""A tenant's key rotation and revocation in the issuer service's store, on the embedded chain (SQLite and PostgreSQL):
the change and its events are stored, then recorded on the registry; batches anchored before and after verify (or
fail with the reason); the runner never anchors from a retired address; a signing key revocation fails the batches it
signed that are not yet anchored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from issuer.keys import ANCHORING, SIGNING
from issuer.store.keyevents import KeyChangeRefused, change_tenant_keys, key_history, record_tenant_key_events
from issuer.store.models import Batch, BatchState, KeyEventState, Tenant, TenantKey, TenantKeyEvent
from issuer.store.tenants import identity_of
from tests.store.kit import Chain, assert_delivered_once, documents, make_tenant, roster_batch
from verifier.report import Status


@pytest.fixture
def chain() -> Chain:
    return Chain()


def _change(sessions, box, chain, tenant_id, **kwargs):
    outcome = change_tenant_keys(sessions, box, tenant_id, chain_id=chain.provider.chain_id,
                                 reason=kwargs.pop("reason", "scheduled rotation"), **kwargs)
    events = record_tenant_key_events(sessions, box, chain.provider, tenant_id)
    return outcome, events


def _issue(sessions, box, chain, tenant_id, achievement_id, n=2) -> str:
    batch_id = roster_batch(sessions, tenant_id, achievement_id, n)
    chain.runner(sessions, box).run_until_idle()
    return batch_id


def test_rotating_both_keys_keeps_old_credentials_and_records_every_event(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    before = _issue(sessions, box, chain, tenant_id, achievement_id)
    with sessions() as s:
        old_address = s.get(Tenant, tenant_id).anchoring_address
    _, events = _change(sessions, box, chain, tenant_id, action="rotate", role=SIGNING)
    _, events = _change(sessions, box, chain, tenant_id, action="rotate", role=ANCHORING)
    assert [(e.role, e.number, e.kind, e.state) for e in events] == [
        (SIGNING, 2, 1, KeyEventState.RECORDED), (SIGNING, 1, 2, KeyEventState.RECORDED),
        (ANCHORING, 2, 1, KeyEventState.RECORDED), (ANCHORING, 1, 2, KeyEventState.RECORDED)]
    with sessions() as s:
        tenant = s.get(Tenant, tenant_id)
        assert tenant.anchoring_address != old_address
        assert events[3].anchoring_address == old_address and events[2].anchoring_address == tenant.anchoring_address
        rows = s.scalars(select(TenantKey).where(TenantKey.tenant_id == tenant_id)).all()
        assert all(r.retiring_secret_enc is None for r in rows)  # the old anchoring secret is dropped
        assert {(r.role, r.number): r.reason for r in rows if r.retired} == {
            (SIGNING, 1): "scheduled rotation", (ANCHORING, 1): "scheduled rotation"}
        document = identity_of(tenant, box).did_document([chain.provider.chain_id])
    assert len(document["verificationMethod"]) == 4 and len(document["assertionMethod"]) == 2
    after = _issue(sessions, box, chain, tenant_id, achievement_id)
    assert_delivered_once(sessions, chain, box, tenant_id, before, 2)
    assert_delivered_once(sessions, chain, box, tenant_id, after, 2)
    proofs = documents(sessions, after)[0].document["proof"]
    assert proofs[0]["verificationMethod"].endswith("#key-2")
    assert proofs[1]["verificationMethod"].endswith(f"#anchor-eip155-{chain.provider.chain_id}-2")


def test_a_signing_key_change_has_published_status_lists_signed_again(sessions, box, chain):
    import uuid

    from issuer.store.models import StatusList, StatusPurpose

    tenant_id, _ = make_tenant(sessions, box)
    with sessions.begin() as s:  # one list published (as the status publisher leaves it), one never published
        lists = [StatusList(id=str(uuid.uuid4()), tenant_id=tenant_id, purpose=purpose, size=131072,
                            url=f"http://localhost:8081/tenants/tu-example/status/{purpose.value}", revision=3,
                            published_revision=published, version=published)
                 for purpose, published in ((StatusPurpose.REVOCATION, 3), (StatusPurpose.SUSPENSION, 0))]
        s.add_all(lists)
        s.flush()
        before = {sl.id: sl.revision for sl in lists}
        published = lists[0].id
    _change(sessions, box, chain, tenant_id, action="rotate", role=SIGNING)
    with sessions() as s:
        after = {sl.id: sl.revision for sl in s.scalars(select(StatusList).where(StatusList.tenant_id == tenant_id))}
    assert after == {k: v + (k == published) for k, v in before.items()}
    _change(sessions, box, chain, tenant_id, action="rotate", role=ANCHORING)
    with sessions() as s:
        assert s.get(StatusList, published).revision == after[published]  # the anchoring key signs no list


def test_revoking_the_signing_key_fails_unanchored_batches_and_later_thefts(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    anchored = _issue(sessions, box, chain, tenant_id, achievement_id)
    pending = roster_batch(sessions, tenant_id, achievement_id, 2)
    runner = chain.runner(sessions, box)
    while runner.step():  # sign the pending batch, stop before it is anchored
        with sessions() as s:
            if s.get(Batch, pending).state is BatchState.SIGNED:
                break
    outcome, events = _change(sessions, box, chain, tenant_id, action="revoke", role=SIGNING,
                              reason="laptop stolen")
    assert outcome.failed_batches == [pending]
    with sessions() as s:
        batch = s.get(Batch, pending)
        assert batch.state is BatchState.FAILED and "was revoked before this batch was anchored" in batch.error
    assert [(e.kind, e.number) for e in events] == [(1, 2), (3, 1)]
    assert_delivered_once(sessions, chain, box, tenant_id, anchored, 2)  # anchored before: still valid
    later = _issue(sessions, box, chain, tenant_id, achievement_id)
    assert_delivered_once(sessions, chain, box, tenant_id, later, 2)  # the replacement key signs


def test_the_anchoring_key_cannot_change_while_an_anchor_is_in_flight(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 1)
    runner = chain.runner(sessions, box)
    while runner.step():
        with sessions() as s:
            if s.get(Batch, batch_id).state is BatchState.ANCHOR_SENT:
                break
    with pytest.raises(KeyChangeRefused, match="in flight"):
        change_tenant_keys(sessions, box, tenant_id, action="rotate", role=ANCHORING, reason="x",
                           chain_id=chain.provider.chain_id)
    runner.run_until_idle()
    _change(sessions, box, chain, tenant_id, action="rotate", role=ANCHORING)
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 1, roster=False)


def test_events_left_pending_block_the_next_change_and_are_recorded_later(sessions, box, chain):
    tenant_id, _ = make_tenant(sessions, box)
    change_tenant_keys(sessions, box, tenant_id, action="rotate", role=ANCHORING, reason="x",
                       chain_id=chain.provider.chain_id)
    with pytest.raises(KeyChangeRefused, match="not yet recorded"):
        change_tenant_keys(sessions, box, tenant_id, action="rotate", role=SIGNING, reason="y",
                           chain_id=chain.provider.chain_id)
    with sessions() as s:  # until then the old anchoring secret is kept, sealed
        assert s.scalar(select(TenantKey.retiring_secret_enc).where(TenantKey.tenant_id == tenant_id,
                                                                    TenantKey.number == 1,
                                                                    TenantKey.role == ANCHORING)) is not None
    events = record_tenant_key_events(sessions, box, chain.provider, tenant_id)
    assert [e.state for e in events] == [KeyEventState.RECORDED] * 2
    keys, _ = key_history(sessions, tenant_id)
    assert all(k.retiring_secret_enc is None for k in keys)


def test_a_leaked_anchoring_key_is_revoked_by_its_replacement_which_anchors_from_then_on(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    before = _issue(sessions, box, chain, tenant_id, achievement_id, n=1)
    _, events = _change(sessions, box, chain, tenant_id, action="revoke", role=ANCHORING, reason="key leaked")
    with sessions() as s:
        new_address = s.get(Tenant, tenant_id).anchoring_address
    assert [(e.role, e.number, e.kind) for e in events] == [(ANCHORING, 2, 1), (ANCHORING, 1, 3)]
    assert {e.anchoring_address for e in events} == {new_address}  # the leaked key is never used again
    after = _issue(sessions, box, chain, tenant_id, achievement_id, n=1)
    assert_delivered_once(sessions, chain, box, tenant_id, before, 1)
    assert_delivered_once(sessions, chain, box, tenant_id, after, 1)
    report = chain.verifier(sessions, box, tenant_id).verify(documents(sessions, before)[0].document)
    anchor = next(c for c in report.checks if c.id == "anchor")
    assert anchor.status is Status.PASS and "revoked" in anchor.reason and "after this anchor" in anchor.reason


def test_a_tenant_made_before_key_history_gets_its_first_keys_on_its_first_rotation(sessions, box, chain):
    tenant_id, _ = make_tenant(sessions, box)
    with sessions.begin() as s:  # as migrated from 0002: no history rows
        for row in s.scalars(select(TenantKey).where(TenantKey.tenant_id == tenant_id)):
            s.delete(row)
    with sessions() as s:
        legacy = identity_of(s.get(Tenant, tenant_id), box)
        assert [r.created for r in legacy.records()] == [None, None]
    _change(sessions, box, chain, tenant_id, action="rotate", role=SIGNING)
    with sessions() as s:
        rows = s.scalars(select(TenantKey).where(TenantKey.tenant_id == tenant_id)
                         .order_by(TenantKey.role, TenantKey.number)).all()
        assert [(r.role, r.number) for r in rows] == [(ANCHORING, 1), (SIGNING, 1), (SIGNING, 2)]
        assert all(r.created is not None for r in rows)
        assert s.scalar(select(TenantKeyEvent.state).where(TenantKeyEvent.tenant_id == tenant_id)
                        .order_by(TenantKeyEvent.id.desc())) is KeyEventState.RECORDED


def test_the_status_publisher_never_publishes_from_an_address_retired_while_it_signed(sessions, box, chain,
                                                                                      monkeypatch):
    """A publication in ``signed`` is not "in flight" for the key change; the rotation may land between the
    publisher reading the address and storing its transaction: the stored one must come from the new address."""
    from issuer.status.allocation import allocate
    from issuer.status.publisher import StatusPublisher
    from issuer.store.models import PublicationState, StatusPublication
    from tests.store.kit import PUBLIC_URL

    tenant_id, _ = make_tenant(sessions, box)
    with sessions.begin() as s:
        allocate(s, s.get(Tenant, tenant_id), ["urn:uuid:00000000-0000-4000-8000-000000000001"],
                 public_url=PUBLIC_URL)
        old_address = s.get(Tenant, tenant_id).anchoring_address
    publisher = StatusPublisher(sessions, box, chain.provider, poll_interval=0.01)
    original = chain.provider.prepare_status
    rotated = []

    def rotate_then_prepare(*args, **kwargs):
        if not rotated:  # the key change commits while the publisher prepares its transaction
            rotated.append(change_tenant_keys(sessions, box, tenant_id, action="rotate", role=ANCHORING,
                                              reason="scheduled", chain_id=chain.provider.chain_id))
        return original(*args, **kwargs)

    monkeypatch.setattr(chain.provider, "prepare_status", rotate_then_prepare)
    publisher.run_until_idle()
    record_tenant_key_events(sessions, box, chain.provider, tenant_id)
    publisher.run_until_idle()
    assert rotated
    with sessions() as s:
        new_address = s.get(Tenant, tenant_id).anchoring_address
        pubs = s.execute(select(StatusPublication.state, StatusPublication.anchoring_address)
                         .where(StatusPublication.tenant_id == tenant_id)).all()
    assert new_address != old_address
    assert pubs and all(state is PublicationState.PUBLISHED for state, _ in pubs)
    assert {address for _, address in pubs} == {new_address}, (old_address, new_address, pubs)


def test_a_list_signed_for_its_first_publication_before_a_signing_key_change_is_signed_again(sessions, box, chain):
    """A list never published yet whose first publication was signed with the old key just before the rotation: once
    published it would be served with the retired key's signature; it must be signed and published again."""
    from issuer.status.allocation import allocate
    from issuer.status.publisher import StatusPublisher
    from issuer.store.models import PublicationState, StatusList, StatusPublication
    from tests.store.kit import PUBLIC_URL

    tenant_id, _ = make_tenant(sessions, box)
    with sessions.begin() as s:
        allocate(s, s.get(Tenant, tenant_id), ["urn:uuid:00000000-0000-4000-8000-000000000002"],
                 public_url=PUBLIC_URL)
    publisher = StatusPublisher(sessions, box, chain.provider, poll_interval=0.01)
    publisher.step()  # opens both lists' first publications and signs one of them with signing key 1
    with sessions() as s:
        assert s.scalar(select(StatusPublication.id).where(StatusPublication.tenant_id == tenant_id,
                                                           StatusPublication.state == PublicationState.SIGNED))
    _change(sessions, box, chain, tenant_id, action="rotate", role=SIGNING)
    publisher.run_until_idle()
    with sessions() as s:
        served = s.scalars(select(StatusList).where(StatusList.tenant_id == tenant_id)).all()
        assert len(served) == 2
        for sl in served:
            assert sl.published_revision == sl.revision
            assert sl.document["proof"]["verificationMethod"].endswith("#key-2"), sl.purpose


def test_a_signing_key_revoked_while_the_runner_signs_a_batch_never_signs_it(sessions, box, chain, monkeypatch):
    """The runner signs a chunk outside any transaction: a revocation landing meanwhile (the batch holds no signed
    credential yet, so it fails nothing) must not let the chunk be stored with the revoked key's signatures."""
    from issuer.batch import Signer

    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 2)
    original = Signer.sign_document
    revoked = []

    def revoke_then_sign(self, doc):
        if not revoked:
            revoked.append(_change(sessions, box, chain, tenant_id, action="revoke", role=SIGNING,
                                   reason="laptop stolen"))
        return original(self, doc)

    monkeypatch.setattr(Signer, "sign_document", revoke_then_sign)
    chain.runner(sessions, box).run_until_idle()
    assert revoked and revoked[0][0].failed_batches == []
    with sessions() as s:
        state = s.get(Batch, batch_id).state
    if state is not BatchState.FAILED:  # signed again with the replacement key: it must verify
        assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 2)
        assert documents(sessions, batch_id)[0].document["proof"][0]["verificationMethod"].endswith("#key-2")
