"""The baseline for benchmarks/intake.py: a bare Flask endpoint that parses JSON and answers 202."""

from __future__ import annotations

import uuid

from flask import Flask, Response, jsonify, request


def create_bare_app() -> Flask:
    """Return an app with one JSON endpoint and nothing else."""
    app = Flask(__name__)

    @app.post("/api/v1/events")
    def events() -> Response:
        body = request.get_json()
        response = jsonify({"operationId": str(uuid.uuid4()), "status": "Pending", "n": len(body)})
        response.status_code = 202
        return response

    return app
