"""Serve the sandboxes over real HTTP on loopback, and point the real clients at them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from flask import Flask

from connector.clients.eset import EsetClient
from connector.clients.marketplace import MarketplaceClient
from connector.clock import FrozenClock
from connector.sandbox import (
    SIMPLE_API,
    EsetSandbox,
    EsetSandboxConfig,
    MarketplaceSandbox,
    MarketplaceSandboxConfig,
    create_eset_sandbox,
    create_marketplace_sandbox,
    eset_sandbox_of,
    marketplace_sandbox_of,
)
from tests.support import serve

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CALLBACK_SECRET = "sandbox-callback-secret"


@pytest.fixture
def serving() -> Any:
    """Give tests the ``serve`` context manager, e.g. to serve a mounted app."""
    return serve


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def eset_config() -> EsetSandboxConfig:
    # No real rate limit: tests inject 429s where they want them.
    return EsetSandboxConfig(rate_limit_per_second=None)


@pytest.fixture
def eset_app(eset_config: EsetSandboxConfig, clock: FrozenClock) -> Flask:
    return create_eset_sandbox(eset_config, clock=clock)


@pytest.fixture
def eset_sandbox(eset_app: Flask) -> EsetSandbox:
    return eset_sandbox_of(eset_app)


@pytest.fixture
def eset_url(eset_app: Flask) -> Iterator[str]:
    with serve(eset_app) as url:
        yield url


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def eset(eset_url: str, sleeps: list[float]) -> Iterator[EsetClient]:
    with EsetClient(eset_url, "sandbox", "sandbox", timeout=(2.0, 2.0), sleep=sleeps.append) as c:
        yield c


@pytest.fixture
def marketplace_config() -> MarketplaceSandboxConfig:
    return MarketplaceSandboxConfig(callback_secret=CALLBACK_SECRET)


@pytest.fixture
def marketplace_app(marketplace_config: MarketplaceSandboxConfig) -> Flask:
    return create_marketplace_sandbox(marketplace_config)


@pytest.fixture
def marketplace_sandbox(marketplace_app: Flask) -> MarketplaceSandbox:
    return marketplace_sandbox_of(marketplace_app)


@pytest.fixture
def marketplace_url(marketplace_app: Flask) -> Iterator[str]:
    with serve(marketplace_app) as url:
        yield url


@pytest.fixture
def marketplace(marketplace_url: str, sleeps: list[float]) -> Iterator[MarketplaceClient]:
    api = marketplace_url + SIMPLE_API
    with MarketplaceClient(api, "sandbox", "sandbox", sleep=sleeps.append) as client:
        yield client


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A plain session for the sandboxes' ``/_sandbox`` control endpoints."""
    with requests.Session() as session:
        yield session
