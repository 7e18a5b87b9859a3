"""RFC 9457 problem details: every error the service returns, and the handlers that make them.

A client of the API gets ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and ``instance``
(and ``errors``, naming each bad field, for invalid input). A browser (``Accept: text/html``) gets the same problem
as a page. No stack trace ever reaches a response: an unexpected exception is logged here and answered with a 500
problem that says nothing about the code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from verifier.errors import AnchorcredError, EvidenceUnavailableError, InvalidInputError

PROBLEM_BASE = "https://anchorcred.org/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("verifier.service")


@dataclass(frozen=True)
class FieldError:
    field: str  # the JSON path or form field, e.g. "verifiableCredential" or "options.checks"
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "detail": self.detail}


class ProblemError(Exception):
    """Raised by routes for bad requests; turned into a problem response by the handler below."""

    def __init__(self, status: int, slug: str, title: str, detail: str, errors: tuple[FieldError, ...] = ()):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.errors = status, slug, title, detail, errors


@dataclass(frozen=True)
class Problem:
    status: int
    slug: str
    title: str
    detail: str
    instance: str = ""
    errors: tuple[FieldError, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.instance:
            body["instance"] = self.instance
        if self.errors:
            body["errors"] = [e.to_json() for e in self.errors]
        return body


def wants_html(request: Request) -> bool:
    """A browser asking for a page (the VC-API paths always answer JSON)."""
    if request.url.path.startswith(("/credentials", "/presentations")):
        return False
    return "text/html" in request.headers.get("accept", "")


def problem_response(request: Request, problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    """The problem as JSON, or as a page for a browser; ``headers`` carries what HTTP requires (a 405's Allow)."""
    problem = Problem(problem.status, problem.slug, problem.title, problem.detail,
                      problem.instance or request.url.path, problem.errors)
    templates = getattr(request.app.state, "templates", None)
    if templates is not None and wants_html(request):
        return templates.TemplateResponse(
            request, "problem.html", {"problem": problem, "type": PROBLEM_BASE + problem.slug},
            status_code=problem.status, headers=dict(headers or {}),
        )
    return JSONResponse(problem.to_json(), status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE,
                        headers=dict(headers or {}))


# ── mapping ─────────────────────────────────────────────────────────────────────────────────────────────────

def problem_of_verifier_error(exc: AnchorcredError) -> Problem:
    """The one mapping from the verifier's error family to HTTP (verifier/errors.py names the three kinds)."""
    if isinstance(exc, InvalidInputError):
        return Problem(422, "invalid-input", "Invalid input", exc.diagnostics())
    if isinstance(exc, EvidenceUnavailableError):
        return Problem(503, "evidence-unavailable", "Evidence unavailable", exc.diagnostics())
    return Problem(500, "verifier-error", "Verifier error", exc.diagnostics())


def _field_name(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def problem_of_validation(exc: RequestValidationError) -> Problem:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        e = next(e for e in errors if e.get("type") == "json_invalid")
        why = (e.get("ctx") or {}).get("error", "JSON decode error")
        at = e.get("loc", ("body", 0))[-1]
        return Problem(400, "malformed-json", "Malformed JSON", f"the request body is not JSON: {why} at character {at}",
                       errors=(FieldError("body", f"not JSON: {why}"),))
    fields = tuple(FieldError(_field_name(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors)
    detail = "; ".join(f"{f.field}: {f.detail}" for f in fields) or "the request does not match the expected schema"
    return Problem(422, "invalid-request", "Invalid request", detail, errors=fields)


_HTTP_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 413: "Content too large",
                415: "Unsupported media type"}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return problem_response(request, Problem(exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors))

    install_shared_handlers(app)


def install_shared_handlers(app: FastAPI, *, respond: Callable[..., Response] = problem_response,
                            http_titles: Mapping[int, str] = _HTTP_TITLES, logger: logging.Logger = log) -> None:
    """The handlers the verifier and issuer services share: the verifier's error family, FastAPI's validation errors,
    Starlette's HTTP errors (with their headers: a 405's Allow) and, logged to ``logger``, any unexpected exception.
    ``respond(request, problem, headers=None)`` is the service's problem answer; ``http_titles`` names its statuses."""

    @app.exception_handler(AnchorcredError)
    async def _verifier_error(request: Request, exc: AnchorcredError) -> Response:
        return respond(request, problem_of_verifier_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, problem_of_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = http_titles.get(exc.status_code, "HTTP error")
        slug = title.lower().replace(" ", "-")
        return respond(request, Problem(exc.status_code, slug, title, str(exc.detail)), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return respond(request, Problem(
            500, "internal-error", "Internal error", "the service failed unexpectedly; the error has been logged"))

