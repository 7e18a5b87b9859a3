"""Status lists over an RPC node (anvil): a roster batch with status entries, the batch runner and the status
publisher sending from the same key (nonces shared), a publisher crash between storing the publishStatus transaction
and broadcasting it, and the verifier over JSON-RPC judging revoked, suspended and reinstated credentials against the
lists the issuer stored and anchored."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from issuer.ledger.provider import rpc_ledger
from issuer.status.changes import change_status
from issuer.status.publisher import StatusPublisher
from issuer.store.engine import BatchRunner, create_roster_batch
from issuer.store.models import AchievementRecord, BatchState, StatusList, Tenant
from issuer.store.tenants import identity_of
from tests.devnet.conftest import anvil_path, devnet, devnet_factory  # noqa: F401 - fixtures
from tests.store.kit import PUBLIC_URL, batch_of, documents, learners, make_tenant
from tests.store.rpckit import rpc_verifier
from verifier.report import Verdict

pytestmark = pytest.mark.devnet


class Crash(Exception):
    pass


def test_status_on_anvil(sessions, box, devnet, tmp_path):  # noqa: F811
    ledger = rpc_ledger(devnet.rpc_url, dev=True, registry_state_file=tmp_path / "registry.json", poll_interval=0.05)
    tenant_id, achievement_id = make_tenant(sessions, box)
    with sessions.begin() as s:
        batch_id = create_roster_batch(s, s.get(Tenant, tenant_id), s.get(AchievementRecord, achievement_id),
                                       learners(6), public_url=PUBLIC_URL).id
        address = identity_of(s.get(Tenant, tenant_id), box).anchoring_address
    BatchRunner(sessions, box, ledger, poll_interval=0.05).run_until_idle(timeout=60)
    assert batch_of(sessions, batch_id).state is BatchState.DELIVERED
    ids = [r.id for r in documents(sessions, batch_id)]

    def crash(event: str, _pub: str) -> None:
        if event == "persisted:sent":
            raise Crash

    with pytest.raises(Crash):  # the first list's publication: its transaction stored, never broadcast
        StatusPublisher(sessions, box, ledger, lease_seconds=0.2, worker_id="first", hook=crash,
                        poll_interval=0.05).run_until_idle(timeout=60)
    time.sleep(0.3)
    seen: list[str] = []
    publisher = StatusPublisher(sessions, box, ledger, worker_id="second", poll_interval=0.05,
                                hook=lambda e, p: seen.append(e))
    publisher.run_until_idle(timeout=60)
    assert "rebroadcast" in seen
    assert ledger.mined_nonce(address) == 3  # the batch's anchor and one publication per list

    with sessions.begin() as s:
        change_status(s, tenant_id, ids[:2], "revoke", reason="forged", actor="test")
        change_status(s, tenant_id, ids[2:4], "suspend", reason="review", actor="test")
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[3:4], "reinstate", reason="cleared", actor="test")
    publisher.run_until_idle(timeout=60)
    assert ledger.mined_nonce(address) == 5  # one more transaction per list, for all those changes

    with sessions() as s:
        lists = {sl.url: sl.document for sl in s.scalars(select(StatusList).where(StatusList.tenant_id ==
                                                                                 tenant_id))}
    with rpc_verifier(sessions, box, tenant_id, ledger, devnet.rpc_url) as verifier:
        outcome = []
        for record in documents(sessions, batch_id):
            report = verifier.verify(record.document, status_lists=lists)  # snapshots: no website needed
            status = report.check("status")
            outcome.append((report.verdict, status.status.value))
            if record.id in ids[:2]:
                assert "revoked" in status.reason, status
            if record.id == ids[2]:
                assert "suspended" in status.reason, status
    assert outcome == [(Verdict.FAILED, "fail")] * 3 + [(Verdict.VERIFIED, "pass")] * 3
