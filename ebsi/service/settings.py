"""The facade's settings, from ``EBSI_*`` environment variables (read through ``get_settings``, never at import).

The facade's operator key (``EBSI_ADMIN_KEY``) deploys the contracts and is their admin: it alone may add RootTAOs
and hash algorithms, as EBSI's Trusted Policies Registry admins do. ``EBSI_DEV=true`` runs on a development chain:
anvil's public dev key is the admin when none is given, and writers are funded so they can pay for gas (EBSI's own
chain charges none). Tokens are signed with ``EBSI_TOKEN_SECRET``, a random one per start when not given (tokens then
do not survive a restart, which for tokens that live minutes is no loss).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8090
SCOPES = ("didr_invite", "didr_write", "tir_invite", "tir_write", "timestamp_write")


class EbsiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EBSI_", frozen=True, extra="forbid")

    ledger: Literal["embedded", "rpc"] = "embedded"
    rpc_url: str | None = Field(None, description="the chain's JSON-RPC endpoint (ledger=rpc)")
    data_dir: Path = Path(".anchorcred/ebsi")
    dev: bool = Field(False, description="a development chain: dev admin key, writers funded")
    admin_key: SecretStr | None = Field(None, description="0x-prefixed secp256k1 key of the operator (contract admin)")
    public_url: str | None = Field(None, description="base of the links in answers; default: the request's own")
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)

    token_secret: SecretStr | None = None
    token_ttl: int = Field(900, ge=30, le=7200, description="seconds a bearer token lives")
    # Who may get tokens without being in the DID Registry yet: "open" (a devnet: any key may register a DID and
    # timestamp) or "closed" (only the subjects listed in allowed_subjects, DIDs or eip155 accounts).
    onboarding: Literal["open", "closed"] = "closed"
    allowed_subjects: list[str] = Field(default_factory=list)

    max_body_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_pending_transactions: int = Field(10_000, ge=10, le=1_000_000)
    pending_ttl: int = Field(600, ge=10, le=86_400, description="seconds a built transaction may wait for its signature")


def get_settings() -> EbsiSettings:
    return EbsiSettings()
