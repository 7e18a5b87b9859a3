"""Fixtures of the store tests: a migrated database on SQLite and on PostgreSQL (parametrized), a SecretBox.

PostgreSQL (``tests.pgkit``): each test gets a schema of its own (unique name, dropped after), so parallel workers
never collide. Under ``CI=true`` an unreachable server fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from issuer.store.db import default_url, make_engine, make_sessionmaker, migrate
from issuer.store.secrets import SecretBox
from tests.pgkit import fresh_schema

MASTER = "test master secret, not for production"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped after the test."""
    with fresh_schema("t_") as url:
        yield url


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> str:
    """An empty database, on each backend in turn."""
    if request.param == "sqlite":
        return default_url(tmp_path / "data")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A sessionmaker over the migrated database."""
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(MASTER)
