"""The batch runner over an RPC node (anvil): the RPC LedgerProvider deploys the registry once on the dev chain,
funds the tenant, anchors, and resumes after a crash between storing the transaction and broadcasting it."""

from __future__ import annotations

import time

import pytest

from issuer.ledger.provider import rpc_ledger
from issuer.store.engine import BatchRunner
from issuer.store.models import BatchState
from tests.devnet.conftest import anvil_path, devnet, devnet_factory  # noqa: F401 - fixtures
from tests.store.kit import batch_of, documents, make_tenant, roster_batch
from tests.store.rpckit import rpc_verifier
from verifier.report import Verdict

pytestmark = pytest.mark.devnet


class Crash(Exception):
    pass


def test_runner_on_anvil_resumes_and_delivers(sessions, box, devnet, tmp_path):  # noqa: F811
    state_file = tmp_path / "registry.json"
    ledger = rpc_ledger(devnet.rpc_url, dev=True, registry_state_file=state_file, poll_interval=0.05)
    again = rpc_ledger(devnet.rpc_url, dev=True, registry_state_file=state_file)
    assert again.registry_address == ledger.registry_address  # deployed once, then reused
    tenant_id, achievement_id = make_tenant(sessions, box)
    batch_id = roster_batch(sessions, tenant_id, achievement_id, 8)

    def crash(event: str, _batch: str) -> None:
        if event == "persisted:anchor_sent":
            raise Crash

    first = BatchRunner(sessions, box, ledger, chunk=3, lease_seconds=0.2, worker_id="first", hook=crash,
                        poll_interval=0.05)
    with pytest.raises(Crash):
        first.run_until_idle()
    time.sleep(0.3)
    seen: list[str] = []
    BatchRunner(sessions, box, ledger, confirmations=1, worker_id="second", poll_interval=0.05,
                hook=lambda e, b: seen.append(e)).run_until_idle(timeout=60)
    assert "rebroadcast" in seen
    batch = batch_of(sessions, batch_id)
    assert batch.state is BatchState.DELIVERED, batch.error
    assert ledger.mined_nonce(batch.anchoring_address) == 1

    with rpc_verifier(sessions, box, tenant_id, ledger, devnet.rpc_url) as verifier:
        for record in documents(sessions, batch_id):
            report = verifier.verify(record.document)
            assert report.verdict is Verdict.VERIFIED, [c.to_json() for c in report.checks]


def test_rpc_ledger_needs_a_registry_off_dev_chains_and_closes(devnet, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="needs a registry address"):
        rpc_ledger(devnet.rpc_url)
    ledger = rpc_ledger(devnet.rpc_url, dev=True, registry_state_file=tmp_path / "r.json")
    assert ledger.pending_nonce("0x" + "11" * 20) == 0  # a request, so a session is cached
    ledger.close()
    assert ledger.mined_nonce("0x" + "11" * 20) == 0  # usable again after close (a new session)
    ledger.close()
