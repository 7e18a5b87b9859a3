"""Alembic environment of the issuer's store: the target is the models' metadata (``issuer.store.models``).

Runs online only, on the connection ``issuer.store.db.migrate`` hands over, or on an engine made with
``issuer.store.db.make_engine`` (so SQLite gets its pragmas) from ``-x url=...`` / ``sqlalchemy.url``. Logging is left
as the host process configured it.
"""

from __future__ import annotations

from alembic import context

from issuer.store.db import make_engine
from issuer.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later revisions rebuild tables ("batch" mode) there.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass -x url=sqlite:///path/issuer.db (or postgresql+psycopg://...)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
run_migrations_online()
