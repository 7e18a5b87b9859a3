"""Issuer trust: the accreditation chain TI -> TAO -> RootTAO in the trust registry, judged on values (no I/O).

The registry (EBSI's Trusted Issuers Registry) holds, per issuer, attributes whose body is an accreditation: a signed
credential (JWT, VCDM 1.1) issued by the accreditor to the issuer, naming what it may issue (``accreditedFor``: schema,
types, jurisdiction) and for how long. The registry's word alone proves nothing (whoever runs it could write any
body), so each link is checked here as a credential of its own:

    1. the attribute is not revoked, and holds an accreditation of the kind its place needs (TI: ToAttest; TAO: ToAccredit)
    2. the accreditation is about this issuer and reserved for this attribute (credentialSubject.id, reservedAttributeId)
    3. its signature verifies with a key of the accreditor's DID document in the DID Registry (assertionMethod)
    4. it was valid at the credential's anchoring time (validFrom / expirationDate; a thief cannot backdate an anchor)
    5. its ``accreditedFor`` covers the credential: its types (and schema, when the credential names one), and the
       issuer's country in ``limitJurisdiction``
    6. its issuer may accredit that kind: a TI is accredited by a TAO, a TAO by a RootTAO (LINKS below); the walk goes
       on from the accreditor's own accreditation (the one its ``termsOfUse`` names) until a configured root.

The first failing step ends the walk with its reason; among several accreditations of one issuer, any complete chain
passes, else the failure that got furthest is reported.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from verifier.checks import Evidence
from verifier.did import did_of, has_relationship, verification_method
from verifier.document import ParsedCredential
from verifier.jurisdiction import ALPHA3, covers, readable
from verifier.jwtvc import CredentialJwt, JwtFormatError, decode_credential_jwt, timestamp_of, verify_jwt_signature
from verifier.report import CheckResult, Status
from verifier.trustregistry import TIR_PATH, TirAttribute, TrustEvidence, normalize_attribute_id

TO_ATTEST = "VerifiableAccreditationToAttest"
TO_ACCREDIT = "VerifiableAccreditationToAccredit"
GENERIC_TYPES = frozenset({"VerifiableCredential", "VerifiableAttestation"})
# accreditation kind -> (the registry issuer type of the attribute holding it, the type its issuer must hold)
LINKS = {TO_ATTEST: ("TI", "TAO"), TO_ACCREDIT: ("TAO", "RootTAO")}
MAX_LINKS = 6


@dataclass(frozen=True)
class TrustScope:
    """What the credential needs its issuer to be accredited for."""

    types: frozenset[str]  # the credential's own types (VerifiableCredential / VerifiableAttestation left out)
    schema_ids: tuple[str, ...]  # its credentialSchema ids (may be empty: then types alone are matched)
    country: str | None  # the issuer's country, ISO 3166-1 alpha-2

    def describe(self) -> str:
        schema = f" under schema {', '.join(self.schema_ids)}" if self.schema_ids else ""
        return f"{', '.join(sorted(self.types)) or 'no specific type'}{schema} in {self.country or 'no stated country'}"


def scope_of(document: Mapping[str, Any]) -> TrustScope:
    """The scope of a credential: its types, schema ids and issuer country (OB 3.0 ``issuer.address``)."""
    types = document.get("type")
    types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    schemas = document.get("credentialSchema")
    schemas = [schemas] if isinstance(schemas, dict) else schemas if isinstance(schemas, list) else []
    issuer = document.get("issuer")
    address = issuer.get("address") if isinstance(issuer, Mapping) else None
    country = address.get("addressCountryCode") if isinstance(address, Mapping) else None
    return TrustScope(
        frozenset(t for t in types if isinstance(t, str)) - GENERIC_TYPES,
        tuple(s["id"] for s in schemas if isinstance(s, Mapping) and isinstance(s.get("id"), str)),
        country if isinstance(country, str) else None,
    )


@dataclass(frozen=True)
class Link:
    """One verified accreditation: ``subject`` holds it in attribute ``attribute_id`` as ``role``, from ``accreditor``."""

    subject: str
    role: str  # TI or TAO
    attribute_id: str
    accreditor: str


@dataclass(frozen=True)
class TrustOutcome:
    ok: bool
    reason: str
    links: tuple[Link, ...] = ()  # the verified links, from the issuer up (all of them when ok)
    root: str | None = None

    def chain(self) -> str:
        """'did:ebsi:uni (TI) ← did:ebsi:agency (TAO) ← did:ebsi:ministry (RootTAO)'."""
        parts = [f"{link.subject} ({link.role})" for link in self.links]
        if self.root:
            parts.append(f"{self.root} (RootTAO)")
        return " ← ".join(parts)


def _short(attribute_id: str) -> str:
    return attribute_id[:10] + "…"


def _when(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _types_of(jwt: CredentialJwt) -> list[str]:
    return [t for t in _listed(jwt.vc.get("type")) if isinstance(t, str)]


def _covering(entries: list[Any], scope: TrustScope) -> tuple[list[Mapping[str, Any]], str | None]:
    """The accreditedFor entries that cover the scope, or why none does (type/schema first, then jurisdiction)."""
    well_formed = [e for e in entries if isinstance(e, Mapping) and isinstance(e.get("types"), list)]
    by_type = [
        e for e in well_formed
        if scope.types <= set(e["types"]) and (not scope.schema_ids or e.get("schemaId") in scope.schema_ids)
    ]
    if not by_type:
        offered = "; ".join(
            f"{', '.join(t for t in e['types'] if t not in GENERIC_TYPES) or 'generic types only'}"
            f" (schema {e.get('schemaId', 'none')})" for e in well_formed
        ) or "nothing"
        return [], f"out of scope: accredited for {offered}; the credential is {scope.describe()}"
    if scope.country is None or scope.country not in ALPHA3:
        return [], f"jurisdiction: the credential names no ISO 3166-1 issuer country (got {scope.country!r})"
    in_place = [
        e for e in by_type
        if any(isinstance(j, str) and covers(j, scope.country) for j in _listed(e.get("limitJurisdiction")))
    ]
    if not in_place:
        limits = [j for e in by_type for j in _listed(e.get("limitJurisdiction")) if isinstance(j, str)]
        return [], (
            f"jurisdiction: accredited for {readable(limits)}, but the issuer's country is "
            f"{scope.country} ({ALPHA3[scope.country]})"
        )
    return in_place, None


def _terms_of_use_attribute(jwt: CredentialJwt, accreditor: str) -> tuple[str | None, str | None]:
    """(attribute id the accreditation's termsOfUse names for its accreditor, or a reason it names something else)."""
    for term in _listed(jwt.vc.get("termsOfUse")):
        link = term.get("id") if isinstance(term, Mapping) else None
        if not isinstance(link, str) or TIR_PATH + "/" not in link:
            continue
        owner, _, attribute = link.split(TIR_PATH + "/", 1)[1].partition("/attributes/")
        if owner != accreditor:
            return None, f"termsOfUse names an accreditation of {owner}, but {accreditor} signed this one"
        return normalize_attribute_id(attribute), None
    return None, None


class _Walk:
    """One evaluation: the evidence, the scope, the reference time and the roots, fixed for every link."""

    def __init__(self, evidence: TrustEvidence, scope: TrustScope, at: datetime, roots: Collection[str]):
        self.ev, self.scope, self.at, self.roots = evidence, scope, at, frozenset(roots)

    def issuer(self, did: str, kind: str, via: str | None, depth: int) -> TrustOutcome:
        """Whether ``did`` holds a valid accreditation of ``kind`` (in attribute ``via``, when named) up to a root."""
        role = LINKS[kind][0]
        if depth >= MAX_LINKS:
            return TrustOutcome(False, f"chain longer than {MAX_LINKS} links at {did}: not followed further")
        if did not in self.ev.attributes:
            return TrustOutcome(False, f"{did} was not read from the registry (more than the read limits allow)")
        held = self.ev.attributes[did]
        if held is None:
            return TrustOutcome(False, f"{did} is not registered in the trust registry")
        candidates = [a for a in held if via is None or a.attribute_id == via]
        if via is not None and not candidates:
            return TrustOutcome(False, f"{did} has no attribute {_short(via)} in the registry (named by termsOfUse)")
        fitting = [a for a in candidates if a.issuer_type == role or (a.issuer_type == "Revoked" and self._holds(a, kind))]
        if not fitting:
            listed = ", ".join(sorted({a.issuer_type for a in held})) or "no attributes"
            what = "holds no TI accreditation" if role == "TI" else "may not accredit TIs: it holds no TAO accreditation"
            return TrustOutcome(False, f"{did} {what} in the registry (it has: {listed})")
        best: TrustOutcome | None = None
        for attribute in fitting:
            outcome = self.link(attribute, kind, depth)
            if outcome.ok:
                return outcome
            if best is None or len(outcome.links) > len(best.links):
                best = outcome
        assert best is not None
        return best

    @staticmethod
    def _holds(attribute: TirAttribute, kind: str) -> bool:
        try:
            return kind in _types_of(decode_credential_jwt(attribute.body))
        except JwtFormatError:
            return False

    def link(self, a: TirAttribute, kind: str, depth: int) -> TrustOutcome:
        role, needed = LINKS[kind]
        name = f"{a.did}'s {role} accreditation {_short(a.attribute_id)}"
        if a.issuer_type == "Revoked":
            return TrustOutcome(False, f"revoked: {name} is revoked in the registry (issuerType Revoked)")
        if not a.body:
            return TrustOutcome(False, f"{name} is reserved but holds no accreditation credential")
        try:
            jwt = decode_credential_jwt(a.body)
        except JwtFormatError as exc:
            return TrustOutcome(False, f"{name}: not an accreditation credential ({exc})")
        if kind not in _types_of(jwt):
            return TrustOutcome(False, f"{name} is a {', '.join(_types_of(jwt))}, expected a {kind}")
        subject = jwt.vc.get("credentialSubject")
        subject = subject if isinstance(subject, Mapping) else {}
        if subject.get("id") != a.did:
            return TrustOutcome(False, f"{name} accredits {subject.get('id')!r}, not {a.did}")
        reserved = normalize_attribute_id(subject.get("reservedAttributeId"))
        if reserved != a.attribute_id:
            return TrustOutcome(False, f"{name} is reserved for attribute {subject.get('reservedAttributeId')!r}, not this one")
        accreditor = jwt.issuer
        if not accreditor or jwt.claims.get("iss") != accreditor or did_of(jwt.kid) != accreditor:
            return TrustOutcome(False, f"{name}: issuer {accreditor!r}, iss {jwt.claims.get('iss')!r} and kid {jwt.kid} disagree")
        problem = self._signature(jwt, accreditor, name) or self._dates(jwt, name)
        if problem:
            return TrustOutcome(False, problem)
        _, scope_problem = _covering(_listed(subject.get("accreditedFor")), self.scope)
        if scope_problem:
            return TrustOutcome(False, f"{scope_problem} ({name}, by {accreditor})")
        here = (Link(a.did, role, a.attribute_id, accreditor),)
        if needed == "RootTAO":
            if accreditor not in self.roots:
                trusted = ", ".join(sorted(self.roots))
                return TrustOutcome(False, f"no path to a configured root: {name} comes from {accreditor}, which is not "
                                           f"a trusted root (trusted: {trusted})", here)
            rooted = self.ev.attributes.get(accreditor) or ()
            if not any(r.issuer_type == "RootTAO" for r in rooted):
                listed = ", ".join(sorted({r.issuer_type for r in rooted})) or "not registered"
                return TrustOutcome(False, f"{accreditor} may not accredit TAOs: the registry lists it as {listed}", here)
            return TrustOutcome(True, "", here, accreditor)
        if accreditor in self.roots:
            return TrustOutcome(False, f"{name} comes straight from the root {accreditor}: a TI must be accredited by a "
                                       f"TAO (RootTAO → TAO → TI)", here)
        via, terms_problem = _terms_of_use_attribute(jwt, accreditor)
        if terms_problem:
            return TrustOutcome(False, f"{name}: {terms_problem}", here)
        above = self.issuer(accreditor, TO_ACCREDIT, via, depth + 1)
        return TrustOutcome(above.ok, above.reason, here + above.links, above.root)

    def _signature(self, jwt: CredentialJwt, accreditor: str, name: str) -> str | None:
        if accreditor not in self.ev.did_documents:
            return f"{name}: the DID document of {accreditor} was not read (more than the read limits allow)"
        document = self.ev.did_documents[accreditor]
        if document is None:
            return f"{name}: its issuer {accreditor} is not in the DID Registry, so its signature cannot be checked"
        method = verification_method(document, jwt.kid)
        if method is None or not has_relationship(document, jwt.kid, "assertionMethod"):
            return f"forged: {name} is signed with {jwt.kid}, which is not an assertionMethod of {accreditor}"
        jwk = method.get("publicKeyJwk")
        if not isinstance(jwk, Mapping):
            return f"{name}: key {jwt.kid} carries no publicKeyJwk"
        try:
            valid = verify_jwt_signature(jwt, jwk)
        except JwtFormatError as exc:
            return f"{name}: {exc}"
        if not valid:
            return f"forged: the signature of {name} does not verify with {jwt.kid} (changed after signing, or another key signed it)"
        return None

    def _dates(self, jwt: CredentialJwt, name: str) -> str | None:
        vc = jwt.vc
        start = timestamp_of(vc.get("validFrom") or vc.get("issuanceDate"))
        end_raw = vc.get("expirationDate") or vc.get("validUntil")
        end = timestamp_of(end_raw)
        if start is None:
            return f"{name}: validFrom/issuanceDate is not a date-time ({vc.get('validFrom')!r})"
        if end_raw is not None and end is None:
            return f"{name}: expirationDate is not a date-time ({end_raw!r})"
        if self.at < start:
            return f"not yet valid: {name} is valid from {_when(start)}, after the anchoring time {_when(self.at)}"
        if end is not None and self.at > end:
            return f"expired: {name} was valid until {_when(end)}, before the anchoring time {_when(self.at)}"
        return None


def evaluate_trust(
    evidence: TrustEvidence, issuer_did: str, scope: TrustScope, *, at: datetime, roots: Collection[str]
) -> TrustOutcome:
    """Whether ``issuer_did`` is accredited for ``scope`` at time ``at`` through a chain that ends at one of ``roots``."""
    if not roots:
        raise ValueError("evaluate_trust needs at least one trusted root")
    return _Walk(evidence, scope, at, roots).issuer(issuer_did, TO_ATTEST, None, 0)


TITLE = "Issuer accreditation"


def check_issuer_trust(cred: ParsedCredential, ev: Evidence, anchor: CheckResult) -> CheckResult:
    """DESIGN.md "Verification": after the anchor (whose time it judges at), before status."""
    if not ev.trust_roots:
        return CheckResult("issuer_trust", TITLE, Status.SKIPPED,
                           "not requested: no trusted root configured, the issuer's accreditation was not checked",
                           counts=False)
    if cred.issuer_id is None:
        return CheckResult("issuer_trust", TITLE, Status.SKIPPED, "the credential names no issuer (see format)")
    if anchor.status is not Status.PASS or ev.anchor is None:
        return CheckResult("issuer_trust", TITLE, Status.SKIPPED,
                           "anchoring time not established (see anchor): accreditations are judged at that time")
    if ev.trust is None:
        return CheckResult("issuer_trust", TITLE, Status.INDETERMINATE,
                           f"trust registry unavailable: {ev.trust_error or 'not read'}")
    scope = scope_of(cred.document)
    at = ev.anchor.block_time
    outcome = evaluate_trust(ev.trust, cred.issuer_id, scope, at=at, roots=ev.trust_roots)
    if not outcome.ok:
        return CheckResult("issuer_trust", TITLE, Status.FAIL, outcome.reason)
    return CheckResult(
        "issuer_trust", TITLE, Status.PASS,
        f"accredited for {scope.describe()} at the anchoring time {_when(at)}: {outcome.chain()}; every accreditation "
        f"signed, in scope and valid ({ev.trust.source})",
    )
