"""The checks, in their fixed order. Each takes values and returns a CheckResult; none does I/O.

Order (DESIGN.md, "Verification"): format and EU elements · signature · integrity · Merkle inclusion · anchor · validity.
A check whose prerequisite failed is skipped with the reason, not failed a second time. Unavailable evidence (a ledger
that cannot be reached, a DID document that cannot be had) is *indeterminate*, never *pass*.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from verifier import keys
from verifier.shapes import Canonicalizer
from verifier.dataintegrity import verify_eddsa_proof
from verifier.did import (ResolvedDid, chain_bindings, did_of, has_relationship, public_key_of,
                          verification_method)
from verifier.document import EDDSA_SUITE, ParsedCredential, parse_datetime, proof_list
from verifier.errors import AnchorcredError, InvalidInputError
from verifier.euelements import find_eu_element_problems
from verifier import keyhistory
from verifier.ledger.base import AnchorEvidence
from verifier.ledger.ebsi import capability_invocation_addresses
from verifier.merkle import root_from_path
from verifier.report import CheckResult, Status

VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CLOCK_SKEW = timedelta(minutes=5)  # an issuer's clock may run ahead of block time by this much
REQUIRED_TYPES = ("VerifiableCredential", "OpenBadgeCredential")


@dataclass(frozen=True)
class Evidence:
    """Everything gathered from outside the credential, or why it could not be had."""

    issuer: ResolvedDid | None = None
    issuer_error: str | None = None
    anchor: AnchorEvidence | None = None
    anchor_error: str | None = None  # the ledger could not be asked (unavailable, not configured)
    anchor_label: str | None = None  # readable network name from configuration
    min_confirmations: int = 1
    # Status lists (verifier.statuslists.ListEvidence), one per list URL the credential names; () when it names none.
    status_lists: tuple = ()
    # The issuer's key events on the anchor's chain (verifier.keyhistory), or why they were not read: unavailable
    # (``key_history_error``: a revocation cannot be ruled out) or not readable there at all (``key_history_note``:
    # no registry on that chain; judged on the DID document alone).
    key_history: Any = None  # verifier.keyhistory.LedgerKeyHistory
    key_history_error: str | None = None
    key_history_note: str | None = None
    # Issuer trust (verifier.trust): the configured roots, what the registry said, or why it could not be read.
    trust_roots: frozenset[str] = frozenset()
    trust: Any = None  # verifier.trustregistry.TrustEvidence
    trust_error: str | None = None


@dataclass
class Workspace:
    """Values computed by one check and used by a later one (the recomputed leaf), kept for one credential."""

    canonical_ok: bool = False
    unsecured: Any = None  # Shaped: the document without its proofs, canonicalized once, used by three checks
    unsecured_nq: str | None = None
    leaf: bytes | None = None
    integrity_ok: bool = False
    inclusion_ok: bool = False
    anchored: Any = None  # keyhistory.AnchorMoment once the anchor check established the block (signature uses it)
    anchor_unknown: str | None = None  # why the anchoring time could not be had (ledger out of reach)




def _short(b: bytes | str | None) -> str:
    if b is None:
        return "none"
    h = b.hex() if isinstance(b, bytes) else b
    return h[:12] + "…" if len(h) > 14 else h


def _result(check_id: str, title: str, status: Status, reason: str) -> CheckResult:
    return CheckResult(check_id, title, status, reason)


# 1 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def check_format(cred: ParsedCredential, canon: Canonicalizer, ws: Workspace) -> CheckResult:
    t = "Format and EU elements"
    doc = cred.document
    problems: list[str] = []
    ctx = doc.get("@context")
    first = ctx[0] if isinstance(ctx, list) and ctx else ctx
    if first != VC2_CONTEXT:
        problems.append(f"@context: first entry must be {VC2_CONTEXT}, got {first!r}")
    types = doc.get("type")
    types = types if isinstance(types, list) else [types]
    for needed in REQUIRED_TYPES:
        if needed not in types:
            problems.append(f"type: expected {needed} among {types!r}")
    if cred.issuer_id is None or not cred.issuer_id.startswith("did:"):
        problems.append(f"issuer: expected a DID (issuer or issuer.id), got {cred.issuer_id!r}")
    for field in ("validFrom", "credentialSubject"):
        if field not in doc:
            problems.append(f"{field}: missing")
    problems.extend(cred.problems)
    try:
        # The document as signed: without proofs (the signature's own terms are checked with the signature; the
        # anchor proof's fields are held to merkle-proof-2019's list when parsing).
        ws.unsecured = canon.shape({k: v for k, v in doc.items() if k != "proof"})
        ws.unsecured_nq = canon.canonicalize_shaped(ws.unsecured)
        ws.canonical_ok = True
    except InvalidInputError as exc:
        problems.append(exc.diagnostics())
    problems.extend(find_eu_element_problems(doc))
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return _result("format", t, Status.FAIL, "; ".join(problems[:3]) + more)
    return _result("format", t, Status.PASS, "VC 2.0 OpenBadgeCredential; all mandatory EU elements present; every term defined")


# 2 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def check_signature(cred: ParsedCredential, ev: Evidence, canon: Canonicalizer, ws: Workspace) -> CheckResult:
    t = "Signature by the issuer"
    proof = cred.eddsa_proof
    if proof is None:
        return _result("signature", t, Status.SKIPPED, f"no {EDDSA_SUITE} proof to check (see format)")
    if not ws.canonical_ok:
        return _result("signature", t, Status.SKIPPED, "the document has no canonical form (see format)")
    if ev.issuer is None:
        return _result("signature", t, Status.INDETERMINATE, f"issuer DID document unavailable: {ev.issuer_error}")
    vm_id = proof.get("verificationMethod")
    if not isinstance(vm_id, str):
        return _result("signature", t, Status.FAIL, f"proof.verificationMethod: expected a DID URL, got {vm_id!r}")
    if did_of(vm_id) != ev.issuer.did:
        return _result("signature", t, Status.FAIL, f"signing key {vm_id} is not controlled by the issuer {ev.issuer.did}")
    vm = verification_method(ev.issuer.document, vm_id)
    if vm is None:
        return _result("signature", t, Status.FAIL, f"key {vm_id} not found in the issuer's DID document ({ev.issuer.source})")
    if not has_relationship(ev.issuer.document, vm_id, "assertionMethod") and not (
        # a key of the history, with a date: judged by its dates below (a member without one opens nothing)
        any(isinstance(vm.get(member), str) and vm.get(member) for member in ("retired", "revoked"))
    ):
        return _result("signature", t, Status.FAIL, f"key {vm_id} is not an assertionMethod of {ev.issuer.did}")
    try:
        key = public_key_of(vm)
    except keys.KeyFormatError as exc:
        return _result("signature", t, Status.FAIL, f"key {vm_id}: {exc}")
    if key.kind != "Ed25519":
        return _result("signature", t, Status.FAIL, f"key {vm_id}: expected an Ed25519 key, got {key.kind}")
    try:
        first = "previousProof" not in proof  # then it signed exactly the document without proofs
        ok = verify_eddsa_proof(
            cred.document, proof, key.raw, canon=canon, unsecured_canonical=ws.unsecured_nq if first else None
        )
    except AnchorcredError as exc:
        return _result("signature", t, Status.FAIL, exc.diagnostics())
    if not ok:
        return _result(
            "signature", t, Status.FAIL,
            f"{EDDSA_SUITE} signature does not verify with {vm_id}: the signed content was changed, or another key "
            f"signed it (key from {ev.issuer.source})",
        )
    valid = f"{EDDSA_SUITE} signature valid, key {vm_id} ({ev.issuer.source})"
    if ev.issuer.did.startswith("did:key:"):
        return _result("signature", t, Status.PASS, valid)  # a did:key is its one key: it has no history
    return _judge_key_history(t, valid, vm_id, proof, ev, ws)


def _key_history_source(ev: Evidence) -> str:
    if ev.key_history is not None:
        return f"DID document and the ledger's key events on chain {ev.key_history.chain_id}"
    if ev.key_history_error is not None:
        return f"DID document only; ledger key history unavailable: {ev.key_history_error}"
    return f"DID document only; ledger key history not read: {ev.key_history_note or 'the credential names no anchor'}"


def _judge_key_history(t: str, valid: str, vm_id: str, proof: dict, ev: Evidence, ws: Workspace) -> CheckResult:
    """A valid signature counts only if its key was neither revoked nor retired before the credential was anchored
    (docs/formats.md, "Key history"): the anchoring block is a time a key thief cannot backdate."""
    tl = keyhistory.timeline(ev.issuer.document, vm_id, ev.key_history)
    judged = keyhistory.judge_signing_key(tl, anchored=ws.anchored, anchor_unknown=ws.anchor_unknown,
                                          signed_at=parse_datetime(proof.get("created")))
    if judged.valid is False:
        return _result("signature", t, Status.FAIL, f"signature by a key no longer valid then: {judged.note}")
    if judged.valid is None:
        return _result("signature", t, Status.INDETERMINATE, f"{valid}, but {judged.note}")
    if ev.key_history_error is not None and ws.anchored is not None:
        # (Without an anchoring time the anchor check is grey already, for the same ledger: not said twice.)
        return _result("signature", t, Status.INDETERMINATE,
                       f"{valid}, but the issuer's key history on the ledger could not be read "
                       f"({ev.key_history_error}): a revocation cannot be ruled out")
    note = judged.note or "key neither retired nor revoked"
    return _result("signature", t, Status.PASS, f"{valid}; {note} ({_key_history_source(ev)})")


# 3 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def check_integrity(cred: ParsedCredential, canon: Canonicalizer, ws: Workspace) -> CheckResult:
    t = "Integrity (target hash)"
    if cred.merkle is None:
        return _result("integrity", t, Status.SKIPPED, "no decodable merkle-proof-2019 proof (see format)")
    if not ws.canonical_ok:
        return _result("integrity", t, Status.SKIPPED, "the document has no canonical form (see format)")
    # The anchor proof covers the document *and* the signature (previousProof): the leaf is the document with every
    # proof except the anchor proof itself (DESIGN.md, "Canonical hashing").
    earlier = [p for p in proof_list(cred.document) if p is not cred.merkle_proof]
    try:
        shaped = canon.extend(ws.unsecured, "proof", earlier[0] if len(earlier) == 1 else earlier)
        leaf = hashlib.sha256(canon.canonicalize_shaped(shaped).encode("utf-8")).digest()
    except InvalidInputError as exc:
        return _result("integrity", t, Status.FAIL, exc.diagnostics())
    ws.leaf = leaf
    if leaf != cred.merkle.target_hash:
        return _result(
            "integrity", t, Status.FAIL,
            f"recomputed hash {_short(leaf)} ≠ targetHash {_short(cred.merkle.target_hash)}: the credential was changed after anchoring",
        )
    ws.integrity_ok = True
    return _result("integrity", t, Status.PASS, f"recomputed hash {_short(leaf)} = targetHash")


# 4 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def check_merkle_inclusion(cred: ParsedCredential, ws: Workspace) -> CheckResult:
    t = "Merkle inclusion"
    if cred.merkle is None or not ws.integrity_ok or ws.leaf is None:
        return _result("merkle_inclusion", t, Status.SKIPPED, "integrity not established (see integrity)")
    root = root_from_path(ws.leaf, cred.merkle.path)
    if root != cred.merkle.merkle_root:
        return _result(
            "merkle_inclusion", t, Status.FAIL,
            f"root from path {_short(root)} ≠ merkleRoot {_short(cred.merkle.merkle_root)} ({len(cred.merkle.path)} path steps)",
        )
    ws.inclusion_ok = True
    return _result("merkle_inclusion", t, Status.PASS, f"path of {len(cred.merkle.path)} steps leads to root {_short(root)}")


# 5 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def anchoring_addresses(issuer: ResolvedDid, chain_id: int, vm_id: str | None) -> dict[str, str]:
    """address (lowercase) -> verification method id, for the issuer's keys bound to this chain.

    A key counts when its `blockchainAccountId` names this chain and, if it also carries a public key, that key derives
    the same address (a document that contradicts itself binds nothing).
    """
    out: dict[str, str] = {}
    for vid, address in chain_bindings(issuer.document, chain_id):
        if vm_id is None or vid == vm_id:
            out[address] = vid
    return out


def check_anchor(cred: ParsedCredential, ev: Evidence, ws: Workspace) -> CheckResult:
    t = "Anchor on the ledger"
    m = cred.merkle
    if m is None or not ws.inclusion_ok:
        return _result("anchor", t, Status.SKIPPED, "Merkle inclusion not established (see merkle_inclusion)")
    if not m.anchors:
        return _result("anchor", t, Status.FAIL, "merkle-proof-2019 names no anchor")
    anchor = m.anchors[0]
    where = f"chain {anchor.network}" + (f" ({ev.anchor_label})" if ev.anchor_label else "")
    if ev.anchor is None:
        if ev.anchor_error:
            ws.anchor_unknown = ev.anchor_error
            return _result("anchor", t, Status.INDETERMINATE, f"{where}: {ev.anchor_error}")
        return _result("anchor", t, Status.FAIL, f"transaction {anchor.tx_hash} not found on {where}")
    a = ev.anchor
    if not a.status_ok:
        return _result("anchor", t, Status.FAIL, f"transaction {a.tx_hash} on {where} failed (reverted)")
    if a.carried_root != m.merkle_root:
        return _result(
            "anchor", t, Status.FAIL,
            f"transaction {_short(a.tx_hash)} carries root {_short(a.carried_root)}, expected {_short(m.merkle_root)}",
        )
    if a.mode == "contract":
        if a.registry_sender is None:
            return _result("anchor", t, Status.FAIL, f"registry has no record of root {_short(m.merkle_root)}")
        if a.registry_sender.lower() != a.sender.lower():
            return _result(
                "anchor", t, Status.FAIL,
                f"registry records root by {a.registry_sender}, but transaction was sent by {a.sender}",
            )
    if ev.issuer is None:
        ws.anchor_unknown = f"issuer DID document unavailable: {ev.issuer_error}"
        return _result("anchor", t, Status.INDETERMINATE, f"issuer DID document unavailable, sender {a.sender} cannot be tied to it: {ev.issuer_error}")
    vm_id = cred.merkle_proof.get("verificationMethod") if cred.merkle_proof else None
    if vm_id is not None and (not isinstance(vm_id, str) or did_of(vm_id) != ev.issuer.did):
        return _result("anchor", t, Status.FAIL, f"anchor proof's key {vm_id!r} is not controlled by the issuer {ev.issuer.did}")
    bound = anchoring_addresses(ev.issuer, a.chain_id, vm_id)
    if not bound and a.mode == "timestamp" and ev.issuer.did.startswith("did:ebsi:"):
        # A did:ebsi document comes from the EBSI-like ledger's DID Registry: the accounts controlling the DID there
        # (its capabilityInvocation keys) are the ones that may timestamp for it.
        bound = capability_invocation_addresses(ev.issuer.document)
    if not bound and ev.issuer.did.startswith("did:key:"):
        # A did:key document is derived from one key and cannot name an anchoring address: the sender is unbound.
        return _result(
            "anchor", t, Status.INDETERMINATE,
            f"root found in tx {_short(a.tx_hash)} from {a.sender}, but a did:key issuer cannot bind an anchoring address",
        )
    if a.sender.lower() not in bound:
        expected = ", ".join(sorted(bound)) or "none bound to this chain"
        return _result(
            "anchor", t, Status.FAIL,
            f"sender {a.sender} is not the issuer's anchoring address (expected {expected}, from {ev.issuer.source})",
        )
    # The sender must have been the issuer's at the anchoring block: not yet retired or revoked (key history).
    moment = keyhistory.AnchorMoment(a.block_time, a.block_number, a.chain_id)
    held = keyhistory.judge_anchoring_key(
        keyhistory.timeline(ev.issuer.document, bound[a.sender.lower()], ev.key_history), moment)
    if held.valid is False:
        return _result("anchor", t, Status.FAIL, f"sender {a.sender} was not the issuer's at that block: {held.note}")
    created = parse_datetime(cred.merkle_proof.get("created")) if cred.merkle_proof else None
    if created is not None and created > a.block_time + CLOCK_SKEW:
        return _result(
            "anchor", t, Status.FAIL,
            f"anchor proof claims creation at {cred.merkle_proof.get('created')}, after its block time {a.block_time.isoformat()}",
        )
    when = a.block_time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    summary = f"root {_short(m.merkle_root)} in tx {_short(a.tx_hash)}, block {a.block_number}, {when}, by {bound[a.sender.lower()]}"
    ws.anchored = moment  # known, if not final: the signature is judged at it either way
    if a.confirmations < ev.min_confirmations:
        return _result(
            "anchor", t, Status.INDETERMINATE,
            f"{summary}; {a.confirmations} confirmation(s), {ev.min_confirmations} required",
        )
    if ev.key_history_error is not None:
        return _result(
            "anchor", t, Status.INDETERMINATE,
            f"{summary}; the issuer's key history on the ledger could not be read ({ev.key_history_error}): whether "
            "the sender's key was revoked before cannot be told",
        )
    if held.note:
        summary = f"{summary}; {held.note}"
    how = {"contract": "registry record matches", "call": "anchor() call, registry not configured", "calldata": "root in calldata",
           "timestamp": "EBSI-like ledger timestamp record"}
    return _result(
        "anchor", t, Status.PASS,
        f"{summary}; {a.confirmations} confirmation(s) on {where}; {how.get(a.mode, a.mode)}",
    )


# 6 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def check_validity(cred: ParsedCredential, *, now: datetime) -> CheckResult:
    """VCDM 2.0 §4.9: validFrom / validUntil bound the period in which the claims are valid."""
    t = "Validity period"
    doc = cred.document
    start_raw, end_raw = doc.get("validFrom"), doc.get("validUntil")
    start = parse_datetime(start_raw)
    if start is None:
        return _result("validity", t, Status.FAIL, f"validFrom: expected an XML Schema dateTime with time zone, got {start_raw!r}")
    now_s = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if now < start:
        return _result("validity", t, Status.FAIL, f"not yet valid: validFrom {start_raw} is after now {now_s}")
    if end_raw is not None:
        end = parse_datetime(end_raw)
        if end is None:
            return _result("validity", t, Status.FAIL, f"validUntil: expected an XML Schema dateTime with time zone, got {end_raw!r}")
        if end < start:
            return _result("validity", t, Status.FAIL, f"validUntil {end_raw} is before validFrom {start_raw}")
        if now > end:
            return _result("validity", t, Status.FAIL, f"expired: validUntil {end_raw} is before now {now_s}")
        return _result("validity", t, Status.PASS, f"valid from {start_raw} until {end_raw}; now {now_s}")
    return _result("validity", t, Status.PASS, f"valid from {start_raw}, no end date; now {now_s}")
