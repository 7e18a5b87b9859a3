"""A runner killed at every state boundary: a new runner on the same database finishes the batch, every credential is
delivered exactly once, one anchoring transaction lands, and the documents verify.

The "kill" is an exception raised by the runner's hook right after a state is persisted or right after a side effect
(the broadcast); the crashed runner's lease is short, and the next runner (another worker id) takes over once it
expires, as a restarted process would.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account

from issuer.ledger.evm import broadcast_raw, prepare_transaction
from issuer.store.engine import issue_credential
from issuer.store.models import BatchState, Tenant
from issuer.store.tenants import identity_of
from tests.store.kit import (
    Chain,
    assert_delivered_once,
    batch_of,
    documents,
    make_tenant,
    roster_batch,
    vc_api_credential,
)

N = 15
LEASE = 0.2


class Crash(Exception):
    """The simulated kill (not an error the runner knows, so nothing catches it)."""


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain()


def crash_at(event: str, *, nth: int = 1):
    seen = {"n": 0}

    def hook(name: str, batch_id: str) -> None:
        if name == event:
            seen["n"] += 1
            if seen["n"] == nth:
                raise Crash(f"killed after {event}")

    return hook


def _address(sessions, box, tenant_id) -> str:
    with sessions() as s:
        return identity_of(s.get(Tenant, tenant_id), box).anchoring_address


def _crash_then_resume(chain, sessions, box, event: str, nth: int = 1, before_resume=None) -> list[str]:
    crashed = chain.runner(sessions, box, chunk=4, lease_seconds=LEASE, worker_id="first",
                           hook=crash_at(event, nth=nth))
    with pytest.raises(Crash):
        crashed.run_until_idle()
    if before_resume is not None:
        before_resume()
    time.sleep(LEASE + 0.05)
    events: list[str] = []
    chain.runner(sessions, box, chunk=4, worker_id="second", hook=lambda e, b: events.append(e)).run_until_idle()
    return events


@pytest.mark.parametrize("event, nth", [
    ("chunk:signed", 1),          # some credentials signed and stored, the rest not
    ("chunk:signed", 4),          # all chunks stored, state not yet "signed"
    ("persisted:signed", 1),
    ("persisted:tree_built", 1),
    ("persisted:anchor_sent", 1),  # transaction stored, never broadcast
    ("broadcast", 1),              # broadcast (and mined), nothing recorded since
    ("persisted:confirmed", 1),
    ("chunk:delivered", 2),        # half the merkle proofs added
    ("persisted:delivered", 1),
])
def test_roster_batch_survives_a_crash(sessions, box, chain, event, nth):
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, N)
    address = _address(sessions, box, tenant_id)
    events_before = chain.anchor_events()
    signed_before: dict[str, str] = {}

    def remember_signed():
        signed_before.update({r.id: r.document["proof"]["id"] if isinstance(r.document["proof"], dict)
                              else r.document["proof"][0]["id"]
                              for r in documents(sessions, batch_id) if r.document is not None})

    resumed = _crash_then_resume(chain, sessions, box, event, nth, before_resume=remember_signed)
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, N)
    assert chain.anchor_events() == events_before + 1
    assert chain.nonce(address) == 1  # one transaction ever sent from the tenant's anchoring key
    # What was signed before the crash was kept, not signed again.
    after = {r.id: r.document["proof"][0]["id"] for r in documents(sessions, batch_id)}
    assert all(after[cid] == proof_id for cid, proof_id in signed_before.items())
    if event == "persisted:anchor_sent":
        assert "rebroadcast" in resumed  # the stored bytes, not a new transaction
    if event in ("broadcast", "persisted:confirmed", "chunk:delivered"):
        assert "persisted:anchor_sent" not in resumed


def test_vc_api_batch_survives_a_crash_after_sealing(sessions, box, chain):
    tenant_id, _ = make_tenant(sessions, box)
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        records = [issue_credential(s, box, tenant, vc_api_credential(tenant.did, i)) for i in range(3)]
        assert len({r.batch_id for r in records}) == 1
        batch_id = records[0].batch_id
    crashed = chain.runner(sessions, box, seal_at=3, lease_seconds=LEASE, worker_id="first",
                           hook=crash_at("persisted:sealed"))
    with pytest.raises(Crash):
        crashed.run_until_idle()
    assert batch_of(sessions, batch_id).state is BatchState.SEALED
    time.sleep(LEASE + 0.05)
    chain.runner(sessions, box, seal_at=3, worker_id="second").run_until_idle()
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 3, roster=False)


def test_a_transaction_whose_nonce_was_taken_is_replaced_once(sessions, box, chain):
    """anchor_sent, the stored transaction never broadcast, and its nonce used by another transaction of the same
    key (and the root not in the registry): provably gone, so one new transaction with a fresh nonce, recorded."""
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 5)
    with sessions() as s:
        account = Account.from_key(identity_of(s.get(Tenant, tenant_id), box).secp256k1_secret)
    events_before = chain.anchor_events()

    def spend_the_nonce():
        stored = batch_of(sessions, batch_id)
        assert stored.state is BatchState.ANCHOR_SENT and stored.nonce == 0
        other = prepare_transaction(chain.chain.w3, account, to=account.address, value=1, nonce=0)
        broadcast_raw(chain.chain.w3, other.raw)

    resumed = _crash_then_resume(chain, sessions, box, "persisted:anchor_sent", before_resume=spend_the_nonce)
    assert "persisted:anchor_sent" in resumed and "rebroadcast" not in resumed
    batch = batch_of(sessions, batch_id)
    assert batch.nonce == 1 and batch.error.startswith("replaced 0x")
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 5)
    assert chain.anchor_events() == events_before + 1
    assert chain.nonce(account.address) == 2


def test_a_root_anchored_by_another_transaction_is_followed_not_sent_again(sessions, box, chain):
    """anchor_sent, and the registry shows the root through a transaction other than the stored one (a replacement
    with other fees): the runner records that transaction and confirms through it, sending nothing."""
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 5)
    with sessions() as s:
        account = Account.from_key(identity_of(s.get(Tenant, tenant_id), box).secp256k1_secret)
    events_before = chain.anchor_events()
    replacement = {}

    def replace_it():
        stored = batch_of(sessions, batch_id)
        other = prepare_transaction(chain.chain.w3, account, to=chain.chain.registry_address,
                                    data=_anchor_data(stored.merkle_root), nonce=stored.nonce, gas=200_000)
        assert other.tx_hash != stored.tx_hash
        replacement["tx"] = broadcast_raw(chain.chain.w3, other.raw)

    resumed = _crash_then_resume(chain, sessions, box, "persisted:anchor_sent", before_resume=replace_it)
    assert "adopted" in resumed and "rebroadcast" not in resumed and "persisted:anchor_sent" not in resumed
    batch = batch_of(sessions, batch_id)
    assert batch.tx_hash == replacement["tx"] and replacement["tx"] in batch.error
    assert_delivered_once(sessions, chain, box, tenant_id, batch_id, 5)
    assert chain.anchor_events() == events_before + 1
    assert chain.nonce(account.address) == 1


def _anchor_data(root_hex: str) -> bytes:
    from verifier.ledger.evm import ANCHOR_SELECTOR

    return ANCHOR_SELECTOR + bytes.fromhex(root_hex)
