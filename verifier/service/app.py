"""The verifier service's app factory: ``create_app(settings=None, *, verifier=None)``.

Nothing is created at import. The factory builds the app; its lifespan builds the verifier (ledger readers from the
networks file, DID documents from the configured files, did:web fetched through the guarded fetcher when
``did_web_fetch`` is set) and closes the ledger connections at shutdown. Tests and
embedders pass a ready ``verifier`` instead. Run: ``uvicorn --factory verifier.service.app:create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

from verifier.config import load_networks
from verifier.did import DidResolver
from verifier.didweb import WebDidResolver
from verifier.fetch import GuardedFetcher
from verifier.reportsign import load_or_create_report_key
from verifier.service import api, pages, reportpdf
from verifier.service.fastlane import CredentialFastLane
from verifier.service.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from verifier.service.problems import install_problem_handlers
from verifier.service.settings import VerifierSettings, get_settings
from verifier.setup import build_verifier, load_did_documents
from verifier.statuslists import StatusListSource
from verifier.verify import Verifier

HERE = Path(__file__).resolve().parent
log = logging.getLogger("verifier.service")
FORM_PATHS = ("/verify", "/verify.csv")


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

    def limit_for(scope: Scope) -> int:
        return settings.max_upload_bytes if scope["path"] in FORM_PATHS else settings.max_body_bytes

    app.add_middleware(CredentialFastLane)  # innermost: inside the body limit and the security headers
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(SecurityHeadersMiddleware)
    return app

