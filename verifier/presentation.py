"""Verification of a Verifiable Presentation (VCDM 2.0 §4.13; VC-API ``POST /presentations/verify``).

A presentation is a learner (the holder) handing credentials to a verifier, signed to show that the holder did so,
for this request. The checks, in their fixed order, each pass / fail / skipped / indeterminate with a reason:

    1. presentation_format     VC 2.0 context, type VerifiablePresentation, holder, embedded credentials (JSON
                               objects, at most ``max_credentials``), every term defined (canonical form exists)
    2. presentation_signature  one DataIntegrityProof, eddsa-rdfc-2022, proofPurpose ``authentication``, by a key the
                               signer's DID document lists under ``authentication`` (did:key derived locally; any
                               other DID only from the resolver given: the service wires in did:web fetching)
    3. challenge               the proof's ``challenge`` and ``domain`` against what the verifier asked for: a value
                               asked for and missing or different fails; no challenge asked for is *skipped* (the
                               presentation is not bound to this request, it could be a replay), never *pass*
    4. credentials             every embedded credential verified by the credential ``Verifier`` (each its own report)
    5. holder_binding          the signer's DID is the ``holder`` (when named) and each credential's
                               ``credentialSubject.id``; a subject without ``id`` is *indeterminate*: nothing binds it

An unsigned presentation fails (2), whatever the options ask: nothing then shows who presented the credentials.
The verdict is derived from these five checks; (4) carries the embedded credentials' verdicts into it.
No I/O here beyond what the Verifier and the DID resolver do; ``now`` is fixed once for the presentation and every
credential in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from verifier.checks import CLOCK_SKEW, VC2_CONTEXT
from verifier.dataintegrity import verify_eddsa_proof
from verifier.did import DidResolver, ResolvedDid, did_of, has_relationship, public_key_of, verification_method
from verifier.document import EDDSA_SUITE, MAX_DEPTH, _depth, parse_datetime, proof_list
from verifier.errors import AnchorcredError, EvidenceUnavailableError, InvalidInputError
from verifier.keys import KeyFormatError
from verifier.report import CheckResult, Report, Status, Verdict, verdict_of
from verifier.shapes import Canonicalizer
from verifier.verify import Verifier

PRESENTATION_TYPE = "VerifiablePresentation"
PROOF_PURPOSE = "authentication"  # VC DI 1.0 §2.1: a presentation proves control of the holder's key
EMBEDDING_DEPTH = 2  # a credential sits two levels down in a presentation (verifiableCredential, then its item)
DEFAULT_MAX_CREDENTIALS = 100

CHECKS: tuple[tuple[str, str], ...] = (
    ("presentation_format", "Presentation format"),
    ("presentation_signature", "Signature by the holder"),
    ("challenge", "Challenge and domain of this request"),
    ("credentials", "Embedded credentials"),
    ("holder_binding", "Holder binding"),
)
TITLES = dict(CHECKS)


@dataclass(frozen=True)
class PresentationReport:
    source: str
    presentation_id: str | None
    holder: str | None  # the presentation's ``holder`` (its id when an object)
    signer: str | None  # the DID whose key made a valid proof, or None
    checks: tuple[CheckResult, ...]
    credentials: tuple[Report, ...]
    verified_at: str

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.checks)

    def check(self, check_id: str) -> CheckResult:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def to_json(self, *, include_credentials: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "presentation_id": self.presentation_id,
            "holder": self.holder,
            "signer": self.signer,
            "verdict": self.verdict.value,
            "verified_at": self.verified_at,
            "checks": [c.to_json() for c in self.checks],
        }
        if include_credentials:
            out["credentials"] = [r.to_json() for r in self.credentials]
        return out


@dataclass
class _State:
    """What one check learned for the next ones (one presentation)."""

    credentials: list[Any] = field(default_factory=list)
    credentials_usable: bool = False
    unsecured_nq: str | None = None
    proof: dict[str, Any] | None = None
    signer: str | None = None
    signature_ok: bool = False


def _result(check_id: str, status: Status, reason: str) -> CheckResult:
    return CheckResult(check_id, TITLES[check_id], status, reason)


def _holder_of(vp: dict[str, Any]) -> str | None:
    holder = vp.get("holder")
    if isinstance(holder, dict):
        holder = holder.get("id")
    return holder if isinstance(holder, str) else None


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:80] + "…") if len(text) > 80 else repr(text)


class PresentationVerifier:
    """Verifies presentations with a credential ``Verifier`` (its DID resolver and canonicalizer, unless given)."""

    def __init__(self, verifier: Verifier, *, did_resolver: DidResolver | None = None,
                 canonicalizer: Canonicalizer | None = None, max_credentials: int = DEFAULT_MAX_CREDENTIALS):
        if max_credentials < 1:
            raise ValueError(f"max_credentials must be at least 1, got {max_credentials}")
        self._verifier = verifier
        self._dids = did_resolver or verifier.did_resolver
        self._canon = canonicalizer or verifier.canonicalizer
        self.max_credentials = max_credentials

    def verify(self, presentation: Any, *, challenge: str | None = None, domain: str | None = None,
               now: datetime | None = None, source: str = "") -> PresentationReport:
        now = now or datetime.now(timezone.utc)
        stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not isinstance(presentation, dict):
            return unreadable_presentation(source, f"a presentation must be a JSON object, got "
                                                   f"{type(presentation).__name__}", now=now)
        state = _State()
        fmt = self._check_format(presentation, state)
        sig = self._check_signature(presentation, state, now)
        chal = check_challenge(state, challenge=challenge, domain=domain)
        reports = tuple(
            self._verifier.verify(doc, now=now, source=f"{source or 'presentation'} verifiableCredential[{i}]")
            for i, doc in enumerate(state.credentials)
        ) if state.credentials_usable else ()
        creds = check_credentials(reports, usable=state.credentials_usable)
        binding = check_holder_binding(presentation, state, reports)
        vp_id = presentation.get("id")
        return PresentationReport(
            source=source, presentation_id=vp_id if isinstance(vp_id, str) else None,
            holder=_holder_of(presentation), signer=state.signer if state.signature_ok else None,
            checks=(fmt, sig, chal, creds, binding), credentials=reports, verified_at=stamp,
        )

    # 1 ──────────────────────────────────────────────────────────────────────────────────────────────────────────
    def _check_format(self, vp: dict[str, Any], state: _State) -> CheckResult:
        problems: list[str] = []
        depth = _depth(vp, MAX_DEPTH + EMBEDDING_DEPTH + 1)
        if depth > MAX_DEPTH + EMBEDDING_DEPTH:
            # Refused before anything walks it further: nothing else is looked at.
            return _result("presentation_format", Status.FAIL,
                           f"a presentation may nest objects and arrays {MAX_DEPTH + EMBEDDING_DEPTH} deep at most, "
                           f"this one {depth}+")
        ctx = vp.get("@context")
        first = ctx[0] if isinstance(ctx, list) and ctx else ctx
        if first != VC2_CONTEXT:
            problems.append(f"@context: first entry must be {VC2_CONTEXT}, got {first!r:.80}")
        types = vp.get("type")
        types = types if isinstance(types, list) else [types]
        if PRESENTATION_TYPE not in types:
            problems.append(f"type: expected {PRESENTATION_TYPE} among {types!r:.120}")
        if "id" in vp and not isinstance(vp["id"], str):
            problems.append(f"id: expected a URL, got {type(vp['id']).__name__}")
        if "holder" in vp and _holder_of(vp) is None:
            problems.append("holder: expected a URL or an object with an id (VCDM 2.0 §4.13)")
        problems += self._read_credentials(vp, state)
        try:
            state.unsecured_nq = self._canon.canonicalize({k: v for k, v in vp.items() if k != "proof"})
        except InvalidInputError as exc:
            problems.append(exc.diagnostics())
        if problems:
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            return _result("presentation_format", Status.FAIL, "; ".join(problems[:3]) + more)
        n = len(state.credentials)
        return _result("presentation_format", Status.PASS,
                       f"VC 2.0 {PRESENTATION_TYPE} with {n} embedded credential{'' if n == 1 else 's'}; "
                       "every term defined")

    def _read_credentials(self, vp: dict[str, Any], state: _State) -> list[str]:
        """The embedded credentials into ``state``, or the problems that keep them from being verified."""
        embedded = vp.get("verifiableCredential", [])
        embedded = embedded if isinstance(embedded, list) else [embedded]
        if len(embedded) > self.max_credentials:
            return [f"verifiableCredential: at most {self.max_credentials} credentials are verified in one "
                    f"presentation, got {len(embedded)}"]
        problems = []
        for i, item in enumerate(embedded):
            if not isinstance(item, dict):
                problems.append(f"verifiableCredential[{i}]: expected a credential (a JSON object), "
                                f"got {type(item).__name__}")
            elif "EnvelopedVerifiableCredential" in (item.get("type") if isinstance(item.get("type"), list)
                                                     else [item.get("type")]):
                problems.append(f"verifiableCredential[{i}]: enveloped credentials (VC-JOSE-COSE) are not "
                                "supported; embed the credential itself")
        if not problems:
            state.credentials, state.credentials_usable = embedded, True
        return problems

    # 2 ──────────────────────────────────────────────────────────────────────────────────────────────────────────
    def _check_signature(self, vp: dict[str, Any], state: _State, now: datetime) -> CheckResult:
        cid = "presentation_signature"
        proofs = proof_list(vp)
        if not proofs:
            return _result(cid, Status.FAIL, "the presentation is unsigned (no proof): nothing shows that the "
                                             "holder presented these credentials")
        if len(proofs) > 1:
            return _result(cid, Status.FAIL, f"proof: expected one proof by the holder, got {len(proofs)}")
        proof = proofs[0]
        if not isinstance(proof, dict):
            return _result(cid, Status.FAIL, f"proof: expected an object, got {type(proof).__name__}")
        state.proof = proof
        if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != EDDSA_SUITE:
            return _result(cid, Status.FAIL, f"proof: expected a DataIntegrityProof with cryptosuite {EDDSA_SUITE}, "
                                             f"got type {proof.get('type')!r:.60}, cryptosuite "
                                             f"{proof.get('cryptosuite')!r:.60}")
        if proof.get("proofPurpose") != PROOF_PURPOSE:
            return _result(cid, Status.FAIL, f"proof.proofPurpose: expected {PROOF_PURPOSE!r} (the holder "
                                             f"presenting), got {proof.get('proofPurpose')!r:.60}")
        vm_id = proof.get("verificationMethod")
        if not isinstance(vm_id, str) or not vm_id.startswith("did:"):
            return _result(cid, Status.FAIL, f"proof.verificationMethod: expected a DID URL, got {vm_id!r:.80}")
        timing = _proof_time_problem(proof, now)
        if timing:
            return _result(cid, Status.FAIL, timing)
        if state.unsecured_nq is None:
            return _result(cid, Status.SKIPPED, "the presentation has no canonical form (see presentation_format)")
        signer = did_of(vm_id)
        try:
            resolved = self._dids.resolve(signer)
        except EvidenceUnavailableError as exc:
            return _result(cid, Status.INDETERMINATE, f"the holder's DID document is unavailable: {exc.diagnostics()}")
        return self._verify_proof(vp, proof, vm_id, resolved, state)

    def _verify_proof(self, vp: dict[str, Any], proof: dict[str, Any], vm_id: str, resolved: ResolvedDid,
                      state: _State) -> CheckResult:
        cid = "presentation_signature"
        vm = verification_method(resolved.document, vm_id)
        if vm is None:
            return _result(cid, Status.FAIL, f"key {vm_id} not found in the DID document of {resolved.did} "
                                             f"({resolved.source})")
        if not has_relationship(resolved.document, vm_id, PROOF_PURPOSE):
            return _result(cid, Status.FAIL, f"key {vm_id} is not listed under authentication in {resolved.did}")
        try:
            key = public_key_of(vm)
        except KeyFormatError as exc:
            return _result(cid, Status.FAIL, f"key {vm_id}: {exc}")
        if key.kind != "Ed25519":
            return _result(cid, Status.FAIL, f"key {vm_id}: expected an Ed25519 key, got {key.kind}")
        try:
            first = "previousProof" not in proof  # then it signed exactly the presentation without its proof
            ok = verify_eddsa_proof(vp, proof, key.raw, self._canon,
                                    unsecured_canonical=state.unsecured_nq if first else None)
        except AnchorcredError as exc:
            return _result(cid, Status.FAIL, exc.diagnostics())
        if not ok:
            return _result(cid, Status.FAIL, f"{EDDSA_SUITE} signature does not verify with {vm_id}: the presentation "
                                             f"was changed after signing, or another key signed it "
                                             f"(key from {resolved.source})")
        state.signer, state.signature_ok = resolved.did, True
        return _result(cid, Status.PASS, f"{EDDSA_SUITE} signature valid for authentication, key {vm_id} "
                                         f"({resolved.source})")


def _proof_time_problem(proof: dict[str, Any], now: datetime) -> str | None:
    """VC DI 1.0 §2.1: ``created`` and ``expires`` are dateTimes; a proof made in the future or expired is refused."""
    created_raw, expires_raw = proof.get("created"), proof.get("expires")
    if created_raw is not None:
        created = parse_datetime(created_raw)
        if created is None:
            return f"proof.created: expected an XML Schema dateTime with time zone, got {created_raw!r:.60}"
        if created > now + CLOCK_SKEW:
            return f"proof.created {created_raw} is in the future (now {now:%Y-%m-%dT%H:%M:%SZ})"
    if expires_raw is not None:
        expires = parse_datetime(expires_raw)
        if expires is None:
            return f"proof.expires: expected an XML Schema dateTime with time zone, got {expires_raw!r:.60}"
        if now > expires:
            return f"the proof expired at {expires_raw} (now {now:%Y-%m-%dT%H:%M:%SZ})"
    return None


# 3 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def check_challenge(state: _State, *, challenge: str | None, domain: str | None) -> CheckResult:
    """The proof's challenge and domain against the verifier's. Read only from a proof whose signature verified:
    an unauthenticated challenge proves nothing."""
    cid = "challenge"
    if state.proof is None or not state.signature_ok:
        return _result(cid, Status.SKIPPED, "no valid holder proof to read a challenge from "
                                            "(see presentation_signature)")
    proof = state.proof
    found: list[str] = []
    failed: list[str] = []
    if challenge is not None:
        got = proof.get("challenge")
        if got is None:
            failed.append(f"the verifier asked for challenge {_short(challenge)}, the proof carries none")
        elif got != challenge:
            failed.append(f"challenge: expected {_short(challenge)}, the proof has {_short(got)}")
        else:
            found.append(f"challenge {_short(challenge)} matches")
    if domain is not None:
        got = proof.get("domain")  # a string, or a set of them (VC DI 1.0 §2.1)
        if got is None:
            failed.append(f"the verifier asked for domain {_short(domain)}, the proof carries none")
        elif got != domain and not (isinstance(got, list) and domain in got):
            failed.append(f"domain: expected {_short(domain)}, the proof has {_short(got)}")
        else:
            found.append(f"domain {_short(domain)} matches")
    else:
        found.append("no domain asked for")
    if failed:
        return _result(cid, Status.FAIL, "; ".join(failed))
    if challenge is None:
        return _result(cid, Status.SKIPPED, "no challenge asked for (options.challenge): the presentation is not "
                                            "bound to this request and could be a replay; " + "; ".join(found))
    return _result(cid, Status.PASS, "; ".join(found))


# 4 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def _first_problem(report: Report) -> CheckResult | None:
    for wanted in ((Status.FAIL,), (Status.INDETERMINATE, Status.SKIPPED)):
        for c in report.checks:
            if c.status in wanted and c.counts:  # a check not asked for (issuer trust unconfigured) is no problem
                return c
    return None


def _listing(reports: list[tuple[int, Report]], limit: int = 3) -> str:
    parts = []
    for i, r in reports[:limit]:
        c = _first_problem(r)
        parts.append(f"[{i}] {r.credential_id or '(no id)'}: {c.id} — {c.reason}" if c else f"[{i}]")
    more = f" (+{len(reports) - limit} more)" if len(reports) > limit else ""
    return "; ".join(parts) + more


def check_credentials(reports: tuple[Report, ...], *, usable: bool) -> CheckResult:
    cid = "credentials"
    if not usable:
        return _result(cid, Status.SKIPPED, "the embedded credentials cannot be read (see presentation_format)")
    if not reports:
        return _result(cid, Status.SKIPPED, "the presentation carries no credential")
    failed = [(i, r) for i, r in enumerate(reports) if r.verdict is Verdict.FAILED]
    partial = [(i, r) for i, r in enumerate(reports) if r.verdict is Verdict.PARTIALLY_VERIFIED]
    n = len(reports)
    if failed:
        return _result(cid, Status.FAIL, f"{len(failed)} of {n} credential(s) failed: {_listing(failed)}")
    if partial:
        return _result(cid, Status.INDETERMINATE,
                       f"{len(partial)} of {n} credential(s) only partially verified: {_listing(partial)}")
    return _result(cid, Status.PASS, f"all {n} credential(s) verified")


# 5 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
def _subject_ids(credential: Any) -> list[str | None]:
    """The ``credentialSubject.id`` of each subject (None for a subject without one)."""
    subjects = credential.get("credentialSubject") if isinstance(credential, dict) else None
    subjects = subjects if isinstance(subjects, list) else [subjects]
    return [s.get("id") if isinstance(s, dict) and isinstance(s.get("id"), str) else None for s in subjects]


def check_holder_binding(vp: dict[str, Any], state: _State, reports: tuple[Report, ...]) -> CheckResult:
    """The one who signed the presentation is its holder and the subject of every credential in it."""
    cid = "holder_binding"
    if not state.signature_ok or state.signer is None:
        return _result(cid, Status.SKIPPED, "the signer of the presentation is not established "
                                            "(see presentation_signature)")
    signer = state.signer
    holder = _holder_of(vp)
    if holder is not None and holder != signer:
        return _result(cid, Status.FAIL, f"the presentation names holder {holder}, but {signer} signed it")
    if not state.credentials_usable or not state.credentials:
        return _result(cid, Status.SKIPPED, "no credential to bind to the holder (see credentials)")
    mismatched, unbound = [], []
    for i, cred in enumerate(state.credentials):
        ids = _subject_ids(cred)
        label = f"[{i}] {reports[i].credential_id or '(no id)'}" if i < len(reports) else f"[{i}]"
        if signer in ids:
            continue
        dids = [s for s in ids if s is not None and s.startswith("did:")]
        if dids:
            mismatched.append(f"{label} is about {', '.join(dids[:2])}")
        elif any(s is not None for s in ids):
            # A subject named by a non-DID id (the issuer's urn:uuid for a learner without a DID): nobody holds a
            # key for it, so no presentation can show that its holder is that subject.
            unbound.append(f"{label} names its subject {next(s for s in ids if s)}, not a DID")
        else:
            unbound.append(f"{label} names no subject id (credentialSubject.id)")
    more = lambda items: f" (+{len(items) - 3} more)" if len(items) > 3 else ""
    if mismatched:
        return _result(cid, Status.FAIL, f"{signer} presented credentials of another subject: "
                                         + "; ".join(mismatched[:3]) + more(mismatched))
    if unbound:
        return _result(cid, Status.INDETERMINATE, "; ".join(unbound[:3]) + more(unbound)
                       + f": nothing binds {'it' if len(unbound) == 1 else 'them'} to the holder {signer}")
    n = len(state.credentials)
    return _result(cid, Status.PASS, f"{signer} signed the presentation and is the subject of "
                                     f"{'the credential' if n == 1 else f'all {n} credentials'}")


def unreadable_presentation(source: str, reason: str, *, now: datetime) -> PresentationReport:
    """The report for input that is not a presentation at all."""
    skipped = tuple(_result(cid, Status.SKIPPED, "the input is not a presentation (see presentation_format)")
                    for cid, _ in CHECKS[1:])
    return PresentationReport(source, None, None, None, (_result("presentation_format", Status.FAIL, reason), *skipped),
                              (), now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


__all__ = ["CHECKS", "PresentationReport", "PresentationVerifier", "unreadable_presentation"]
