"""The objects every entry point shares: settings, database, clock, wake-up latch, adapters."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock, SystemClock
from connector.db import make_engine, make_session_factory
from connector.domain.manifest import Manifest, load_manifest
from connector.errors import ConfigurationError
from connector.settings import Settings
from connector.wakeup import Wakeup


@dataclass
class Runtime:
    """One process's wiring, built once by the entry point and handed down."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    manifest: Manifest
    clock: Clock = field(default_factory=SystemClock)
    wakeup: Wakeup = field(default_factory=Wakeup)
    rng: random.Random = field(default_factory=random.Random)
    eset: Any = None
    marketplace: Any = None

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        """Wire everything ``settings`` names; a broken manifest stops here, naming the file."""
        from connector.clients.eset import EsetClient
        from connector.clients.marketplace import MarketplaceClient

        manifest = load_manifest(settings.manifest_path)
        engine = make_engine(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            manifest=manifest,
            clock=clock or SystemClock(),
            eset=EsetClient.from_settings(settings) if settings.eset_api_url else None,
            marketplace=(
                MarketplaceClient.from_settings(settings) if settings.marketplace_api_url else None
            ),
        )

    def require_adapters(self) -> None:
        """Refuse to run operations without somewhere to send them."""
        if self.eset is None or self.marketplace is None:
            raise ConfigurationError(
                "CONNECTOR_ESET_API_URL and CONNECTOR_MARKETPLACE_API_URL must be set to run a "
                "worker on its own; `connector all` runs against the built-in sandboxes instead."
            )

    def close(self) -> None:
        """Release the database connections and HTTP sessions."""
        for client in (self.eset, self.marketplace):
            if client is not None:
                client.close()
        self.engine.dispose()


def current_runtime() -> Runtime:
    """Return the runtime of the Flask app handling the current request."""
    runtime: Runtime = current_app.extensions["connector"]
    return runtime
