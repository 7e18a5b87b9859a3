"""Verification of one credential: parse, gather evidence (the only I/O), run the checks in order, report.

    1. parse the credential and its proofs                     (pure)
    2. resolve the issuer's DID document                        (DidResolver: local documents or did:key)
    3. read the anchoring transaction and registry record       (LedgerReader, cached per root)
    4. run the checks in their fixed order with one `now`       (pure)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from verifier import checks
from verifier.canonical import Canonicalizer
from verifier.did import DidResolver
from verifier.document import ParsedCredential, parse_credential
from verifier.errors import AnchorcredError, EvidenceUnavailableError, InvalidInputError
from verifier.euelements import eu_elements_summary
from verifier.ledger.base import AnchorRef, LedgerReader
from verifier.report import CheckResult, Report, Status


@dataclass(frozen=True)
class VerifierOptions:
    min_confirmations: int = 1
    # readable network names -> chain ids, from configuration (Blockcerts tools call chain 11155111 "sepolia")
    network_labels: Mapping[str, int] | None = None


class Verifier:
    def __init__(
        self,
        *,
        ledger: LedgerReader | None,
        did_resolver: DidResolver | None = None,
        options: VerifierOptions = VerifierOptions(),
        canonicalizer: Canonicalizer | None = None,
    ):
        self._ledger = ledger
        self._dids = did_resolver or DidResolver()
        self._options = options
        self._canon = canonicalizer or Canonicalizer()
        self._labels_by_chain = {v: k for k, v in (options.network_labels or {}).items()}

    def verify(self, document: Any, *, now: datetime | None = None, source: str = "") -> Report:
        now = now or datetime.now(timezone.utc)
        try:
            cred = parse_credential(document, network_labels=dict(self._options.network_labels or {}))
        except InvalidInputError as exc:
            return unreadable_report(source, exc.diagnostics(), now=now)
        verified_at = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        evidence = self._gather(cred)
        ws = checks.Workspace()
        canon = self._canon
        results = (
            checks.check_format(cred, canon, ws),
            checks.check_signature(cred, evidence, canon, ws),
            checks.check_integrity(cred, canon, ws),
            checks.check_merkle_inclusion(cred, ws),
            checks.check_anchor(cred, evidence, ws),
            checks.check_validity(cred, now=now),
        )
        return Report(
            source=source,
            credential_id=cred.credential_id,
            checks=results,
            verified_at=verified_at,
            issuer=self._issuer_summary(cred, evidence),
            anchor=self._anchor_summary(cred, evidence),
            eu_elements=tuple(eu_elements_summary(cred.document)),
        )

    def verify_many(self, documents: Iterable[tuple[str, Any]], *, now: datetime | None = None) -> list[Report]:
        now = now or datetime.now(timezone.utc)  # one reference time for the whole run
        return [self.verify(doc, now=now, source=src) for src, doc in documents]

    # ── evidence (the only I/O) ──────────────────────────────────────────────────────────────────────────────
    def _gather(self, cred: ParsedCredential) -> checks.Evidence:
        issuer = issuer_error = None
        if cred.issuer_id and cred.issuer_id.startswith("did:"):
            try:
                issuer = self._dids.resolve(cred.issuer_id)
            except EvidenceUnavailableError as exc:
                issuer_error = exc.diagnostics()
        else:
            issuer_error = "the credential names no issuer DID"
        anchor = anchor_error = label = None
        if cred.merkle is not None and cred.merkle.anchors:
            a = cred.merkle.anchors[0]
            label = self._labels_by_chain.get(a.network)
            if self._ledger is None:
                anchor_error = "no ledger configured: the anchor cannot be checked"
            else:
                try:
                    anchor = self._ledger.read_anchor(AnchorRef(a.network, a.tx_hash), cred.merkle.merkle_root)
                except EvidenceUnavailableError as exc:
                    anchor_error = exc.diagnostics()
                except AnchorcredError as exc:  # e.g. an unconfigured chain: no evidence either way
                    anchor_error = exc.diagnostics()
        return checks.Evidence(
            issuer=issuer,
            issuer_error=issuer_error,
            anchor=anchor,
            anchor_error=anchor_error,
            anchor_label=label,
            min_confirmations=self._options.min_confirmations,
        )

    @staticmethod
    def _issuer_summary(cred: ParsedCredential, ev: checks.Evidence) -> dict[str, Any]:
        issuer = cred.document.get("issuer")
        name = issuer.get("name") if isinstance(issuer, dict) else None
        return {
            "id": cred.issuer_id,
            "name": name,
            "did_document": ev.issuer.source if ev.issuer else None,
        }

    def _anchor_summary(self, cred: ParsedCredential, ev: checks.Evidence) -> dict[str, Any]:
        if cred.merkle is None:
            return {}
        out: dict[str, Any] = {"merkle_root": cred.merkle.merkle_root.hex()}
        if cred.merkle.anchors:
            a = cred.merkle.anchors[0]
            out.update(chain_id=a.network, ledger=ev.anchor_label or f"chain {a.network}", transaction=a.tx_hash)
        if ev.anchor is not None:
            out.update(
                block=ev.anchor.block_number,
                time=ev.anchor.block_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                confirmations=ev.anchor.confirmations,
                sender=ev.anchor.sender,
                mode=ev.anchor.mode,
            )
        return out


def unreadable_report(source: str, reason: str, *, now: datetime) -> Report:
    """The report for input that is not a credential at all (unreadable file, not JSON, not an object)."""
    fail = CheckResult("format", "Format and EU elements", Status.FAIL, reason)
    skipped = tuple(
        CheckResult(cid, title, Status.SKIPPED, "the input is not a credential (see format)") for cid, title in CHECKS[1:]
    )
    return Report(source, None, (fail, *skipped), now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


CHECKS: tuple[tuple[str, str], ...] = (
    ("format", "Format and EU elements"),
    ("signature", "Signature by the issuer"),
    ("integrity", "Integrity (target hash)"),
    ("merkle_inclusion", "Merkle inclusion"),
    ("anchor", "Anchor on the ledger"),
    ("validity", "Validity period"),
)
