"""The Flask application factory."""

from __future__ import annotations

import os

from flask import Flask

from connector.api import admin, catalog, errors, events, health, reads, resellers
from connector.runtime import Runtime
from connector.settings import Settings


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the connector's HTTP API; settings come from the environment unless given."""
    if runtime is None:
        runtime = Runtime.build(settings or Settings.from_env(os.environ))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["connector"] = runtime
    errors.register(app)
    blueprints = (health.bp, events.bp, reads.bp, catalog.bp, resellers.bp, admin.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app
