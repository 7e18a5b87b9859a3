"""verifier/keyhistory.py on values: which ledger events count, how a key is dated, how signatures and anchors are
judged at the anchoring block (the end-to-end cases are in test_key_history.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from issuer.keys import new_identity
from verifier import keyhistory as kh
from verifier.ledger.base import KEY_ADDED, KEY_RETIRED, KEY_REVOKED, KeyEvent, key_id_of

DID = "did:web:issuer.example"
CHAIN = 7
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _doc():
    identity = new_identity(DID, now=T0)
    return identity, identity.did_document([CHAIN])


def _event(vm_id: str, kind: int, block: int, detail: bytes = bytes(32)) -> KeyEvent:
    return KeyEvent(key_id_of(vm_id), kind, detail, T0 + timedelta(minutes=block), f"0x{block:064x}", block)


def _anchor(block: int) -> kh.AnchorMoment:
    return kh.AnchorMoment(T0 + timedelta(minutes=block), block, CHAIN)


def test_the_method_digest_binds_key_material_not_dates():
    identity, doc = _doc()
    vm = dict(doc["verificationMethod"][0])
    assert kh.method_digest(vm) == kh.method_digest({**vm, "retired": "2030-01-01T00:00:00Z"})
    assert kh.method_digest(vm) != kh.method_digest({**vm, "publicKeyMultibase": "z6Mk" + "x" * 44})


def test_only_events_of_bound_addresses_count_and_none_after_their_own_end():
    identity, doc = _doc()
    anchor_vm = f"{DID}#anchor-eip155-{CHAIN}"
    signing = f"{DID}#key-1"
    ours = identity.anchoring_address
    history = kh.LedgerKeyHistory(CHAIN, {
        ours: [_event(anchor_vm, KEY_RETIRED, 5), _event(signing, KEY_REVOKED, 6), _event(anchor_vm, KEY_REVOKED, 7)],
        "0x" + "ab" * 20: [_event(signing, KEY_REVOKED, 1)],  # a stranger's "revocation"
    })
    counted = [e.block_number for _c, e in kh.counted_events(doc, history)]
    assert counted == [5, 7]  # block 6 came after the address retired itself; block 7 is about itself
    tl = kh.timeline(doc, signing, history)
    assert tl.revoked is None and tl.ledger_read


def test_a_revocation_is_dated_by_the_ledger_when_it_records_it_else_by_the_did_document():
    identity, doc = _doc()
    signing = f"{DID}#key-1"
    doc["verificationMethod"][0]["revoked"] = (T0 + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    history = kh.LedgerKeyHistory(CHAIN, {identity.anchoring_address: [_event(signing, KEY_REVOKED, 10)]})
    by_ledger = kh.timeline(doc, signing, history)
    assert by_ledger.revoked.source == "ledger" and by_ledger.revoked.block == 10
    judged = kh.judge_signing_key(by_ledger, anchored=_anchor(5), anchor_unknown=None, signed_at=None)
    assert judged.valid is True and "predates the revocation" in judged.note
    judged = kh.judge_signing_key(by_ledger, anchored=_anchor(10), anchor_unknown=None, signed_at=None)
    assert judged.valid is False  # the same block counts as before
    by_did = kh.timeline(doc, signing, None)
    judged = kh.judge_signing_key(by_did, anchored=_anchor(5), anchor_unknown=None, signed_at=None)
    assert judged.valid is False and "the time is unverified" in judged.note
    doc["verificationMethod"][0]["revoked"] = "not a date"
    judged = kh.judge_signing_key(kh.timeline(doc, signing, None), anchored=_anchor(1), anchor_unknown=None,
                                  signed_at=None)
    assert judged.valid is False and "unreadable time" in judged.note


def test_a_revoked_key_without_an_anchoring_time_is_unknown_or_failed():
    _, doc = _doc()
    doc["verificationMethod"][0]["revoked"] = "2027-01-01T00:00:00Z"
    tl = kh.timeline(doc, f"{DID}#key-1", None)
    assert kh.judge_signing_key(tl, anchored=None, anchor_unknown="node down", signed_at=None).valid is None
    assert kh.judge_signing_key(tl, anchored=None, anchor_unknown=None, signed_at=None).valid is False


def test_a_retired_key_counts_for_what_it_signed_before_its_retirement():
    _, doc = _doc()
    doc["verificationMethod"][0]["retired"] = (T0 + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tl = kh.timeline(doc, f"{DID}#key-1", None)
    late = _anchor(60)
    assert kh.judge_signing_key(tl, anchored=late, anchor_unknown=None, signed_at=T0).valid is True
    judged = kh.judge_signing_key(tl, anchored=late, anchor_unknown=None, signed_at=T0 + timedelta(minutes=30))
    assert judged.valid is False and "retired (rotated out)" in judged.note
    assert kh.judge_signing_key(tl, anchored=_anchor(5), anchor_unknown=None, signed_at=None).valid is True


def test_an_anchoring_key_is_held_from_its_ledger_addition_to_its_end():
    identity, doc = _doc()
    vm = f"{DID}#anchor-eip155-{CHAIN}"
    detail = kh.method_digest(next(m for m in doc["verificationMethod"] if m["id"] == vm))
    history = kh.LedgerKeyHistory(CHAIN, {identity.anchoring_address: [_event(vm, KEY_ADDED, 4, detail),
                                                                       _event(vm, KEY_RETIRED, 9, detail)]})
    tl = kh.timeline(doc, vm, history)
    assert tl.mismatch is None
    assert kh.judge_anchoring_key(tl, _anchor(3)).valid is False  # before the ledger knew it
    assert kh.judge_anchoring_key(tl, _anchor(5)).valid is True
    judged = kh.judge_anchoring_key(tl, _anchor(9))
    assert judged.valid is False and "retired (rotated out)" in judged.note
    swapped = kh.LedgerKeyHistory(CHAIN, {identity.anchoring_address: [_event(vm, KEY_ADDED, 4, bytes(31) + b"\1")]})
    judged = kh.judge_anchoring_key(kh.timeline(doc, vm, swapped), _anchor(5))
    assert judged.valid is False and "other key material" in judged.note
