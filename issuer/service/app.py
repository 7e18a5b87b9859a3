"""The issuer service's app factory: ``create_app(settings=None, *, ledger=None)``.

Nothing is created at import. The factory builds the app (routes, middleware, the session cookie signed with a key
derived from ``ISSUER_SECRET_KEY``); its lifespan opens the database (migrating it when ``ISSUER_AUTO_MIGRATE``),
the ledger provider (``ISSUER_LEDGER``: the embedded chain, or an RPC node), creates the bootstrap tenant when
configured, and runs the batch runner and the status publisher in background threads, stopped before the database
closes. Tests pass a ready ``ledger``. Run: ``uvicorn --factory issuer.service.app:create_app`` or
``python -m issuer.service serve``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import hmac
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from issuer.service import api, europass_api, status_api, vcapi
from issuer.service import keys_api
from issuer.service.auth import LoginThrottle
from issuer.service.bootstrap import bootstrap
from issuer.service.middleware import limit_by_content_type
from issuer.service.problems import document_problems, install_problem_handlers, problem_response
from issuer.service.settings import IssuerSettings, SettingsError, get_settings
from issuer.store.db import make_engine, make_sessionmaker, migrate
from issuer.store.secrets import SecretBox
from verifier.service.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware

log = logging.getLogger("issuer.service")
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "anchorcred_admin"
SESSION_MAX_AGE = 8 * 3600


def _pages_router() -> Any:
    """The admin pages' router (``issuer/service/pages.py``) when that module is installed; an error inside it is
    raised, not taken for its absence."""
    if importlib.util.find_spec("issuer.service.pages") is None:
        return None
    return importlib.import_module("issuer.service.pages").router


def session_key(master: str) -> str:
    """The cookie-signing key, derived from the master secret (the sealing keys are other HKDF outputs of it)."""
    return hmac.new(master.encode("utf-8"), b"anchorcred issuer admin session cookie", hashlib.sha256).hexdigest()


def build_ledger(settings: IssuerSettings) -> Any:
    """The ``LedgerProvider`` named by ``ISSUER_LEDGER``: a fresh in-process chain (state lost at exit: for demos
    and tests), or an EVM node over JSON-RPC."""
    if settings.ledger == "embedded":
        from issuer.ledger.embedded import EmbeddedChain

        log.warning("ISSUER_LEDGER=embedded: anchors go to an in-process chain that is gone when the service stops")
        return EmbeddedChain().provider()
    if not settings.rpc_url:
        raise SettingsError("ISSUER_LEDGER=rpc needs ISSUER_RPC_URL (the node's JSON-RPC URL)")
    from issuer.ledger.networks import publish_network
    from issuer.ledger.provider import rpc_ledger

    provider = rpc_ledger(settings.rpc_url, registry_address=settings.registry_address, dev=settings.is_dev_chain,
                          registry_state_file=settings.data_dir / "registry.json")
    # The verifier given this data folder's networks.json reads the same chain and registry (docker-compose does).
    publish_network(settings.data_dir, provider.chain_id, f"chain-{provider.chain_id}", settings.rpc_url,
                    provider.registry_address)
    return provider


def create_app(settings: IssuerSettings | None = None, *, ledger: Any = None) -> FastAPI:
    settings = settings or get_settings()
    master = settings.master_secret()  # SettingsError (naming the variable) before anything starts

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from issuer.store.engine import BatchRunner

        if settings.uses_dev_secret:
            log.warning("ISSUER_DEV=true: tenant keys are sealed with the fixed development secret; "
                        "never use this database in production")
        url = settings.database()
        if settings.auto_migrate:
            migrate(url)
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        box = SecretBox(master)
        provider = ledger if ledger is not None else build_ledger(settings)
        runner = publisher = None
        try:
            bootstrap(settings, maker, box)
            if settings.run_worker:
                from issuer.status.publisher import StatusPublisher

                worker_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
                runner = BatchRunner(maker, box, provider, confirmations=settings.confirmations,
                                     seal_after=settings.seal_after, seal_at=settings.seal_at, worker_id=worker_id,
                                     poll_interval=settings.worker_poll)
                runner.start()
                publisher = StatusPublisher(maker, box, provider, confirmations=settings.confirmations,
                                            worker_id=worker_id, poll_interval=settings.worker_poll,
                                            min_interval=settings.status_publish_interval)
                publisher.start()
            app.state.sessionmaker, app.state.box, app.state.ledger, app.state.runner = maker, box, provider, runner
            app.state.publisher = publisher
            yield
        finally:
            app.state.sessionmaker = app.state.box = app.state.ledger = app.state.runner = None
            app.state.publisher = None
            if publisher is not None:
                publisher.stop()
            if runner is not None:
                runner.stop()
            if ledger is None and hasattr(provider, "close"):
                provider.close()
            engine.dispose()

    app = FastAPI(
        title="anchorcred issuer",
        version="0.1.0",
        summary="Issue EU micro-credentials (VC 2.0 / Open Badges 3.0) in batches anchored with merkle-proof-2019",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle(per_account=settings.login_max_failures,
                                             per_client=settings.login_max_failures_per_client,
                                             window=settings.login_window)
    app.state.sessionmaker = app.state.box = app.state.ledger = app.state.runner = app.state.publisher = None
    install_problem_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(get_openapi(
                title=app.title, version=app.version, summary=app.summary, description=app.description,
                routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(api.public_router)
    app.include_router(api.router)
    app.include_router(keys_api.router)
    # Before the VC-API's router: its GET /credentials/{id:path} would take /credentials/{id}/status.
    app.include_router(status_api.public_router)
    app.include_router(status_api.router)
    app.include_router(europass_api.router)  # before the VC-API's GET /credentials/{id:path}
    app.include_router(vcapi.router)
    app.include_router(vcapi.share_router)
    pages_router = _pages_router()
    if pages_router is not None:
        app.include_router(pages_router)
        app.include_router(importlib.import_module("issuer.service.status_pages").router)
    if (HERE / "static").is_dir():
        app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    app.add_middleware(SessionMiddleware, secret_key=session_key(master), session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax",
                       https_only=settings.public_url.startswith("https://"))
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_by_content_type(settings.max_body_bytes,
                                                                             settings.max_csv_bytes),
                       respond=problem_response)
    app.add_middleware(SecurityHeadersMiddleware, deny_framing=True)
    return app
