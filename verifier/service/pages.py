"""The employer's page: paste or upload credentials, or a CSV of links, read each report; download the verdicts as CSV.

Server-rendered, no JavaScript, no external assets. The same reports as the API and the CLI.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from verifier.report import Status, Verdict
from verifier.service.api import VerifierDep
from verifier.fetch import FetchRefusedError, FetchUnavailableError
from verifier.service.intake import IntakeLimits, Item, parse_credentials, read_form, verdicts_csv, verify_items
from verifier.service.links import fetch_links

router = APIRouter(tags=["page"])

STATUS_TEXT = {
    Status.PASS: ("✔", "Passed"),
    Status.FAIL: ("✘", "Failed"),
    Status.SKIPPED: ("–", "Skipped"),
    Status.INDETERMINATE: ("?", "Could not be checked"),
}
VERDICT_TEXT = {
    Verdict.VERIFIED: ("Verified", "every check passed"),
    Verdict.PARTIALLY_VERIFIED: ("Partially verified", "no check failed, but some could not be completed (grey)"),
    Verdict.FAILED: ("Failed", "at least one check failed (red)"),
}
ANCHOR_FIELDS = (("ledger", "Ledger"), ("chain_id", "Chain id"), ("block", "Block"), ("time", "Time (UTC)"),
                 ("transaction", "Transaction"), ("confirmations", "Confirmations"), ("sender", "Sender"),
                 ("mode", "Mode"), ("merkle_root", "Merkle root"))
# A form posts multipart: the OpenAPI document names its fields (read by hand below, to apply the limits).
FORM_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object",
    "properties": {
        "credential": {"type": "string", "description": "a credential's JSON (or a JSON array of credentials)"},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "credential files (JSON), one or many"},
        "links": {"type": "string", "format": "binary",
                  "description": "a CSV file of credential links (column 'url' or 'link', else the first column)"},
    },
}}}}}


def limits(request: Request) -> IntakeLimits:
    s = request.app.state.settings
    return IntakeLimits(s.max_body_bytes, s.max_files, s.max_credentials)


LimitsDep = Annotated[IntakeLimits, Depends(limits)]


def _render(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    base = {"status_text": STATUS_TEXT, "verdict_text": VERDICT_TEXT, "anchor_fields": ANCHOR_FIELDS,
            "limits": limits(request), "verdict_enum": Verdict}
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


@router.get("/", response_class=HTMLResponse, summary="The verification page")
def index(request: Request) -> HTMLResponse:
    return _render(request, "index.html", {})


FORM_PROBLEMS = {
    400: {"description": "No credential given, or a form the service cannot read", "content": {"application/problem+json": {}}},
    413: {"description": "Too many files or credentials, or too large", "content": {"application/problem+json": {}}},
}


@router.post("/verify", response_class=HTMLResponse, summary="Verify pasted or uploaded credentials (page)",
             openapi_extra=FORM_BODY, responses=FORM_PROBLEMS)
async def verify_page(request: Request, verifier: VerifierDep, lim: LimitsDep) -> HTMLResponse:
    items = await _fetched(request, await read_form(request, lim), lim)
    return await _results(request, verifier, items)


async def _fetched(request: Request, items: list[Item], lim: IntakeLimits) -> list[Item]:
    """The items with the links of a posted CSV fetched (through the guarded fetcher, in a worker thread)."""
    s = request.app.state.settings
    return await run_in_threadpool(fetch_links, request.app.state.fetcher, items, max_credentials=lim.max_credentials,
                                   concurrency=s.fetch_concurrency, deadline=s.fetch_bulk_timeout,
                                   max_bytes=lim.max_body_bytes)


async def _results(request: Request, verifier, items) -> HTMLResponse:
    now = datetime.now(timezone.utc)
    reports = await run_in_threadpool(verify_items, verifier, items, now=now)
    counts = {v: sum(r.verdict is v for r in reports) for v in Verdict}
    csv_href = "data:text/csv;charset=utf-8," + quote(verdicts_csv(reports))
    # Each credential goes back in its report's "signed PDF report" form (POST /report.pdf verifies it again).
    documents = [doc if isinstance(doc, dict) else None for _, doc in items]
    return _render(request, "results.html", {"reports": reports, "counts": counts, "csv_href": csv_href,
                                             "documents": documents,
                                             "verified_at": now.strftime("%Y-%m-%d %H:%M:%S UTC")})


@router.get(
    "/verify/link",
    response_class=HTMLResponse,
    summary="Verify the credential at a link (share links open this)",
    responses={
        400: {"description": "The link was refused (scheme, address, content type, size, redirects): the page says why",
              "content": {"text/html": {}}},
        413: {"description": "The link holds more credentials than one request verifies", "content": {"text/html": {}}},
        422: {"description": "No link, or not a link", "content": {"application/problem+json": {}}},
        502: {"description": "The credential could not be fetched: the page says why", "content": {"text/html": {}}},
    },
)
async def verify_link(
    request: Request, verifier: VerifierDep, lim: LimitsDep, url: Annotated[str, Query(min_length=1, max_length=2048)]
) -> HTMLResponse:
    """Fetch the credential through the guarded fetcher (https, public addresses, size, time and redirect limits,
    JSON only; verifier.fetch) and show its report; a refused or unreachable link is said plainly on the page."""
    try:
        final_url, data = await run_in_threadpool(request.app.state.fetcher.fetch_json, url)
    except FetchRefusedError as exc:
        return _render(request, "index.html", {"link": url, "link_error": f"The link was not followed: {exc.reason}."}, 400)
    except FetchUnavailableError as exc:
        return _render(request, "index.html", {"link": url, "link_error": f"The credential could not be fetched: {exc.reason}."}, 502)
    items = parse_credentials(json.dumps(data).encode("utf-8"), final_url, max_bytes=lim.max_body_bytes)
    if len(items) > lim.max_credentials:
        return _render(request, "index.html", {
            "link": url,
            "link_error": f"The link holds {len(items)} credentials; at most {lim.max_credentials} are verified at once.",
        }, 413)
    return await _results(request, verifier, items)


@router.post("/verify.csv", summary="Verify pasted or uploaded credentials, answer a CSV of verdicts",
             response_class=Response, openapi_extra=FORM_BODY,
             responses={200: {"content": {"text/csv": {}}, "description": "source, credential_id, verdict, check, reason"},
                        **FORM_PROBLEMS})
async def verify_csv(request: Request, verifier: VerifierDep, lim: LimitsDep) -> Response:
    items = await _fetched(request, await read_form(request, lim), lim)
    reports = await run_in_threadpool(verify_items, verifier, items, now=datetime.now(timezone.utc))
    return Response(verdicts_csv(reports), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="verdicts.csv"'})
