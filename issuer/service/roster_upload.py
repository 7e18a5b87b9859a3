"""An uploaded roster: decoding, column mapping, preview and validation, before anything is stored or signed.

A registrar's export seldom has our column names. The upload carries a ``mapping`` (our column -> their column);
the header is renamed with it and the CSV then goes through ``issuer.roster.parse_roster``, the same validation as
the CLI, so the service and the CLI accept and refuse the same rows with the same messages ("row 3: email must be an
e-mail address, got 'x'"). Pure functions: text in, values out; the routes store and answer.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from issuer.achievement import Achievement
from issuer.errors import RosterError
from issuer.roster import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, Learner, parse_roster
from issuer.service.problems import FieldError

__all__ = ["MappingError", "RosterPreview", "check_mapping", "decode_csv", "learners_of", "preview_roster"]

OUR_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
PREVIEW_ROWS = 10


class MappingError(ValueError):
    """The upload itself is unusable (bad mapping, not UTF-8, too many rows); ``errors`` name the fields."""

    def __init__(self, errors: list[FieldError]):
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.detail}" for e in errors))


@dataclass(frozen=True)
class RosterPreview:
    columns: list[str]  # the header after mapping (our names where mapped)
    rows: int  # learner rows (blank spreadsheet rows not counted)
    preview: list[dict[str, str]]  # the first rows, column -> value
    problems: list[str]  # every problem, "row N: ..."; empty: the roster can be issued


def check_mapping(mapping: Any) -> dict[str, str]:
    """The mapping, validated: an object whose keys are our columns and values distinct non-empty column names."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise MappingError([FieldError("mapping", "expected a JSON object: our column -> your column, e.g. "
                                                  '{"given_name": "Vorname"}')])
    errors = []
    for ours, theirs in mapping.items():
        if ours not in OUR_COLUMNS:
            errors.append(FieldError(f"mapping.{ours}", f"unknown column; ours are {', '.join(OUR_COLUMNS)}"))
        elif not isinstance(theirs, str) or not theirs.strip() or len(theirs) > 200:
            errors.append(FieldError(f"mapping.{ours}", f"expected the name of a column of your CSV, got {theirs!r}"))
    values = [v.strip().lower() for v in mapping.values() if isinstance(v, str)]
    for dup in sorted({v for v in values if values.count(v) > 1}):
        errors.append(FieldError("mapping", f"column {dup!r} is mapped to more than one of our columns"))
    if errors:
        raise MappingError(errors)
    return {k: v.strip() for k, v in mapping.items()}


def decode_csv(raw: bytes) -> str:
    """UTF-8 text (a leading BOM, as Excel writes it, is dropped); ``MappingError`` on field ``file`` otherwise."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MappingError([FieldError("file", f"not UTF-8 (invalid byte 0x{raw[exc.start]:02x} on line {line}); "
                                               "export the spreadsheet as 'CSV UTF-8'")]) from None


def _records(text: str) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None


def _mapped(text: str, mapping: dict[str, str]) -> tuple[str, list[list[str]] | None]:
    """The CSV with its header renamed by ``mapping`` (re-serialised: values and row numbers unchanged)."""
    records = _records(text)
    if records is None or not records:
        return text, records
    header = records[0]
    index = {cell.strip().lower(): i for i, cell in enumerate(header)}
    missing = [ours for ours, theirs in mapping.items() if theirs.lower() not in index]
    if missing:
        raise MappingError([FieldError(f"mapping.{ours}", f"column {mapping[ours]!r} is not in the CSV header "
                                                          f"({', '.join(map(repr, header))})") for ours in missing])
    renamed = list(header)
    for ours, theirs in mapping.items():
        renamed[index[theirs.lower()]] = ours
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(renamed)
    writer.writerows(records[1:])
    return out.getvalue(), [renamed, *records[1:]]


def preview_roster(text: str, mapping: dict[str, str], achievement: Achievement, *, max_rows: int) -> RosterPreview:
    """Columns, row count, the first rows and every problem of the roster (``MappingError`` for an unusable upload)."""
    mapped, records = _mapped(text, mapping)
    learners_rows = [r for r in (records or [])[1:] if any(c.strip() for c in r)]
    if len(learners_rows) > max_rows:
        raise MappingError([FieldError("file", f"the roster has {len(learners_rows)} learner rows; at most "
                                               f"{max_rows} may be issued at once (split it)")])
    columns = [c.strip().lower() for c in records[0]] if records else []
    preview = [dict(zip(columns, (c.strip() for c in r))) for r in learners_rows[:PREVIEW_ROWS]]
    try:
        parse_roster(mapped, achievement)
        problems: list[str] = []
    except RosterError as exc:
        problems = exc.problems
    return RosterPreview(columns=columns, rows=len(learners_rows), preview=preview, problems=problems)


def learners_of(text: str, mapping: dict[str, str], achievement: Achievement) -> list[Learner]:
    """The learners of a stored roster (``RosterError`` if it has problems)."""
    mapped, _ = _mapped(text, mapping)
    return parse_roster(mapped, achievement)
