"""The verifier service's settings, from ``VERIFIER_*`` environment variables (read through ``get_settings``).

List values are JSON in the environment: ``VERIFIER_DID_DOCUMENTS='["out/.well-known/did.json"]'``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from verifier.fetch import FetchPolicy


class VerifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VERIFIER_", frozen=True, extra="forbid")

    # Which ledgers may be read (verifier.config format); none configured: anchors are reported indeterminate.
    networks_file: Path | None = None
    # DID documents to trust; they win over did:web fetching.
    did_documents: list[Path] = Field(default_factory=list)
    # Fetch the did:web documents of issuers and holders not configured above, through the guarded fetcher and its
    # policy below (https; http only for fetch_allow_http_hosts; address checks unless fetch_allow_hosts).
    did_web_fetch: bool = False
    did_web_cache_ttl: float = Field(300.0, gt=0, le=86_400, description="seconds a fetched DID document is kept")
    # Fetch the status lists (revocation, suspension) credentials name, through the guarded fetcher and its policy;
    # None: whenever did_web_fetch is on. Off: a credential with a status list is indeterminate unless the list
    # comes with it. A fetched list is kept status_cache_ttl seconds.
    status_fetch: bool | None = None
    status_cache_ttl: float = Field(60.0, gt=0, le=86_400, description="seconds a fetched status list is kept")
    min_confirmations: int = Field(1, ge=1, le=10_000)
    # Issuer trust: the RootTAO DIDs whose accreditation chains are trusted (none: not checked), and the EBSI-like
    # trust registry to read them from (default: the first "ebsi" ledger of the networks file). Read per verification.
    trust_roots: list[str] = Field(default_factory=list)
    trust_registry: str | None = Field(None, pattern=r"^https?://")
    # Where the service keeps its own files (the report-signing key when report_key_file is not set).
    data_dir: Path = Path(".anchorcred/verifier")
    # The Ed25519 key (PEM, PKCS #8) that signs PDF verification reports; made at first start if absent (mode 0600).
    report_key_file: Path | None = None
    # Seconds an anchor read stays cached: confirmations keep growing, so a long-lived service re-reads now and then.
    anchor_cache_ttl: float = Field(60.0, gt=0)

    # Limits. A real credential is a few KiB; these are far above that and far below harm.
    max_body_bytes: int = Field(2 << 20, ge=1024, description="largest JSON body, and largest single credential")
    max_upload_bytes: int = Field(32 << 20, ge=1024, description="largest form post (all files together)")
    max_files: int = Field(100, ge=1, description="files in one bulk upload")
    max_credentials: int = Field(200, ge=1, description="credentials verified in one request")
    # POST /credentials/verify judges a body up to this size on the event loop when its evidence is cached (pure CPU,
    # about a millisecond for a real credential); larger bodies, and any I/O, go to a worker thread.
    inline_max_bytes: int = Field(64 * 1024, ge=0, le=1 << 20)

    # Verify-by-link (verifier.fetch): https only, public addresses only, unless listed here (e.g. localhost in dev).
    fetch_allow_http_hosts: list[str] = Field(default_factory=list, description="hosts that may be fetched over http")
    fetch_allow_hosts: list[str] = Field(default_factory=list, description="hosts exempt from the address checks")
    fetch_max_bytes: int = Field(1 << 20, ge=1024, le=16 << 20)
    fetch_timeout: float = Field(5.0, gt=0, le=60)
    fetch_max_redirects: int = Field(3, ge=0, le=10)
    # A CSV of links on the page: its links count against max_credentials; fetched this many at once, all within
    # fetch_bulk_timeout seconds (a link not reached by then gets a row saying so).
    fetch_concurrency: int = Field(8, ge=1, le=32)
    fetch_bulk_timeout: float = Field(60.0, gt=0, le=600)

    def report_key_path(self) -> Path:
        return self.report_key_file or self.data_dir / "report-key.pem"

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            allowed_schemes=frozenset({"https"}),  # http only for the hosts listed in allow_http_hosts
            allow_http_hosts=frozenset(self.fetch_allow_http_hosts),
            allow_hosts=frozenset(self.fetch_allow_hosts),
            max_bytes=self.fetch_max_bytes,
            timeout=self.fetch_timeout,
            max_redirects=self.fetch_max_redirects,
        )


def get_settings() -> VerifierSettings:
    """The settings from the environment, read now (never at import)."""
    return VerifierSettings()
