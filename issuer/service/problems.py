"""RFC 9457 problem details for the issuer service: every error it returns, and the handlers that make them.

The shapes (``Problem``, ``FieldError``) and the reading of FastAPI's validation errors (400 for a body that is not
JSON, 422 naming each bad field) are the verifier service's (``verifier.service.problems``; the issuer may import the
verifier, never the reverse). What is the issuer's own: problems carry headers (``WWW-Authenticate`` on a 401, ``Allow``
on a 405), the issuer's error family maps here (``AchievementError`` and ``RosterError`` list every problem, an
``IssuanceError`` names the credential field), and a login-required page answer is a redirect, not a problem.
No stack trace ever reaches a response: an unexpected exception is logged and answered with a bare 500 problem.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from issuer.errors import InputValidationError, IssuerError
from verifier.service.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, FieldError, Problem, install_shared_handlers

__all__ = ["PROBLEM_BASE", "PROBLEM_MEDIA_TYPE", "FieldError", "LoginRequired", "Problem", "ProblemError",
           "ProblemOut", "document_problems", "install_problem_handlers", "problem_response", "problems_of", "responses"]

log = logging.getLogger("issuer.service")


class ProblemError(Exception):
    """Raised by routes and dependencies; turned into a problem response by the handler below."""

    def __init__(self, status: int, slug: str, title: str, detail: str, errors: tuple[FieldError, ...] = (),
                 headers: Mapping[str, str] | None = None):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.errors = status, slug, title, detail, errors
        self.headers = dict(headers or {})

    @property
    def problem(self) -> Problem:
        return Problem(self.status, self.slug, self.title, self.detail, errors=self.errors)


def not_found(what: str, ident: str) -> ProblemError:
    """The one 404 for a tenant's object: the same whether it does not exist or belongs to another tenant."""
    return ProblemError(404, "not-found", "Not found", f"no {what} {ident!r} (for this tenant)")


class LoginRequired(Exception):
    """An admin page was asked for without a valid session: answered with a redirect to the login page."""

    def __init__(self, next_path: str = "/admin"):
        super().__init__("login required")
        self.next_path = next_path


# ── OpenAPI: the problem body, documented on every route ────────────────────────────────────────────────────

class FieldErrorOut(BaseModel):
    field: str = Field(description="the field, e.g. 'credential.issuer' or 'learning_outcomes[0].esco'")
    detail: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldErrorOut] | None = None


_DESCRIPTIONS = {
    400: "The body is not JSON (or the request is malformed)",
    401: "No valid API key: `Authorization: Bearer ac_<prefix>_<secret>` (a `WWW-Authenticate: Bearer` challenge)",
    403: "The API key lacks the scope this operation needs",
    404: "No such object for this tenant",
    409: "The object is not in a state that allows this",
    413: "The body is larger than the configured limit",
    415: "Unsupported media type",
    422: "The request is well-formed but invalid; `errors` names each field",
    503: "The service is not ready",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these problem statuses (``application/problem+json`` with the ProblemOut schema)."""
    return {s: {"description": _DESCRIPTIONS.get(s, "Problem"), "content": {PROBLEM_MEDIA_TYPE: {"schema": _REF}}}
            for s in statuses}


_REF = {"$ref": "#/components/schemas/ProblemOut"}
_WRITE_METHODS = ("post", "put", "patch", "delete")


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI document with every error answer as it is really sent: each 4xx/5xx is
    ``application/problem+json`` (FastAPI's own 422 says ``application/json`` with its HTTPValidationError), and every
    write operation documents the 413 of the body limit and the 400 of a body that is not JSON or not a form."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["ProblemOut"] = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    for defs in list(schemas["ProblemOut"].pop("$defs", {}).items()):
        schemas[defs[0]] = defs[1]
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            answers = op.setdefault("responses", {})
            if method in _WRITE_METHODS:
                for status in ("400", "413"):
                    answers.setdefault(status, {"description": _DESCRIPTIONS[int(status)]})
            for status, answer in answers.items():
                if status[:1] in ("4", "5"):
                    answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _REF}}
                    if status == "422":
                        answer["description"] = _DESCRIPTIONS[422]
    used = repr(schema.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in used:
            schemas.pop(name, None)
    return schema


# ── answers ─────────────────────────────────────────────────────────────────────────────────────────────────

def problem_response(request: Request, problem: Problem, headers: Mapping[str, str] | None = None) -> Response:
    problem = Problem(problem.status, problem.slug, problem.title, problem.detail,
                      problem.instance or request.url.path, problem.errors)
    return JSONResponse(problem.to_json(), status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE,
                        headers=dict(headers or {}))


_PATH_RE = re.compile(r"^([A-Za-z_][\w.\[\]]*(?: \(header\))?|row \d+(?: \(header\))?): ")


def problems_of(exc: InputValidationError, *, prefix: str = "") -> tuple[FieldError, ...]:
    """Each line of an achievement or roster error as a field error ("ects: expected ..." -> field ``ects``)."""
    out = []
    for line in exc.problems:
        m = _PATH_RE.match(line)
        field = m.group(1) if m else "body"
        out.append(FieldError(prefix + field, line[m.end():] if m else line))
    return tuple(out)


_HTTP_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                405: "Method not allowed", 409: "Conflict", 413: "Content too large", 415: "Unsupported media type"}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return problem_response(request, exc.problem, exc.headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/admin/login?next=" + quote(exc.next_path, safe="/"), status_code=303)

    @app.exception_handler(InputValidationError)
    async def _invalid_input(request: Request, exc: InputValidationError) -> Response:
        errors = problems_of(exc)
        return problem_response(request, Problem(422, f"invalid-{exc.what}", f"Invalid {exc.what}",
                                                 f"{len(errors)} problem(s) in the {exc.what}", errors=errors))

    @app.exception_handler(IssuerError)
    async def _issuer_error(request: Request, exc: IssuerError) -> Response:
        return problem_response(request, Problem(422, "invalid-input", "Invalid input", exc.diagnostics()))

    install_shared_handlers(app, respond=problem_response, http_titles=_HTTP_TITLES, logger=log)
