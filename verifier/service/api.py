"""The VC-API (``POST /credentials/verify``) and the health endpoint: JSON in, JSON out.

VC-API semantics: a credential that fails verification is still a 200 with ``verified: false``; 400/422 are only for
requests that are not a verification request at all (not JSON, no ``verifiableCredential``, wrong types).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from verifier.report import Report, Status, Verdict
from verifier.service.problems import PROBLEM_BASE, Problem, ProblemError
from verifier.verify import Verifier

router = APIRouter()
health_router = APIRouter()


def get_verifier(request: Request) -> Verifier:
    verifier = getattr(request.app.state, "verifier", None)
    if verifier is None:  # the lifespan did not run (the app was called without starting it)
        raise ProblemError(503, "not-ready", "Service not ready", "the verifier is not started yet")
    return verifier


VerifierDep = Annotated[Verifier, Depends(get_verifier)]


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


class HealthOut(BaseModel):
    status: Literal["ok"]
    time: str
    networks: list[str]
    did_documents: int


def _check_problem(check, kind: str) -> ProblemOut:
    return ProblemOut(type=f"{PROBLEM_BASE}{kind}#{check.id}", title=check.title, detail=check.reason)


def verification_result(report: Report, *, ignored_options: list[str] = ()) -> VerifyCredentialResponse:
    failed = [c for c in report.checks if c.status is Status.FAIL]
    unsure = [c for c in report.checks if c.status in (Status.INDETERMINATE, Status.SKIPPED)]
    warnings = [_check_problem(c, "check-" + c.status.value) for c in unsure]
    warnings += [ProblemOut(type=PROBLEM_BASE + "option-ignored", title="Option ignored",
                            detail=f"options.{name} is not supported; every check runs") for name in ignored_options]
    return VerifyCredentialResponse(
        verified=report.verdict is Verdict.VERIFIED,
        verdict=report.verdict.value,
        checks=[CheckOut(**c.to_json()) for c in report.checks],
        warnings=warnings,
        errors=[_check_problem(c, "check-failed") for c in failed],
        report=report.to_json(),
    )


# ── endpoints ───────────────────────────────────────────────────────────────────────────────────────────────

@router.post(
    "/credentials/verify",
    response_model=VerifyCredentialResponse,
    tags=["VC-API"],
    summary="Verify a credential",
    responses={
        400: {"description": "The body is not JSON", "content": {"application/problem+json": {}}},
        413: {"description": "The body is larger than the configured limit", "content": {"application/problem+json": {}}},
        422: {"description": "The body is not a verification request", "content": {"application/problem+json": {}}},
    },
)
def verify_credential(body: VerifyCredentialRequest, verifier: VerifierDep) -> VerifyCredentialResponse:
    """Every check (format and EU elements, signature, integrity, Merkle inclusion, anchor, validity), each with its
    reason. 200 whatever the verdict; ``verified`` is true only when every check passed."""
    report = verifier.verify(body.verifiableCredential, now=datetime.now(timezone.utc), source="request body")
    ignored = sorted(k for k in (body.options.model_extra or {}))
    if body.options.checks is not None:
        ignored.insert(0, "checks")
    return verification_result(report, ignored_options=ignored)


@health_router.get("/health", response_model=HealthOut, tags=["service"], summary="Liveness")
def health(request: Request) -> HealthOut:
    state = request.app.state
    return HealthOut(
        status="ok",
        time=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        networks=list(getattr(state, "network_labels", [])),
        did_documents=int(getattr(state, "did_document_count", 0)),
    )


__all__ = ["Problem", "get_verifier", "health_router", "router", "verification_result"]
