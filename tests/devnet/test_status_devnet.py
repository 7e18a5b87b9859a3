"""Status lists on anvil: revoked, suspended, reinstated, unreachable, rolled back, tampered, no status, through the
verifier's JSON-RPC reader (bounded eth_getLogs for the history), and the employer's CLI with ``--status-list``."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from issuer.ledger.devnet import DEV_KEY_0, Devnet, fund_from_dev_account
from issuer.ledger.evm import EvmWriter, ensure_registry
from tests.devnet.conftest import free_port
from tests.statuskit import REVOCATION_URL, SUSPENSION_URL, list_credential, status_batch
from verifier.ledger.evm import EvmReader, HttpTransport
from verifier.report import Status, Verdict

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.devnet


class AnvilChain:
    """What tests/statuskit needs of a chain (as EmbeddedChain offers it), over anvil's JSON-RPC."""

    def __init__(self, rpc_url: str, state: Path):
        self.rpc_url = rpc_url
        self.w3 = Web3(Web3.HTTPProvider(rpc_url))
        self.chain_id = int(self.w3.eth.chain_id)
        self.registry_address = ensure_registry(self.w3, Account.from_key(DEV_KEY_0), state)
        self._transports: list[HttpTransport] = []

    def fund(self, address: str, wei: int) -> None:
        fund_from_dev_account(self.w3, address, wei)

    def writer(self, account) -> EvmWriter:
        return EvmWriter(self.w3, account, registry_address=self.registry_address, poll_interval=0.05)

    def reader(self) -> EvmReader:
        transport = HttpTransport(self.rpc_url)
        self._transports.append(transport)
        # Small log windows: the history is read in several bounded eth_getLogs calls, as on a public node.
        return EvmReader(transport, chain_id=self.chain_id, registry_address=self.registry_address,
                         log_chunk_blocks=5)

    def close(self) -> None:
        for t in self._transports:
            t.close()


@pytest.fixture(scope="module")
def anvil(anvil_path, tmp_path_factory):
    node = Devnet(tmp_path_factory.mktemp("devnet"), chain_id=31337, port=free_port())
    try:
        status = node.start()
        chain = AnvilChain(status.rpc_url, tmp_path_factory.mktemp("registry") / "registry.json")
        yield chain
        chain.close()
    finally:
        node.stop()


@pytest.fixture
def batch(anvil, tmp_path):
    return status_batch(tmp_path / "out", chain=anvil, count=2)


def _status(batch, i: int = 0, **kw):
    report = batch.verifier(**kw).verify(batch.credential(i))
    return report, report.check("status")


def test_revoked_suspended_reinstated(batch):
    rev, susp = batch.indices[0]
    batch.publish_both()
    report, status = _status(batch)
    assert status.status is Status.PASS and report.verdict is Verdict.VERIFIED, status.reason
    batch.publish(SUSPENSION_URL, "suspension", (susp,))
    _report, status = _status(batch)
    assert status.status is Status.FAIL and f"suspended (bit {susp} set in suspension list v2" in status.reason
    batch.publish(SUSPENSION_URL, "suspension", ())
    _report, status = _status(batch)
    assert status.status is Status.PASS and "suspension: bit clear in list v3" in status.reason
    batch.publish(REVOCATION_URL, "revocation", (rev,))
    report, status = _status(batch)
    assert status.status is Status.FAIL and f"revoked (bit {rev} set in revocation list v2" in status.reason
    assert report.verdict is Verdict.FAILED
    _report, status = _status(batch, 1)
    assert status.status is Status.PASS


def test_unreachable_rolled_back_tampered(batch):
    batch.publish_both()
    first = batch.published[REVOCATION_URL][0]
    batch.publish(REVOCATION_URL, "revocation", (batch.indices[1][0],))
    batch.site.lists[REVOCATION_URL] = first
    _report, status = _status(batch)
    assert status.status is Status.INDETERMINATE
    assert "revocation list rolled back: list v1 served, v2 anchored at " in status.reason

    tampered = copy.deepcopy(batch.published[REVOCATION_URL][-1])
    tampered["credentialSubject"]["encodedList"] = list_credential(REVOCATION_URL, batch.identity.did,
                                                                   "revocation")["credentialSubject"]["encodedList"]
    batch.site.lists[REVOCATION_URL] = tampered
    _report, status = _status(batch)
    assert status.status is Status.INDETERMINATE and "status list not signed by the issuer" in status.reason

    batch.site.down = True
    report, status = _status(batch)
    assert status.status is Status.INDETERMINATE and "revocation list unreachable" in status.reason
    assert report.verdict is Verdict.PARTIALLY_VERIFIED


def test_credential_without_status_is_verified(anvil, tmp_path):
    from tests.batchkit import issue_example_batch

    def writer(identity):
        account = Account.from_key(identity.secp256k1_secret)
        anvil.fund(account.address, 10**18)
        return anvil.writer(account)

    plain = issue_example_batch(tmp_path / "plain", writer, chain_id=anvil.chain_id, reader=anvil.reader())
    report = plain.verifier().verify(plain.credential(0))
    assert report.check("status").status is Status.SKIPPED and report.verdict is Verdict.VERIFIED


# ------------------------------------------------------------------------------------------- the employer's CLI


def _cli(anvil, batch, tmp_path: Path, *lists: dict) -> dict:
    files = []
    for i, doc in enumerate(lists):
        path = tmp_path / f"list-{i}.json"
        path.write_text(json.dumps(doc), "utf-8")
        files += ["--status-list", str(path)]
    did = tmp_path / "did.json"
    did.write_text(json.dumps(batch.did_document), "utf-8")
    env = {**os.environ, "ANCHORCRED_DATA": str(tmp_path / "data"), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-c", "import anchorcred_cli; anchorcred_cli.main()", "verify", "--json",
         "--rpc-url", anvil.rpc_url, "--chain-id", str(anvil.chain_id), "--registry", anvil.registry_address,
         "--did-document", str(did), *files, str(batch.result.files[0])],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    (report,) = json.loads(proc.stdout)
    return next(c for c in report["checks"] if c["id"] == "status") | {"verdict": report["verdict"]}


def test_cli_checks_status_from_snapshots_without_the_website(anvil, batch, tmp_path):
    rev, _ = batch.indices[0]
    batch.publish_both()
    v1 = batch.published[REVOCATION_URL][0]
    suspension = batch.published[SUSPENSION_URL][0]
    status = _cli(anvil, batch, tmp_path, v1, suspension)
    assert status["status"] == "pass" and status["verdict"] == "verified", status
    batch.publish(REVOCATION_URL, "revocation", (rev,))
    status = _cli(anvil, batch, tmp_path, batch.published[REVOCATION_URL][-1], suspension)
    assert status["status"] == "fail" and f"revoked (bit {rev} set in revocation list v2" in status["reason"]
    status = _cli(anvil, batch, tmp_path, v1, suspension)  # the old snapshot: a rollback
    assert status["status"] == "indeterminate" and "rolled back: list v1 served, v2 anchored" in status["reason"]
    status = _cli(anvil, batch, tmp_path, suspension)  # no revocation list given: the CLI never fetches
    assert status["status"] == "indeterminate" and "does not fetch status lists" in status["reason"]
    assert status["verdict"] == "partially_verified"
