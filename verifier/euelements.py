"""The 16 EU standard elements of a micro-credential (Council Recommendation 2022/C 243/02, Annex I).

Where each element lives in an anchorcred ``OpenBadgeCredential`` (OB 3.0 natively, or the project's extension context
``https://anchorcred.org/contexts/eu-microcredential/v1.jsonld`` whose terms map to ELM 3 IRIs), and a pure check
that every mandatory element is present and well formed. The issuer validates the same rules on the way in (it imports
the vocabularies below); the verifier re-checks them on the way out, because a credential may come from anywhere.

Pure: values in, values out; nothing here does I/O or imports from ``issuer``. See docs/eu-elements.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

ELM = "http://data.europa.eu/snb/model/elm/"
EXTENSION_CONTEXT_URL = "https://anchorcred.org/contexts/eu-microcredential/v1.jsonld"

# ISO 3166-1 alpha-2, all 249 officially assigned codes (dumped from pycountry 26.2.16's iso3166-1.json).
COUNTRY_CODES = frozenset(
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO "
    "JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR "
    "MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO "
    "RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV "
    "TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW".split()
)

# EQF levels: Europass controlled vocabulary http://data.europa.eu/snb/eqf/25831c2 (concepts .../eqf/1 … /8).
EQF_PREFIX = "http://data.europa.eu/snb/eqf/"
EQF_IRI_RE = re.compile(r"^http://data\.europa\.eu/snb/eqf/([1-8])$")
ESCO_SKILL_RE = re.compile(
    r"^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
# ECTS in the Europass "education credit" vocabulary (as in the Commission's Annex 1 sample).
ECTS_IRI = "http://data.europa.eu/snb/education-credit/6fcec5c5af"

# Europass "Mode of learning and assessment" (http://data.europa.eu/snb/learning-assessment/25831c2), used by ELM
# elm:mode both for the form of participation and for the assessment's mode.
MODE_SCHEME = "http://data.europa.eu/snb/learning-assessment/"
MODE_LABELS = {
    MODE_SCHEME + "920fbb3cbe": "online",
    MODE_SCHEME + "9191af2ed9": "onsite (presential)",
    MODE_SCHEME + "e92d221e4d": "blended",
    MODE_SCHEME + "729f3bed4b": "work-based",
    MODE_SCHEME + "7813801c77": "project-based",
    MODE_SCHEME + "ed4c557045": "research-lab based",
}
# Europass "Methods of supervision and verification" (http://data.europa.eu/snb/supervision-verification/25831c2).
# Only concepts whose IRI and label we could confirm are named; other concepts of the scheme are accepted by IRI.
SUPERVISION_SCHEME = "http://data.europa.eu/snb/supervision-verification/"
SUPERVISION_LABELS = {
    SUPERVISION_SCHEME + "c598449d64": "unsupervised, without identity verification",
    SUPERVISION_SCHEME + "df2880c5cb": "unsupervised, with identity verification",
}
# Europass accreditation types (http://data.europa.eu/snb/accreditation/25831c2).
ACCREDITATION_SCHEME = "http://data.europa.eu/snb/accreditation/"
ACCREDITATION_LABELS = {ACCREDITATION_SCHEME + "bb4618238e": "institutional quality assurance"}
# Type of assessment: Europass publishes no list of assessment types (the Annex 1 sample uses an issuer-defined
# concept), so anchorcred defines a small one; any other absolute IRI is accepted.
ASSESSMENT_TYPE_SCHEME = "https://anchorcred.org/vocab/assessment-type#"
ASSESSMENT_TYPE_LABELS = {
    ASSESSMENT_TYPE_SCHEME + key: label
    for key, label in {
        "written-exam": "written examination",
        "oral-exam": "oral examination",
        "project": "project work",
        "portfolio": "portfolio",
        "practical": "practical demonstration",
        "continuous": "continuous assessment",
        "thesis": "thesis or dissertation",
    }.items()
}

_DID_RE = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$")
_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_HASH_RE = re.compile(r"^sha256\$[0-9a-f]{64}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class EuElement:
    """One Annex I element: where it is in the credential and which ELM 3 IRI it corresponds to."""

    id: str
    label: str
    mandatory: bool
    where: str
    elm_iri: str


EU_ELEMENTS: tuple[EuElement, ...] = (
    EuElement("learner", "Identification of the learner", True,
              "credentialSubject.id (DID) and/or credentialSubject.identifier[] (OB IdentityObject)",
              "https://www.w3.org/2018/credentials#credentialSubject"),
    EuElement("title", "Title of the micro-credential", True,
              "credentialSubject.achievement.name (+ .title language map)", "http://purl.org/dc/terms/title"),
    EuElement("country", "Country/region of the issuer", True,
              "issuer.address.addressCountryCode (ISO 3166-1 alpha-2), issuer.address.addressRegion",
              ELM + "countryCode"),
    EuElement("awarding_body", "Awarding body", True, "issuer (id = DID, name, url)", ELM + "awardingBody"),
    EuElement("date_of_issuing", "Date of issuing", True, "validFrom", ELM + "awardingDate"),
    EuElement("workload", "Notional workload (ECTS)", True,
              "credentialSubject.achievement.creditsAvailable, .creditPoint (ECTS), credentialSubject.creditsEarned",
              ELM + "creditPoint"),
    EuElement("level", "Level (EQF/NQF)", True,
              "credentialSubject.achievement.alignment[] with targetUrl http://data.europa.eu/snb/eqf/N (+ .nqfLevel)",
              ELM + "EQFLevel"),
    EuElement("learning_outcomes", "Learning outcomes", True,
              "credentialSubject.achievement.learningOutcome[] and alignment[] to ESCO skills",
              ELM + "learningOutcome"),
    EuElement("participation", "Form of participation", True, "credentialSubject.achievement.mode", ELM + "mode"),
    EuElement("assessment", "Type of assessment", True,
              "credentialSubject.achievement.provenBy.dcType", ELM + "provenBy"),
    EuElement("quality_assurance", "Quality assurance", True,
              "credentialSubject.achievement.accreditation", ELM + "accreditation"),
    EuElement("prerequisites", "Prerequisites", False,
              "credentialSubject.achievement.entryRequirement", ELM + "entryRequirement"),
    EuElement("supervision", "Supervision and identity verification during assessment", False,
              "credentialSubject.achievement.provenBy.idVerification", ELM + "idVerification"),
    EuElement("grade", "Grade", False, "credentialSubject.result[].value", ELM + "grade"),
    EuElement("stackability", "Integration/stackability options", False,
              "credentialSubject.achievement.isPartialQualification, .isPartOf[]", ELM + "isPartOf"),
    EuElement("further_information", "Further information", False,
              "credentialSubject.achievement.additionalNote[], .homepage", ELM + "additionalNote"),
)


# --- small readers: tolerant of missing keys and of single values where lists are expected ---------------------

def as_dict(value: Any) -> dict:
    """``value`` if it is an object, else an empty one: a credential from anywhere may lack or misshape a member."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """``value`` as a list: none for a missing member, one item for a single value where JSON-LD allows either."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _types(node: dict) -> list[str]:
    return [t for t in as_list(node.get("type")) if isinstance(t, str)]


def _achievement(credential: dict) -> dict:
    subject = as_list(credential.get("credentialSubject"))
    return as_dict(as_dict(subject[0]).get("achievement")) if subject else {}


def _subject(credential: dict) -> dict:
    subject = as_list(credential.get("credentialSubject"))
    return as_dict(subject[0]) if subject else {}


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI_RE.match(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _lang_map_problem(value: Any, path: str) -> str | None:
    """A language map (JSON-LD @container @language): {tag: non-empty text}."""
    if not isinstance(value, dict) or not value:
        return f"{path}: expected a language map like {{\"en\": \"…\"}}, got {value!r}"
    for tag, text in value.items():
        if not _LANG_RE.match(str(tag)):
            return f"{path}: {tag!r} is not a language tag (expected e.g. 'en', 'de', 'pt-PT')"
        if not isinstance(text, str) or not text.strip():
            return f"{path}.{tag}: expected non-empty text, got {text!r}"
    return None


def _pick(value: Any, lang: str) -> str:
    """Readable text from a string or a language map, preferring ``lang``, then English, then any."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value:
        for key in (lang, "en"):
            if isinstance(value.get(key), str):
                return value[key]
        return str(next(iter(value.values())))
    return ""


def _num(value: Any) -> str:
    return f"{value:g}" if _is_number(value) else str(value if value is not None else "")


def _eqf_alignments(achievement: dict) -> list[str]:
    return [
        a.get("targetUrl") for a in as_list(achievement.get("alignment"))
        if isinstance(a, dict) and isinstance(a.get("targetUrl"), str) and a["targetUrl"].startswith(EQF_PREFIX)
    ]


def _esco_alignments(achievement: dict) -> list[str]:
    return [
        a.get("targetUrl") for a in as_list(achievement.get("alignment"))
        if isinstance(a, dict) and isinstance(a.get("targetUrl"), str)
        and a["targetUrl"].startswith("http://data.europa.eu/esco/")
    ]


# --- one check per element: each returns the problems it found (empty = fine) ---------------------------------

def _check_learner(c: dict) -> list[str]:
    subject = _subject(c)
    problems: list[str] = []
    sid = subject.get("id")
    if sid is not None and not _is_iri(sid):
        problems.append(f"learner: credentialSubject.id expected a DID or IRI, got {sid!r}")
    identities = [i for i in as_list(subject.get("identifier")) if isinstance(i, dict)]
    for n, ident in enumerate(identities):
        path = f"credentialSubject.identifier[{n}]"
        if ident.get("type") != "IdentityObject" and "IdentityObject" not in _types(ident):
            problems.append(f"learner: {path}.type expected 'IdentityObject', got {ident.get('type')!r}")
        if ident.get("hashed") is True:
            if not _HASH_RE.match(str(ident.get("identityHash", ""))):
                problems.append(f"learner: {path}.identityHash expected 'sha256$' + 64 hex digits, "
                                f"got {ident.get('identityHash')!r}")
            if not isinstance(ident.get("salt"), str) or not ident.get("salt"):
                problems.append(f"learner: {path}.salt expected a non-empty salt for a hashed identity, "
                                f"got {ident.get('salt')!r}")
        elif not isinstance(ident.get("identityHash"), str) or not ident.get("identityHash", "").strip():
            problems.append(f"learner: {path}.identityHash expected the identity text, got {ident.get('identityHash')!r}")
    if sid is None and not identities:
        problems.append("learner: expected credentialSubject.id (a DID) or an IdentityObject in "
                        "credentialSubject.identifier, got neither")
    return problems


def _check_title(c: dict) -> list[str]:
    a = _achievement(c)
    problems = []
    if not isinstance(a.get("name"), str) or not a["name"].strip():
        problems.append(f"title: credentialSubject.achievement.name expected non-empty text, got {a.get('name')!r}")
    if "title" in a and (p := _lang_map_problem(a["title"], "title: credentialSubject.achievement.title")):
        problems.append(p)
    return problems


def _check_country(c: dict) -> list[str]:
    address = as_dict(as_dict(c.get("issuer")).get("address"))
    code = address.get("addressCountryCode")
    if code not in COUNTRY_CODES:
        return [f"country: issuer.address.addressCountryCode expected an ISO 3166-1 alpha-2 code (e.g. 'DE'), "
                f"got {code!r}"]
    return []


def _check_awarding_body(c: dict) -> list[str]:
    issuer = c.get("issuer")
    if not isinstance(issuer, dict):
        return [f"awarding body: issuer expected a Profile object with id and name, got {issuer!r}"]
    problems = []
    if not _is_iri(issuer.get("id")):
        problems.append(f"awarding body: issuer.id expected a DID, got {issuer.get('id')!r}")
    if not isinstance(issuer.get("name"), str) or not issuer["name"].strip():
        problems.append(f"awarding body: issuer.name expected non-empty text, got {issuer.get('name')!r}")
    return problems


def _check_date(c: dict) -> list[str]:
    value = c.get("validFrom")
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return [f"date of issuing: validFrom expected an XML Schema dateTime with time zone "
                f"(e.g. '2025-07-01T10:00:00Z'), got {value!r}"]
    return []


def _check_workload(c: dict) -> list[str]:
    a = _achievement(c)
    credits = a.get("creditsAvailable")
    problems = []
    if not _is_number(credits) or credits <= 0:
        problems.append(f"workload: credentialSubject.achievement.creditsAvailable expected a positive number "
                        f"of ECTS credits, got {credits!r}")
    cp = a.get("creditPoint")
    if cp is not None and as_dict(cp).get("framework") != ECTS_IRI:
        problems.append(f"workload: credentialSubject.achievement.creditPoint.framework expected {ECTS_IRI} (ECTS), "
                        f"got {as_dict(cp).get('framework')!r}")
    earned = _subject(c).get("creditsEarned")
    if earned is not None and (not _is_number(earned) or earned <= 0
                               or (_is_number(credits) and earned > credits)):
        problems.append(f"workload: credentialSubject.creditsEarned expected a positive number no larger than "
                        f"creditsAvailable ({credits!r}), got {earned!r}")
    return problems


def _check_level(c: dict) -> list[str]:
    urls = _eqf_alignments(_achievement(c))
    if not urls:
        return ["level: expected an alignment in credentialSubject.achievement.alignment with targetUrl "
                "http://data.europa.eu/snb/eqf/<1-8>, found none"]
    return [f"level: EQF alignment targetUrl expected http://data.europa.eu/snb/eqf/<1-8>, got {u!r}"
            for u in urls if not EQF_IRI_RE.match(u)]


def _check_outcomes(c: dict) -> list[str]:
    a = _achievement(c)
    outcomes = as_list(a.get("learningOutcome"))
    problems = []
    if not outcomes and not _esco_alignments(a):
        problems.append("learning outcomes: expected credentialSubject.achievement.learningOutcome[] or an ESCO "
                        "alignment, found neither")
    for n, outcome in enumerate(outcomes):
        path = f"learning outcomes: credentialSubject.achievement.learningOutcome[{n}]"
        outcome = as_dict(outcome)
        if p := _lang_map_problem(outcome.get("title"), path + ".title"):
            problems.append(p)
        skill = outcome.get("relatedESCOSkill")
        if skill is not None and not ESCO_SKILL_RE.match(str(skill)):
            problems.append(f"{path}.relatedESCOSkill expected an ESCO skill IRI "
                            f"http://data.europa.eu/esco/skill/<uuid>, got {skill!r}")
    for url in _esco_alignments(a):
        if not ESCO_SKILL_RE.match(url):
            problems.append(f"learning outcomes: ESCO alignment targetUrl expected "
                            f"http://data.europa.eu/esco/skill/<uuid>, got {url!r}")
    return problems


def _check_participation(c: dict) -> list[str]:
    mode = _achievement(c).get("mode")
    if not isinstance(mode, str) or not mode.startswith(MODE_SCHEME):
        return [f"form of participation: credentialSubject.achievement.mode expected a Europass mode IRI "
                f"{MODE_SCHEME}… (online, onsite, blended), got {mode!r}"]
    return []


def _check_assessment(c: dict) -> list[str]:
    spec = _achievement(c).get("provenBy")
    if not isinstance(spec, dict):
        return [f"type of assessment: credentialSubject.achievement.provenBy expected a "
                f"LearningAssessmentSpecification object, got {spec!r}"]
    problems = []
    if not _is_iri(spec.get("dcType")):
        problems.append(f"type of assessment: credentialSubject.achievement.provenBy.dcType expected an "
                        f"assessment type IRI, got {spec.get('dcType')!r}")
    mode = spec.get("mode")
    if mode is not None and not str(mode).startswith(MODE_SCHEME):
        problems.append(f"type of assessment: credentialSubject.achievement.provenBy.mode expected a Europass mode "
                        f"IRI {MODE_SCHEME}…, got {mode!r}")
    return problems


def _check_quality_assurance(c: dict) -> list[str]:
    acc = _achievement(c).get("accreditation")
    if not isinstance(acc, dict):
        return [f"quality assurance: credentialSubject.achievement.accreditation expected an Accreditation object, "
                f"got {acc!r}"]
    agent = as_dict(acc.get("accreditingAgent"))
    if not _is_iri(agent.get("id")) or _lang_map_problem(agent.get("legalName"), "") is not None:
        return [f"quality assurance: accreditation.accreditingAgent expected an Organisation with id and legalName, "
                f"got {acc.get('accreditingAgent')!r}"]
    return []


def _check_prerequisites(c: dict) -> list[str]:
    note = _achievement(c).get("entryRequirement")
    if note is None:
        return []
    p = _lang_map_problem(as_dict(note).get("noteLiteral"),
                          "prerequisites: credentialSubject.achievement.entryRequirement.noteLiteral")
    return [p] if p else []


def _check_supervision(c: dict) -> list[str]:
    value = as_dict(_achievement(c).get("provenBy")).get("idVerification")
    if value is not None and not str(value).startswith(SUPERVISION_SCHEME):
        return [f"supervision: credentialSubject.achievement.provenBy.idVerification expected an IRI of "
                f"{SUPERVISION_SCHEME}…, got {value!r}"]
    return []


def _check_grade(c: dict) -> list[str]:
    problems = []
    for n, result in enumerate(as_list(_subject(c).get("result"))):
        value = as_dict(result).get("value")
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"grade: credentialSubject.result[{n}].value expected non-empty text, got {value!r}")
    return problems


def _check_stackability(c: dict) -> list[str]:
    a = _achievement(c)
    problems = []
    if "isPartialQualification" in a and not isinstance(a["isPartialQualification"], bool):
        problems.append(f"stackability: credentialSubject.achievement.isPartialQualification expected true or false, "
                        f"got {a['isPartialQualification']!r}")
    for n, part in enumerate(as_list(a.get("isPartOf"))):
        if not _is_iri(as_dict(part).get("id")):
            problems.append(f"stackability: credentialSubject.achievement.isPartOf[{n}].id expected the programme's "
                            f"IRI, got {as_dict(part).get('id')!r}")
    return problems


def _check_further_information(c: dict) -> list[str]:
    a = _achievement(c)
    problems = []
    for n, note in enumerate(as_list(a.get("additionalNote"))):
        if p := _lang_map_problem(as_dict(note).get("noteLiteral"),
                                  f"further information: credentialSubject.achievement.additionalNote[{n}].noteLiteral"):
            problems.append(p)
    if "homepage" in a and not _is_iri(a["homepage"]):
        problems.append(f"further information: credentialSubject.achievement.homepage expected a URL, "
                        f"got {a['homepage']!r}")
    return problems


_CHECKS: dict[str, Callable[[dict], list[str]]] = {
    "learner": _check_learner,
    "title": _check_title,
    "country": _check_country,
    "awarding_body": _check_awarding_body,
    "date_of_issuing": _check_date,
    "workload": _check_workload,
    "level": _check_level,
    "learning_outcomes": _check_outcomes,
    "participation": _check_participation,
    "assessment": _check_assessment,
    "quality_assurance": _check_quality_assurance,
    "prerequisites": _check_prerequisites,
    "supervision": _check_supervision,
    "grade": _check_grade,
    "stackability": _check_stackability,
    "further_information": _check_further_information,
}


def find_eu_element_problems(credential: dict) -> list[str]:
    """Every missing or ill-formed EU element, in Annex I order, each stating expected vs actual.

    Mandatory elements must be present; optional ones are checked only when present. An empty list means the
    credential carries all mandatory elements in the expected form.
    """
    if not isinstance(credential, dict):
        return [f"credential: expected a JSON object, got {type(credential).__name__}"]
    problems: list[str] = []
    if EXTENSION_CONTEXT_URL not in as_list(credential.get("@context")):
        problems.append(f"@context: expected {EXTENSION_CONTEXT_URL} (defines the EU element terms), "
                        f"got {credential.get('@context')!r}")
    for element in EU_ELEMENTS:
        problems.extend(_CHECKS[element.id](credential))
    return problems


# --- readable summary ---------------------------------------------------------------------------------------

def _summary_value(element_id: str, c: dict, lang: str) -> str:
    a, s, issuer = _achievement(c), _subject(c), as_dict(c.get("issuer"))
    spec = as_dict(a.get("provenBy"))
    if element_id == "learner":
        parts = [i.get("identityHash", "") for i in as_list(s.get("identifier"))
                 if isinstance(i, dict) and i.get("identityType") == "name" and not i.get("hashed")]
        if s.get("id"):
            parts.append(str(s["id"]))
        if any(isinstance(i, dict) and i.get("hashed") for i in as_list(s.get("identifier"))):
            parts.append("hashed e-mail address")
        return ", ".join(p for p in parts if p)
    if element_id == "title":
        return _pick(a.get("title"), lang) or str(a.get("name", ""))
    if element_id == "country":
        address = as_dict(issuer.get("address"))
        return " / ".join(str(x) for x in (address.get("addressCountryCode"), address.get("addressRegion")) if x)
    if element_id == "awarding_body":
        return f"{issuer.get('name', '')} ({issuer.get('id', '')})"
    if element_id == "date_of_issuing":
        return str(c.get("validFrom", ""))
    if element_id == "workload":
        text = f"{_num(a.get('creditsAvailable'))} ECTS"
        if s.get("creditsEarned") is not None and s.get("creditsEarned") != a.get("creditsAvailable"):
            text += f" ({_num(s['creditsEarned'])} earned)"
        return text
    if element_id == "level":
        levels = [f"EQF {m.group(1)}" for u in _eqf_alignments(a) if (m := EQF_IRI_RE.match(u))]
        if a.get("nqfLevel"):
            levels.append(f"NQF {a['nqfLevel']}")
        return ", ".join(levels)
    if element_id == "learning_outcomes":
        return "; ".join(_pick(as_dict(o).get("title"), lang) for o in as_list(a.get("learningOutcome")))
    if element_id == "participation":
        return MODE_LABELS.get(str(a.get("mode")), str(a.get("mode", "")))
    if element_id == "assessment":
        kind = ASSESSMENT_TYPE_LABELS.get(str(spec.get("dcType")), str(spec.get("dcType", "")))
        title = _pick(spec.get("title"), lang)
        return f"{kind}: {title}" if title else kind
    if element_id == "quality_assurance":
        acc = as_dict(a.get("accreditation"))
        agent = _pick(as_dict(acc.get("accreditingAgent")).get("legalName"), lang)
        title = _pick(acc.get("title"), lang)
        return f"{title} ({agent})" if title else agent
    if element_id == "prerequisites":
        return _pick(as_dict(a.get("entryRequirement")).get("noteLiteral"), lang)
    if element_id == "supervision":
        value = spec.get("idVerification")
        return SUPERVISION_LABELS.get(str(value), str(value)) if value else ""
    if element_id == "grade":
        return ", ".join(str(as_dict(r).get("value")) for r in as_list(s.get("result")) if as_dict(r).get("value"))
    if element_id == "stackability":
        parts = [_pick(as_dict(p).get("title"), lang) or str(as_dict(p).get("id", ""))
                 for p in as_list(a.get("isPartOf"))]
        if a.get("isPartialQualification") is True:
            parts.insert(0, "partial qualification")
        return "; ".join(parts)
    if element_id == "further_information":
        parts = [_pick(as_dict(n).get("noteLiteral"), lang) for n in as_list(a.get("additionalNote"))]
        if a.get("homepage"):
            parts.append(str(a["homepage"]))
        return " ".join(p for p in parts if p)
    raise ValueError(f"unknown EU element {element_id!r}")


def eu_elements_summary(credential: dict, lang: str = "en") -> list[tuple[str, str]]:
    """(label, readable value) for each of the 16 elements, in Annex I order; absent optional ones read '—'."""
    return [(e.label, _summary_value(e.id, credential, lang) or "—") for e in EU_ELEMENTS]
