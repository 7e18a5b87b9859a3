"""``POST /report.pdf``: verify one credential and answer the signed PDF verification report (verifier/pdfreport.py).

The body is either the VC-API's JSON (``{"verifiableCredential": {...}}``) or the page's form field ``credential``
(the results page posts the credential it just showed). The credential is verified again here, with this request's
time: a report states what the verifier found when it made the report, never what a client says it found.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from verifier.pdfreport import report_pdf
from verifier.service import jsontext
from verifier.service.api import VerifierDep, verify_on_loop
from verifier.service.problems import FieldError, ProblemError

router = APIRouter(tags=["report"])

BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["verifiableCredential"], "properties": {
        "verifiableCredential": {"type": "object", "description": "the credential (a JSON object)"}}}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["credential"], "properties": {
        "credential": {"type": "string", "description": "the credential's JSON"}}}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["credential"], "properties": {
        "credential": {"type": "string", "description": "the credential's JSON"}}}},
}}}


def _bad(detail: str, field: str) -> ProblemError:
    return ProblemError(422, "invalid-request", "Not a report request", detail, errors=(FieldError(field, detail),))


async def _credential(request: Request, max_bytes: int) -> Any:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form(max_files=0, max_fields=4, max_part_size=max_bytes)
        text = form.get("credential")
        if not isinstance(text, str) or not text.strip():
            raise _bad("the form field 'credential' must hold the credential's JSON", "credential")
        try:
            return jsontext.loads(text)
        except json.JSONDecodeError as exc:
            raise ProblemError(400, "invalid-json", "Not JSON", f"credential: {exc}",
                               errors=(FieldError("credential", str(exc)),)) from None
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ProblemError(415, "unsupported-media-type", "Unsupported media type",
                           f"send application/json or a form, got {media or 'no content type'!r}")
    try:
        body = jsontext.loads(await request.body())
    except json.JSONDecodeError as exc:
        raise ProblemError(400, "invalid-json", "Not JSON", str(exc)) from None
    if not isinstance(body, dict) or "verifiableCredential" not in body:
        raise _bad("expected an object with verifiableCredential", "verifiableCredential")
    return body["verifiableCredential"]


@router.post(
    "/report.pdf",
    response_class=Response,
    summary="Verify a credential and answer the signed PDF verification report",
    openapi_extra=BODY,
    responses={
        200: {"content": {"application/pdf": {}},
              "description": "the report: verdict, checks, recognition scorecard, the credential's digest, signed by "
                             "the verifier's did:key (check it with `anchorcred verify-report FILE.pdf`)"},
        400: {"description": "The body is not JSON", "content": {"application/problem+json": {}}},
        413: {"description": "The body is larger than the configured limit", "content": {"application/problem+json": {}}},
        415: {"description": "Neither JSON nor a form", "content": {"application/problem+json": {}}},
        422: {"description": "No credential object in the request", "content": {"application/problem+json": {}}},
    },
)
async def report_pdf_route(request: Request, verifier: VerifierDep) -> Response:
    document = await _credential(request, request.app.state.settings.max_body_bytes)
    if not isinstance(document, dict):
        raise _bad(f"the credential must be a JSON object, got {type(document).__name__}", "verifiableCredential")
    now = datetime.now(timezone.utc)
    report = await verify_on_loop(verifier, document, now=now, source="request body", small=False)
    data = await run_in_threadpool(report_pdf, report, document, request.app.state.report_key, now=now)
    name = hashlib.sha256(str(report.credential_id).encode("utf-8")).hexdigest()[:12]
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="verification-report-{name}.pdf"'})
