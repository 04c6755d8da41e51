"""The ``connector`` command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from connector import cli, migrate


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
    monkeypatch.delenv("CONNECTOR_ESET_API_URL", raising=False)
    assert cli.main(["worker"]) == 2
    assert "CONNECTOR_ESET_API_URL" in capsys.readouterr().err


def test_a_bad_setting_is_reported_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_PROOF_REVIEW", "sometimes")
    assert cli.main(["db", "upgrade"]) == 2
    assert "CONNECTOR_PROOF_REVIEW" in capsys.readouterr().err
