"""The batch runner drives a roster batch to delivered on the embedded chain; the documents verify."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from issuer.store.engine import batch_progress, issue_credential
from issuer.store.models import AchievementRecord, Batch, BatchState, Tenant
from tests.store.kit import (
    Chain,
    assert_delivered_once,
    batch_of,
    make_tenant,
    roster_batch,
    vc_api_credential,
)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain()


def test_roster_batch_is_signed_anchored_and_delivered(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 20)
    events_before = chain.anchor_events()
    seen: list[str] = []
    runner = chain.runner(sessions, box, hook=lambda event, bid: seen.append(event))
    runner.run_until_idle()
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 20)
    assert chain.anchor_events() == events_before + 1
    assert [e for e in seen if e.startswith("persisted:")] == [
        "persisted:signed", "persisted:tree_built", "persisted:anchor_sent", "persisted:confirmed",
        "persisted:delivered"]
    assert seen.count("chunk:signed") == 3  # 20 credentials in chunks of 7
    batch = batch_of(sessions, batch_id)
    progress = batch_progress(batch)
    assert progress["state"] == "delivered" and progress["done"] == progress["total"] == 20
    assert all(step["status"] == "done" for step in progress["steps"])
    assert batch.tx_hash and batch.block_number and batch.lease_owner is None


def test_two_runners_never_drive_the_same_batch(sessions, box, chain):
    """Two runners on one database at once, each in its own thread: every batch is driven by one of them only
    (its lease), all are delivered, one transaction each."""
    import threading
    import time as _time

    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_ids = [roster_batch(sessions, tenant_id, achievement_id, 6) for _ in range(4)]
    events_before = chain.anchor_events()
    drivers: dict[str, set[str]] = {b: set() for b in batch_ids}
    lock = threading.Lock()

    def hook_for(worker: str):
        def hook(event: str, batch_id: str) -> None:
            with lock:
                drivers[batch_id].add(worker)
            _time.sleep(0.005)  # widen the window in which the other runner could try the same batch
        return hook

    runners = [chain.runner(sessions, box, chunk=2, worker_id=w, hook=hook_for(w)) for w in ("a", "b")]
    errors: list[BaseException] = []

    def run(r):
        try:
            r.run_until_idle(timeout=60)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # A runner that went idle while the other still held a lease leaves that batch to it; finish any leftovers.
    for b in batch_ids:
        assert batch_of(sessions, b).state is BatchState.DELIVERED or batch_of(sessions, b).lease_owner in ("a", "b")
    for r in runners:
        r.run_until_idle(timeout=60)
    for b in batch_ids:
        assert len(drivers[b]) == 1, f"batch {b} driven by {drivers[b]}"
        assert_delivered_once(sessions, chain, box, tenant_id, b, 6)
    assert chain.anchor_events() == events_before + 4
    with sessions() as s:
        nonces = sorted(s.scalars(select(Batch.nonce).where(Batch.id.in_(batch_ids))))
    assert nonces == [0, 1, 2, 3]


def test_an_open_batch_seals_at_seal_at_credentials(sessions, box, chain):
    tenant_id, _ = make_tenant(sessions, box)
    batch_id = _issue(sessions, box, tenant_id, 2)
    runner = chain.runner(sessions, box, seal_at=3, seal_after=3600)
    assert runner.step() is False  # 2 of 3: nothing to do
    assert batch_of(sessions, batch_id).state is BatchState.OPEN
    assert _issue(sessions, box, tenant_id, 1) == batch_id
    runner.run_until_idle()
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 3, roster=False)
    # The next credential opens a new batch.
    assert _issue(sessions, box, tenant_id, 1) != batch_id


def test_an_open_batch_seals_after_seal_after_seconds(sessions, box, chain):
    tenant_id, _ = make_tenant(sessions, box)
    batch_id = _issue(sessions, box, tenant_id, 1)
    runner = chain.runner(sessions, box, seal_at=1000, seal_after=0.5)
    assert runner.step() is False
    assert batch_of(sessions, batch_id).state is BatchState.OPEN
    import time as _time

    _time.sleep(0.6)
    runner.run_until_idle()
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 1, roster=False)


def test_background_thread_delivers_and_stops(sessions, box, chain):
    import time as _time

    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 3)
    runner = chain.runner(sessions, box, poll_interval=0.05)
    runner.start()
    try:
        deadline = _time.monotonic() + 30
        while batch_of(sessions, batch_id).state is not BatchState.DELIVERED and _time.monotonic() < deadline:
            _time.sleep(0.05)
    finally:
        runner.stop()
    assert runner._thread is None
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 3)


def test_confirmations_are_waited_for_and_shown(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 2)
    stages: list[str] = []
    runner = chain.runner(sessions, box, confirmations=3,
                          hook=lambda e, b: stages.append(batch_progress(batch_of(sessions, b))["stage"]))
    while batch_of(sessions, batch_id).state is not BatchState.CONFIRMED:
        assert runner.step()
        progress = batch_progress(batch_of(sessions, batch_id))
        if progress["stage"] == "confirming":
            stages.append(f"{progress['done']}/{progress['total']}")
    assert stages.count("1/3") == 1 and stages.count("2/3") == 1
    batch = batch_of(sessions, batch_id)
    assert chain.chain.w3.eth.block_number >= batch.block_number + 2
    runner.run_until_idle()
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 2)


def test_a_batch_whose_achievement_no_longer_parses_fails_with_the_reason(sessions, box, chain):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 2)
    with sessions.begin() as s:
        record = s.get(AchievementRecord, achievement_id)
        record.spec = {**record.spec, "ects": -1}
    chain.runner(sessions, box).run_until_idle()
    batch = batch_of(sessions, batch_id)
    assert batch.state is BatchState.FAILED and batch.error.startswith("sealed: ") and "ects" in batch.error
    assert batch.tx_hash is None and batch.lease_owner is None


def _issue(sessions, box, tenant_id: int, n: int) -> str:
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        records = [issue_credential(s, box, tenant, vc_api_credential(tenant.did, i)) for i in range(n)]
        return records[-1].batch_id
