"""Database engines and migrations: SQLite by default (a file in the data folder), PostgreSQL by URL.

SQLite is set up for a threaded service with a background runner:
- ``foreign_keys=ON`` (SQLite ignores foreign keys otherwise);
- WAL, so readers never wait for the writer and the writer never waits for readers;
- a busy timeout, so a second writer waits instead of failing at once;
- every transaction starts with ``BEGIN IMMEDIATE``. With the driver's default (a deferred BEGIN), a transaction that
  reads and then writes while another writer committed in between fails with SQLITE_BUSY at once, without the busy
  timeout being consulted; taking the write lock up front makes writers queue instead (Django's and Rails' answer too).
  Transactions are therefore kept short: nothing slow (signing, a ledger call) runs inside one.

PostgreSQL URLs ``postgresql://`` and ``postgres://`` are mapped to the psycopg 3 driver (``postgresql+psycopg://``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "default_url", "make_engine", "make_sessionmaker", "migrate", "normalize_url"]

SQLITE_BUSY_TIMEOUT_MS = 15_000
PACKAGE_DIR = Path(__file__).resolve().parent


def default_url(data_dir: Path) -> str:
    """``sqlite:///<data_dir>/issuer.db`` (absolute, so the working directory does not matter)."""
    return f"sqlite:///{Path(data_dir).expanduser().resolve() / 'issuer.db'}"


def normalize_url(url: str) -> str:
    """The URL with the driver this project ships for its database (psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ValueError(f"database URL: unsupported driver {parsed.drivername!r} "
                         "(use sqlite:///path/issuer.db or postgresql+psycopg://user@host/db)")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets the settings in the module docstring, and its folder is created."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions itself: the "begin" listener below does (BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash in WAL mode
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the API returns them after committing)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    """The packaged Alembic configuration (``issuer/store/alembic.ini``), pointed at ``url``."""
    from alembic.config import Config

    cfg = Config(str(PACKAGE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    if url is not None:
        # ConfigParser interpolation: a literal % in a URL (an escaped password) must be doubled.
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str | Engine, revision: str = "head") -> None:
    """Upgrades the database at ``url`` (or behind an engine) to ``revision``; safe to run at every start."""
    from alembic import command

    if isinstance(url, Engine):
        cfg = alembic_config()
        with url.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        return
    engine = make_engine(url)
    try:
        migrate(engine, revision)
    finally:
        engine.dispose()
