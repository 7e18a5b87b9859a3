"""The facade's app factory: the ledger (an in-process chain, or a node with the contracts deployed once), the token
service and the transaction desk live on ``app.state``, made in the factory, nothing at import.

    create_app(settings)             builds the ledger from the settings (embedded chain, or ``EBSI_RPC_URL``)
    create_app(settings, ledger=l)   serves a ledger the caller made (tests: ``EmbeddedEbsiChain().ledger()``)
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

from ebsi.ledger import EbsiLedger
from ebsi.service.attestations import router as attestations_router
from ebsi.service.auth import TokenService
from ebsi.service.auth import router as auth_router
from ebsi.service.problems import install_problem_handlers, problem
from ebsi.service.reads import router as reads_router
from ebsi.service.rpc import router as rpc_router
from ebsi.service.settings import EbsiSettings
from ebsi.service.transactions import TransactionDesk

__all__ = ["create_app", "open_ledger"]

# Anvil's well-known development key #0: DEV ONLY (everyone knows it), used when EBSI_DEV is set and no key is given.
DEV_ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def open_ledger(settings: EbsiSettings) -> EbsiLedger:
    """The ledger the settings name: a fresh in-process chain, or a node whose contracts are deployed once (the
    deployment is recorded in ``<data_dir>/deployment-<chain id>.json`` and reused while its code is there)."""
    if settings.ledger == "embedded":
        from ebsi.embedded import EmbeddedEbsiChain

        return EmbeddedEbsiChain().ledger()
    if not settings.rpc_url:
        raise ValueError("EBSI_LEDGER=rpc needs EBSI_RPC_URL")
    from eth_account import Account
    from web3 import Web3

    from ebsi.ledger import ensure_deployment

    key = settings.admin_key.get_secret_value() if settings.admin_key else (DEV_ADMIN_KEY if settings.dev else None)
    if key is None:
        raise ValueError("EBSI_ADMIN_KEY is required (the operator key that deploys and administers the contracts); "
                         "EBSI_DEV=true uses anvil's public dev key instead")
    admin = Account.from_key(key)
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 10}))
    chain_id = int(w3.eth.chain_id)
    deployment = ensure_deployment(w3, admin, settings.data_dir / f"deployment-{chain_id}.json")
    if not settings.dev:
        return EbsiLedger(w3, deployment)
    from issuer.ledger.devnet import fund_from_dev_account

    def fund(address: str, wei: int) -> str:
        return fund_from_dev_account(w3, address, wei)

    return EbsiLedger(w3, deployment, fund=fund)


class _BodyLimit(BaseHTTPMiddleware):
    def __init__(self, app, limit: int):
        super().__init__(app)
        self._limit = limit

    async def dispatch(self, request: Request, call_next: Callable) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdecimal() or int(length) > self._limit):
            return problem(413, "Content Too Large", f"request bodies are limited to {self._limit} bytes",
                           instance=request.url.path)
        return await call_next(request)


def create_app(settings: EbsiSettings | None = None, *, ledger: EbsiLedger | None = None) -> FastAPI:
    settings = settings or EbsiSettings()
    ledger = ledger or open_ledger(settings)
    app = FastAPI(title="anchorcred EBSI-like ledger",
                  description="Timestamp v4, Trusted Issuers Registry v5 and DID Registry v5 over local contracts, "
                              "with EBSI's paths and shapes; a token service in place of the Authorisation API.",
                  version="1.0")
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.tokens = TokenService(settings, ledger)
    app.state.desk = TransactionDesk(ledger, max_pending=settings.max_pending_transactions, ttl=settings.pending_ttl)
    public = settings.public_url.rstrip("/") if settings.public_url else None
    app.state.public_url = lambda request: public or str(request.base_url).rstrip("/")
    app.add_middleware(_BodyLimit, limit=settings.max_body_bytes)
    install_problem_handlers(app)
    app.include_router(reads_router)
    app.include_router(rpc_router)
    app.include_router(auth_router)
    app.include_router(attestations_router)  # status lists and schemas of EBSI-profile credentials (trust marks)

    @app.get("/health", tags=["health"])
    def health() -> dict:
        return {"status": "ok", "chainId": ledger.chain_id, "contracts": {
            "timestamp": ledger.deployment.timestamp,
            "trustedIssuersRegistry": ledger.deployment.trusted_issuers_registry,
            "didRegistry": ledger.deployment.did_registry}}

    return app
