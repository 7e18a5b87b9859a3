"""The verifier service's app factory: ``create_app(settings=None, *, verifier=None)``.

Nothing is created at import. The factory builds the app; its lifespan builds the verifier (ledger readers from the
networks file, DID documents from the configured files, did:web fetched through the guarded fetcher when
``did_web_fetch`` is set) and closes the ledger connections at shutdown. Tests and
embedders pass a ready ``verifier`` instead. Run: ``uvicorn --factory verifier.service.app:create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.config import load_networks
from verifier.did import DidResolver
from verifier.didweb import WebDidResolver
from verifier.fetch import GuardedFetcher
from verifier.reportsign import load_or_create_report_key
from verifier.service import api, pages, reportpdf
from verifier.service.fastlane import CredentialFastLane
from verifier.service.problems import Problem, install_problem_handlers, problem_response
from verifier.service.settings import VerifierSettings, get_settings
from verifier.setup import build_verifier, load_did_documents
from verifier.statuslists import StatusListSource
from verifier.verify import Verifier

HERE = Path(__file__).resolve().parent
log = logging.getLogger("verifier.service")
FORM_PATHS = ("/verify", "/verify.csv")
# Our pages carry no script and load nothing from elsewhere; the OpenAPI pages (/docs, /redoc) load FastAPI's own.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


def create_app(
    settings: VerifierSettings | None = None, *, verifier: Verifier | None = None, fetcher: GuardedFetcher | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup = None
        own_fetcher = fetcher is None
        app.state.fetcher = fetcher or GuardedFetcher(settings.fetch_policy())
        try:
            # The key that signs PDF reports: its did:key is printed in every report and logged here (never the key).
            app.state.report_key, created = load_or_create_report_key(settings.report_key_path())
            log.info("report-signing key %s %s: %s", settings.report_key_path(), "created" if created else "loaded",
                     app.state.report_key.did)
            if verifier is not None:
                app.state.verifier = verifier
            else:
                networks = load_networks(settings.networks_file) if settings.networks_file else []
                # did:web fetching goes through the same guarded fetcher (and policy) as verify-by-link.
                resolver = (WebDidResolver(app.state.fetcher, ttl=settings.did_web_cache_ttl)
                            if settings.did_web_fetch else DidResolver())
                load_did_documents(settings.did_documents, max_bytes=settings.max_body_bytes, resolver=resolver)
                # Status lists too, when fetching them is on: the same guarded fetcher and policy.
                fetch_lists = settings.did_web_fetch if settings.status_fetch is None else settings.status_fetch
                lists = StatusListSource(fetcher=app.state.fetcher if fetch_lists else None,
                                         ttl=settings.status_cache_ttl)
                setup = build_verifier(networks, resolver, min_confirmations=settings.min_confirmations,
                                       cache_ttl=settings.anchor_cache_ttl, status_source=lists,
                                       trust_roots=settings.trust_roots, trust_registry_url=settings.trust_registry)
                app.state.verifier = setup.verifier
                app.state.network_labels = [n.label for n in networks]
                app.state.did_document_count = len(settings.did_documents)
            yield
        finally:
            if own_fetcher:
                app.state.fetcher.close()
            app.state.fetcher = None
            app.state.verifier = None
            if setup is not None:
                setup.close()

    app = FastAPI(
        title="anchorcred verifier",
        version="0.1.0",
        summary="Verify EU micro-credentials (VC 2.0 / Open Badges 3.0, anchored with merkle-proof-2019)",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verifier = None
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    install_problem_handlers(app)
    app.include_router(api.health_router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(reportpdf.router)

    def limit_for(path: str) -> int:
        return settings.max_upload_bytes if path in FORM_PATHS else settings.max_body_bytes

    app.add_middleware(CredentialFastLane)  # innermost: inside the body limit and the security headers
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


class BodyLimitMiddleware:
    """Refuses a request body above the limit with a 413 problem before the app reads any of it.

    A declared Content-Length is judged at once (the server holds the client to it); a body without one is read and
    counted here, and handed on only when it stayed within the limit.
    """

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            size = int(declared) if declared.isdigit() else -1
            if size < 0:
                await self._refuse(scope, receive, send, 400, "bad-request", "Bad request",
                                   f"Content-Length must be a whole number, got {declared[:40].decode('latin-1')!r}")
            elif size > limit:
                await self._too_large(scope, receive, send, limit, size)
            else:
                await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._too_large(scope, receive, send, limit, None)
                return
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replay_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int, size: int | None) -> None:
        got = f"{size} bytes" if size is not None else "more"
        await self._refuse(scope, receive, send, 413, "content-too-large", "Content too large",
                           f"the request body may hold at most {limit} bytes, got {got}")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, slug: str, title: str,
                      detail: str) -> None:
        request = Request(scope, receive)
        await problem_response(request, Problem(status, slug, title, detail))(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(("/docs", "/redoc"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if not docs:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
