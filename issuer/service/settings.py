"""The issuer service's settings, from ``ISSUER_*`` environment variables (read through ``get_settings``, never at import).

The master secret (``ISSUER_SECRET_KEY``) seals the tenants' private keys and signs the admin session cookie; it is
required, and refused when it is short or a known placeholder. ``ISSUER_DEV=true`` derives a fixed development secret
instead and the service says so in its log: data sealed with it is readable by anyone who has this source code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8081
MIN_SECRET_CHARS = 32
# Values copied from examples and templates: a deployment that kept one has no secret at all.
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "change_me", "secret", "dev", "development", "test",
                                 "password", "please-change-me", "xxx"})
_DEV_SECRET = "anchorcred-issuer-DEVELOPMENT-ONLY-secret-" + hashlib.sha256(b"anchorcred dev").hexdigest()


class SettingsError(ValueError):
    """A setting the service cannot start with; the message names the variable and what to set."""


class IssuerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISSUER_", frozen=True, extra="forbid")

    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in data_dir")
    data_dir: Path = Path(".anchorcred/issuer")
    public_url: str = Field(f"http://localhost:{DEFAULT_PORT}", description="where this service is reached (did:web)")
    verifier_url: str = Field("http://localhost:8080", description="the verifier service share links open")
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)

    ledger: Literal["embedded", "rpc"] = "embedded"
    rpc_url: str | None = None
    registry_address: str | None = Field(None, description="AnchorRegistry; deployed on a dev chain when absent")
    confirmations: int = Field(1, ge=1, le=10_000)
    # A dev chain (anvil): the registry is deployed when no address is given, and tenants' anchoring addresses are
    # funded from anvil's public dev account. Default: a dev chain exactly when no registry address is given.
    dev_chain: bool | None = None

    secret_key: SecretStr | None = None
    dev: bool = False
    admin_password: SecretStr | None = None
    bootstrap_tenant: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    bootstrap_tenant_name: str | None = None

    # The open VC-API batch is sealed after this many seconds, or at this many credentials, whichever comes first.
    seal_after: float = Field(60.0, gt=0, le=86_400)
    seal_at: int = Field(1000, ge=1, le=100_000)
    auto_migrate: bool = True
    run_worker: bool = Field(True, description="run the batch runner thread in this process")
    worker_poll: float = Field(0.5, gt=0, le=60)
    # Status lists: a list is published (one ledger transaction) at most once per interval; changes made meanwhile
    # go out together. Verifiers and caches may keep a served list for status_ttl seconds (Cache-Control max-age).
    status_publish_interval: float = Field(5.0, ge=0, le=86_400)
    status_ttl: int = Field(60, ge=0, le=86_400)

    # Limits. A credential is a few KiB and a roster row about 200 bytes: far above that, far below harm.
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest JSON body")
    max_csv_bytes: int = Field(8 << 20, ge=1024, description="largest roster CSV upload")
    max_rows: int = Field(10_000, ge=1, le=1_000_000, description="learner rows in one roster")
    max_list: int = Field(200, ge=1, le=10_000, description="items in one page of a list")
    # Admin login: failed attempts allowed per account and per client address within the window (then 429).
    login_max_failures: int = Field(5, ge=1, le=1000, description="failed logins per account per window")
    login_max_failures_per_client: int = Field(20, ge=1, le=10_000, description="failed logins per address per window")
    login_window: float = Field(900.0, gt=0, le=86_400, description="seconds the failures are remembered")

    @field_validator("public_url", "verifier_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("admin_password")
    @classmethod
    def _password_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 12 <= len(value.get_secret_value()) <= 1024:
            raise ValueError("ISSUER_ADMIN_PASSWORD must have 12 to 1024 characters")
        return value

    # ── derived ───────────────────────────────────────────────────────────────────────────────────────────────
    def database(self) -> str:
        """The database URL: ``ISSUER_DATABASE_URL``, or the SQLite file in the data folder (created on demand)."""
        if self.database_url:
            return self.database_url
        from issuer.store.db import default_url

        self.data_dir.mkdir(parents=True, exist_ok=True)
        return default_url(self.data_dir)

    def master_secret(self) -> str:
        """The secret that seals keys and signs sessions; ``SettingsError`` (naming the variable) when unusable."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_CHARS:
                raise SettingsError(
                    f"ISSUER_SECRET_KEY must be at least {MIN_SECRET_CHARS} random characters (not a placeholder); "
                    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
            return value
        if self.dev:
            return _DEV_SECRET
        raise SettingsError("ISSUER_SECRET_KEY is not set: set it to a long random value "
                            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                            "or ISSUER_DEV=true for a fixed development secret")

    @property
    def is_dev_chain(self) -> bool:
        return self.dev_chain if self.dev_chain is not None else self.registry_address is None

    @property
    def uses_dev_secret(self) -> bool:
        return self.secret_key is None and self.dev


def get_settings() -> IssuerSettings:
    """The settings from the environment, read now (never at import)."""
    return IssuerSettings()
