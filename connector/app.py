"""The Flask application factory."""

from __future__ import annotations

import os

from flask import Flask

from connector.api import errors, events, health, reads
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
    for blueprint in (health.bp, events.bp, reads.bp):
        app.register_blueprint(blueprint)
    return app
