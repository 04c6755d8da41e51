"""The ``connector`` command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import responses
from sqlalchemy import create_engine

from connector import cli, migrate, signing


def test_db_upgrade_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", url)
    assert cli.main(["db", "upgrade"]) == 0
    engine = create_engine(url)
    assert migrate.is_current(engine)
    engine.dispose()


def test_serve_refuses_to_start_without_webhook_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONNECTOR_WEBHOOK_SECRETS", raising=False)
    assert cli.main(["serve"]) == 2
    assert "CONNECTOR_WEBHOOK_SECRETS" in capsys.readouterr().err


def test_a_worker_on_its_own_needs_the_api_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("CONNECTOR_CALLBACK_SECRET", "s")
    monkeypatch.delenv("CONNECTOR_ESET_API_URL", raising=False)
    assert cli.main(["worker"]) == 2
    assert "CONNECTOR_ESET_API_URL" in capsys.readouterr().err


def test_a_bad_setting_is_reported_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_PROOF_REVIEW", "sometimes")
    assert cli.main(["db", "upgrade"]) == 2
    assert "CONNECTOR_PROOF_REVIEW" in capsys.readouterr().err


@responses.activate
def test_send_posts_an_event_file_signed_with_the_first_webhook_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_WEBHOOK_SECRETS", "first,second")
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps({"requestId": "r-1", "callbackUrl": "https://x.example/cb"}))
    responses.post("http://connector.test/api/v1/events", status=202, json={"status": "Pending"})

    code = cli.main(
        ["send", str(event_file), "--url", "http://connector.test", "--sandbox-callback"]
    )

    assert code == 0
    request = responses.calls[0].request
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    assert (
        json.loads(body)["callbackUrl"] == "http://connector.test/sandbox/marketplace/callbacks/r-1"
    )
    signing.verify(
        request.headers["X-Marketplace-Signature"],
        secrets=["first"],
        method="POST",
        path="/api/v1/events",
        body=body,
        now=time.time(),
    )
    assert "202" in capsys.readouterr().out


def test_a_worker_refuses_to_sign_callbacks_with_an_empty_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONNECTOR_CALLBACK_SECRET", raising=False)
    assert cli.main(["worker"]) == 2
    assert "CONNECTOR_CALLBACK_SECRET" in capsys.readouterr().err
