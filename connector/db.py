"""Engine and session factory; SQLite is tuned so a web thread and a worker thread can share it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from connector.settings import Settings


def make_engine(settings: Settings) -> Engine:
    """Create the engine for ``settings.database_url``."""
    if settings.is_sqlite:
        return _sqlite_engine(settings.database_url)
    return create_engine(
        settings.database_url,
        # No pre-ping: it costs a round trip per request; a dead connection fails one
        # request with 503 (the marketplace retries) and the pool replaces it.
        pool_recycle=1800,
        pool_size=10,
        max_overflow=20,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue on busy_timeout instead
        # of one failing when it upgrades a read snapshot that another writer has moved past.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory every entry point opens its transactions with."""
    return sessionmaker(engine, expire_on_commit=False)
