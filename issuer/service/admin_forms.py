"""The admin pages' forms as values: the achievement form to and from the achievement spec, and roster column guesses.

Form field names are the paths of the achievement YAML (``awarding_body.name``, ``learning_outcomes[0].esco``), the
same paths ``issuer.achievement.parse_achievement`` names in its problems, so each problem is shown beside its field.
Nothing is validated here beyond turning text into the types the YAML would hold: the one validator is
``parse_achievement`` (the CLI's), so the page, the API and the CLI accept the same achievements. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from issuer.roster import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

__all__ = ["MAX_OUTCOMES", "MAX_PROGRAMMES", "OUR_COLUMNS", "field_id", "form_to_spec", "guess_mapping",
           "problems_by_field", "spec_to_form", "outcome_rows", "programme_rows"]

MAX_OUTCOMES = 20
MAX_PROGRAMMES = 5
MAX_FIELD_CHARS = 5000  # longer than any text the achievement accepts: the validator says what is too long
OUR_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Plain text fields of the form, by YAML path (texts are in the achievement's primary language).
TEXT_FIELDS = (
    "id", "language", "title", "description", "criteria", "human_code", "field_of_study", "nqf_level",
    "participation", "prerequisites", "further_information", "further_information_url",
    "awarding_body.name", "awarding_body.url", "awarding_body.country_code", "awarding_body.region",
    "awarding_body.locality", "awarding_body.email",
    "assessment.type", "assessment.title", "assessment.mode", "assessment.supervision",
    "grading.result_type", "grading.default_grade",
    "quality_assurance.title", "quality_assurance.type", "quality_assurance.agent.id",
    "quality_assurance.agent.name", "quality_assurance.report_url",
)
NUMBER_FIELDS = {"ects": float, "volume_of_learning_hours": int, "eqf_level": int, "validity_years": int}
OUTCOME_KEYS = ("text", "esco", "esco_label")
PROGRAMME_KEYS = ("id", "title")


def field_id(name: str) -> str:
    """An HTML id for a field name (``learning_outcomes[0].esco`` -> ``f-learning_outcomes-0-esco``)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


def _clean(value: Any) -> str:
    return value.strip()[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


def _number(raw: str, kind: type) -> Any:
    """The number the YAML would hold; the text itself when it is not one (the validator then names it)."""
    text = raw.replace(",", ".") if kind is float else raw
    try:
        return kind(text) if re.fullmatch(r"\d+" if kind is int else r"\d+(?:\.\d+)?", text) else raw
    except ValueError:
        return raw


def _set(spec: dict, path: str, value: Any) -> None:
    node = spec
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def _rows(form: Mapping[str, str], prefix: str, keys: tuple[str, ...], limit: int) -> list[dict[str, str]]:
    """The filled rows of a repeated group (``prefix[i].key``), in order; empty rows dropped."""
    rows = []
    for i in range(limit):
        row = {k: _clean(form.get(f"{prefix}[{i}].{k}")) for k in keys}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v})
    return rows


def form_to_spec(form: Mapping[str, str]) -> dict[str, Any]:
    """The achievement spec (YAML structure) a form describes; empty fields are left out."""
    spec: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = _clean(form.get(name))
        if value:
            _set(spec, name, value.upper() if name == "awarding_body.country_code" else value)
    for name, kind in NUMBER_FIELDS.items():
        value = _clean(form.get(name))
        if value:
            spec[name] = _number(value, kind)
    grades = [g.strip() for g in re.split(r"[,\n]", _clean(form.get("grading.allowed_grades"))) if g.strip()]
    if grades:
        _set(spec, "grading.allowed_grades", grades)
    outcomes = _rows(form, "learning_outcomes", OUTCOME_KEYS, MAX_OUTCOMES)
    if outcomes:
        spec["learning_outcomes"] = outcomes
    programmes = _rows(form, "stackability.programmes", PROGRAMME_KEYS, MAX_PROGRAMMES)
    partial = form.get("stackability.partial_qualification") == "yes"
    if partial or programmes:
        spec["stackability"] = {"partial_qualification": partial, **({"programmes": programmes} if programmes else {})}
    return spec


def spec_to_form(spec: Mapping[str, Any]) -> dict[str, str]:
    """The form values for a spec (to prefill the form); language maps show their primary-language text."""
    language = spec.get("language") if isinstance(spec.get("language"), str) else "en"

    def text(value: Any) -> str:
        if isinstance(value, dict):
            value = value.get(language, next(iter(value.values()), ""))
        return "" if value is None else str(value)

    def get(path: str) -> Any:
        node: Any = spec
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node

    form = {name: text(get(name)) for name in (*TEXT_FIELDS, *NUMBER_FIELDS)}
    grades = get("grading.allowed_grades")
    form["grading.allowed_grades"] = ", ".join(map(str, grades)) if isinstance(grades, list) else ""
    for i, row in enumerate(spec.get("learning_outcomes") or []):
        for k in OUTCOME_KEYS:
            form[f"learning_outcomes[{i}].{k}"] = text(row.get(k)) if isinstance(row, dict) else ""
    stack = spec.get("stackability") if isinstance(spec.get("stackability"), dict) else {}
    form["stackability.partial_qualification"] = "yes" if stack.get("partial_qualification") else ""
    for i, row in enumerate(stack.get("programmes") or []):
        for k in PROGRAMME_KEYS:
            form[f"stackability.programmes[{i}].{k}"] = text(row.get(k)) if isinstance(row, dict) else ""
    return form


def _count(form: Mapping[str, str], prefix: str, keys: tuple[str, ...], limit: int) -> int:
    return max((i + 1 for i in range(limit) if any(_clean(form.get(f"{prefix}[{i}].{k}")) for k in keys)), default=0)


def outcome_rows(form: Mapping[str, str], *, more: bool = False) -> int:
    """How many outcome rows to show: the filled ones plus one blank (at least three; one more on request)."""
    return min(MAX_OUTCOMES, max(3, _count(form, "learning_outcomes", OUTCOME_KEYS, MAX_OUTCOMES) + 1) + more)


def programme_rows(form: Mapping[str, str], *, more: bool = False) -> int:
    return min(MAX_PROGRAMMES, max(1, _count(form, "stackability.programmes", PROGRAMME_KEYS, MAX_PROGRAMMES) + 1)
               + more)


_PATH_RE = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.*)$", re.S)


def problems_by_field(problems: list[str], fields: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Each problem of ``parse_achievement`` under the form field it is about (the longest field name its path
    starts with: ``title.en: ...`` belongs to ``title``); problems about no field (``achievement: ...``) apart."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        m = _PATH_RE.match(problem)
        path, message = (m.group(1), m.group(2)) if m else ("", problem)
        owner = max((f for f in fields if path == f or path.startswith((f + ".", f + "["))), key=len, default=None)
        if owner is None and path:
            # A problem about a group ("assessment: required field is missing") goes to the group's first field.
            owner = next((f for f in sorted(fields) if f.startswith((path + ".", path + "["))), None)
        if owner is None:
            general.append(problem)
        else:
            by_field.setdefault(owner, []).append(f"{path}: {message}" if path != owner else message)
    return by_field, general


# --------------------------------------------------------------------------------------------------------------------
# Roster columns

# Header names registrars' exports use for our columns (lower case, accents and punctuation removed), in the EU's
# most common languages. A guess only: the registrar confirms or changes every column on the page.
_SYNONYMS = {
    "given_name": {"givenname", "firstname", "first", "forename", "forenames", "vorname", "vornamen", "prenom",
                   "prenoms", "nome", "nombre", "voornaam", "imie", "jmeno", "fornavn", "fornamn", "etunimi",
                   "eesnimi", "vardas", "vards", "utonev", "keresztnev", "ime", "name1"},
    "family_name": {"familyname", "lastname", "last", "surname", "nachname", "familienname", "nom", "nomdefamille",
                    "cognome", "apellido", "apellidos", "achternaam", "nazwisko", "prijmeni", "efternamn",
                    "efternavn", "sukunimi", "perekonnanimi", "pavarde", "uzvards", "vezeteknev", "prezime", "name2"},
    "email": {"email", "emailaddress", "mail", "emailadresse", "courriel", "adressemail", "correo",
              "correoelectronico", "posta", "postaelettronica", "eposta", "epost", "sahkoposti"},
    "learner_did": {"learnerdid", "did", "studentdid", "walletdid", "holderdid"},
    "grade": {"grade", "note", "mark", "marks", "result", "score", "voto", "nota", "cijfer", "ocena", "znamka",
              "arvosana", "betyg", "karakter", "finalgrade", "endnote", "abschlussnote"},
    "ects": {"ects", "ectscredits", "credits", "creditpoints", "cp", "leistungspunkte", "lp", "creditsects",
             "crediti", "creditos", "punkty", "studiepoeng", "hp"},
    "completion_date": {"completiondate", "completed", "completedon", "dateofcompletion", "date", "enddate",
                        "abschlussdatum", "datum", "dateobtention", "datadiconseguimento", "fechadefinalizacion",
                        "datazakonczenia", "finishdate", "awarddate"},
}


def _key(header: str) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]", "", text)


def guess_mapping(header: list[str]) -> dict[str, str]:
    """Our column -> the header cell that most likely holds it (only where the names differ; each cell used once).

    Exact names win, then known synonyms; a column we cannot place is left for the registrar to choose."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    cells = [h.strip() for h in header if h.strip()]
    for ours in OUR_COLUMNS:  # our own names first, so a synonym never steals a column that is already right
        for cell in cells:
            if cell.lower() == ours:
                taken.add(cell)
    for ours in OUR_COLUMNS:
        if any(cell.lower() == ours for cell in cells):
            continue
        for cell in cells:
            if cell not in taken and (_key(cell) in _SYNONYMS[ours] or _key(cell) == _key(ours)):
                mapping[ours] = cell
                taken.add(cell)
                break
    return mapping
