"""The status check (revocation, suspension): pure, on the evidence ``verifier.statuslists`` gathered.

A bit is believed only from a list that (1) is the list the credential names, by its issuer, (2) carries a valid
eddsa-rdfc-2022 signature by an assertion key of the issuer's DID document, and (3) hashes to the digest the issuer's
anchoring address published last in the registry (``statusOf``). Anything short of that is *indeterminate*, never
*pass* (DESIGN.md "fail closed"; Blockcerts' verifier passed a revoked credential whose list could not be fetched):

- list unreachable, not signed by the issuer, or matching no anchored digest → indeterminate;
- a list whose digest was published before, but is not the latest (a rollback: an old list served) → indeterminate,
  except that a revocation bit set in an anchored list is final (BSL §2.1: revocation "is not reversible") → fail;
- revocation bit set → fail ("revoked"); suspension bit set → fail ("suspended"); both clear → pass, naming the list
  version and its anchoring time;
- no ``credentialStatus`` → skipped, not counted against the verdict: the issuer declared nothing to revoke, and the
  signature covers that absence (nobody can strip a status entry without breaking it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from verifier import keyhistory, keys
from verifier.did import did_of, has_relationship, public_key_of, verification_method
from verifier.document import parse_datetime
from verifier.errors import AnchorcredError
from verifier.report import CheckResult, Status
from verifier.status import JUDGED_PURPOSES, StatusEntry, StatusListError, read_status, status_entries
from verifier.statuslists import ListEvidence

__all__ = ["check_status"]

TITLE = "Status (revocation, suspension)"
CLOCK_SKEW_S = 300  # a list's validFrom may run ahead of our clock by this much


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _result(status: Status, reason: str, *, counts: bool = True) -> CheckResult:
    # counts=False: the skip of a credential that declares no status does not lower the verdict (CheckResult.counts).
    return CheckResult("status", TITLE, status, reason, counts=counts)


def check_status(cred: Any, ev: Any, canon: Any, *, now: datetime) -> CheckResult:
    """``cred``: a ParsedCredential; ``ev``: checks.Evidence with ``status_lists`` (tuple of ListEvidence)."""
    try:
        entries = status_entries(cred.document)
    except StatusListError as exc:
        return _result(Status.FAIL, exc.diagnostics())
    if not entries:
        return _result(Status.SKIPPED, "the credential declares no credentialStatus: its issuer publishes no "
                                       "revocation or suspension for it", counts=False)
    judged = [e for e in entries if e.purpose in JUDGED_PURPOSES]
    if not judged:
        purposes = ", ".join(sorted({e.purpose for e in entries}))
        return _result(Status.SKIPPED, f"credentialStatus has no revocation or suspension entry (only {purposes}): "
                                       "nothing decides validity", counts=False)
    if ev.issuer is None:
        return _result(Status.INDETERMINATE, f"issuer DID document unavailable, the status list's signature cannot "
                                             f"be checked: {ev.issuer_error}")
    by_url = {le.url: le for le in getattr(ev, "status_lists", ()) or ()}
    history = getattr(ev, "key_history", None)
    outcomes = [_judge_entry(e, by_url.get(e.list_url), cred, ev.issuer, canon, now, history) for e in judged]
    failed = [text for status, text in outcomes if status is Status.FAIL]
    unknown = [text for status, text in outcomes if status is Status.INDETERMINATE]
    if failed:
        return _result(Status.FAIL, "; ".join(failed + unknown))
    if unknown:
        return _result(Status.INDETERMINATE, "; ".join(unknown))
    purposes = {e.purpose for e in judged}
    head = ", ".join(f"not {'revoked' if p == 'revocation' else 'suspended'}" for p in JUDGED_PURPOSES if p in purposes)
    return _result(Status.PASS, f"{head}; " + "; ".join(text for _s, text in outcomes))


def _judge_entry(entry: StatusEntry, le: ListEvidence | None, cred: Any, issuer: Any, canon: Any,
                 now: datetime, history: Any = None) -> tuple[Status, str]:
    what = f"{entry.purpose} list"
    if le is None:
        return Status.INDETERMINATE, f"{what} {entry.list_url}: no evidence gathered"
    if le.document is None:
        return Status.INDETERMINATE, f"{what} unreachable: {le.error}"
    doc = le.document
    try:
        listed = doc.parsed()
    except StatusListError as exc:
        return Status.INDETERMINATE, f"{what} {entry.list_url} ({doc.source}) is malformed: {exc.diagnostics()}"
    if listed.url != entry.list_url:
        return Status.INDETERMINATE, (f"{what} at {entry.list_url} names itself {listed.url!r} ({doc.source}): "
                                      "not the list the credential points to")
    unsigned = _not_signed_by_issuer(doc, listed.issuer_id, cred.issuer_id, issuer, canon)
    if unsigned is not None:
        return Status.INDETERMINATE, f"{what}: status list not signed by the issuer ({unsigned})"
    if entry.purpose not in listed.purposes:
        return Status.INDETERMINATE, (f"{what} {entry.list_url} is a {'/'.join(listed.purposes)} list, the entry "
                                      f"asks {entry.purpose}")
    if le.ledger_error is not None:
        return Status.INDETERMINATE, f"{what}: its anchored digest cannot be read: {le.ledger_error}"
    try:
        held = _publisher_held(issuer.document, le.chain_id, history)
    except ValueError as exc:  # keyhistory.MAX_EVENTS exceeded
        return Status.INDETERMINATE, f"{what}: the issuer's key history cannot be judged: {exc}"
    records = [(p, r) for p, r in le.records if held(p, r.time)]
    if not records:
        who = ", ".join(le.publishers)
        dropped = (" (publications by an address after it was retired or revoked do not count)"
                   if le.records else "")
        return Status.INDETERMINATE, (f"{what} {entry.list_url} was never anchored by the issuer's address ({who}) "
                                      f"on chain {le.chain_id}{dropped}")
    _publisher, latest = max(records, key=lambda pr: (pr[1].time, pr[1].version))
    latest_text = f"v{latest.version} anchored at {_when(latest.time)}"
    try:
        served = doc.digest(canon)
    except AnchorcredError as exc:
        return Status.INDETERMINATE, f"{what}: no canonical form to hash: {exc.diagnostics()}"
    try:
        value = read_status(listed.bitstring, entry.index, entry.size)
    except StatusListError as exc:
        return Status.INDETERMINATE, f"{what}: {exc.diagnostics()}"
    if served != latest.digest:
        older = [pub for p, pub in le.history if pub.digest == served and held(p, pub.time)]
        if older:
            old = max(older, key=lambda pub: pub.version)
            if value and entry.purpose == "revocation":
                return Status.FAIL, (f"revoked (bit {entry.index} set in list v{old.version} anchored at "
                                     f"{_when(old.time)}; a revocation is final), though that list is not the latest "
                                     f"({latest_text})")
            return Status.INDETERMINATE, f"{what} rolled back: list v{old.version} served, {latest_text}"
        return Status.INDETERMINATE, (f"{what} {entry.list_url} ({doc.source}) does not match any anchored digest "
                                      f"(latest {latest_text})")
    stale = _outside_validity(listed.valid_from, listed.valid_until, now)
    if stale is not None:
        return Status.INDETERMINATE, f"{what} {latest_text}: {stale}"
    if value:
        word = "revoked" if entry.purpose == "revocation" else "suspended"
        return Status.FAIL, f"{word} (bit {entry.index} set in {what} {latest_text})"
    return Status.PASS, f"{entry.purpose}: bit clear in list {latest_text}"


def _publisher_held(document: Any, chain_id: int | None, history: Any) -> Callable[[str, datetime], bool]:
    """Whether a publication by an address at a time counts: the address must still have been the issuer's then,
    neither retired nor revoked (DID document or ledger key events, as for anchors). Else the thief of a revoked
    anchoring key could re-publish an old list's digest as the latest one and undo a revocation."""
    if history is not None and history.chain_id != chain_id:
        history = None
    bound = keyhistory.bound_addresses(document, chain_id) if chain_id is not None else {}
    counted = keyhistory.counted_events(document, history) if history is not None else None
    lines = {vid: keyhistory.timeline(document, vid, history, counted) for vid in set(bound.values())}

    def held(publisher: str, at: datetime) -> bool:
        tl = lines.get(bound.get(publisher.lower(), ""))
        if tl is None or tl.mismatch:
            return False
        return all(m.time is not None and m.time > at for m in (tl.retired, tl.revoked) if m is not None)

    return held


def _not_signed_by_issuer(doc: Any, list_issuer: str | None, cred_issuer: str | None, issuer: Any,
                          canon: Any) -> str | None:
    """None if the list carries a valid eddsa-rdfc-2022 signature by an assertion key of the credential's issuer;
    else why not."""
    if list_issuer != cred_issuer:
        return f"its issuer is {list_issuer!r}, the credential's is {cred_issuer!r}"
    proofs = doc.document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    proof = next((p for p in proofs if isinstance(p, dict) and p.get("cryptosuite") == "eddsa-rdfc-2022"), None)
    if proof is None:
        return "it has no eddsa-rdfc-2022 proof"
    vm_id = proof.get("verificationMethod")
    if not isinstance(vm_id, str) or did_of(vm_id) != issuer.did:
        return f"signed with {vm_id!r}, not a key of {issuer.did}"
    vm = verification_method(issuer.document, vm_id)
    if vm is None or not has_relationship(issuer.document, vm_id, "assertionMethod"):
        return f"key {vm_id} is not an assertionMethod of {issuer.did} ({issuer.source})"
    try:
        key = public_key_of(vm)
    except keys.KeyFormatError as exc:
        return f"key {vm_id}: {exc}"
    if key.kind != "Ed25519":
        return f"key {vm_id} is {key.kind}, not Ed25519"
    try:
        ok = doc.signed_by(proof, key.raw, canon)
    except AnchorcredError as exc:
        return exc.diagnostics()
    return None if ok else f"signature does not verify with {vm_id}: the list was changed or signed by another key"


def _outside_validity(valid_from: str | None, valid_until: str | None, now: datetime) -> str | None:
    start, end = parse_datetime(valid_from), parse_datetime(valid_until)
    if start is not None and (start - now).total_seconds() > CLOCK_SKEW_S:
        return f"the list is not valid before {valid_from}"
    if end is not None and end < now:
        return f"the list expired at {valid_until}"
    return None
