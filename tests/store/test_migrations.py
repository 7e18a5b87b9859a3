"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and are safe to re-run."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from issuer.store.db import make_engine, migrate
from issuer.store.models import Base


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migrated_schema_equals_the_models(db_url):
    migrate(db_url)
    assert _diff(db_url) == []
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_an_empty_database_differs_from_the_models(db_url):
    # The comparison above can fail: on a database without the migration it reports every table missing.
    diff = _diff(db_url)
    added = {d[1].name for d in diff if d[0] == "add_table"}
    assert added == set(Base.metadata.tables)


def test_migrate_twice_is_a_no_op(db_url):
    migrate(db_url)
    migrate(db_url)
    assert _diff(db_url) == []
