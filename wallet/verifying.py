"""The wallet's verification: the verifier's own core, configured from the wallet's settings.

Everything the wallet fetches (claim links, issuers' did:web documents) goes through the verifier's guarded fetcher
under one policy built here: https only, public addresses only, except the hosts the settings list (a learner trying
the local demo adds ``localhost``). Ledgers are read only as the networks file says. The DID document a verification
used is kept with the credential, so a later offline bundle carries the document as it was when the credential was
received (and says so).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from verifier.config import ConfigError, NetworkConfig, load_networks
from verifier.did import DidResolver
from verifier.didweb import WebDidResolver
from verifier.errors import AnchorcredError
from verifier.fetch import FetchPolicy, GuardedFetcher
from verifier.ledger.base import LedgerReader
from verifier.report import Report
from verifier.setup import build_ledger
from verifier.statuslists import StatusListSource
from verifier.verify import Verifier, VerifierOptions

DEFAULT_VERIFIER_URL = "http://localhost:8080"
MAX_DID_DOCUMENT_BYTES = 1 << 20


def read_did_documents(files: Iterable[Path]) -> list[tuple[dict[str, Any], str]]:
    """(document, "file <path>") for each DID document file the settings name; a bad one is a ConfigError."""
    out = []
    for path in files:
        try:
            with Path(path).open("rb") as fh:
                raw = fh.read(MAX_DID_DOCUMENT_BYTES + 1)
            if len(raw) > MAX_DID_DOCUMENT_BYTES:
                raise ValueError(f"larger than {MAX_DID_DOCUMENT_BYTES} bytes")
            doc = json.loads(raw)
            DidResolver().add(doc, f"file {path}")  # the verifier's own test of a DID document
        except (OSError, ValueError, RecursionError) as exc:
            raise ConfigError(f"DID document {path}: {getattr(exc, 'strerror', None) or exc}") from exc
        out.append((doc, f"file {path}"))
    return out


def _status_urls(credential: Any) -> list[str]:
    from verifier.status import StatusListError, status_entries

    try:
        return list(dict.fromkeys(e.list_url for e in status_entries(credential)))
    except StatusListError:
        return []


@dataclass(frozen=True)
class WalletConfig:
    """What the wallet may contact, read from its settings.json (nothing secret)."""

    verifier_url: str = DEFAULT_VERIFIER_URL
    networks: tuple[NetworkConfig, ...] = ()
    allow_http_hosts: frozenset[str] = frozenset()
    allow_hosts: frozenset[str] = frozenset()
    did_web_fetch: bool = True
    did_documents: tuple[tuple[dict[str, Any], str], ...] = field(default=())

    @classmethod
    def from_settings(cls, settings: dict[str, Any], *, networks_file: Path | None = None,
                      did_documents: Iterable[tuple[dict[str, Any], str]] = ()) -> WalletConfig:
        path = networks_file or (Path(settings["networks_file"]) if settings.get("networks_file") else None)
        networks = tuple(load_networks(path)) if path is not None else ()
        did_documents = [*did_documents, *read_did_documents(Path(p) for p in settings.get("did_documents") or [])]
        hosts = lambda key: frozenset(str(h).lower() for h in settings.get(key) or [])
        return cls(verifier_url=str(settings.get("verifier_url") or DEFAULT_VERIFIER_URL), networks=networks,
                   allow_http_hosts=hosts("allow_http_hosts"), allow_hosts=hosts("allow_hosts"),
                   did_web_fetch=bool(settings.get("did_web_fetch", True)), did_documents=tuple(did_documents))

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(allowed_schemes=frozenset({"https"}), allow_http_hosts=self.allow_http_hosts,
                           allow_hosts=self.allow_hosts, user_agent="anchorcred-wallet")


class WalletVerifier:
    """A Verifier over the configured ledgers and DID documents (fetching did:web when allowed); close() after use."""

    def __init__(self, config: WalletConfig, *, fetcher: GuardedFetcher | None = None,
                 ledger: LedgerReader | None = None):
        """``fetcher`` and ``ledger`` replace the ones the configuration would build (tests, an in-process chain)."""
        self.config = config
        self.fetcher = fetcher or GuardedFetcher(config.fetch_policy())
        self._own_fetcher = fetcher is None
        documents = {doc["id"]: (doc, source) for doc, source in config.did_documents if isinstance(doc.get("id"), str)}
        self.resolver: DidResolver = (WebDidResolver(self.fetcher, documents=documents) if config.did_web_fetch
                                      else DidResolver(documents))
        self.ledger, self._transports = (ledger, ()) if ledger is not None else build_ledger(config.networks)
        # Status lists come through the same fetcher; each is judged against the digest its issuer anchored.
        self.status_source = StatusListSource(fetcher=self.fetcher)
        self.verifier = Verifier(ledger=self.ledger, did_resolver=self.resolver, status_source=self.status_source,
                                 options=VerifierOptions(
            network_labels={n.label: n.chain_id for n in config.networks},
            confirmations_by_chain={n.chain_id: n.min_confirmations for n in config.networks}))

    def close(self) -> None:
        for t in self._transports:
            t.close()
        if self._own_fetcher:
            self.fetcher.close()

    def __enter__(self) -> WalletVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verify(self, credential: Any, *, source: str, now: datetime | None = None) -> tuple[Report, dict[str, Any]]:
        """The report, and the evidence worth keeping with the credential (the issuer's DID document as used)."""
        report = self.verifier.verify(credential, now=now or datetime.now(timezone.utc), source=source)
        return report, self.evidence_of(report, credential)

    def evidence_of(self, report: Report, credential: Any = None) -> dict[str, Any]:
        """The issuer's DID document and the status lists as this verification used them (kept for bundles)."""
        out: dict[str, Any] = {}
        issuer = report.issuer.get("id") if report.issuer else None
        if isinstance(issuer, str) and issuer.startswith("did:") and not issuer.startswith("did:key:"):
            try:
                resolved = self.resolver.resolve_local(issuer)
            except AnchorcredError:
                resolved = None
            if resolved is not None:
                out.update(issuer_did_document=dict(resolved.document), issuer_did_source=resolved.source,
                           issuer_did_captured=report.verified_at)
        lists = {}
        for url in _status_urls(credential):
            ready, doc = self.status_source.peek(url)
            if ready and doc is not None:
                lists[url] = {"document": doc.document, "source": doc.source, "fetched_at": report.verified_at}
        if lists:
            out["status_lists"] = lists
        return out


__all__ = ["DEFAULT_VERIFIER_URL", "WalletConfig", "WalletVerifier"]
