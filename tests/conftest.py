"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when asked), a runtime, the app.

Set ``CONNECTOR_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
to run every database test on PostgreSQL; otherwise each run gets a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from werkzeug.test import TestResponse

from connector import migrate
from connector.app import create_app
from connector.clock import FrozenClock
from connector.db import make_engine, make_session_factory
from connector.domain.manifest import Manifest, load_manifest
from connector.models import Base, Reseller
from connector.runtime import Runtime
from connector.settings import Settings
from tests.support import (
    ADMIN_TOKEN,
    CALLBACK_SECRET,
    OLD_WEBHOOK_SECRET,
    START,
    WEBHOOK_SECRET,
    sign_request,
)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("CONNECTOR_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'connector.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    settings = Settings(database_url=database_url)
    if not settings.is_sqlite:
        _reset_postgres(database_url)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after each test."""
    yield migrated_engine
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with migrated_engine.begin() as connection:
        if migrated_engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        webhook_secrets=(WEBHOOK_SECRET, OLD_WEBHOOK_SECRET),
        callback_secret=CALLBACK_SECRET,
        admin_token=ADMIN_TOKEN,
        worker_poll_seconds=0.05,
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_manifest(Settings().manifest_path)


@pytest.fixture
def runtime(settings: Settings, engine: Engine, clock: FrozenClock, manifest: Manifest) -> Runtime:
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        manifest=manifest,
        clock=clock,
    )


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


Poster = Callable[..., TestResponse]


@pytest.fixture
def post_event(client: FlaskClient) -> Poster:
    """Post an event body, signed, as the marketplace does."""

    def post(body: dict[str, Any] | bytes, **sign: Any) -> TestResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = sign_request("POST", "/api/v1/events", raw, **sign)
        return client.post(
            "/api/v1/events", data=raw, headers=headers, content_type="application/json"
        )

    return post


@pytest.fixture
def get_signed(client: FlaskClient) -> Callable[[str], TestResponse]:
    """Send a signed GET, as the marketplace does for reads."""

    def get(path: str) -> TestResponse:
        return client.get(path, headers=sign_request("GET", path))

    return get


@pytest.fixture
def subscribed(runtime: Runtime) -> Reseller:
    """Reseller 4711 of the example events, subscribed as an ESET Gold partner."""
    reseller = Reseller(
        account_id="4711",
        company_name="Muster IT GmbH",
        also_partner_id="DE-100234",
        country="DE",
        email="licenses@muster-it.example",
        eset_partner_id="P-3344551",
        level="Gold",
        margin_percent=Decimal("20.00"),
        subscribed_at=START,
        created_at=START,
        updated_at=START,
    )
    with runtime.sessions.begin() as session:
        session.add(reseller)
    return reseller
