"""The VC-API (``POST /credentials/verify``, ``POST /presentations/verify``) and the health endpoint: JSON in and out.

VC-API semantics: a credential or presentation that fails verification is still a 200 with ``verified: false``;
400/422 are only for requests that are not a verification request at all (not JSON, no ``verifiableCredential`` /
``verifiablePresentation``, wrong types).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from verifier.presentation import PresentationReport, PresentationVerifier
from verifier.report import CheckResult, Report, Status, Verdict
from verifier.service.jsontext import JsonBody, StrictJsonRoute
from verifier.service.problems import PROBLEM_BASE, Problem, ProblemError
from verifier.verify import Verifier, unreadable_report

router = APIRouter(route_class=StrictJsonRoute)  # RFC 8259 bodies only (verifier.service.jsontext)
health_router = APIRouter(route_class=StrictJsonRoute)  # RFC 8259 bodies only (verifier.service.jsontext)


async def get_verifier(request: Request) -> Verifier:
    verifier = getattr(request.app.state, "verifier", None)
    if verifier is None:  # the lifespan did not run (the app was called without starting it)
        raise ProblemError(503, "not-ready", "Service not ready", "the verifier is not started yet")
    return verifier


VerifierDep = Annotated[Verifier, Depends(get_verifier)]


async def get_presentation_verifier(request: Request, verifier: VerifierDep) -> PresentationVerifier:
    """Over the service's Verifier (its DID resolver: configured documents, did:key, did:web when enabled)."""
    return PresentationVerifier(verifier, max_credentials=request.app.state.settings.max_credentials)


PresentationVerifierDep = Annotated[PresentationVerifier, Depends(get_presentation_verifier)]


# ── schemas (pydantic only at the HTTP edge) ──────────────────────────────────────────────────────────────────

class VerifyOptions(BaseModel):
    """VC-API verification options. None changes what is checked: every check always runs (fail closed)."""

    model_config = ConfigDict(extra="allow")
    checks: list[str] | None = Field(None, description="accepted for VC-API compatibility; all checks always run")


class VerifyCredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"verifiableCredential": {
        "@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "issuer": "did:web:…"}}]})
    verifiableCredential: dict[str, Any] = Field(description="the credential (a JSON object)")
    options: VerifyOptions = Field(default_factory=VerifyOptions)


class PresentationOptions(BaseModel):
    """VC-API presentation verification options: the challenge and domain this verifier gave the holder."""

    model_config = ConfigDict(extra="allow")
    challenge: str | None = Field(None, min_length=1, max_length=1024,
                                  description="the challenge the proof must carry (replay protection); without it "
                                              "the presentation is at best partially verified")
    domain: str | None = Field(None, min_length=1, max_length=1024,
                               description="the domain the proof must name")
    checks: list[str] | None = Field(None, description="accepted for VC-API compatibility; all checks always run")


class VerifyPresentationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "verifiablePresentation": {"@context": ["https://www.w3.org/ns/credentials/v2"],
                                   "type": ["VerifiablePresentation"], "holder": "did:key:z6Mk…",
                                   "verifiableCredential": [], "proof": {}},
        "options": {"challenge": "4f1c…", "domain": "verifier.example.com"}}]})
    verifiablePresentation: dict[str, Any] = Field(description="the presentation (a JSON object)")
    options: PresentationOptions = Field(default_factory=PresentationOptions)


class CheckOut(BaseModel):
    id: str
    title: str
    status: Literal["pass", "fail", "skipped", "indeterminate"]
    reason: str


class ProblemOut(BaseModel):
    type: str
    title: str
    detail: str


class VerifyCredentialResponse(BaseModel):
    verified: bool = Field(description="true only when the verdict is 'verified'")
    verdict: Literal["verified", "partially_verified", "failed"]
    checks: list[CheckOut]
    warnings: list[ProblemOut] = Field(description="checks that could not be completed, options ignored")
    errors: list[ProblemOut] = Field(description="checks that failed")
    report: dict[str, Any] = Field(description="the full verification report (the same as `anchorcred verify --json`)")
    recognition: dict[str, Any] | None = Field(
        None, description="the recognition scorecard: seven criteria scored 0-3 with evidence and reason, and the "
                          "mandatory EU elements check (docs/recognition.md); null when the input is no credential")


class CredentialResultOut(VerifyCredentialResponse):
    """One embedded credential's result, in presentation order."""


class VerifyPresentationResponse(BaseModel):
    verified: bool = Field(description="true only when the presentation's verdict is 'verified'")
    verdict: Literal["verified", "partially_verified", "failed"]
    checks: list[CheckOut] = Field(description="the presentation's checks: format, holder signature, challenge and "
                                               "domain, embedded credentials, holder binding")
    warnings: list[ProblemOut]
    errors: list[ProblemOut]
    credentialResults: list[CredentialResultOut] = Field(description="one result per embedded credential, in order")
    report: dict[str, Any] = Field(description="the presentation's report (its credentials' are in credentialResults)")


class HealthOut(BaseModel):
    status: Literal["ok"]
    time: str
    networks: list[str]
    did_documents: int
    did_web_fetch: bool = Field(description="whether did:web documents are fetched (else only configured ones)")


# ── results: plain dicts, written once as JSON ──────────────────────────────────────────────────────────────
# The models above document the answers (OpenAPI, and schemathesis checks every answer against them); the answers
# themselves are built as dicts and encoded once. Building the models and having FastAPI validate and serialize them
# again cost more per request than the rest of the HTTP path (scripts/loadtest.py, "Where the time goes").

def _check_problem(check: CheckResult, kind: str) -> dict[str, str]:
    return {"type": f"{PROBLEM_BASE}{kind}#{check.id}", "title": check.title, "detail": check.reason}


def _problems(checks: tuple[CheckResult, ...], ignored_options: list[str]) -> tuple[list[dict], list[dict]]:
    """(warnings, errors): checks that could not be completed and ignored options; checks that failed. A skipped
    check that does not count (nothing to check: no status declared, no trusted root asked for) is no warning."""
    warnings = [_check_problem(c, "check-" + c.status.value) for c in checks
                if c.status is Status.INDETERMINATE or (c.status is Status.SKIPPED and c.counts)]
    warnings += [{"type": PROBLEM_BASE + "option-ignored", "title": "Option ignored",
                  "detail": f"options.{name} is not supported; every check runs"} for name in ignored_options]
    return warnings, [_check_problem(c, "check-failed") for c in checks if c.status is Status.FAIL]


def verification_result(report: Report, *, ignored_options: list[str] = ()) -> dict[str, Any]:
    """The answer of ``POST /credentials/verify`` (the shape of VerifyCredentialResponse), ``verified`` first."""
    warnings, errors = _problems(report.checks, list(ignored_options))
    body = report.to_json()
    return {"verified": report.verdict is Verdict.VERIFIED, "verdict": body["verdict"], "checks": body["checks"],
            "warnings": warnings, "errors": errors, "report": body, "recognition": body["recognition"]}


def presentation_result(report: PresentationReport, *, ignored_options: list[str] = ()) -> dict[str, Any]:
    """The answer of ``POST /presentations/verify`` (the shape of VerifyPresentationResponse)."""
    warnings, errors = _problems(report.checks, list(ignored_options))
    body = report.to_json(include_credentials=False)
    return {"verified": report.verdict is Verdict.VERIFIED, "verdict": body["verdict"], "checks": body["checks"],
            "warnings": warnings, "errors": errors,
            "credentialResults": [verification_result(r) for r in report.credentials], "report": body}


def _ignored(options: BaseModel) -> list[str]:
    ignored = sorted(options.model_extra or {})
    if getattr(options, "checks", None) is not None:
        ignored.insert(0, "checks")
    return ignored


async def verify_on_loop(verifier: Verifier, document: Any, *, now: datetime, source: str, small: bool) -> Report:
    """``verifier.verify(document)``, with the CPU work on the event loop and only I/O in a worker thread.

    The checks are pure CPU (a Python thread would only add a hand-over and fight the event loop for the GIL), so a
    small credential whose evidence is cached (its issuer's DID document, its batch's anchor: every credential of a
    batch but the first) is judged right here. A large body, or evidence that needs a ledger read or a did:web fetch,
    goes to the threadpool, so that slow I/O or a long canonicalization never holds up other requests.
    """
    if not small:
        return await run_in_threadpool(verifier.verify, document, now=now, source=source)
    parsed = verifier.parse(document)
    if isinstance(parsed, str):
        return unreadable_report(source, parsed, now=now)
    evidence = verifier.gather(parsed, local_only=True)
    if evidence is None:
        evidence = await run_in_threadpool(verifier.gather, parsed)
    return verifier.judge(parsed, evidence, now=now, source=source)


async def answer_credential(verifier: Verifier, body: VerifyCredentialRequest, *, size: int, inline_max_bytes: int
                            ) -> JsonBody:
    """The answer to a valid ``POST /credentials/verify`` of ``size`` bytes (the route and its fast lane both end
    here, so they cannot answer differently)."""
    report = await verify_on_loop(verifier, body.verifiableCredential, now=datetime.now(timezone.utc),
                                  source="request body", small=size <= inline_max_bytes)
    return JsonBody(verification_result(report, ignored_options=_ignored(body.options)))


# ── endpoints ───────────────────────────────────────────────────────────────────────────────────────────────

@router.post(
    "/credentials/verify",
    response_model=VerifyCredentialResponse,
    response_class=JsonBody,
    tags=["VC-API"],
    summary="Verify a credential",
    responses={
        400: {"description": "The body is not JSON", "content": {"application/problem+json": {}}},
        413: {"description": "The body is larger than the configured limit", "content": {"application/problem+json": {}}},
        422: {"description": "The body is not a verification request", "content": {"application/problem+json": {}}},
    },
)
async def verify_credential(body: VerifyCredentialRequest, verifier: VerifierDep, request: Request) -> JsonBody:
    """Every check (format and EU elements, signature, integrity, Merkle inclusion, anchor, validity), each with its
    reason. 200 whatever the verdict; ``verified`` is true only when every check passed."""
    # A well-formed request is usually answered by verifier.service.fastlane before it gets here, the same way.
    return await answer_credential(verifier, body, size=len(await request.body()),
                                   inline_max_bytes=request.app.state.settings.inline_max_bytes)


@router.post(
    "/presentations/verify",
    response_model=VerifyPresentationResponse,
    response_class=JsonBody,
    tags=["VC-API"],
    summary="Verify a presentation",
    responses={
        400: {"description": "The body is not JSON", "content": {"application/problem+json": {}}},
        413: {"description": "The body is larger than the configured limit", "content": {"application/problem+json": {}}},
        422: {"description": "The body is not a verification request", "content": {"application/problem+json": {}}},
    },
)
async def verify_presentation(body: VerifyPresentationRequest, presentations: PresentationVerifierDep) -> JsonBody:
    """The presentation's checks (format; the holder's eddsa-rdfc-2022 proof with proofPurpose authentication; the
    challenge and domain against ``options``; every embedded credential; holder binding: the signer is the subject of
    each credential), each with its reason, and one result per embedded credential. 200 whatever the verdict. An
    unsigned presentation fails; without ``options.challenge`` it is at best partially verified (replayable)."""
    # In a worker thread: several credentials, and a presentation's canonical form covers all of them.
    report = await run_in_threadpool(
        presentations.verify, body.verifiablePresentation, challenge=body.options.challenge,
        domain=body.options.domain, now=datetime.now(timezone.utc), source="request body")
    return JsonBody(presentation_result(report, ignored_options=_ignored(body.options)))


@health_router.get("/health", response_model=HealthOut, tags=["service"], summary="Liveness")
async def health(request: Request) -> HealthOut:
    state = request.app.state
    return HealthOut(
        status="ok",
        time=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        networks=list(getattr(state, "network_labels", [])),
        did_documents=int(getattr(state, "did_document_count", 0)),
        did_web_fetch=bool(state.settings.did_web_fetch),
    )


__all__ = ["JsonBody", "Problem", "get_verifier", "health_router", "presentation_result", "router", "verification_result"]
