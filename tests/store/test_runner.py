"""The batch runner drives a roster batch to delivered on the embedded chain; the documents verify."""

from __future__ import annotations

import pytest

from issuer.ledger.embedded import EmbeddedChain
from issuer.store.engine import batch_progress
from issuer.store.models import BatchState
from tests.store.kit import Chain, assert_delivered_once, batch_of, make_tenant, roster_batch


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain(EmbeddedChain())


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
