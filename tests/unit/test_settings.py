"""Settings come from CONNECTOR_* variables only, parsed strictly."""

from __future__ import annotations

import pytest

from connector.settings import Settings, SettingsError


def test_defaults_are_the_embedded_ones() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///connector.db"
    assert settings.proof_review is True
    assert settings.webhook_secrets == ()
    assert settings.manifest_path.name == "manifest"


def test_lists_are_split_on_commas_and_trimmed() -> None:
    settings = Settings.from_env(
        {
            "CONNECTOR_WEBHOOK_SECRETS": " new , old ,",
            "CONNECTOR_CALLBACK_HOSTS": "Marketplace.Example,cb.example",
        }
    )
    assert settings.webhook_secrets == ("new", "old")
    assert settings.callback_hosts == ("marketplace.example", "cb.example")


@pytest.mark.parametrize(("value", "expected"), [("off", False), ("ON", True), ("", True)])
def test_proof_review_reads_on_and_off(value: str, expected: bool) -> None:
    assert Settings.from_env({"CONNECTOR_PROOF_REVIEW": value}).proof_review is expected


def test_an_unreadable_flag_is_refused_with_its_name() -> None:
    with pytest.raises(SettingsError, match="CONNECTOR_PROOF_REVIEW"):
        Settings.from_env({"CONNECTOR_PROOF_REVIEW": "maybe"})


def test_passwords_stay_out_of_the_repr() -> None:
    settings = Settings.from_env(
        {"CONNECTOR_ESET_PASSWORD": "eset-pw", "CONNECTOR_MARKETPLACE_PASSWORD": "mp-pw"}
    )
    assert "eset-pw" not in repr(settings)
    assert "mp-pw" not in repr(settings)
