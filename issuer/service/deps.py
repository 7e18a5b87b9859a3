"""Request-scoped dependencies shared by the API (``api.py``), the admin pages (``pages.py``) and ``auth.py``.

Everything comes from ``app.state``, set by the lifespan (``app.py``): nothing is created at import. A request that
arrives before the lifespan ran (or after it ended) gets a 503 problem, not an AttributeError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from issuer.service.problems import ProblemError
from issuer.service.settings import IssuerSettings


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise ProblemError(503, "not-ready", "Service not ready", "the issuer service is not started yet")
    return value


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request; routes commit what they change (nothing is committed implicitly)."""
    with _state(request, "sessionmaker")() as session:
        yield session


def get_box(request: Request):
    """The ``issuer.store.secrets.SecretBox`` that opens tenant keys."""
    return _state(request, "box")


def get_ledger(request: Request):
    """The ``issuer.store.engine.LedgerProvider`` (chain id for DID documents)."""
    return _state(request, "ledger")


def get_settings(request: Request) -> IssuerSettings:
    return request.app.state.settings


DbDep = Annotated[Session, Depends(get_db)]
BoxDep = Annotated[Any, Depends(get_box)]
LedgerDep = Annotated[Any, Depends(get_ledger)]
SettingsDep = Annotated[IssuerSettings, Depends(get_settings)]
