"""RFC 9457 problem details for the facade: the one exception handler per error family, no stack trace ever sent."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ebsi.errors import AuthorisationError, ContractRevertError, EbsiError, TransactionMismatchError

__all__ = ["PROBLEM_MEDIA_TYPE", "install_problem_handlers", "problem"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://anchorcred.example/problems/ebsi/"
log = logging.getLogger("ebsi.service")


def problem(status: int, title: str, detail: str, *, slug: str | None = None, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug if slug else "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _slug(exc: EbsiError) -> str:
    name = type(exc).__name__.removesuffix("Error")
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(EbsiError)
    async def ebsi_error(request: Request, exc: EbsiError) -> JSONResponse:
        extra: dict[str, object] = {}
        headers = None
        if isinstance(exc, TransactionMismatchError):
            extra["field"] = exc.field
        if isinstance(exc, ContractRevertError):
            extra["error"] = exc.error
        if isinstance(exc, AuthorisationError):
            headers = {"WWW-Authenticate": 'Bearer realm="ebsi"'}
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem(exc.status, exc.title, str(exc), slug=_slug(exc), instance=request.url.path,
                       headers=headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:20]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg')}")
        return problem(400, "Bad Request", "; ".join(parts) or "invalid request", slug="bad-request",
                       instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail) if exc.status_code != 404 else "Not Found",
                       f"{request.method} {request.url.path}: {exc.detail}", instance=request.url.path,
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "Internal Server Error", "the ledger service failed; see its log",
                       instance=request.url.path)
