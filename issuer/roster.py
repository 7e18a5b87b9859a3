"""The roster: one CSV row per learner who earned the achievement.

``load_roster(path, achievement)`` validates every row and returns the learners, or raises ``RosterError`` listing
*every* bad row ("row 14: ects must be a positive number, got 'five'"); with any problem nothing is returned, so
nothing is issued. Row numbers are the rows a person sees in a spreadsheet: the header is row 1, the first learner
row 2 (a quoted field spanning several lines is still one row). Columns are documented in examples/README.md.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path


from issuer.achievement import Achievement
from issuer.errors import InputFileError, RosterError, read_input_file
from verifier.keys import KeyFormatError, decode_multikey

__all__ = ["Learner", "load_roster", "parse_roster", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS"]

REQUIRED_COLUMNS = ("given_name", "family_name", "email")
OPTIONAL_COLUMNS = ("learner_did", "grade", "ects", "completion_date")

_EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_DID_RE = re.compile(r"^did:[a-z0-9]+:(?:[A-Za-z0-9._%-]*:)*[A-Za-z0-9._%-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Learner:
    """One validated roster row. ``email`` is normalised (trimmed, lower case); ``ects`` is resolved."""

    row: int
    given_name: str
    family_name: str
    email: str
    learner_did: str | None
    grade: str | None
    ects: float
    completion_date: date | None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def _did_problem(value: str) -> str | None:
    if not _DID_RE.match(value):
        return f"learner_did must be a DID like did:key:z6Mk…, got {value!r}"
    if value.startswith("did:key:"):
        # did:key v0.7 §3.1.2: multibase base58btc ('z') of multicodec ed25519-pub (0xed01) + 32-byte key.
        try:
            kind = decode_multikey(value[len("did:key:"):]).kind
        except KeyFormatError:
            kind = None
        if kind != "Ed25519":
            return f"learner_did must be an Ed25519 did:key (z6Mk…), got {value!r}"
    return None


def _name_problem(column: str, value: str) -> str | None:
    if not value:
        return f"{column} is required"
    if len(value) > 100 or _CONTROL_RE.search(value):
        return f"{column} must be at most 100 printable characters, got {value[:40]!r}"
    return None


def _row_problems(values: dict[str, str], achievement: Achievement) -> tuple[list[str], dict]:
    """Problems of one row (without the 'row N: ' prefix) and the parsed values."""
    problems: list[str] = []
    parsed: dict = {}
    for column in ("given_name", "family_name"):
        if p := _name_problem(column, values[column]):
            problems.append(p)
        parsed[column] = values[column]
    email = values["email"].lower()
    if not email:
        problems.append("email is required")
    elif not _EMAIL_RE.match(email) or len(email) > 254:
        problems.append(f"email must be an e-mail address, got {values['email']!r}")
    parsed["email"] = email
    did = values.get("learner_did", "")
    if did and (p := _did_problem(did)):
        problems.append(p)
    parsed["learner_did"] = did or None
    grade = values.get("grade", "")
    allowed = achievement.grading.allowed_grades
    if grade and allowed and grade not in allowed:
        problems.append(f"grade must be one of {', '.join(allowed)}, got {grade!r}")
    elif grade and (len(grade) > 64 or _CONTROL_RE.search(grade)):
        problems.append(f"grade must be at most 64 printable characters, got {grade[:40]!r}")
    parsed["grade"] = grade or None
    raw_ects = values.get("ects", "")
    parsed["ects"] = achievement.ects
    if raw_ects:
        try:
            ects = float(raw_ects.replace(",", ".")) if re.fullmatch(r"\d+(?:[.,]\d+)?", raw_ects) else math.nan
        except ValueError:
            ects = math.nan
        if not ects > 0:
            problems.append(f"ects must be a positive number, got {raw_ects!r}")
        elif ects > achievement.ects:
            problems.append(f"ects must be at most the achievement's {achievement.ects:g}, got {raw_ects!r}")
        else:
            parsed["ects"] = ects
    raw_date = values.get("completion_date", "")
    parsed["completion_date"] = None
    if raw_date:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_date):
                raise ValueError
            parsed["completion_date"] = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(f"completion_date must be an ISO date YYYY-MM-DD, got {raw_date!r}")
    return problems, parsed


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8-sig")  # a BOM, as Excel writes it, is tolerated
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(path, f"is not UTF-8 (invalid byte 0x{raw[exc.start]:02x} on line {line}); "
                                   f"export the spreadsheet as 'CSV UTF-8'") from None


def _header(header: list[str]) -> list[str]:
    columns = [c.strip().lower() for c in header]
    problems = []
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if unknown:
        problems.append(f"row 1 (header): unknown column(s) {', '.join(map(repr, unknown))}; allowed: "
                        f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}")
    if missing:
        problems.append(f"row 1 (header): missing required column(s) {', '.join(missing)}")
    if duplicated:
        problems.append(f"row 1 (header): column(s) {', '.join(duplicated)} appear more than once")
    if problems:
        raise RosterError(problems)
    return columns


def parse_roster(text: str, achievement: Achievement) -> list[Learner]:
    """Validate roster CSV text; raises ``RosterError`` with every problem, or returns every learner."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise RosterError([f"the roster is not valid CSV: {exc}"]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise RosterError(["the roster is empty: expected a header row "
                           f"({', '.join(REQUIRED_COLUMNS)}, …) and one row per learner"])
    columns = _header(records[0])
    ragged = [f"row {n}: has {len(rec)} field(s) but the header has {len(columns)} (a missing or extra comma, "
              f"or an unquoted comma inside a value?)"
              for n, rec in enumerate(records[1:], start=2) if any(c.strip() for c in rec) and len(rec) != len(columns)]
    if ragged:
        raise RosterError(ragged)

    problems: list[str] = []
    learners: list[Learner] = []
    seen_email: dict[str, int] = {}
    seen_did: dict[str, int] = {}
    for n, rec in enumerate(records[1:], start=2):
        if not any(c.strip() for c in rec):
            continue  # blank spreadsheet row
        values = {column: cell.strip() for column, cell in zip(columns, rec)}
        row_problems, parsed = _row_problems(values, achievement)
        email, did = parsed["email"], parsed["learner_did"]
        if email and email in seen_email:
            row_problems.append(f"email {email!r} already appears in row {seen_email[email]}")
        if did and did in seen_did:
            row_problems.append(f"learner_did already appears in row {seen_did[did]}")
        seen_email.setdefault(email, n)
        if did:
            seen_did.setdefault(did, n)
        problems.extend(f"row {n}: {p}" for p in row_problems)
        if not row_problems:
            learners.append(Learner(row=n, **parsed))
    if problems:
        raise RosterError(problems)
    if not learners:
        raise RosterError(["the roster has a header but no learner rows"])
    return learners


def load_roster(path: str | Path, achievement: Achievement) -> list[Learner]:
    """Read and validate a roster CSV file (UTF-8, header row required)."""
    path = Path(path)
    raw = read_input_file(path)
    return parse_roster(_decode(raw, str(path)), achievement)
