"""The achievement: a micro-credential specification written by the registrar in YAML.

``load_achievement(path)`` reads it, validates every field (Council Recommendation 2022/C 243/02 Annex I: every EU
element is a first-class, validated field) and returns a frozen ``Achievement``, or raises ``AchievementError`` listing
*all* problems, each naming the field path, what was expected and what was found. The file format is documented in
examples/README.md; examples/achievement.yaml is a complete example.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from issuer.errors import AchievementError, InputFileError, read_input_file
from verifier.euelements import (
    ACCREDITATION_SCHEME,
    ASSESSMENT_TYPE_SCHEME,
    COUNTRY_CODES,
    ESCO_SKILL_RE,
    EQF_PREFIX,
    MODE_SCHEME,
    SUPERVISION_SCHEME,
)

__all__ = [
    "Achievement", "AwardingBody", "Assessment", "Grading", "LangText", "LearningOutcome", "Programme", "QualityAssurance",
    "Stackability", "load_achievement", "parse_achievement", "PARTICIPATION_MODES", "ASSESSMENT_TYPES",
    "SUPERVISION_METHODS", "ACCREDITATION_TYPES", "RESULT_TYPES", "is_country_code",
]

# Form of participation and assessment mode: Europass "Mode of learning and assessment" concepts (ELM elm:mode).
PARTICIPATION_MODES = {
    "online": MODE_SCHEME + "920fbb3cbe",
    "onsite": MODE_SCHEME + "9191af2ed9",
    "blended": MODE_SCHEME + "e92d221e4d",
}
ASSESSMENT_MODES = {
    **PARTICIPATION_MODES,
    "work-based": MODE_SCHEME + "729f3bed4b",
    "project-based": MODE_SCHEME + "7813801c77",
    "research-lab-based": MODE_SCHEME + "ed4c557045",
}
ASSESSMENT_TYPES = {
    key: ASSESSMENT_TYPE_SCHEME + key
    for key in ("written-exam", "oral-exam", "project", "portfolio", "practical", "continuous", "thesis")
}
SUPERVISION_METHODS = {
    "unsupervised-without-id-verification": SUPERVISION_SCHEME + "c598449d64",
    "unsupervised-with-id-verification": SUPERVISION_SCHEME + "df2880c5cb",
}
ACCREDITATION_TYPES = {"institutional": ACCREDITATION_SCHEME + "bb4618238e"}
# OB 3.0 ResultType enumeration (subset that makes sense for a final grade).
RESULT_TYPES = ("GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "RawScore", "Result",
                "ScaledScore", "Status")

_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")


def is_country_code(value: object) -> bool:
    """ISO 3166-1 alpha-2, upper case."""
    return isinstance(value, str) and value in COUNTRY_CODES


@dataclass(frozen=True)
class LangText:
    """Text in one or more languages (a JSON-LD language map / ELM langString), in the order given."""

    texts: tuple[tuple[str, str], ...]

    def as_map(self) -> dict[str, str]:
        return dict(self.texts)

    def get(self, lang: str) -> str | None:
        return dict(self.texts).get(lang)


@dataclass(frozen=True)
class LearningOutcome:
    text: LangText
    esco: str
    esco_label: str


@dataclass(frozen=True)
class Assessment:
    type_iri: str
    title: LangText
    mode_iri: str | None
    supervision_iri: str | None


@dataclass(frozen=True)
class Grading:
    result_type: str
    default_grade: str
    allowed_grades: tuple[str, ...] | None


@dataclass(frozen=True)
class QualityAssurance:
    title: LangText
    type_iri: str | None
    agent_id: str
    agent_name: LangText
    report_url: str | None


@dataclass(frozen=True)
class Programme:
    id: str
    title: LangText


@dataclass(frozen=True)
class Stackability:
    partial_qualification: bool
    programmes: tuple[Programme, ...]


@dataclass(frozen=True)
class AwardingBody:
    """The university that awards the credential (EU elements: awarding body; country/region of the issuer)."""

    name: str
    url: str
    country_code: str
    did: str | None = None  # did:web:… ; none: the issuer signs as a did:key
    region: str | None = None
    locality: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Achievement:
    id: str
    language: str
    title: LangText
    description: LangText
    criteria: LangText | None
    human_code: str | None
    field_of_study: str | None
    ects: float
    volume_of_learning_hours: int | None
    eqf_level: int
    nqf_level: str | None
    learning_outcomes: tuple[LearningOutcome, ...]
    participation: str
    assessment: Assessment
    grading: Grading
    quality_assurance: QualityAssurance
    prerequisites: LangText | None
    stackability: Stackability | None
    further_information: LangText | None
    further_information_url: str | None
    validity_years: int | None
    awarding_body: AwardingBody

    @property
    def eqf_iri(self) -> str:
        return f"{EQF_PREFIX}{self.eqf_level}"

    @property
    def participation_iri(self) -> str:
        return PARTICIPATION_MODES[self.participation]

    def text(self, value: LangText) -> str:
        """The text in the achievement's primary language (validation guarantees it is there)."""
        return value.get(self.language) or value.texts[0][1]


_TOP_KEYS = {
    "id", "language", "title", "description", "criteria", "human_code", "field_of_study", "ects",
    "volume_of_learning_hours", "eqf_level", "nqf_level", "learning_outcomes", "participation", "assessment",
    "grading", "quality_assurance", "prerequisites", "stackability", "further_information",
    "further_information_url", "validity_years", "awarding_body",
}
_REQUIRED = ("awarding_body", "id", "title", "description", "ects", "eqf_level", "learning_outcomes", "participation", "assessment",
             "quality_assurance")


class _Reader:
    """Collects problems while reading a mapping; every reader returns None for a bad value and records why."""

    def __init__(self, language: str):
        self.problems: list[str] = []
        self.language = language

    def fail(self, path: str, expected: str, got: Any) -> None:
        self.problems.append(f"{path}: expected {expected}, got {got!r}")

    def mapping(self, data: Any, path: str, allowed: set[str], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(data, dict):
            self.fail(path, "a mapping", data)
            return {}
        for key in data:
            if key not in allowed:
                self.problems.append(f"{path}.{key}: unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if data.get(key) in (None, "", [], {}):
                self.problems.append(f"{path}.{key}: required field is missing")
        return data

    def text(self, value: Any, path: str, *, max_len: int = 500) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "non-empty text", value)
            return None
        if len(value) > max_len:
            self.fail(path, f"at most {max_len} characters", value[:40] + "…")
            return None
        return value.strip()

    def lang_text(self, value: Any, path: str, *, max_len: int = 4000) -> LangText | None:
        """A string (in the primary language) or a mapping language tag -> text that includes the primary language."""
        if isinstance(value, str):
            value = {self.language: value}
        if not isinstance(value, dict) or not value:
            self.fail(path, f"text or a mapping of language tags to text (e.g. {{{self.language}: …}})", value)
            return None
        pairs = []
        ok = True
        for tag, text in value.items():
            if not isinstance(tag, str) or not _LANG_RE.match(tag):
                self.fail(f"{path}.{tag}", "a BCP 47 language tag such as 'en', 'de' or 'pt-PT'", tag)
                ok = False
                continue
            clean = self.text(text, f"{path}.{tag}", max_len=max_len)
            ok = ok and clean is not None
            pairs.append((tag, clean or ""))
        if ok and self.language not in value:
            self.problems.append(f"{path}: expected a text in the primary language {self.language!r}, "
                                 f"got only {', '.join(map(str, value))}")
            ok = False
        return LangText(tuple(pairs)) if ok else None

    def iri(self, value: Any, path: str, *, web: bool = False) -> str | None:
        pattern, expected = (_URL_RE, "an http(s) URL") if web else (_IRI_RE, "an absolute IRI (e.g. https://…)")
        if not isinstance(value, str) or not pattern.match(value):
            self.fail(path, expected, value)
            return None
        return value

    def choice(self, value: Any, path: str, options: dict[str, str], scheme: str | None = None) -> str | None:
        """A key of ``options`` (returns its IRI), or — when ``scheme`` is given — an IRI inside that scheme."""
        if isinstance(value, str) and value in options:
            return options[value]
        if scheme and isinstance(value, str) and value.startswith(scheme) and len(value) > len(scheme):
            return value
        also = f" or an IRI starting with {scheme}" if scheme else ""
        self.fail(path, f"one of {', '.join(options)}{also}", value)
        return None

    def positive_number(self, value: Any, path: str, what: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            self.fail(path, f"a positive number of {what}", value)
            return None
        return float(value)

    def integer(self, value: Any, path: str, lo: int, hi: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(path, f"a whole number from {lo} to {hi}", value)
            return None
        return value


def _outcomes(r: _Reader, data: Any) -> tuple[LearningOutcome, ...]:
    if not isinstance(data, list) or not data:
        r.fail("learning_outcomes", "a non-empty list of learning outcomes", data)
        return ()
    found = []
    for n, item in enumerate(data):
        path = f"learning_outcomes[{n}]"
        item = r.mapping(item, path, {"text", "esco", "esco_label"}, ("text", "esco"))
        text = r.lang_text(item.get("text"), f"{path}.text") if "text" in item else None
        esco = item.get("esco")
        if "esco" in item and (not isinstance(esco, str) or not ESCO_SKILL_RE.match(esco)):
            r.fail(f"{path}.esco", "an ESCO skill IRI http://data.europa.eu/esco/skill/<uuid>", esco)
            esco = None
        label = item.get("esco_label")
        if label is not None:
            label = r.text(label, f"{path}.esco_label", max_len=300)
        if text and esco:
            found.append(LearningOutcome(text, esco, label or r_text_primary(text, r.language)))
    return tuple(found)


def r_text_primary(text: LangText, language: str) -> str:
    return text.get(language) or text.texts[0][1]


def _assessment(r: _Reader, data: Any) -> Assessment | None:
    data = r.mapping(data, "assessment", {"type", "title", "mode", "supervision"}, ("type", "title"))
    type_iri = r.choice(data.get("type"), "assessment.type", ASSESSMENT_TYPES, "http") if "type" in data else None
    title = r.lang_text(data.get("title"), "assessment.title") if "title" in data else None
    mode = r.choice(data["mode"], "assessment.mode", ASSESSMENT_MODES) if data.get("mode") is not None else None
    supervision = None
    if data.get("supervision") is not None:
        supervision = r.choice(data["supervision"], "assessment.supervision", SUPERVISION_METHODS, SUPERVISION_SCHEME)
    if type_iri and title:
        return Assessment(type_iri, title, mode, supervision)
    return None


def _grading(r: _Reader, data: Any) -> Grading | None:
    data = r.mapping(data if data is not None else {}, "grading", {"result_type", "default_grade", "allowed_grades"})
    result_type = data.get("result_type", "Result")
    if result_type not in RESULT_TYPES:
        r.fail("grading.result_type", f"one of {', '.join(RESULT_TYPES)}", result_type)
        return None
    default = r.text(data.get("default_grade", "Pass"), "grading.default_grade", max_len=64)
    allowed = data.get("allowed_grades")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed or not all(isinstance(g, str) and g.strip() for g in allowed):
            r.fail("grading.allowed_grades", "a non-empty list of grade texts", allowed)
            return None
        allowed = tuple(g.strip() for g in allowed)
        if default and default not in allowed:
            r.fail("grading.default_grade", f"one of allowed_grades ({', '.join(allowed)})", default)
            return None
    return Grading(result_type, default, allowed) if default else None


def _quality_assurance(r: _Reader, data: Any) -> QualityAssurance | None:
    data = r.mapping(data, "quality_assurance", {"title", "type", "agent", "report_url"}, ("title", "agent"))
    title = r.lang_text(data.get("title"), "quality_assurance.title") if "title" in data else None
    type_iri = None
    if data.get("type") is not None:
        type_iri = r.choice(data["type"], "quality_assurance.type", ACCREDITATION_TYPES, ACCREDITATION_SCHEME)
    agent = r.mapping(data.get("agent", {}), "quality_assurance.agent", {"id", "name"}, ("id", "name"))
    agent_id = r.iri(agent.get("id"), "quality_assurance.agent.id") if "id" in agent else None
    agent_name = r.lang_text(agent.get("name"), "quality_assurance.agent.name") if "name" in agent else None
    report = r.iri(data["report_url"], "quality_assurance.report_url", web=True) if "report_url" in data else None
    if title and agent_id and agent_name:
        return QualityAssurance(title, type_iri, agent_id, agent_name, report)
    return None


def _stackability(r: _Reader, data: Any) -> Stackability | None:
    data = r.mapping(data, "stackability", {"partial_qualification", "programmes"})
    partial = data.get("partial_qualification", True)
    if not isinstance(partial, bool):
        r.fail("stackability.partial_qualification", "true or false", partial)
    programmes = []
    items = data.get("programmes", [])
    if not isinstance(items, list):
        r.fail("stackability.programmes", "a list of programmes", items)
        items = []
    for n, item in enumerate(items):
        path = f"stackability.programmes[{n}]"
        item = r.mapping(item, path, {"id", "title"}, ("id", "title"))
        pid = r.iri(item.get("id"), f"{path}.id") if "id" in item else None
        title = r.lang_text(item.get("title"), f"{path}.title") if "title" in item else None
        if pid and title:
            programmes.append(Programme(pid, title))
    return Stackability(bool(partial), tuple(programmes))


DID_WEB_RE = re.compile(r"^did:web:[A-Za-z0-9.-]+(%3A[0-9]+)?(:[A-Za-z0-9._~%-]+)*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _awarding_body(r: _Reader, data: Any) -> AwardingBody | None:
    path = "awarding_body"
    data = r.mapping(data, path, {"did", "name", "url", "country_code", "region", "locality", "email"},
                     ("name", "url", "country_code"))
    name = r.text(data.get("name"), f"{path}.name", max_len=300) if "name" in data else None
    url = r.iri(data.get("url"), f"{path}.url", web=True) if "url" in data else None
    country = data.get("country_code")
    if country is not None and not is_country_code(country):
        r.fail(f"{path}.country_code", "an ISO 3166-1 alpha-2 country code such as 'DE'", country)
        country = None
    did = data.get("did")
    if did is not None and not (isinstance(did, str) and DID_WEB_RE.match(did)):
        r.fail(f"{path}.did", "a did:web DID such as did:web:registrar.university.example (omit it to use a did:key)", did)
        did = None
    optional = {}
    for key in ("region", "locality"):
        if data.get(key) is not None:
            optional[key] = r.text(data[key], f"{path}.{key}", max_len=200)
    email = data.get("email")
    if email is not None and not (isinstance(email, str) and _EMAIL_RE.match(email)):
        r.fail(f"{path}.email", "an email address", email)
        email = None
    if name and url and country:
        return AwardingBody(name=name, url=url, country_code=country, did=did, email=email, **optional)
    return None


def parse_achievement(data: Any) -> Achievement:
    """Validate an already-parsed YAML document; raises ``AchievementError`` with every problem found."""
    if not isinstance(data, dict):
        raise AchievementError([f"achievement: expected a YAML mapping at the top level, got {type(data).__name__}"])
    language = data.get("language", "en")
    r = _Reader(language if isinstance(language, str) and _LANG_RE.match(language) else "en")
    if not (isinstance(language, str) and _LANG_RE.match(language)):
        r.fail("language", "a BCP 47 language tag such as 'en'", language)
    r.mapping(data, "achievement", _TOP_KEYS)
    r.problems = [p.replace("achievement.", "", 1) if p.startswith("achievement.") else p for p in r.problems]
    for key in _REQUIRED:
        if data.get(key) in (None, "", [], {}):
            r.problems.append(f"{key}: required field is missing")

    def opt(key: str, read):
        return read(data[key], key) if data.get(key) is not None else None

    ident = opt("id", r.iri)
    title = opt("title", lambda v, p: r.lang_text(v, p, max_len=300))
    description = opt("description", r.lang_text)
    criteria = opt("criteria", r.lang_text)
    human_code = opt("human_code", lambda v, p: r.text(v, p, max_len=64))
    field_of_study = opt("field_of_study", lambda v, p: r.text(v, p, max_len=200))
    ects = opt("ects", lambda v, p: r.positive_number(v, p, "ECTS credits"))
    if ects is not None and ects > 60:
        r.fail("ects", "at most 60 ECTS credits for a micro-credential", data["ects"])
    hours = opt("volume_of_learning_hours", lambda v, p: r.integer(v, p, 1, 5000))
    eqf = opt("eqf_level", lambda v, p: r.integer(v, p, 1, 8))
    nqf = opt("nqf_level", r.iri)
    outcomes = _outcomes(r, data["learning_outcomes"]) if data.get("learning_outcomes") is not None else ()
    participation = data.get("participation")
    if participation is not None and participation not in PARTICIPATION_MODES:
        r.fail("participation", f"one of {', '.join(PARTICIPATION_MODES)}", participation)
    assessment = _assessment(r, data["assessment"]) if data.get("assessment") is not None else None
    grading = _grading(r, data.get("grading"))
    qa = _quality_assurance(r, data["quality_assurance"]) if data.get("quality_assurance") is not None else None
    prerequisites = opt("prerequisites", r.lang_text)
    stackability = _stackability(r, data["stackability"]) if data.get("stackability") is not None else None
    further = opt("further_information", r.lang_text)
    further_url = opt("further_information_url", lambda v, p: r.iri(v, p, web=True))
    validity = opt("validity_years", lambda v, p: r.integer(v, p, 1, 100))
    awarding = _awarding_body(r, data["awarding_body"]) if data.get("awarding_body") is not None else None

    if r.problems:
        raise AchievementError(r.problems)
    return Achievement(
        id=ident, language=r.language, title=title, description=description, criteria=criteria,
        human_code=human_code, field_of_study=field_of_study, ects=ects, volume_of_learning_hours=hours,
        eqf_level=eqf, nqf_level=nqf, learning_outcomes=outcomes, participation=participation,
        assessment=assessment, grading=grading, quality_assurance=qa, prerequisites=prerequisites,
        stackability=stackability, further_information=further, further_information_url=further_url,
        validity_years=validity, awarding_body=awarding,
    )


def load_achievement(path: str | Path) -> Achievement:
    """Read and validate an achievement YAML file (see examples/README.md for the fields)."""
    path = Path(path)
    raw = read_input_file(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"is not UTF-8 (invalid byte at offset {exc.start}); save it as UTF-8") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputFileError(path, f"is not valid YAML{where}: {problem}") from None
    if data is None:
        raise InputFileError(path, "is empty")
    return parse_achievement(data)
