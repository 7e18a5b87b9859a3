"""Europass Digital Credentials (ELM 3 JSON-LD): the one mapping table, and a reader into the EU elements layout.

``MAPPING`` is the one table that says where each of the 16 EU elements lives in an anchorcred credential and in a
Europass Digital Credential (EDC). The issuer's export (``issuer/europass.py``) writes by it, ``read_edc`` reads by
it, and docs/europass.md shows it (a test holds the three together: export, read back, same 16 elements).

How reading works without the official context: an EDC names the context ``http://data.europa.eu/snb/model/context/
edc-ap``, which this project neither ships nor fetches. Its terms are fixed by that published context, so the reader
reads the *compact* JSON by those term names (``credentialSubject.hasClaim.specifiedBy.eqfLevel`` …) without JSON-LD
expansion. That is only sound when no other context can redefine a term: the reader accepts exactly the VC 1.1 or
2.0 context plus ``edc-ap`` and refuses any other or inline context with an error that says so. It reads; it does not
verify (an EDC is sealed with JAdES, which this verifier does not check). The result is the anchorcred layout
(docs/eu-elements.md), so ``find_eu_element_problems``, ``eu_elements_summary`` and the recognition scorecard work
on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.countries import alpha2_of_iri
from verifier.errors import InvalidInputError
from verifier.euelements import EXTENSION_CONTEXT_URL

EDC_CONTEXT = "http://data.europa.eu/snb/model/context/edc-ap"
VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
EDC_TYPE = "EuropeanDigitalCredential"
MAX_ITEMS = 200  # list members read per property: far above a real credential

CS = "credentialSubject"
ACH = "credentialSubject.achievement"
CLAIM = "credentialSubject.hasClaim"
QUAL = "credentialSubject.hasClaim.specifiedBy"
ASSESS = "credentialSubject.hasClaim.provenBy"


@dataclass(frozen=True)
class Mapping:
    """One EU element: where it is in an anchorcred credential and in an EDC, and its ELM 3 property."""

    n: int
    element: str  # verifier.euelements.EU_ELEMENTS id
    anchorcred: str
    edc: str
    elm: str


MAPPING: tuple[Mapping, ...] = (
    Mapping(1, "learner", f"{CS}.id; {CS}.identifier[] (name; hashed e-mail)",
            f"{CS}.id; {CS}.fullName; {CS}.identifier[] (Identifier: notation = hash, schemeName)",
            "cred:credentialSubject, foaf:fullName, adms:identifier"),
    Mapping(2, "title", f"{ACH}.name, {ACH}.title", f"{CLAIM}.title, {QUAL}.title", "dc:title"),
    Mapping(3, "country", "issuer.address.addressCountryCode, .addressRegion",
            "issuer.location.address.countryCode (EU country authority, alpha-3), issuer.location.geographicName",
            "elm:countryCode, elm:geographicName"),
    Mapping(4, "awarding_body", "issuer (id, name, url)",
            "issuer (Organisation: id, legalName, homepage, eIDASIdentifier); "
            f"{CLAIM}.awardedBy.awardingBody", "cred:issuer, elm:awardingBody"),
    Mapping(5, "date_of_issuing", "validFrom", f"issued, validFrom, {CLAIM}.awardedBy.awardingDate",
            "cred:issued, elm:awardingDate"),
    Mapping(6, "workload", f"{ACH}.creditsAvailable, .creditPoint, .volumeOfLearning",
            f"{QUAL}.creditPoint (framework, point), {QUAL}.volumeOfLearning",
            "elm:creditPoint, elm:volumeOfLearning"),
    Mapping(7, "level", f"{ACH}.alignment[] targetUrl eqf/N, {ACH}.nqfLevel", f"{QUAL}.eqfLevel, {QUAL}.nqfLevel",
            "elm:eqfLevel, elm:nqfLevel"),
    Mapping(8, "learning_outcomes", f"{ACH}.learningOutcome[] (title, relatedESCOSkill)",
            f"{QUAL}.learningOutcome[] (title, relatedESCOSkill)", "elm:learningOutcome, elm:relatedESCOSkill"),
    Mapping(9, "participation", f"{ACH}.mode", f"{QUAL}.mode", "elm:mode"),
    Mapping(10, "assessment", f"{ACH}.provenBy (title, dcType, mode)",
            f"{ASSESS}.title, {ASSESS}.specifiedBy (LearningAssessmentSpecification: title, dcType, mode)",
            "elm:provenBy, elm:specifiedBy, dc:type, elm:mode"),
    Mapping(11, "quality_assurance", f"{ACH}.accreditation",
            "issuer.accreditation (title, dcType, accreditingAgent, homepage)", "elm:accreditation"),
    Mapping(12, "prerequisites", f"{ACH}.entryRequirement", f"{QUAL}.entryRequirement", "elm:entryRequirement"),
    Mapping(13, "supervision", f"{ACH}.provenBy.idVerification", f"{ASSESS}.idVerification", "elm:idVerification"),
    Mapping(14, "grade", f"{CS}.result[0].value", f"{ASSESS}.grade (Note)", "elm:grade"),
    Mapping(15, "stackability", f"{ACH}.isPartialQualification, .isPartOf[]",
            f"{QUAL}.isPartialQualification, {QUAL}.isPartOf[]", "elm:isPartialQualification, elm:isPartOf"),
    Mapping(16, "further_information", f"{ACH}.additionalNote[], .homepage",
            f"{QUAL}.additionalNote[], {QUAL}.homepage (WebResource)", "elm:additionalNote, foaf:homepage"),
)


# ── small readers ────────────────────────────────────────────────────────────────────────────────────────────

def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    if value is None:
        return []
    return (value if isinstance(value, list) else [value])[:MAX_ITEMS]


def _first(value: Any) -> dict:
    items = [v for v in _list(value) if isinstance(v, dict)]
    return items[0] if items else {}


def _id(value: Any) -> str | None:
    """The IRI of a node reference: a Concept object's ``id``, or the string itself (``@type: @id`` terms)."""
    if isinstance(value, str):
        return value
    node = _first(value)
    return node.get("id") if isinstance(node.get("id"), str) else None


def _lang(value: Any) -> dict[str, str] | None:
    """A language map as written ({"en": "…"}), or None. ELM langStrings may hold a list per language: first one."""
    if not isinstance(value, dict) or not value:
        return None
    out = {}
    for tag, text in value.items():
        text = text[0] if isinstance(text, list) and text else text
        if isinstance(text, str):
            out[tag] = text
    return out or None


def _primary(value: dict[str, str] | None, language: str) -> str | None:
    if not value:
        return None
    return value.get(language) or value.get("en") or next(iter(value.values()))


def _note(node: Any) -> dict | None:
    text = _lang(_first(node).get("noteLiteral"))
    return {"type": ["Note"], "noteLiteral": text} if text else None


def _set(target: dict, key: str, value: Any) -> None:
    if value not in (None, [], {}):
        target[key] = value


def _check_envelope(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise InvalidInputError(f"Europass credential: expected a JSON object, got {type(doc).__name__}")
    contexts = _list(doc.get("@context"))
    if EDC_CONTEXT not in contexts:
        raise InvalidInputError(f"Europass credential: @context must name {EDC_CONTEXT}, got {doc.get('@context')!r:.200}")
    others = [c for c in contexts if c not in (EDC_CONTEXT, VC1_CONTEXT, VC2_CONTEXT)]
    if others:
        # Another context could redefine the edc-ap terms this reader goes by (it reads the compact form).
        raise InvalidInputError(f"Europass credential: only the VC and edc-ap contexts can be read without expansion, "
                                f"got also {others!r:.200}")
    if EDC_TYPE not in _list(doc.get("type")):
        raise InvalidInputError(f"Europass credential: type must include {EDC_TYPE}, got {doc.get('type')!r:.200}")


# ── the reader ─────────────────────────────────────────────────────────────────────────────────────────────

def read_edc(doc: Any) -> dict[str, Any]:
    """The EU elements of a Europass Digital Credential, in the anchorcred layout (docs/eu-elements.md).

    Absent elements stay absent (``find_eu_element_problems`` then names them). InvalidInputError when the
    document is not an EDC this reader can read (see the module docstring).
    """
    _check_envelope(doc)
    issuer_node = _dict(doc.get("issuer"))
    subject = _first(doc.get(CS))
    claim = next((c for c in map(_dict, _list(subject.get("hasClaim"))) if "LearningAchievement" in _list(c.get("type"))),
                 _first(subject.get("hasClaim")))
    qual = _first(claim.get("specifiedBy"))
    assessment = _first(claim.get("provenBy"))
    spec = _first(assessment.get("specifiedBy"))
    title = _lang(claim.get("title")) or _lang(qual.get("title"))
    language = next(iter(title)) if title else "en"

    issuer: dict[str, Any] = {"type": ["Profile"]}
    _set(issuer, "id", issuer_node.get("id"))
    _set(issuer, "name", _primary(_lang(issuer_node.get("legalName")), language))
    _set(issuer, "url", _dict(_first(issuer_node.get("homepage"))).get("contentURL"))
    location = _first(issuer_node.get("location"))
    address: dict[str, Any] = {"type": ["Address"]}
    _set(address, "addressCountryCode", alpha2_of_iri(_id(_first(location.get("address")).get("countryCode")) or ""))
    _set(address, "addressRegion", _primary(_lang(location.get("geographicName")), language))
    if len(address) > 1:
        issuer["address"] = address

    achievement: dict[str, Any] = {"type": ["Achievement"]}
    _set(achievement, "id", qual.get("id"))
    _set(achievement, "name", _primary(title, language))
    _set(achievement, "title", title)
    _set(achievement, "inLanguage", language)
    credit = _first(qual.get("creditPoint"))
    point = credit.get("point")
    try:
        points = float(point) if point is not None else None
    except (TypeError, ValueError):
        points = None
    _set(achievement, "creditsAvailable", points)
    if credit:
        _set(achievement, "creditPoint", {"type": ["CreditPoint"], "framework": _id(credit.get("framework")),
                                          "point": point})
    _set(achievement, "volumeOfLearning", qual.get("volumeOfLearning"))
    eqf = _id(qual.get("eqfLevel"))
    alignments = []
    if eqf:
        alignments.append({"type": ["Alignment"], "targetUrl": eqf, "targetType": "ext:EQFLevel"})
    outcomes = []
    for o in map(_dict, _list(qual.get("learningOutcome"))):
        outcome: dict[str, Any] = {"type": ["LearningOutcome"]}
        _set(outcome, "title", _lang(o.get("title")))
        skill = _id(o.get("relatedESCOSkill"))
        _set(outcome, "relatedESCOSkill", skill)
        outcomes.append(outcome)
        if skill:
            alignments.append({"type": ["Alignment"], "targetUrl": skill, "targetType": "ceasn:Competency",
                               "targetName": _primary(_lang(_first(o.get("relatedESCOSkill")).get("prefLabel")),
                                                      language) or skill})
    _set(achievement, "alignment", alignments)
    _set(achievement, "nqfLevel", _id(qual.get("nqfLevel")))
    _set(achievement, "learningOutcome", outcomes)
    _set(achievement, "mode", _id(qual.get("mode")))
    if assessment or spec:
        proven: dict[str, Any] = {"type": ["LearningAssessmentSpecification"]}
        _set(proven, "title", _lang(spec.get("title")) or _lang(assessment.get("title")))
        _set(proven, "dcType", _id(spec.get("dcType")) or _id(assessment.get("dcType")))
        _set(proven, "mode", _id(spec.get("mode")))
        _set(proven, "idVerification", _id(assessment.get("idVerification")))
        achievement["provenBy"] = proven
    acc = _first(issuer_node.get("accreditation")) or _first(qual.get("accreditation"))
    if acc:
        agent = _first(acc.get("accreditingAgent"))
        accreditation: dict[str, Any] = {"type": ["Accreditation"]}
        _set(accreditation, "title", _lang(acc.get("title")))
        _set(accreditation, "dcType", _id(acc.get("dcType")))
        if agent:
            accreditation["accreditingAgent"] = {"id": agent.get("id"), "type": ["Organisation"],
                                                 "legalName": _lang(agent.get("legalName"))}
        _set(accreditation, "homepage", _first(acc.get("homepage")).get("contentURL") or _id(acc.get("homepage")))
        achievement["accreditation"] = accreditation
    _set(achievement, "entryRequirement", _note(qual.get("entryRequirement")))
    if "isPartialQualification" in qual:
        achievement["isPartialQualification"] = qual["isPartialQualification"]
    _set(achievement, "isPartOf", [{"id": p.get("id"), "type": ["Qualification"], "title": _lang(p.get("title"))}
                                   for p in map(_dict, _list(qual.get("isPartOf")))])
    _set(achievement, "additionalNote", [n for n in (_note(x) for x in _list(qual.get("additionalNote"))) if n])
    _set(achievement, "homepage", _first(qual.get("homepage")).get("contentURL") or None)

    learner: dict[str, Any] = {"type": ["AchievementSubject"]}
    _set(learner, "id", subject.get("id"))
    identifiers = []
    for ident in map(_dict, _list(subject.get("identifier"))):
        notation = ident.get("notation")
        if isinstance(notation, str) and notation.startswith("sha256$"):
            salt = str(ident.get("schemeName", "")).rpartition("salt ")[2].rstrip(")") or None
            identifiers.append({"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                                "identityHash": notation, "salt": salt})
    name = _primary(_lang(subject.get("fullName")), language)
    if name:
        identifiers.append({"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": name})
    _set(learner, "identifier", identifiers)
    learner["achievement"] = achievement
    grade = _note(assessment.get("grade"))
    if grade:
        learner["result"] = [{"type": ["Result"], "value": _primary(grade["noteLiteral"], language)}]

    out: dict[str, Any] = {"@context": [VC2_CONTEXT, OB3_CONTEXT, EXTENSION_CONTEXT_URL],
                           "type": ["VerifiableCredential", "OpenBadgeCredential"]}
    _set(out, "id", doc.get("id"))
    out["issuer"] = issuer
    _set(out, "validFrom", doc.get("validFrom") or doc.get("issued")
         or _first(claim.get("awardedBy")).get("awardingDate"))
    _set(out, "validUntil", doc.get("validUntil"))
    out[CS] = learner
    return out
