"""The batch pipeline around the anchor: the output folder is checked before anything is paid for, the batch record is
written as soon as the root is anchored, failures after that name the transaction, worker failures end fast and
cleanly, a folder holding batches on several chains keeps every one verifiable."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import pickle
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from issuer import batch as batch_mod
from issuer.achievement import load_achievement
from issuer.batch import BatchDocuments, build_documents, issue_batch
from issuer.errors import BatchError, IssuerError, OutputFolderError
from issuer.keys import new_identity
from issuer.ledger.base import AnchorReceipt
from issuer.roster import load_roster
from tests.batchkit import EXAMPLES, embedded_batch, issue_example_batch
from verifier.ledger.memory import MemoryLedger
from verifier.report import Verdict

DID = "did:web:www.tu-example.de"
TX = "0x" + "ab" * 32


class FakeWriter:
    """A LedgerWriter that records what it was asked; ``before_receipt`` runs once the root is 'sent'."""

    chain_id = 7

    def __init__(self, before_receipt=None):
        self.roots: list[bytes] = []
        self.before_receipt = before_receipt

    def anchor(self, root: bytes) -> AnchorReceipt:
        self.roots.append(root)
        if self.before_receipt:
            self.before_receipt()
        return AnchorReceipt(7, TX, 12, "0x" + "cd" * 32, datetime.now(timezone.utc), 46_300,
                             "0x" + "11" * 20, "contract", "0x" + "22" * 20)


def documents(n: int = 28) -> BatchDocuments:
    achievement = load_achievement(EXAMPLES / "achievement.yaml")
    base = load_roster(EXAMPLES / "roster.csv", achievement)
    learners = [dataclasses.replace(base[i % len(base)], row=i + 2, email=f"learner{i}@students.tu-example.de",
                                    learner_did=None) for i in range(n)]
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    return build_documents(achievement, learners, issuer_did=DID, issued=issued)


def issue(docs, out_dir: Path, writer, **kwargs):
    return issue_batch(docs, identity=new_identity(DID), writer=writer, ledger_label="test", out_dir=out_dir,
                       created="2025-06-01T00:00:00Z", **kwargs)


def test_an_output_folder_under_a_file_is_refused_before_anything_is_anchored(tmp_path):
    (tmp_path / "afile").write_text("x")
    writer = FakeWriter()
    with pytest.raises(OutputFolderError, match=r"output folder .*afile/out cannot take the batch: .*Not a directory"):
        issue(documents(), tmp_path / "afile" / "out", writer)
    assert writer.roots == []


def test_an_output_folder_that_is_a_file_is_refused_before_anything_is_anchored(tmp_path):
    (tmp_path / "out").write_text("x")
    writer = FakeWriter()
    with pytest.raises(OutputFolderError):
        issue(documents(), tmp_path / "out", writer)
    assert writer.roots == []


def test_a_taken_file_name_is_refused_before_anything_is_anchored(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.json").write_text("an earlier credential")
    docs = documents(3)
    writer = FakeWriter()
    with pytest.raises(OutputFolderError, match=r"1 credential file name\(s\) already taken, e\.g\. b\.json"):
        issue(docs, out, writer, file_names=["a.json", "b.json", "c.json"])
    assert writer.roots == [] and (out / "b.json").read_text() == "an earlier credential"


def test_the_batch_record_says_anchored_then_written(tmp_path):
    out = tmp_path / "out"
    seen = {}

    def look():  # while anchoring: nothing written yet
        seen["before"] = sorted(p.name for p in out.rglob("*") if p.is_file())

    result = issue(documents(), out, FakeWriter(look))
    assert seen["before"] == []
    record = json.loads(result.manifest.read_text("utf-8"))
    assert result.manifest == out / ".batches" / f"{result.merkle_root.hex()[:16]}.json"
    assert record["state"] == "written"
    assert (record["merkle_root"], record["transaction"], record["chain_id"], record["block"]) == (
        result.merkle_root.hex(), TX, 7, 12)
    assert (record["gas_used"], record["mode"], record["issuer"], record["count"]) == (46_300, "contract", DID, 28)
    assert record["credentials"] == [p.name for p in result.files]
    assert all(p.is_file() for p in result.files)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_write_failure_after_anchoring_names_the_transaction_and_the_batch_record(tmp_path, workers):
    out = tmp_path / "out"
    docs = documents(260 if workers == 2 else 28)  # 260: two shards of the worker pool
    victim = f"{docs.ids[-1].rsplit(':', 1)[-1]}.json"

    def clash():  # a file of that name appears while the transaction is mined
        (out / victim).write_text("someone else's")

    with pytest.raises(BatchError) as info:
        issue(docs, out, FakeWriter(clash), workers=workers)
    message = str(info.value)
    [manifest] = (out / ".batches").glob("*.json")
    assert f"is anchored in transaction {TX} (chain 7)" in message
    assert f"batch record: {manifest} (state \"anchored\")" in message
    assert "FileExistsError" in message or "File exists" in message
    record = json.loads(manifest.read_text("utf-8"))
    assert record["state"] == "anchored" and record["transaction"] == TX and victim in record["credentials"]
    assert (out / victim).read_text() == "someone else's"


def test_a_signing_worker_failure_is_a_batch_error_and_the_pool_ends_at_once(tmp_path):
    docs = list(documents(300))
    docs[290] = {**docs[290], "credentialSubject": {**docs[290]["credentialSubject"], "notATerm": "x"}}
    writer = FakeWriter()
    start = time.perf_counter()
    with pytest.raises(BatchError, match=r"signing worker 1 failed: \w+"):
        issue(docs, tmp_path / "out", writer, workers=2)
    # Worker 0 finished signing and waits for its write order: it is stopped, not waited for (was 5 s per worker).
    assert time.perf_counter() - start < 4.0
    assert writer.roots == [] and not list((tmp_path / "out").glob("*.json"))
    assert not multiprocessing.active_children()
    assert issubclass(BatchError, IssuerError)


def test_the_write_order_is_pickled_once_for_all_shards(monkeypatch):
    calls = []
    real = pickle.dumps
    monkeypatch.setattr(batch_mod.pickle, "dumps", lambda obj, *a, **k: calls.append(1) or real(obj, *a, **k))
    pipes = [multiprocessing.Pipe() for _ in range(3)]
    shards = object.__new__(batch_mod._Shards)
    shards.conns = [parent for parent, _ in pipes]
    order = {"tree": list(range(1000))}
    shards.send_all(order)
    assert len(calls) == 1
    assert [pickle.loads(child.recv_bytes()) for _, child in pipes] == [order] * 3
    for a, b in pipes:
        a.close()
        b.close()


def test_batches_on_two_chains_in_one_folder_both_verify(tmp_path):
    out = tmp_path / "out"
    chain, first = embedded_batch(out)
    identity = first.identity
    memory = MemoryLedger(chain_id=7, sender=identity.anchoring_address,
                          start=datetime.now(timezone.utc) - timedelta(seconds=1))
    second = issue_example_batch(out, lambda _identity: memory, chain_id=7, reader=memory, identity=identity)
    document = second.did_document
    assert document == first.did_document  # one file, rewritten by the second batch
    assert identity.bound_chains(document) == {chain.chain_id, 7}
    assert first.credential(0)["proof"][1]["verificationMethod"] == f"{DID}#anchor-eip155-{chain.chain_id}"
    assert second.credential(0)["proof"][1]["verificationMethod"] == f"{DID}#anchor-eip155-7"
    verifier = second.verifier(readers={chain.chain_id: chain.reader(), 7: memory})
    now = datetime.now(timezone.utc)
    for batch in (first, second):
        report = verifier.verify(batch.credential(0), now=now)
        assert report.verdict is Verdict.VERIFIED, [(c.id, c.status, c.reason) for c in report.checks]
