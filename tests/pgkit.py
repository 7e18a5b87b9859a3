"""PostgreSQL for the tests (the store's and the issuer service's): one fresh schema per test, dropped after.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, database ``test``, user postgres; ``ANCHORCRED_TEST_PG_URL`` says
otherwise). Under ``CI=true`` an unreachable server fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pytest

PG_ADMIN_URL = os.environ.get("ANCHORCRED_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@lru_cache(maxsize=1)
def pg_problem() -> str | None:
    """None if PostgreSQL answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any reason it cannot be used is the reason to report
        return f"PostgreSQL at {PG_ADMIN_URL} unreachable: {type(exc).__name__}: {str(exc).strip()[:200]}"
    return None


def require_postgres() -> None:
    problem = pg_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: the postgres tests must run)")
    pytest.skip(problem)


def pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(sql)


def pg_schema_url(schema: str) -> str:
    """A URL whose connections use ``schema`` first (search_path), so every table lands in it."""
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty schema named ``<prefix><random>`` (skip or fail first if PostgreSQL is not there),
    dropped on exit."""
    require_postgres()
    schema = f"{prefix}{uuid.uuid4().hex[:16]}"
    pg_exec(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        pg_exec(f'DROP SCHEMA "{schema}" CASCADE')
