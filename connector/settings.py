"""Configuration: one immutable object built from ``CONNECTOR_*`` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_FILE = "connector.db"


class SettingsError(ValueError):
    """A ``CONNECTOR_*`` variable has a value the connector cannot use."""


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _flag(name: str, value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"on", "true", "1", "yes"}:
        return True
    if lowered in {"off", "false", "0", "no"}:
        return False
    raise SettingsError(f"{name} must be 'on' or 'off', not {value!r}")


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {value!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything the connector can be told from outside; see the README for each variable."""

    database_url: str = f"sqlite:///{DEFAULT_DATABASE_FILE}"
    webhook_secrets: tuple[str, ...] = ()
    callback_secret: str = ""
    callback_hosts: tuple[str, ...] = ()
    admin_token: str = ""
    eset_api_url: str = ""
    eset_username: str = ""
    eset_password: str = field(default="", repr=False)
    marketplace_api_url: str = ""
    marketplace_username: str = ""
    marketplace_password: str = field(default="", repr=False)
    proof_review: bool = True
    manifest_dir: str = ""
    signature_tolerance_seconds: int = 300
    max_body_bytes: int = 256 * 1024
    operation_lease_seconds: int = 30
    worker_poll_seconds: float = 0.25
    callback_timeout_seconds: float = 10.0
    callback_retry_hours: int = 24

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping such as ``os.environ``."""
        env = environ.get
        defaults = cls()
        return cls(
            database_url=env("CONNECTOR_DATABASE_URL") or defaults.database_url,
            webhook_secrets=_split(env("CONNECTOR_WEBHOOK_SECRETS")),
            callback_secret=env("CONNECTOR_CALLBACK_SECRET", ""),
            callback_hosts=tuple(h.lower() for h in _split(env("CONNECTOR_CALLBACK_HOSTS"))),
            admin_token=env("CONNECTOR_ADMIN_TOKEN", ""),
            eset_api_url=(env("CONNECTOR_ESET_API_URL") or "").rstrip("/"),
            eset_username=env("CONNECTOR_ESET_USERNAME", ""),
            eset_password=env("CONNECTOR_ESET_PASSWORD", ""),
            marketplace_api_url=(env("CONNECTOR_MARKETPLACE_API_URL") or "").rstrip("/"),
            marketplace_username=env("CONNECTOR_MARKETPLACE_USERNAME", ""),
            marketplace_password=env("CONNECTOR_MARKETPLACE_PASSWORD", ""),
            proof_review=_flag("CONNECTOR_PROOF_REVIEW", env("CONNECTOR_PROOF_REVIEW"), True),
            manifest_dir=env("CONNECTOR_MANIFEST_DIR", ""),
            operation_lease_seconds=_int(
                "CONNECTOR_OPERATION_LEASE_SECONDS",
                env("CONNECTOR_OPERATION_LEASE_SECONDS"),
                defaults.operation_lease_seconds,
            ),
        )

    def with_changes(self, **changes: Any) -> Settings:
        """Return a copy with some values replaced (tests and the CLI use this)."""
        return replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def manifest_path(self) -> Path:
        """The folder holding the manifest data (the packaged ``manifest/`` by default)."""
        if self.manifest_dir:
            return Path(self.manifest_dir)
        return Path(__file__).resolve().parent.parent / "manifest"
