"""Fixtures of the store tests: a migrated database on SQLite and on PostgreSQL (parametrized), a SecretBox.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, database ``test``, user postgres). Each test gets a schema of its own
(unique name, dropped after), so parallel workers never collide. Under ``CI=true`` an unreachable server fails the
test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from issuer.store.db import default_url, make_engine, make_sessionmaker, migrate
from issuer.store.secrets import SecretBox

PG_ADMIN_URL = os.environ.get("ANCHORCRED_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MASTER = "test master secret, not for production"


@lru_cache(maxsize=1)
def _pg_problem() -> str | None:
    """None if PostgreSQL answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any reason it cannot be used is the reason to report
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {type(exc).__name__}: {str(exc).strip()[:200]}"
    return None


def require_postgres() -> None:
    problem = _pg_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: the postgres tests must run)")
    pytest.skip(problem)


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(sql)


def pg_schema_url(schema: str) -> str:
    """A URL whose connections use ``schema`` first (search_path), so every table lands in it."""
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    _pg_exec(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        _pg_exec(f'DROP SCHEMA "{schema}" CASCADE')


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
