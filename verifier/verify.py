"""Verification of one credential: parse, gather evidence (the only I/O), run the checks in order, report.

    1. parse the credential and its proofs                     (pure)
    2. resolve the issuer's DID document                        (DidResolver: local documents or did:key)
    3. read the anchoring transaction and registry record       (LedgerReader, cached per root)
    3b. get the status lists the credential names, and their anchored digests   (StatusListSource, cached per list)
    4. run the checks in their fixed order with one `now`       (pure)
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from contextlib import contextmanager
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timezone
from typing import Any

from verifier import checks, recognition
from verifier.shapes import Canonicalizer
from verifier.did import DidResolver
from verifier.document import ParsedCredential, parse_credential
from verifier.errors import AnchorcredError, EvidenceUnavailableError, InvalidInputError
from verifier.euelements import eu_elements_summary
from verifier.keyevidence import gather_key_history
from verifier.ledger.base import AnchorRef, LedgerReader, to_checksum_address
from verifier.trust import check_issuer_trust
from verifier.trustregistry import TrustRegistryReader, gather_trust
from verifier.report import CheckResult, Report, Status
from verifier.statuscheck import check_status
from verifier.statuslists import StatusListSource, gather_status


@dataclass(frozen=True)
class VerifierOptions:
    min_confirmations: int = 1
    # chain id -> confirmations that chain's anchors need (from the networks file); the larger of the two applies
    confirmations_by_chain: Mapping[int, int] | None = None
    # readable network names -> chain ids, from configuration (Blockcerts tools call chain 11155111 "sepolia")
    network_labels: Mapping[str, int] | None = None
    # DIDs of the RootTAOs whose accreditation chains the verifier trusts (none: issuer trust is not checked)
    trust_roots: frozenset[str] = frozenset()


class Verifier:
    def __init__(
        self,
        *,
        ledger: LedgerReader | None,
        did_resolver: DidResolver | None = None,
        trust_registry: TrustRegistryReader | None = None,
        options: VerifierOptions = VerifierOptions(),
        canonicalizer: Canonicalizer | None = None,
        status_source: StatusListSource | None = None,
    ):
        self._ledger = ledger
        self._dids = did_resolver or DidResolver()
        self._options = options
        self._canon = canonicalizer or Canonicalizer()
        self._labels_by_chain = {v: k for k, v in (options.network_labels or {}).items()}
        # Where status list credentials come from (snapshots, and the guarded fetcher in the service); None: only the
        # lists carried with a credential (``verify(..., status_lists=)``).
        self._status = status_source
        self._trust = trust_registry

    @property
    def did_resolver(self) -> DidResolver:
        """The resolver the issuer's keys come from (presentations resolve their holder with it too)."""
        return self._dids

    @property
    def canonicalizer(self) -> Canonicalizer:
        return self._canon

    def verify(self, document: Any, *, now: datetime | None = None, source: str = "",
               status_lists: Mapping[str, Any] | None = None) -> Report:
        """``status_lists``: status list credentials carried with this credential, by URL (a snapshot: checked
        against the ledger like a fetched list, so the issuer's website is not needed)."""
        now = now or datetime.now(timezone.utc)
        parsed = self._parse(document)
        if isinstance(parsed, str):
            return unreadable_report(source, parsed, now=now)
        return self._judge(parsed, self._gather(parsed, status_lists=status_lists), now=now, source=source)

    # The three steps of ``verify`` for a caller that runs them apart: the service judges a credential whose
    # evidence is already cached on its event loop, and sends only the gathering that needs I/O to a thread.
    def parse(self, document: Any) -> ParsedCredential | str:
        """The parsed credential, or why the input is not one (pure)."""
        return self._parse(document)

    def gather(self, cred: ParsedCredential, *, local_only: bool = False,
               status_lists: Mapping[str, Any] | None = None) -> checks.Evidence | None:
        """The evidence (the only I/O). With ``local_only``: None when any of it would need I/O (a DID document,
        an anchor or a status list not in a cache); else the evidence, got without I/O."""
        return self._gather(cred, local_only=local_only, status_lists=status_lists)

    def judge(self, cred: ParsedCredential, evidence: checks.Evidence, *, now: datetime, source: str = "") -> Report:
        """The report: every check on values only (pure, CPU only)."""
        return self._judge(cred, evidence, now=now, source=source)

    def verify_many(
        self, documents: Iterable[tuple[str, Any]], *, now: datetime | None = None, workers: int = 1
    ) -> list[Report]:
        """Reports in input order, with one reference time for the whole run.

        With ``workers`` > 1 and enough documents, the evidence is gathered here first (all the I/O, each issuer DID
        and each anchor once, through the caches), then the pure checks run in forked worker processes that inherit
        the parsed credentials and their evidence and do no I/O at all.
        """
        now = now or datetime.now(timezone.utc)
        with _collector_paused():
            return self._verify_many(list(documents), now, workers)

    def _verify_many(self, items: list[tuple[str, Any]], now: datetime, workers: int) -> list[Report]:
        parsed = [self._parse(doc) for _, doc in items]
        evidence = [None if isinstance(p, str) else self._gather(p) for p in parsed]
        if workers > 1 and len(items) >= PARALLEL_MIN and "fork" in multiprocessing.get_all_start_methods():
            global _BULK
            first = self._report(0, items, parsed, evidence, now)  # learns the shapes once, before the fork
            _BULK_LOCK.acquire()  # the workers find their input in a module global: one bulk run at a time
            _BULK = (self, items, parsed, evidence, now)
            try:
                chunk = max(16, len(items) // (workers * 4))
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    parts = pool.map(_judge_range, _ranges(len(items) - 1, chunk, start=1))
            finally:
                _BULK = None
                _BULK_LOCK.release()
            # Workers send back the check results only; the reports (which refer to the documents) are made here.
            reports = [first]
            for i, (results, issuer, anchor) in enumerate((r for part in parts for r in part), start=1):
                reports.append(self._assemble(i, items, parsed, now, results, issuer, anchor))
            return reports
        return [self._report(i, items, parsed, evidence, now) for i in range(len(items))]

    def _report(self, i: int, items, parsed, evidence, now: datetime) -> Report:
        if isinstance(parsed[i], str):
            return unreadable_report(items[i][0], parsed[i], now=now)
        return self._assemble(i, items, parsed, now, *self._results(parsed[i], evidence[i], now))

    def _assemble(self, i: int, items, parsed, now: datetime, results, issuer, anchor) -> Report:
        cred = parsed[i]
        if isinstance(cred, str):
            return unreadable_report(items[i][0], cred, now=now)
        return Report(
            source=items[i][0],
            credential_id=cred.credential_id,
            checks=results,
            verified_at=now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            issuer=issuer,
            anchor=anchor,
            summarize=partial(eu_elements_summary, cred.document),
            recognize=partial(_recognize, cred.document),
        )

    def _parse(self, document: Any) -> ParsedCredential | str:
        """The parsed credential, or why the input is not one."""
        try:
            return parse_credential(document, network_labels=dict(self._options.network_labels or {}))
        except InvalidInputError as exc:
            return exc.diagnostics()

    def _judge(self, cred: ParsedCredential, evidence: checks.Evidence, *, now: datetime, source: str) -> Report:
        return self._assemble(0, [(source, cred.document)], [cred], now, *self._results(cred, evidence, now))

    def _results(self, cred: ParsedCredential, evidence: checks.Evidence, now: datetime):
        """The checks, in their fixed order, on values only; with the issuer and anchor summaries."""
        ws = checks.Workspace()
        canon = self._canon
        fmt = checks.check_format(cred, canon, ws)
        integrity = checks.check_integrity(cred, canon, ws)
        inclusion = checks.check_merkle_inclusion(cred, ws)
        anchor = checks.check_anchor(cred, evidence, ws)
        # The signature is judged at the anchoring time (key history), so it runs after the anchor check; it is
        # reported in its place.
        results = (fmt, checks.check_signature(cred, evidence, canon, ws), integrity, inclusion)
        results = (*results, anchor, check_issuer_trust(cred, evidence, anchor),
                   check_status(cred, evidence, canon, now=now), checks.check_validity(cred, now=now))
        return results, self._issuer_summary(cred, evidence), self._anchor_summary(cred, evidence)

    # ── evidence (the only I/O) ──────────────────────────────────────────────────────────────────────────────
    def _gather(self, cred: ParsedCredential, *, local_only: bool = False,
                status_lists: Mapping[str, Any] | None = None) -> checks.Evidence | None:
        issuer = issuer_error = None
        if cred.issuer_id and cred.issuer_id.startswith("did:"):
            try:
                if local_only:
                    issuer = self._dids.resolve_local(cred.issuer_id)
                    if issuer is None:
                        return None
                else:
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
                ref = AnchorRef(a.network, a.tx_hash, "ebsi" if a.chain == "ebsi" else "eth")
                try:
                    if local_only:
                        peek = getattr(self._ledger, "peek", None)  # only a caching reader can answer without I/O
                        hit, anchor = peek(ref, cred.merkle.merkle_root) if peek is not None else (False, None)
                        if not hit:
                            return None
                    else:
                        anchor = self._ledger.read_anchor(ref, cred.merkle.merkle_root)
                except EvidenceUnavailableError as exc:
                    anchor_error = exc.diagnostics()
                except AnchorcredError as exc:  # e.g. an unconfigured chain: no evidence either way
                    anchor_error = exc.diagnostics()
        roots = frozenset(self._options.trust_roots)
        trust = trust_error = None
        if roots and cred.issuer_id:
            if local_only:
                return None  # the registry is read afresh for every verification: never without I/O
            if self._trust is None:
                trust_error = "trusted roots are configured, but no trust registry to read accreditations from"
            else:
                try:
                    trust = gather_trust(self._trust, cred.issuer_id, roots)
                except EvidenceUnavailableError as exc:
                    trust_error = exc.diagnostics()
        lists = self._gather_status(cred, issuer, local_only=local_only, snapshots=status_lists)
        if lists is None:
            return None
        history = gather_key_history(self._ledger, issuer, cred, local_only=local_only)
        if history is None:
            return None  # local_only, and the key events are not cached
        return checks.Evidence(
            status_lists=lists,
            issuer=issuer,
            issuer_error=issuer_error,
            anchor=anchor,
            anchor_error=anchor_error,
            anchor_label=label,
            key_history=history.events,
            key_history_error=history.error,
            key_history_note=history.note,
            trust_roots=roots,
            trust=trust,
            trust_error=trust_error,
            min_confirmations=max(
                self._options.min_confirmations,
                (self._options.confirmations_by_chain or {}).get(cred.merkle.anchors[0].network, 1)
                if cred.merkle is not None and cred.merkle.anchors else 1,
            ),
        )

    def _gather_status(self, cred: ParsedCredential, issuer: Any, *, local_only: bool,
                       snapshots: Mapping[str, Any] | None) -> tuple | None:
        """The status lists the credential names, and what the ledger anchored for them: read on the chain of the
        credential's anchor, for every anchoring address the issuer's DID document binds there."""
        if "credentialStatus" not in cred.document:
            return ()
        chain_id = cred.merkle.anchors[0].network if cred.merkle is not None and cred.merkle.anchors else None
        publishers: list[str] = []
        if issuer is not None and chain_id is not None:
            publishers = [to_checksum_address(a) for a in sorted(checks.anchoring_addresses(issuer, chain_id, None))]
        return gather_status(cred.document, source=self._status, ledger=self._ledger, chain_id=chain_id,
                             publishers=publishers, canon=self._canon, snapshots=snapshots, local_only=local_only)

    @staticmethod
    def _issuer_summary(cred: ParsedCredential, ev: checks.Evidence) -> dict[str, Any]:
        issuer = cred.document.get("issuer")
        name = issuer.get("name") if isinstance(issuer, dict) else None
        if not isinstance(name, str):
            name = None  # only text goes into a report: a number or an object named here is no name
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


PARALLEL_MIN = 64  # below this, forking costs more than it saves
_BULK: tuple | None = None  # (verifier, items, parsed, evidence, now), inherited by forked workers
_BULK_LOCK = threading.Lock()


@contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector for a bulk run: verification makes no reference cycles, but allocates
    millions of small objects while holding thousands of documents, which the collector would rescan again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ranges(n: int, size: int, *, start: int = 0) -> list[tuple[int, int]]:
    return [(i, min(i + size, start + n)) for i in range(start, start + n, size)]


def _judge_range(bounds: tuple[int, int]) -> list[tuple]:
    verifier, items, parsed, evidence, now = _BULK  # type: ignore[misc]
    out = []
    for i in range(*bounds):
        cred = parsed[i]
        out.append(((), {}, {}) if isinstance(cred, str) else verifier._results(cred, evidence[i], now))
    return out


def _recognize(document: Any, report: Report) -> Any:
    return recognition.scorecard(report, document)


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
    ("issuer_trust", "Issuer accreditation"),
    ("status", "Status (revocation, suspension)"),
    ("validity", "Validity period"),
)
