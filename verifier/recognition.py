"""The recognition scorecard: the seven questions an admissions office or employer asks of a micro-credential.

After the Nuffic traffic-light model for recognising micro-credentials: quality, authenticity, level, learning
outcomes, workload, assessment and identity, each scored 0–3, with the evidence read and a one-line reason; plus
whether every mandatory EU element (Council Recommendation 2022/C 243/02, Annex I) is present and well formed.

The rules live in one place, ``RULES`` below (one ``Rule`` per criterion: what each score means, in words), and the
same table is in docs/recognition.md (a test holds the two equal). Each criterion reads one EU element, so a
credential that differs in one element changes one criterion (authenticity reads the report's checks instead).

Pure: a Report and the credential document in, a Scorecard out. The document is read in the anchorcred layout
(docs/eu-elements.md); a Europass credential is read into that layout first by ``verifier.elm``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from verifier.euelements import (
    ACCREDITATION_LABELS, ACCREDITATION_SCHEME, ASSESSMENT_TYPE_LABELS, ECTS_IRI, EQF_IRI_RE, EQF_PREFIX,
    ESCO_SKILL_RE, MODE_LABELS, SUPERVISION_SCHEME, as_dict, as_list, find_eu_element_problems,
)
from verifier.report import Report, Status

__all__ = ["Criterion", "Rule", "RULES", "Scorecard", "LIGHTS", "SUPERVISION_MEANING", "scorecard"]

# A score in words and as a traffic light: the page and the PDF print both, so colour is never the only signal.
LIGHTS = {3: ("green", "fully evidenced"), 2: ("amber", "partly evidenced"), 1: ("red", "weakly evidenced"),
          0: ("red", "no evidence")}
TRUST_CHECK_ID = "issuer_trust"  # the accreditation check of the trust registry (EBSI work), when it exists
AUTHENTICITY_CHECKS = ("signature", "integrity", "merkle_inclusion", "anchor")

# What a supervision concept says: (assessment supervised?, identity verified?). Only concepts whose IRI and meaning
# we could confirm (docs/eu-elements.md, "Supervision"); any other concept is reported as not interpreted (score 0).
SUPERVISION_MEANING: dict[str, tuple[bool, bool]] = {
    SUPERVISION_SCHEME + "c598449d64": (False, False),  # unsupervised, without identity verification
    SUPERVISION_SCHEME + "df2880c5cb": (False, True),  # unsupervised, with identity verification
}


@dataclass(frozen=True)
class Rule:
    """One criterion of the scorecard: the Annex I element it reads and what each score means."""

    id: str
    title: str
    reads: str  # the EU element or the checks it is scored from
    levels: tuple[str, str, str, str]  # meaning of score 3, 2, 1, 0 (in this order)

    def meaning(self, score: int) -> str:
        return self.levels[3 - score]


RULES: tuple[Rule, ...] = (
    Rule("quality", "Quality assurance", "quality assurance (element 11)", (
        "external quality assurance by a named accrediting agent, with a Europass accreditation type",
        "quality assurance by a named accrediting agent, accreditation type not given in a Europass vocabulary",
        "quality assurance stated, but the accrediting agent is not identified (id and legal name)",
        "no quality assurance stated")),
    Rule("authenticity", "Authenticity", "the checks: signature, integrity, Merkle inclusion, anchor, issuer trust", (
        "issuer's signature, integrity and ledger anchor verified, and the issuer is accredited (issuer trust check)",
        "signature, integrity and anchor verified; the issuer's accreditation not checked or not confirmed",
        "issuer's signature verified, but the anchor could not be confirmed",
        "signature, integrity or anchor failed, or the signature could not be checked")),
    Rule("level", "Level", "level, EQF/NQF (element 7)", (
        "EQF level given as a controlled Europass IRI (http://data.europa.eu/snb/eqf/1…8)",
        "only a national (NQF) level, given as an IRI",
        "a level given only as free text (not a controlled IRI)",
        "no level")),
    Rule("learning_outcomes", "Learning outcomes", "learning outcomes (element 8)", (
        "every learning outcome aligned to an ESCO skill IRI",
        "learning outcomes given, some aligned to ESCO skill IRIs",
        "learning outcomes as free text only",
        "no learning outcomes")),
    Rule("workload", "Workload", "notional workload (element 6)", (
        "ECTS credits given (credit points in the ECTS framework)",
        "credits given, but not stated to be ECTS",
        "only hours of learning, no credits",
        "no workload")),
    Rule("assessment", "Assessment", "type of assessment (element 10)", (
        "type of assessment from a known vocabulary, with a description",
        "type of assessment as an IRI this verifier does not know, or without a description",
        "assessment described in free text only",
        "no assessment stated")),
    Rule("identity", "Identity verification", "supervision and identity verification (element 13)", (
        "supervised assessment with identity verification",
        "identity verified, assessment unsupervised",
        "no identity verification during assessment",
        "not stated, or a supervision concept this verifier cannot interpret")),
)
RULE = {r.id: r for r in RULES}


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    score: int  # 0..3
    evidence: tuple[str, ...]  # what was read, as "path = value" or "check: status"
    reason: str  # one line: why this score

    @property
    def light(self) -> str:
        return LIGHTS[self.score][0]

    @property
    def words(self) -> str:
        return LIGHTS[self.score][1]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "score": self.score, "max": 3, "light": self.light,
                "words": self.words, "evidence": list(self.evidence), "reason": self.reason}


@dataclass(frozen=True)
class Scorecard:
    criteria: tuple[Criterion, ...]
    elements_ok: bool  # every mandatory EU element present and well formed
    element_problems: tuple[str, ...]

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    @property
    def total(self) -> int:
        return sum(c.score for c in self.criteria)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "Nuffic traffic-light model (seven criteria, 0-3 each); rules: docs/recognition.md",
            "criteria": [c.to_json() for c in self.criteria],
            "total": self.total,
            "max": 3 * len(self.criteria),
            "eu_elements": {"status": "pass" if self.elements_ok else "fail",
                            "reason": ("all mandatory EU elements present and well formed" if self.elements_ok
                                       else "; ".join(self.element_problems)),
                            "problems": list(self.element_problems)},
        }


# ── readers (tolerant: a credential may come from anywhere; as_dict/as_list from verifier.euelements) ─────────

def _subject(doc: dict) -> dict:
    subjects = as_list(doc.get("credentialSubject"))
    return as_dict(subjects[0]) if subjects else {}


def _achievement(doc: dict) -> dict:
    return as_dict(_subject(doc).get("achievement"))


def _iri(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict) and value:
        first = value.get("en", next(iter(value.values())))
        return first.strip() if isinstance(first, str) else ""
    return ""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _short(value: Any, limit: int = 90) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


A = "credentialSubject.achievement"


# ── the criteria: one function each, (score, evidence, reason) ───────────────────────────────────────────────

def _quality(doc: dict, _: Report | None) -> tuple[int, list[str], str]:
    acc = _achievement(doc).get("accreditation")
    if not isinstance(acc, dict):
        return 0, [], f"{A}.accreditation is absent"
    agent = as_dict(acc.get("accreditingAgent"))
    name, agent_id, kind = _text(agent.get("legalName")), agent.get("id"), acc.get("dcType")
    evidence = [f"{A}.accreditation.title = {_short(_text(acc.get('title')))}"]
    if agent:
        evidence.append(f"{A}.accreditation.accreditingAgent = {name or '?'} ({agent_id or 'no id'})")
    if kind is not None:
        evidence.append(f"{A}.accreditation.dcType = {kind}")
    if acc.get("homepage"):
        evidence.append(f"{A}.accreditation.homepage = {acc['homepage']}")
    if not (name and _iri(agent_id)):
        return 1, evidence, "quality assurance stated, but the accrediting agent has no id and legal name"
    if isinstance(kind, str) and kind.startswith(ACCREDITATION_SCHEME):
        label = ACCREDITATION_LABELS.get(kind, "a Europass accreditation type")
        return 3, evidence, f"{label}, by {name}"
    return 2, evidence, f"accredited by {name}; the accreditation type is not a Europass concept ({kind or 'none'})"


def _authenticity(_: dict, report: Report | None) -> tuple[int, list[str], str]:
    statuses = {}
    for check in report.checks if report is not None else ():
        statuses[check.id] = check.status
    evidence = [f"check {cid}: {statuses[cid].value}" for cid in (*AUTHENTICITY_CHECKS, TRUST_CHECK_ID)
                if cid in statuses]
    failed = [cid for cid in AUTHENTICITY_CHECKS if statuses.get(cid) is Status.FAIL]
    if failed:
        return 0, evidence, f"{', '.join(failed)} failed"
    if statuses.get("signature") is not Status.PASS:
        return 0, evidence, "the issuer's signature could not be verified"
    if any(statuses.get(cid) is not Status.PASS for cid in AUTHENTICITY_CHECKS[1:]):
        open_ = [cid for cid in AUTHENTICITY_CHECKS[1:] if statuses.get(cid) is not Status.PASS]
        return 1, evidence, f"signature verified; not confirmed: {', '.join(open_)}"
    trust = statuses.get(TRUST_CHECK_ID)
    if trust is None:
        evidence.append(f"check {TRUST_CHECK_ID}: not checked")
        return 2, evidence, "signature, integrity and anchor verified; issuer accreditation not checked"
    if trust is Status.PASS:
        return 3, evidence, "signature, integrity and anchor verified; the issuer is accredited"
    if trust is Status.FAIL:
        return 2, evidence, "signature, integrity and anchor verified; the issuer is not accredited"
    return 2, evidence, f"signature, integrity and anchor verified; issuer accreditation {trust.value}"


def _level(doc: dict, _: Report | None) -> tuple[int, list[str], str]:
    a = _achievement(doc)
    eqf, text = [], []
    for n, al in enumerate(as_list(a.get("alignment"))):
        al = as_dict(al)
        url, name = al.get("targetUrl"), _text(al.get("targetName"))
        if isinstance(url, str) and EQF_IRI_RE.match(url):
            eqf.append((n, url))
        elif (isinstance(url, str) and url.startswith(EQF_PREFIX)) or "eqf" in name.lower() \
                or al.get("targetType") == "ext:EQFLevel":
            text.append(f"{A}.alignment[{n}] = {_short(name or url or al.get('targetCode'))}")
    if eqf:
        n, url = eqf[0]
        return 3, [f"{A}.alignment[{n}].targetUrl = {url}"], f"EQF level {EQF_IRI_RE.match(url).group(1)}"
    nqf = a.get("nqfLevel")
    if _iri(nqf):
        return 2, [f"{A}.nqfLevel = {nqf}"], "a national level (NQF) only, no EQF level"
    if nqf is not None:
        text.append(f"{A}.nqfLevel = {_short(nqf)}")
    if text:
        return 1, text, "a level stated as free text, not as an EQF IRI"
    return 0, [], f"no EQF alignment in {A}.alignment and no {A}.nqfLevel"


def _outcomes(doc: dict, _: Report | None) -> tuple[int, list[str], str]:
    a = _achievement(doc)
    outcomes = [as_dict(o) for o in as_list(a.get("learningOutcome"))]
    escos = [al.get("targetUrl") for al in map(as_dict, as_list(a.get("alignment")))
             if isinstance(al.get("targetUrl"), str) and ESCO_SKILL_RE.match(al["targetUrl"])]
    aligned = [o for o in outcomes if isinstance(o.get("relatedESCOSkill"), str)
               and ESCO_SKILL_RE.match(o["relatedESCOSkill"])]
    evidence = [f"{A}.learningOutcome: {len(outcomes)}, {len(aligned)} with relatedESCOSkill"]
    if escos:
        evidence.append(f"{A}.alignment: {len(escos)} ESCO skill IRI(s)")
    if not outcomes:
        if escos:
            return 2, evidence, f"{len(escos)} ESCO skill(s) aligned, no learning outcome statements"
        return 0, [], f"no {A}.learningOutcome and no ESCO alignment"
    if len(aligned) == len(outcomes):
        return 3, evidence, f"all {len(outcomes)} learning outcomes aligned to ESCO skills"
    if aligned or escos:
        return 2, evidence, f"{len(aligned)} of {len(outcomes)} learning outcomes aligned to ESCO skills"
    return 1, evidence, f"{len(outcomes)} learning outcome(s) in free text, none aligned to ESCO"


def _workload(doc: dict, _: Report | None) -> tuple[int, list[str], str]:
    a = _achievement(doc)
    credits, framework = a.get("creditsAvailable"), as_dict(a.get("creditPoint")).get("framework")
    hours = a.get("volumeOfLearning")
    evidence = [f"{A}.{k} = {v}" for k, v in (("creditsAvailable", credits), ("creditPoint.framework", framework),
                                               ("volumeOfLearning", hours)) if v is not None]
    if _number(credits) and framework == ECTS_IRI:
        return 3, evidence, f"{credits:g} ECTS credits"
    if _number(credits):
        return 2, evidence, f"{credits:g} credits, the framework is not stated as ECTS"
    if isinstance(hours, str) and re.match(r"^P(T?\d+(\.\d+)?[DHMW])+", hours):
        return 1, evidence, f"{hours} of learning, no credits"
    return 0, evidence, f"no {A}.creditsAvailable and no {A}.volumeOfLearning"


def _assessment(doc: dict, _: Report | None) -> tuple[int, list[str], str]:
    spec = _achievement(doc).get("provenBy")
    if not isinstance(spec, dict):
        return 0, [], f"{A}.provenBy is absent"
    kind, title, mode = spec.get("dcType"), _text(spec.get("title")), spec.get("mode")
    evidence = [f"{A}.provenBy.{k} = {_short(v)}" for k, v in (("dcType", kind), ("title", title),
                                                              ("mode", MODE_LABELS.get(str(mode), mode))) if v]
    if not _iri(kind):
        if title:
            return 1, evidence, "assessment described in free text, no assessment type IRI"
        return 0, evidence, "provenBy has neither a type nor a description"
    label = ASSESSMENT_TYPE_LABELS.get(kind)
    if label and title:
        return 3, evidence, f"{label}: {_short(title, 70)}"
    if label:
        return 2, evidence, f"{label}, without a description"
    return 2, evidence, f"assessment type {kind} is not in a vocabulary this verifier knows"


def _identity(doc: dict, _: Report | None) -> tuple[int, list[str], str]:
    value = as_dict(_achievement(doc).get("provenBy")).get("idVerification")
    if value is None:
        return 0, [], f"{A}.provenBy.idVerification is absent"
    evidence = [f"{A}.provenBy.idVerification = {_short(value)}"]
    meaning = SUPERVISION_MEANING.get(str(value))
    if meaning is None:
        return 0, evidence, f"supervision concept {_short(value)} is not one this verifier can interpret"
    supervised, verified = meaning
    if supervised and verified:
        return 3, evidence, "supervised assessment with identity verification"
    if verified:
        return 2, evidence, "identity verified; the assessment was unsupervised"
    return 1, evidence, ("supervised, without identity verification" if supervised
                         else "unsupervised, without identity verification")


SCORERS: dict[str, Callable[[dict, Report | None], tuple[int, list[str], str]]] = {
    "quality": _quality, "authenticity": _authenticity, "level": _level, "learning_outcomes": _outcomes,
    "workload": _workload, "assessment": _assessment, "identity": _identity,
}


def scorecard(report: Report | None, document: Any) -> Scorecard:
    """The seven criteria for this credential, in RULES order, and the EU-elements check.

    ``report`` gives the checks authenticity is scored from (None: nothing verified, authenticity 0). A document that
    is not a JSON object scores 0 everywhere.
    """
    doc = document if isinstance(document, dict) else {}
    criteria = []
    for rule in RULES:
        score, evidence, reason = SCORERS[rule.id](doc, report)
        criteria.append(Criterion(rule.id, rule.title, score, tuple(evidence), reason))
    problems = tuple(find_eu_element_problems(document))
    return Scorecard(tuple(criteria), not problems, problems)
