"""The learner's page: the wallet in a browser, on 127.0.0.1 only.

One learner, one wallet folder. The page is locked until the passphrase is typed into it; the opened wallet then
lives in this process's memory until "Lock", an idle timeout, or the end of the process. Everything after unlocking
needs the session cookie (random per unlock, HttpOnly, SameSite=Strict) and every form a CSRF token bound to it; the
unlock form itself carries a double-submit token (a SameSite=Strict cookie and the same value in the form), so
another website cannot post to the wallet from the learner's browser. Requests must name a loopback Host (a page
elsewhere that rebinds its DNS name to 127.0.0.1 is refused) and, when a browser sends an Origin, the wallet's own.

Settings (``WALLET_*``): ``WALLET_DIR`` (the folder), ``WALLET_IDLE_LOCK`` (seconds, default 900),
``WALLET_ALLOWED_HOSTS`` (JSON list; default 127.0.0.1 and localhost). No JavaScript, no external assets.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wallet.store import Wallet

HERE = Path(__file__).parent
SESSION_COOKIE = "wallet_session"
PRE_CSRF_COOKIE = "wallet_csrf"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class WalletSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", frozen=True, extra="forbid")

    dir: Path = Path.home() / ".anchorcred" / "wallet"
    idle_lock: float = Field(900.0, gt=0, le=86_400, description="seconds without a request before the wallet locks")
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"])
    max_upload_bytes: int = Field(4 << 20, ge=1024, le=64 << 20)


@dataclass
class Session:
    wallet: Wallet
    token: str
    csrf: str
    last_seen: float


class Sessions:
    """The one unlocked wallet (or none), with its idle timeout."""

    def __init__(self, idle_lock: float, clock=time.monotonic):
        self._idle, self._clock = idle_lock, clock
        self._current: Session | None = None
        self._lock = threading.Lock()

    def open(self, wallet: Wallet) -> Session:
        with self._lock:
            self._current = Session(wallet, secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._clock())
            return self._current

    def current(self, token: str | None) -> Session | None:
        with self._lock:
            s = self._current
            if s is None or token is None or not hmac.compare_digest(s.token, token):
                return None
            if self._clock() - s.last_seen > self._idle:
                self._current = None
                return None
            s.last_seen = self._clock()
            return s

    def close(self) -> None:
        with self._lock:
            self._current = None


def _host_of(request: Request) -> str:
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def create_app(settings: WalletSettings | None = None) -> FastAPI:
    settings = settings or WalletSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.sessions.close()

    app = FastAPI(title="anchorcred wallet", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.sessions = Sessions(settings.idle_lock)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        allowed = {h.lower() for h in settings.allowed_hosts}
        if _host_of(request).lower() not in allowed:
            return JSONResponse({"detail": "this wallet answers on its loopback address only"}, status_code=421)
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD") and origin not in (None, "null"):
            host = origin.split("://", 1)[-1]
            if host.lower() != request.headers.get("host", "").lower():
                return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    from wallet.service.pages import router

    app.include_router(router)
    return app


__all__ = ["PRE_CSRF_COOKIE", "SESSION_COOKIE", "Session", "Sessions", "WalletSettings", "create_app"]
