"""The state of an issuer's key at a time, from its DID document and the ledger's key events. Pure: no I/O.

Two sources, trusted differently (docs/formats.md, "Key history"):

- the DID document (the issuer's website) lists every key the issuer ever used, each with ``created`` and, once set,
  ``retired`` (rotated out) or ``revoked`` (compromised) XSD dateTimes. They are the issuer's word: enough to revoke
  (an issuer may always disown its key), but their times are unverified and can be backdated or lost with the site;
- the registry's ``KeyEventRecorded`` events (kind 1 added, 2 retired, 3 revoked) sent by the issuer's anchoring
  addresses. Their time is the block's: nobody can backdate it, and the events outlive the website.

A key's retirement or revocation is dated by the ledger when it records it (a block, exactly ordered against the
anchor), by the DID document otherwise (the issuer's word, at an unverified time). A signature is judged at the
credential's anchoring time (a block, which a key thief cannot backdate either), so a credential anchored before its
key was revoked stays valid.

Which ledger events count: those sent by an anchoring address the DID document binds on that chain, up to the event
in which that address itself was retired or revoked (ledger) or, when the ledger does not record that, the time the
DID document says it was; an address's events about itself always count (they can only end it). A thief of an
anchoring key can therefore add events only until the issuer's revocation lands, and can add no key: key material
comes from the DID document only, the ledger binds times (and, for added/retired, the method's digest) to its ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from verifier.did import chain_bindings, methods
from verifier.document import parse_datetime
from verifier.ledger.base import KEY_ADDED, KEY_RETIRED, KEY_REVOKED, KeyEvent, key_id_of

__all__ = [
    "HISTORY_MEMBERS", "AnchorMoment", "Judgement", "LedgerKeyHistory", "Moment", "KeyTimeline", "bound_addresses",
    "judge_anchoring_key", "judge_signing_key", "method_digest", "timeline",
]

HISTORY_MEMBERS = ("created", "retired", "revoked")  # plain JSON members of a verification method (formats.md)
CLOCK_SKEW = timedelta(minutes=5)  # the issuer's clock (a proof's ``created``) against block time
MAX_EVENTS = 10_000  # per issuer and chain: more is not a key history, it is an attack on the verifier


def method_digest(vm: Mapping[str, Any]) -> bytes:
    """SHA-256 of the method's key material: its JSON without the history members, keys sorted, no spaces (the JCS
    form for these string-only objects). The ``detail`` of an added/retired event, binding the id to the key."""
    material = {k: v for k, v in vm.items() if k not in HISTORY_MEMBERS}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Moment:
    """When something happened to a key, and who says so."""

    time: datetime | None  # None: the DID document says so but gives no readable time (it counts from the start)
    source: str  # "ledger" or "did"
    chain_id: int | None = None
    block: int | None = None
    tx_hash: str | None = None

    def describe(self) -> str:
        if self.source == "ledger":
            return (f"{_when(self.time)} (ledger block time, block {self.block}, tx {self.tx_hash}: cannot be "
                    "backdated)")
        if self.time is None:
            return "at an unreadable time (DID document only; counted from the key's start)"
        return f"{_when(self.time)} (DID document only, not recorded on the ledger: the time is unverified)"


@dataclass(frozen=True)
class AnchorMoment:
    """The block in which the credential's root was anchored."""

    time: datetime
    block: int
    chain_id: int

    def describe(self) -> str:
        return f"{_when(self.time)} (block {self.block})"


@dataclass(frozen=True)
class LedgerKeyHistory:
    """The key events the registry of ``chain_id`` holds for each anchoring address of the issuer (as read)."""

    chain_id: int
    events: Mapping[str, Sequence[KeyEvent]]  # controller address (any case) -> its events, in chain order


@dataclass(frozen=True)
class KeyTimeline:
    vm_id: str
    created: Moment | None
    retired: Moment | None  # the ledger's when it records it, else the DID document's
    revoked: Moment | None  # the ledger's when it records it, else the DID document's
    mismatch: str | None = None  # the ledger bound other key material to this id
    ledger_read: bool = False  # whether the ledger's events were part of the evidence


@dataclass(frozen=True)
class Judgement:
    """``valid`` True/False, or None when it cannot be told (evidence missing); ``note`` says why (may be empty)."""

    valid: bool | None
    note: str


# ── the ledger's events: which count ─────────────────────────────────────────────────────────────────────────────
def bound_addresses(document: Mapping[str, Any], chain_id: int) -> dict[str, str]:
    """address (lowercase) -> method id for every anchoring method of the document on ``chain_id``, current or not.

    As in the anchor check: a method counts when its ``blockchainAccountId`` names the chain and its key, if any,
    derives the same address."""
    out: dict[str, str] = {}
    for vid, address in chain_bindings(document, chain_id):
        out.setdefault(address, vid)
    return out


def _did_moment(vm: Mapping[str, Any], member: str) -> Moment | None:
    if member not in vm or vm.get(member) is None:
        return None
    return Moment(parse_datetime(vm.get(member)), "did")


def counted_events(document: Mapping[str, Any], history: LedgerKeyHistory) -> list[tuple[str, KeyEvent]]:
    """(controller, event) of the events that count, in chain order. Events of an address not bound by the document,
    or sent after that address was itself retired or revoked, do not count (see the module docstring)."""
    controllers = bound_addresses(document, history.chain_id)
    by_id = {vid: vm for vid, vm in methods(document)}
    merged: list[tuple[int, int, str, KeyEvent]] = []
    for address, events in history.events.items():
        if address.lower() not in controllers:
            continue
        for i, event in enumerate(events):
            merged.append((event.block_number, i, address.lower(), event))
            if len(merged) > MAX_EVENTS:
                raise ValueError(f"more than {MAX_EVENTS} key events for one issuer on chain {history.chain_id}")
    merged.sort(key=lambda item: item[:2])
    # Keys whose end (retired, revoked) the ledger records: for those the block order decides, not the DID
    # document's time (the issuer's clock against block time: too coarse to order events seconds apart).
    ended_on_ledger = {bytes(e.key_id) for _b, _i, _c, e in merged if e.kind in (KEY_RETIRED, KEY_REVOKED)}
    ended: set[bytes] = set()  # key ids retired or revoked by an event already counted
    out: list[tuple[str, KeyEvent]] = []
    for _block, _i, controller, event in merged:
        own = key_id_of(controllers[controller])
        about_itself = bytes(event.key_id) == own  # an address may always say it is retired or lost
        if own in ended and not about_itself:
            continue  # sent after its own address was rotated out or revoked on the ledger
        vm = by_id.get(controllers[controller], {})
        stop = [m for m in (_did_moment(vm, "retired"), _did_moment(vm, "revoked")) if m is not None]
        if stop and own not in ended_on_ledger and not about_itself and any(
                m.time is None or event.time >= m.time for m in stop):
            continue  # sent after the DID document says the address stopped being the issuer's
        out.append((controller, event))
        if event.kind in (KEY_RETIRED, KEY_REVOKED):
            ended.add(bytes(event.key_id))
    return out


def timeline(document: Mapping[str, Any], vm_id: str, history: LedgerKeyHistory | None,
             counted: list[tuple[str, KeyEvent]] | None = None) -> KeyTimeline:
    """What the DID document and the ledger say about the method ``vm_id`` (``counted``: ``counted_events``, when
    the caller has them already)."""
    vm = next((m for vid, m in methods(document) if vid == vm_id), None) or {}
    added = retired = revoked = None
    mismatch = None
    if history is not None:
        wanted = key_id_of(vm_id)
        digest = method_digest(vm) if vm else None
        for _controller, event in (counted if counted is not None else counted_events(document, history)):
            if bytes(event.key_id) != wanted:
                continue
            moment = Moment(event.time, "ledger", history.chain_id, event.block_number, event.tx_hash)
            if event.kind == KEY_ADDED:
                added = added or moment
            elif event.kind == KEY_RETIRED:
                retired = retired or moment
            elif event.kind == KEY_REVOKED:
                revoked = revoked or moment
            if (event.kind in (KEY_ADDED, KEY_RETIRED) and bytes(event.detail) != bytes(32)
                    and digest is not None and bytes(event.detail) != digest and mismatch is None):
                kind = "added" if event.kind == KEY_ADDED else "retired"
                mismatch = (f"the ledger bound other key material to {vm_id} (event '{kind}' in tx {event.tx_hash}, "
                            f"block {event.block_number}): the DID document's key is not the one the issuer recorded")
    return KeyTimeline(
        vm_id,
        created=added or _did_moment(vm, "created"),
        retired=_deciding(retired, _did_moment(vm, "retired")),
        revoked=_deciding(revoked, _did_moment(vm, "revoked")),
        mismatch=mismatch,
        ledger_read=history is not None,
    )


def _deciding(ledger: Moment | None, did: Moment | None) -> Moment | None:
    """The moment that decides: the ledger's when it records the event (a block, exactly ordered against the anchor,
    which the DID document's time, on the issuer's clock, is not); the DID document's otherwise (the issuer's word
    suffices to retire or revoke its own key, at an unverified time)."""
    return ledger or did


def _at_or_before(moment: Moment, anchor: AnchorMoment) -> bool:
    """Whether ``moment`` came no later than the anchor (then the key no longer counted for it). Ledger events on
    the anchor's chain are compared by block; the same block counts as before (their order is not known here)."""
    if moment.time is None:
        return True
    if moment.source == "ledger" and moment.chain_id == anchor.chain_id and moment.block is not None:
        return moment.block <= anchor.block
    return moment.time <= anchor.time


# ── judgements ───────────────────────────────────────────────────────────────────────────────────────────────────
def judge_signing_key(tl: KeyTimeline, *, anchored: AnchorMoment | None, anchor_unknown: str | None,
                      signed_at: datetime | None) -> Judgement:
    """Whether a signature by the key of ``tl`` counts, judged at the anchoring time.

    ``anchored``: the block the anchor check established (None if it established none); ``anchor_unknown``: why the
    anchoring time could not be had (the ledger out of reach), None if it is simply absent or failed; ``signed_at``:
    the proof's ``created`` (the signer's clock), used only for a key retired in good order, never for a revoked one.
    """
    vm = tl.vm_id
    if tl.mismatch:
        return Judgement(False, tl.mismatch)
    if tl.revoked is not None:
        revoked = f"key {vm} was revoked {tl.revoked.describe()}"
        if anchored is None:
            if anchor_unknown:
                return Judgement(None, f"{revoked}; the anchoring time that could show the signature came first is "
                                       f"unavailable ({anchor_unknown})")
            return Judgement(False, f"{revoked}; no anchor on the ledger shows the credential existed before")
        if _at_or_before(tl.revoked, anchored):
            return Judgement(False, f"{revoked}, before the credential was anchored at {anchored.describe()}")
        return Judgement(True, f"key revoked {tl.revoked.describe()}, after the anchor at {anchored.describe()}: "
                               "the signature predates the revocation")
    if tl.retired is not None:
        retired = f"key {vm} was retired (rotated out) {tl.retired.describe()}"
        if anchored is not None and not _at_or_before(tl.retired, anchored):
            return Judgement(True, f"key retired {tl.retired.describe()}, after the anchor at {anchored.describe()}")
        if signed_at is not None and tl.retired.time is not None and signed_at <= tl.retired.time + CLOCK_SKEW:
            # A key rotated out in good order is not in a thief's hands: the signer's own time is believed (a batch
            # signed before the rotation may be anchored after it).
            return Judgement(True, f"key retired {tl.retired.describe()}; signed at {_when(signed_at)}, before it")
        signed = f"signed at {_when(signed_at)}" if signed_at else "no signing time"
        anchor = f"anchored at {anchored.describe()}" if anchored else "not anchored"
        return Judgement(False, f"{retired}; the credential was {signed}, {anchor}, after it")
    return Judgement(True, "")


def judge_anchoring_key(tl: KeyTimeline, anchored: AnchorMoment) -> Judgement:
    """Whether the issuer held the anchoring address of ``tl`` at the anchoring block."""
    vm = tl.vm_id
    if tl.mismatch:
        return Judgement(False, tl.mismatch)
    if tl.revoked is not None and _at_or_before(tl.revoked, anchored):
        return Judgement(False, f"anchoring key {vm} was revoked {tl.revoked.describe()}, before this anchor at "
                                f"{anchored.describe()}")
    if tl.retired is not None and _at_or_before(tl.retired, anchored):
        return Judgement(False, f"anchoring key {vm} was retired (rotated out) {tl.retired.describe()}, before this "
                                f"anchor at {anchored.describe()}")
    created = tl.created
    if (created is not None and created.source == "ledger" and created.chain_id == anchored.chain_id
            and created.block is not None and created.block > anchored.block):
        return Judgement(False, f"anchoring key {vm} was added on the ledger at block {created.block}, after this "
                                f"anchor at {anchored.describe()}")
    if tl.revoked is not None:
        return Judgement(True, f"anchoring key revoked {tl.revoked.describe()}, after this anchor")
    if tl.retired is not None:
        return Judgement(True, f"anchoring key retired {tl.retired.describe()}, after this anchor")
    return Judgement(True, "")
