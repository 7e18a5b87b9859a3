"""From a posted form to credentials, and from reports to a CSV of verdicts. Values in, values out, apart from
reading the form itself.

A pasted text or an uploaded file holds one credential, or a JSON array of credentials (each then gets its own report,
named ``<source>[i]``). Input that is not a credential at all (not UTF-8, not JSON, too large) still gets a report: a
failed format check saying why, as the CLI does.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from verifier.report import Report, Status
from verifier.service import jsontext
from verifier.service.problems import FieldError, ProblemError
from verifier.verify import Verifier, unreadable_report

PASTED = "pasted credential"


@dataclass(frozen=True)
class Unreadable:
    reason: str


@dataclass(frozen=True)
class PendingLink:
    """A link from a CSV of links, to be fetched (``links.fetch_links`` replaces it with what it holds)."""

    url: str


@dataclass(frozen=True)
class IntakeLimits:
    max_body_bytes: int  # one credential (pasted text or one file)
    max_files: int
    max_credentials: int


Item = tuple[str, Any]  # (source, parsed JSON, Unreadable or PendingLink)


def parse_credentials(raw: bytes, source: str, *, max_bytes: int) -> list[Item]:
    if len(raw) > max_bytes:
        return [(source, Unreadable(f"{source}: larger than the {max_bytes}-byte limit"))]
    try:
        data = jsontext.loads(raw.decode("utf-8-sig"))  # RFC 8259: no NaN, no unpaired surrogates
    except UnicodeDecodeError as exc:
        return [(source, Unreadable(f"{source}: not UTF-8 ({exc.reason} at byte {exc.start})"))]
    except ValueError as exc:
        return [(source, Unreadable(f"{source}: not valid JSON ({exc})"))]
    except RecursionError:
        return [(source, Unreadable(f"{source}: JSON nested too deep to be a credential"))]
    if isinstance(data, list):
        if not data:
            return [(source, Unreadable(f"{source}: an empty JSON array, expected a credential or a list of them"))]
        return [(f"{source}[{i}]", doc) for i, doc in enumerate(data)]
    return [(source, data)]


# ── CSV of links ──────────────────────────────────────────────────────────────────────────────────────────────

LINK_HEADERS = ("url", "link")
MAX_LINK_LENGTH = 2048
_BARE_WORD = re.compile(r"[A-Za-z0-9 _-]*")
_HTTP_LINK = re.compile(r"https?://[^\s]+", re.IGNORECASE)


def parse_link_csv(raw: bytes, source: str) -> list[Item]:
    """(source, PendingLink | Unreadable) per row of the CSV file ``source``; a file that is no CSV is one row.

    The links are in the column headed ``url`` or ``link`` (any case) when the first row names one; else in the first
    column, and the first row is a header only when its first cell is a bare word (letters, digits, spaces, ``_``,
    ``-``: something no link can be). Blank rows are skipped; every other row gives a result, a bad one a failed
    report saying why (no row is dropped silently).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [(source, Unreadable(f"{source}: not UTF-8 ({exc.reason} at byte {exc.start})"))]
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return [(source, Unreadable(f"{source}: not a CSV file ({exc})"))]
    numbered = [(n, [cell.strip() for cell in row]) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        return [(source, Unreadable(f"{source}: no link in the file"))]
    column, name = 0, "the first column"
    first = numbered[0][1]
    named = [i for i, cell in enumerate(first) if cell.lower() in LINK_HEADERS]
    if named:
        column, name = named[0], f"column {first[named[0]]!r}"
        numbered = numbered[1:]
    elif _BARE_WORD.fullmatch(first[0]):
        numbered = numbered[1:]  # a header such as "credential": no link is a bare word
    items: list[Item] = []
    for n, row in numbered:
        where = f"{source} row {n}"
        cell = row[column] if column < len(row) else ""
        if not cell:
            items.append((where, Unreadable(f"{where}: no link in {name}")))
        elif len(cell) > MAX_LINK_LENGTH:
            items.append((where, Unreadable(f"{where}: a link of {len(cell)} characters, at most "
                                            f"{MAX_LINK_LENGTH} are followed")))
        elif not _HTTP_LINK.fullmatch(cell):
            items.append((where, Unreadable(f"{where}: {cell[:80]!r} is not an http(s) link")))
        else:
            items.append((cell, PendingLink(cell)))
    return items


async def read_form(request: Request, limits: IntakeLimits) -> list[Item]:
    """The credentials posted in the form fields ``credential`` (text) and ``files`` (one or many files), and the
    links of the CSV file in ``links`` (as PendingLink items, fetched by the caller)."""
    # Starlette refuses more files, or a larger text field, with a 400 that the problem handler reports.
    form = await request.form(max_files=limits.max_files, max_fields=16, max_part_size=limits.max_body_bytes)
    items: list[Item] = []
    text = form.get("credential")
    if isinstance(text, str) and text.strip():
        items += parse_credentials(text.encode("utf-8"), PASTED, max_bytes=limits.max_body_bytes)
    for upload in form.getlist("files"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue  # the browser sends an empty part when no file was chosen
        raw = await upload.read(limits.max_body_bytes + 1)
        items += parse_credentials(raw, upload.filename, max_bytes=limits.max_body_bytes)
    links = form.get("links")
    if isinstance(links, UploadFile) and links.filename:
        raw = await links.read(limits.max_body_bytes + 1)
        if len(raw) > limits.max_body_bytes:
            items.append((links.filename, Unreadable(f"{links.filename}: larger than the "
                                                     f"{limits.max_body_bytes}-byte limit")))
        else:
            items += parse_link_csv(raw, links.filename)
    if not items:
        raise ProblemError(400, "no-credential", "No credential given",
                           "paste a credential's JSON, choose at least one credential file, or a CSV file of links",
                           errors=(FieldError("credential", "empty"), FieldError("files", "no file chosen"),
                                   FieldError("links", "no file chosen")))
    if len(items) > limits.max_credentials:
        raise ProblemError(413, "too-many-credentials", "Too many credentials",
                           f"{len(items)} credentials in one request, at most {limits.max_credentials} are verified "
                           "at once; split them into several requests",
                           errors=(FieldError("files", f"at most {limits.max_credentials} credentials"),))
    return items


def verify_items(verifier: Verifier, items: list[Item], *, now: datetime) -> list[Report]:
    """Reports in input order with one reference time; the ledger is read once per anchor (CachingReader)."""
    readable = [(src, doc) for src, doc in items if not isinstance(doc, Unreadable)]
    # One worker: the service runs in threads, and verify_many forks only for large runs anyway.
    verified = iter(verifier.verify_many(readable, now=now, workers=1))
    return [
        unreadable_report(src, doc.reason, now=now) if isinstance(doc, Unreadable) else next(verified)
        for src, doc in items
    ]


# ── CSV of verdicts ─────────────────────────────────────────────────────────────────────────────────────────

CSV_HEADER = ("source", "credential_id", "verdict", "check", "reason")


def first_problem(report: Report):
    """The first failed check, else the first that could not be completed, else None (verified)."""
    for wanted in ((Status.FAIL,), (Status.INDETERMINATE, Status.SKIPPED)):
        for c in report.checks:
            if c.status in wanted and c.counts:  # a check not asked for (issuer trust unconfigured) is no problem
                return c
    return None


def _cell(value: str) -> str:
    # A cell starting with = + - @ (or a tab/CR) is a formula to a spreadsheet: neutralise it (OWASP CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def verdicts_csv(reports: list[Report]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow(CSV_HEADER)
    for r in reports:
        c = first_problem(r)
        row = (r.source, r.credential_id or "", r.verdict.value, c.id if c else "", c.reason if c else "")
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
