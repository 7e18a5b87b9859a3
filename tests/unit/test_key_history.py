"""Key rotation and revocation end to end on the embedded chain: the CLI's key file is changed (``change_keys``), the
events are recorded on the registry, batches are issued before and after, and the verifier judges each signature and
anchor at the anchoring block.

Failures are compared with golden files (tests/golden/keyhistory/<case>.json: verdict, every check's status and the
stable fragments of each reason that is not a pass). Regenerate with ANCHORCRED_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from eth_account import Account

from issuer.keyrotation import revoke_key, rotate_key
from issuer.keys import (ANCHORING, SIGNING, IssuerIdentity, KeyChange, KeyFile, new_identity, read_key_file,
                         write_key_file)
from issuer.keys_cli import change_keys
from issuer.ledger.embedded import EmbeddedChain
from tests.batchkit import EXAMPLES, issue_example_batch
from verifier.did import DidResolver
from verifier.ledger.base import KEY_REVOKED
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.report import Status, Verdict
from verifier.verify import Verifier

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "keyhistory"
UPDATE = os.environ.get("ANCHORCRED_UPDATE_GOLDEN") == "1"
DID = "did:web:www.tu-example.de"


class Issuer:
    """The CLI's issuer on an embedded chain: a key file, batches issued from it, a verifier for its DID document."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.chain = EmbeddedChain()
        self.keys = tmp / "data" / "issuer" / "keys.json"
        write_key_file(self.keys, KeyFile(new_identity(DID)), create=True)
        roster = tmp / "roster.csv"
        roster.write_text("\n".join((EXAMPLES / "roster.csv").read_text("utf-8").splitlines()[:3]) + "\n", "utf-8")
        self.roster = roster
        self.batches = 0

    @property
    def identity(self) -> IssuerIdentity:
        return read_key_file(self.keys).identity

    def writer_for(self, secret: bytes):
        return self.chain.writer(Account.from_key(secret))

    def fund(self, address: str) -> None:
        self.chain.fund(address, 10**18)

    def change(self, update) -> KeyFile:
        return change_keys(self.keys, lambda kf: update(kf.identity), out=None,
                           open_ledger=lambda kf: (self.chain.chain_id, self.writer_for, self.fund))

    def issue(self, identity: IssuerIdentity | None = None) -> dict:
        """One credential of a new batch signed and anchored with ``identity`` (default: the key file's)."""
        identity = identity or self.identity
        self.fund(identity.anchoring_address)
        self.batches += 1
        batch = issue_example_batch(self.tmp / f"out{self.batches}", lambda i: self.writer_for(i.secp256k1_secret),
                                    chain_id=self.chain.chain_id, reader=self.chain.reader(), identity=identity,
                                    roster=self.roster)
        return batch.credential(0)

    def document(self) -> dict:
        return json.loads(json.dumps(self.identity.did_document([self.chain.chain_id])))

    def verify(self, credential: dict, document: dict | None = None):
        resolver = DidResolver()
        resolver.add(document or self.document(), "file did.json")
        verifier = Verifier(ledger=CachingReader(LedgerRouter({self.chain.chain_id: self.chain.reader()})),
                            did_resolver=resolver)
        return verifier.verify(copy.deepcopy(credential))


def _check(report, check_id: str):
    return next(c for c in report.checks if c.id == check_id)


VARIABLE = re.compile(r"0x[0-9a-fA-F]+|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(Z| UTC)|\b\d{2,}\b")


def _stable(reason: str) -> str:
    reason = re.sub(r"block \d+", "block …", reason)
    return re.sub(r"(…\s*)+", "… ", VARIABLE.sub("…", reason)).strip()


def assert_golden(case: str, report) -> None:
    observed = {"verdict": report.verdict.value, "checks": {c.id: c.status.value for c in report.checks},
                "reasons": {c.id: c.reason for c in report.checks if c.status is not Status.PASS}}
    path = GOLDEN / f"{case}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        stable = {**observed, "reasons": {k: _stable(v) for k, v in observed["reasons"].items()}}
        path.write_text(json.dumps(stable, indent=2, ensure_ascii=False) + "\n", "utf-8")
    golden = json.loads(path.read_text("utf-8"))
    assert observed["verdict"] == golden["verdict"] and observed["checks"] == golden["checks"], observed
    for check_id, expected in golden["reasons"].items():
        for fragment in expected.split("…"):
            assert fragment.strip() in observed["reasons"][check_id], (check_id, fragment, observed["reasons"])


@pytest.fixture
def issuer(tmp_path):
    return Issuer(tmp_path)


def test_a_rotated_signing_key_keeps_old_credentials_valid_and_the_new_key_signs_new_ones(issuer):
    before = issuer.issue()
    assert before["proof"][0]["verificationMethod"] == f"{DID}#key-1"
    keyfile = issuer.change(lambda identity: rotate_key(identity, SIGNING, now=datetime.now(timezone.utc)))
    assert [(e["method"], e["kind"]) for e in keyfile.recorded] == [(f"{DID}#key-2", "added"),
                                                                     (f"{DID}#key-1", "retired")]
    after = issuer.issue()
    assert after["proof"][0]["verificationMethod"] == f"{DID}#key-2"
    document = issuer.document()
    assert document["assertionMethod"][0] == f"{DID}#key-2" and f"{DID}#key-1" not in document["assertionMethod"]
    old = next(m for m in document["verificationMethod"] if m["id"] == f"{DID}#key-1")
    assert old["retired"] >= old["created"]
    for credential in (before, after):
        report = issuer.verify(credential)
        assert report.verdict is Verdict.VERIFIED, [c.to_json() for c in report.checks]
    reason = _check(issuer.verify(before), "signature").reason
    assert "key retired" in reason and "after the anchor" in reason and "ledger block time" in reason


def test_a_revoked_signing_key_fails_credentials_anchored_after_and_keeps_those_anchored_before(issuer):
    before = issuer.issue()
    compromised = issuer.identity
    issuer.change(lambda identity: revoke_key(identity, SIGNING, now=datetime.now(timezone.utc)))
    # Signed with the revoked key and anchored afterwards by the issuer's own address (a batch the thief slipped in).
    thief = IssuerIdentity(DID, compromised.ed25519_seed, issuer.identity.secp256k1_secret)
    after = issuer.issue(thief)
    assert after["proof"][0]["verificationMethod"] == f"{DID}#key-1"
    report = issuer.verify(before)
    assert report.verdict is Verdict.VERIFIED, [c.to_json() for c in report.checks]
    reason = _check(report, "signature").reason
    assert "revoked" in reason and "predates the revocation" in reason
    report = issuer.verify(after)
    assert report.verdict is Verdict.FAILED
    reason = _check(report, "signature").reason
    assert f"key {DID}#key-1 was revoked" in reason and "cannot be backdated" in reason and "anchored at" in reason
    assert_golden("signing_key_revoked_before_anchor", report)
    assert issuer.verify(issuer.issue()).verdict is Verdict.VERIFIED  # the replacement key signs new ones


def test_the_ledger_keeps_the_revocation_when_the_website_loses_the_history(issuer):
    stale = issuer.document()  # the DID document before the revocation: key-1 current, nothing revoked
    compromised = issuer.identity
    issuer.change(lambda identity: revoke_key(identity, SIGNING, now=datetime.now(timezone.utc)))
    after = issuer.issue(IssuerIdentity(DID, compromised.ed25519_seed, issuer.identity.secp256k1_secret))
    report = issuer.verify(after, document=stale)
    assert report.verdict is Verdict.FAILED
    reason = _check(report, "signature").reason
    assert "ledger block time" in reason and "cannot be backdated" in reason
    assert_golden("signing_key_revoked_history_lost", report)
    # A document that dropped the key altogether names it as not found.
    gone = copy.deepcopy(issuer.document())
    gone["verificationMethod"] = [m for m in gone["verificationMethod"] if m["id"] != f"{DID}#key-1"]
    assert "not found" in _check(issuer.verify(after, document=gone), "signature").reason


def test_a_revocation_the_did_document_states_but_the_ledger_lacks_fails_with_an_unverified_time(issuer):
    credential = issuer.issue()
    document = issuer.document()
    signing = next(m for m in document["verificationMethod"] if m["id"] == f"{DID}#key-1")
    signing["revoked"] = "2020-01-01T00:00:00Z"  # the issuer's word, never recorded on the ledger
    report = issuer.verify(credential, document=document)
    assert report.verdict is Verdict.FAILED
    assert "the time is unverified" in _check(report, "signature").reason
    assert_golden("signing_key_revoked_in_did_document_only", report)


def test_a_rotated_anchoring_address_keeps_old_anchors_and_anchors_new_ones(issuer):
    before = issuer.issue()
    old = issuer.identity
    keyfile = issuer.change(lambda identity: rotate_key(identity, ANCHORING, now=datetime.now(timezone.utc)))
    new = issuer.identity
    assert new.anchoring_address != old.anchoring_address and keyfile.retiring_secret is None  # dropped
    chain = issuer.chain.chain_id
    assert [(e["method"], e["kind"], e["sender"]) for e in keyfile.recorded] == [
        (f"{DID}#anchor-eip155-{chain}-2", "added", new.anchoring_address),
        (f"{DID}#anchor-eip155-{chain}", "retired", old.anchoring_address),
    ]
    after = issuer.issue()
    assert after["proof"][1]["verificationMethod"] == f"{DID}#anchor-eip155-{chain}-2"
    for credential in (before, after):
        report = issuer.verify(credential)
        assert report.verdict is Verdict.VERIFIED, [c.to_json() for c in report.checks]
    # The retired address anchoring afterwards is no longer the issuer's.
    late = issuer.issue(IssuerIdentity(DID, new.ed25519_seed, old.secp256k1_secret))
    report = issuer.verify(late)
    assert report.verdict is Verdict.FAILED
    assert "retired (rotated out)" in _check(report, "anchor").reason
    assert_golden("anchoring_address_retired_before_anchor", report)


def test_a_compromised_anchoring_address_is_revoked_by_its_replacement(issuer):
    before = issuer.issue()
    old = issuer.identity
    keyfile = issuer.change(lambda identity: revoke_key(identity, ANCHORING, now=datetime.now(timezone.utc)))
    new = issuer.identity
    assert {e["sender"] for e in keyfile.recorded} == {new.anchoring_address}  # the thief's key is never used
    assert issuer.verify(before).verdict is Verdict.VERIFIED
    thief = issuer.issue(IssuerIdentity(DID, new.ed25519_seed, old.secp256k1_secret))
    report = issuer.verify(thief)
    assert report.verdict is Verdict.FAILED
    assert "was revoked" in _check(report, "anchor").reason and "cannot be backdated" in _check(report, "anchor").reason
    assert_golden("anchoring_address_revoked_before_anchor", report)
    assert issuer.verify(issuer.issue()).verdict is Verdict.VERIFIED


def test_events_the_thief_sends_after_the_revocation_do_not_count(issuer):
    """The thief of a revoked anchoring key 'revokes' the replacement: the verifier ignores it."""
    old = issuer.identity
    issuer.change(lambda identity: revoke_key(identity, ANCHORING, now=datetime.now(timezone.utc)))
    new = issuer.identity
    key_id, kind, detail, _ = new.key_event(KeyChange(ANCHORING, 2, KEY_REVOKED, 1), issuer.chain.chain_id)
    issuer.fund(old.anchoring_address)
    issuer.writer_for(old.secp256k1_secret).record_key_event(key_id, kind, detail)
    report = issuer.verify(issuer.issue())
    assert report.verdict is Verdict.VERIFIED, [c.to_json() for c in report.checks]


def test_a_did_document_whose_key_differs_from_the_one_recorded_fails(issuer):
    issuer.change(lambda identity: rotate_key(identity, SIGNING, now=datetime.now(timezone.utc)))
    credential = issuer.issue()
    swapped = issuer.document()
    other = new_identity(DID)
    from verifier import keys as vkeys

    method = next(m for m in swapped["verificationMethod"] if m["id"] == f"{DID}#key-2")
    method["publicKeyMultibase"] = vkeys.encode_multikey(vkeys.PublicKey("Ed25519", other.ed25519_public))
    report = issuer.verify(credential, document=swapped)
    assert report.verdict is Verdict.FAILED  # the signature no longer verifies, and the ledger says why
    assert "signature" in {c.id for c in report.checks if c.status is Status.FAIL}


def test_pending_events_block_issuing_and_are_recorded_by_a_later_run(issuer, tmp_path):
    from issuer.errors import OptionError
    from issuer.keyevents import record_pending
    from issuer.keys import load_or_create_identity

    keyfile = read_key_file(issuer.keys)
    update = rotate_key(keyfile.identity, ANCHORING, now=datetime.now(timezone.utc))
    write_key_file(issuer.keys, KeyFile(update.identity, update.retiring_secret, update.changes))
    with pytest.raises(OptionError, match="not yet recorded"):
        load_or_create_identity(issuer.keys, DID)
    done = record_pending(issuer.keys, read_key_file(issuer.keys), chain_id=issuer.chain.chain_id,
                          writer_for=issuer.writer_for, fund=issuer.fund)
    assert not done.pending and done.retiring_secret is None and len(done.recorded) == 2
    assert load_or_create_identity(issuer.keys, DID).anchoring_address == update.identity.anchoring_address
    assert "retiring" not in issuer.keys.read_text("utf-8")
