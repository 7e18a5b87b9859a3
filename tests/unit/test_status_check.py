"""The status check on the embedded chain: credentials issued with revocation and suspension entries, their lists
signed by the issuer and anchored with publishStatus, served by a website that can go down, roll back or be tampered
with. Negative cases have golden files (tests/golden/verify/status_*.json, same format as test_verify_batch)."""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.statuskit import REVOCATION_URL, SUSPENSION_URL, list_credential, sign_list, status_batch
from verifier.ledger.memory import MemoryLedger
from verifier.report import Status, Verdict
from verifier.statuslists import StatusListSource

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "verify"
UPDATE = os.environ.get("ANCHORCRED_UPDATE_GOLDEN") == "1"
VARIABLE = re.compile(
    r"0x[0-9a-fA-F]+|[0-9a-f]{12}…|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC|\b\d{6,}\b"
)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return status_batch(tmp_path_factory.mktemp("status") / "out")


@pytest.fixture
def fresh(tmp_path):
    """A batch of its own: tests that publish lists must not see each other's publications."""
    return status_batch(tmp_path / "out", count=2)


def _status(report):
    return report.check("status")


def _golden(name: str, report) -> None:
    observed = {
        "verdict": report.verdict.value,
        "checks": {c.id: c.status.value for c in report.checks},
        "reasons": {c.id: c.reason for c in report.checks if c.status.value != "pass"},
    }
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        stable = {**observed, "reasons": {
            k: re.sub(r"(…\s*)+", "… ", VARIABLE.sub("…", v)).strip() for k, v in observed["reasons"].items()}}
        path.write_text(json.dumps(stable, indent=2, ensure_ascii=False) + "\n", "utf-8")
    golden = json.loads(path.read_text("utf-8"))
    assert observed["verdict"] == golden["verdict"]
    assert observed["checks"] == golden["checks"]
    for check_id, expected in golden["reasons"].items():
        for fragment in expected.split("…"):
            assert fragment.strip() in observed["reasons"][check_id], (check_id, fragment, observed["reasons"][check_id])


# ------------------------------------------------------------------------------------------------------ outcomes


def test_clear_bits_in_the_latest_lists_pass(fresh):
    fresh.publish_both()
    report = fresh.verifier().verify(fresh.credential(0))
    status = _status(report)
    assert status.status is Status.PASS, status.reason
    assert status.reason.startswith("not revoked, not suspended; ")
    assert "revocation: bit clear in list v1 anchored at " in status.reason
    assert "suspension: bit clear in list v1 anchored at " in status.reason
    assert report.verdict is Verdict.VERIFIED
    assert [c.id for c in report.checks][-2:] == ["status", "validity"]


def test_revoked(fresh):
    fresh.publish_both()
    rev, _susp = fresh.indices[0]
    fresh.publish_both(revoked=(rev,))
    report = fresh.verifier().verify(fresh.credential(0))
    assert _status(report).status is Status.FAIL
    assert f"revoked (bit {rev} set in revocation list v2 anchored at " in _status(report).reason
    assert report.verdict is Verdict.FAILED
    other = fresh.verifier().verify(fresh.credential(1))  # its neighbour in the same list is untouched
    assert _status(other).status is Status.PASS
    _golden("status_revoked", report)


def test_suspended_then_reinstated(fresh):
    _rev, susp = fresh.indices[0]
    fresh.publish_both(suspended=(susp,))
    report = fresh.verifier().verify(fresh.credential(0))
    assert _status(report).status is Status.FAIL
    assert f"suspended (bit {susp} set in suspension list v1 anchored at " in _status(report).reason
    _golden("status_suspended", report)

    fresh.publish(SUSPENSION_URL, "suspension", ())  # reinstated: the suspension bit cleared in v2
    report = fresh.verifier().verify(fresh.credential(0))
    assert _status(report).status is Status.PASS
    assert "suspension: bit clear in list v2 anchored at " in _status(report).reason
    assert report.verdict is Verdict.VERIFIED


def test_unreachable_list_is_indeterminate_never_verified(fresh):
    rev, _ = fresh.indices[0]
    fresh.publish_both(revoked=(rev,))
    fresh.site.down = True
    report = fresh.verifier().verify(fresh.credential(0))
    assert _status(report).status is Status.INDETERMINATE
    assert "revocation list unreachable: status list https://www.tu-example.de/status/revocation-1 could not be " \
           "fetched" in _status(report).reason
    assert report.verdict is Verdict.PARTIALLY_VERIFIED
    _golden("status_unreachable", report)


def test_rolled_back_list_is_indeterminate(fresh):
    fresh.publish_both()
    first = fresh.published[SUSPENSION_URL][0]
    fresh.publish(SUSPENSION_URL, "suspension", (fresh.indices[0][1],))  # v2: suspended
    fresh.site.lists[SUSPENSION_URL] = first  # the site serves v1 again
    report = fresh.verifier().verify(fresh.credential(0))
    status = _status(report)
    assert status.status is Status.INDETERMINATE
    assert "suspension list rolled back: list v1 served, v2 anchored at " in status.reason
    _golden("status_rolled_back", report)


def test_an_anchored_revocation_is_final_even_in_an_old_list(fresh):
    rev, _ = fresh.indices[0]
    fresh.publish_both()
    revoked = fresh.publish(REVOCATION_URL, "revocation", (rev,))  # v2 revokes
    fresh.publish(REVOCATION_URL, "revocation", ())  # v3 clears the bit (not allowed for a revocation)
    fresh.site.lists[REVOCATION_URL] = revoked
    status = _status(fresh.verifier().verify(fresh.credential(0)))
    assert status.status is Status.FAIL
    assert f"revoked (bit {rev} set in list v2 anchored at " in status.reason
    assert "a revocation is final), though that list is not the latest (v3 anchored at " in status.reason


def test_tampered_list_is_not_signed_by_the_issuer(fresh):
    fresh.publish_both()
    tampered = copy.deepcopy(fresh.site.lists[REVOCATION_URL])
    tampered["credentialSubject"]["encodedList"] = list_credential(
        REVOCATION_URL, fresh.identity.did, "revocation", (1, 2, 3))["credentialSubject"]["encodedList"]
    fresh.site.lists[REVOCATION_URL] = tampered
    report = fresh.verifier().verify(fresh.credential(0))
    status = _status(report)
    assert status.status is Status.INDETERMINATE
    assert "revocation list: status list not signed by the issuer (signature does not verify with " in status.reason
    _golden("status_tampered", report)


def test_signed_but_never_anchored_list_matches_no_digest(fresh):
    fresh.publish_both()
    # The issuer's key signs a list whose digest was never published (a hostile server with the key, or a bug).
    fresh.site.lists[REVOCATION_URL] = sign_list(
        list_credential(REVOCATION_URL, fresh.identity.did, "revocation"), fresh.identity,
        created="2025-06-01T00:00:00Z")
    report = fresh.verifier().verify(fresh.credential(0))
    status = _status(report)
    assert status.status is Status.INDETERMINATE
    assert "does not match any anchored digest (latest v1 anchored at " in status.reason
    _golden("status_not_anchored", report)


def test_list_never_published_on_the_ledger(fresh):
    fresh.publish(SUSPENSION_URL, "suspension")
    fresh.site.lists[REVOCATION_URL] = sign_list(list_credential(REVOCATION_URL, fresh.identity.did, "revocation"),
                                                 fresh.identity)
    status = _status(fresh.verifier().verify(fresh.credential(0)))
    assert status.status is Status.INDETERMINATE
    assert "was never anchored by the issuer's address (0x" in status.reason


def test_list_signed_by_another_issuer(fresh, tmp_path):
    fresh.publish_both()
    other = status_batch(tmp_path / "other", chain=fresh.chain, count=1, did="did:web:other.example")
    forged = sign_list(list_credential(REVOCATION_URL, other.identity.did, "revocation"), other.identity)
    fresh.site.lists[REVOCATION_URL] = forged
    status = _status(fresh.verifier().verify(fresh.credential(0)))
    assert status.status is Status.INDETERMINATE
    assert "status list not signed by the issuer (its issuer is 'did:web:other.example'" in status.reason


def test_expired_list_is_indeterminate(fresh):
    fresh.publish(REVOCATION_URL, "revocation", valid_until="2025-06-01T00:00:00Z")
    fresh.publish(SUSPENSION_URL, "suspension")
    status = _status(fresh.verifier().verify(fresh.credential(0)))
    assert status.status is Status.INDETERMINATE
    assert "the list expired at 2025-06-01T00:00:00Z" in status.reason


def test_ledger_down_is_indeterminate(batch):
    batch.publish_both()
    ledger = MemoryLedger(chain_id=batch.chain.chain_id)
    ledger.set_available(False)
    status = _status(batch.verifier(reader=ledger).verify(batch.credential(0)))
    assert status.status is Status.INDETERMINATE
    assert "its anchored digest cannot be read: in-memory ledger for chain" in status.reason


def test_snapshot_carried_with_the_credential_needs_no_website(fresh):
    fresh.publish_both()
    snapshots = dict(fresh.site.lists)
    fresh.site.down = True
    verifier = fresh.verifier(fetch=False)
    report = verifier.verify(fresh.credential(0), status_lists=snapshots)
    assert _status(report).status is Status.PASS, _status(report).reason
    assert fresh.site.fetches == 0
    # A snapshot older than the anchored list is a rollback like any other.
    fresh.publish(REVOCATION_URL, "revocation", (fresh.indices[1][0],))
    status = _status(fresh.verifier(fetch=False).verify(fresh.credential(0), status_lists=snapshots))
    assert status.status is Status.INDETERMINATE and "rolled back: list v1 served, v2 anchored" in status.reason


def test_without_fetching_or_snapshot_the_list_is_unavailable(batch):
    batch.publish_both()
    status = _status(batch.verifier(fetch=False).verify(batch.credential(0)))
    assert status.status is Status.INDETERMINATE
    assert "does not fetch status lists" in status.reason


def test_source_snapshots_are_used_before_the_site(fresh):
    fresh.publish_both()
    source = StatusListSource()
    for doc in fresh.site.lists.values():
        source.add_snapshot(doc, "snapshot file list.json")
    fresh.site.down = True
    verifier = fresh.verifier()
    verifier._status = source  # the CLI's way: files given with --status-list
    assert _status(verifier.verify(fresh.credential(0))).status is Status.PASS


def test_credential_without_status_is_skipped_and_still_verified(embedded):
    _chain, plain = embedded
    report = plain.verifier().verify(plain.credential(0))
    status = _status(report)
    assert status.status is Status.SKIPPED and status.counts is False
    assert "declares no credentialStatus" in status.reason
    assert report.verdict is Verdict.VERIFIED


def test_malformed_status_entry_fails(batch):
    doc = batch.credential(0)
    doc["credentialStatus"][0]["statusListIndex"] = "seven"
    status = _status(batch.verifier().verify(doc))  # the signature fails too; the entry is named here
    assert status.status is Status.FAIL and "credentialStatus[0].statusListIndex" in status.reason


def test_one_fetch_and_one_registry_read_per_list_for_many_credentials(fresh):
    fresh.publish_both()

    class Counting:
        def __init__(self, inner):
            self.inner, self.status_reads, self.history_reads = inner, 0, 0

        def status_of(self, *args):
            self.status_reads += 1
            return self.inner.status_of(*args)

        def status_history(self, *args):
            self.history_reads += 1
            return self.inner.status_history(*args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    counting = Counting(fresh.chain.reader())
    verifier = fresh.verifier(reader=counting)
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    reports = verifier.verify_many([(f"c{i}", fresh.credential(i % 2)) for i in range(40)], now=now)
    assert all(_status(r).status is Status.PASS for r in reports)
    assert fresh.site.fetches == 2  # one per list
    assert (counting.status_reads, counting.history_reads) == (2, 0)  # one statusOf per list, no log scan


def test_a_revoked_anchoring_address_cannot_republish_an_old_list(fresh):
    """A thief of an anchoring key the issuer has revoked replays the digest of an old, signed list (bit clear) from
    that address: its publication after the revocation must not make the old list the latest one."""
    from eth_account import Account

    from verifier.ledger.base import list_id_of

    rev, _ = fresh.indices[0]
    fresh.publish_both()
    old = fresh.published[REVOCATION_URL][0]
    fresh.publish(REVOCATION_URL, "revocation", (rev,))  # v2 revokes credential 0
    thief = Account.create()
    fresh.chain.fund(thief.address, 10**18)
    doc = fresh.did_document
    doc["verificationMethod"].append({
        "id": f"{doc['id']}#anchor-old", "type": "EcdsaSecp256k1RecoveryMethod2020", "controller": doc["id"],
        "blockchainAccountId": f"eip155:{fresh.chain.chain_id}:{thief.address}",
        "created": "2024-01-01T00:00:00Z", "revoked": "2025-01-01T00:00:00Z"})
    fresh.result.did_document.write_text(json.dumps(doc), "utf-8")
    fresh.chain.writer(thief).publish_status(list_id_of(REVOCATION_URL), fresh_digest(old))
    fresh.site.lists[REVOCATION_URL] = old  # the holder of the revoked credential serves (or carries) v1
    status = _status(fresh.verifier().verify(fresh.credential(0)))
    assert status.status is Status.INDETERMINATE, status.reason
    assert "does not match any anchored digest (latest v2 anchored at " in status.reason


def fresh_digest(doc):
    from tests.statuskit import digest

    return digest(doc)


def test_a_flood_of_key_events_is_indeterminate_not_a_crash(fresh):
    """More key events than keyhistory.MAX_EVENTS (sent by an anchoring address: its thief, or a bug) must make the
    key history unavailable (indeterminate), not raise out of the verification of every credential of the issuer."""
    from verifier import keyhistory
    from verifier.ledger.base import KEY_ADDED, KeyEvent

    fresh.publish_both()

    class Flooded:
        def __init__(self, inner):
            self.inner = inner

        def key_events(self, chain_id, registry, controller):
            junk = KeyEvent(bytes(32), KEY_ADDED, bytes(32), datetime(2026, 1, 1, tzinfo=timezone.utc), "0x" + "00" * 32, 1)
            return list(self.inner.key_events(chain_id, registry, controller)) + [junk] * (keyhistory.MAX_EVENTS + 1)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    report = fresh.verifier(reader=Flooded(fresh.chain.reader())).verify(fresh.credential(0))
    signature = report.check("signature")
    assert signature.status is Status.INDETERMINATE, signature.reason
    assert f"more than the {keyhistory.MAX_EVENTS}" in signature.reason
    assert report.verdict is not Verdict.VERIFIED
