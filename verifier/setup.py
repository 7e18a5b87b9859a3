"""Building a Verifier from configuration: the ledgers it may read and the DID documents it trusts.

Shared by the CLI and the verifier service, so both read anchors and keys the same way. Nothing here is contacted at
construction: the HTTP transports open connections on first use, and ``VerifierSetup.close`` releases them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from verifier.config import NetworkConfig
from verifier.did import DidResolver
from verifier.errors import InvalidInputError
from verifier.ledger.base import LedgerReader
from verifier.ledger.ebsi import EbsiDidResolver, EbsiLedgerRouter, EbsiReadClient, EbsiReader
from verifier.ledger.evm import CachingReader, EvmReader, HttpTransport, LedgerRouter
from verifier.statuslists import StatusListSource
from verifier.trustregistry import EbsiTrustReader
from verifier.verify import Verifier, VerifierOptions


class DidDocumentFileError(InvalidInputError):
    """A DID document named in the configuration cannot be read or is not a DID document."""


@dataclass(frozen=True)
class VerifierSetup:
    verifier: Verifier
    transports: tuple[HttpTransport, ...] = field(default=())

    def close(self) -> None:
        for t in self.transports:
            t.close()


def build_ledger(
    networks: Iterable[NetworkConfig], *, cache_ttl: float | None = None
) -> tuple[LedgerReader | None, tuple[HttpTransport, ...]]:
    """One cached router over an EVM reader per configured chain (None when no chain is configured); EBSI-like
    ledgers (``"ledger": "ebsi"``) get an EBSI reader over their REST API, routed by the anchor's kind."""
    networks = list(networks)
    if not networks:
        return None, ()
    evm = [n for n in networks if n.ledger != "ebsi"]
    transports = {n.chain_id: HttpTransport(n.rpc_url) for n in evm}
    readers = {
        n.chain_id: EvmReader(transports[n.chain_id], chain_id=n.chain_id, registry_address=n.registry_address)
        for n in evm
    }
    router: LedgerReader = LedgerRouter(readers)
    closers: tuple = tuple(transports.values())
    ebsi = {n.chain_id: EbsiReadClient(n.ebsi_url) for n in networks if n.ledger == "ebsi" and n.ebsi_url}
    if ebsi:
        router = EbsiLedgerRouter(router, {c: EbsiReader(client, chain_id=c) for c, client in ebsi.items()})
        closers += tuple(ebsi.values())
    return CachingReader(router, ttl=cache_ttl), closers


def load_did_documents(paths: Iterable[Path], *, max_bytes: int, resolver: DidResolver | None = None) -> DidResolver:
    """A resolver trusting each DID document file, reported as that file."""
    resolver = resolver or DidResolver()
    for path in paths:
        try:
            with Path(path).open("rb") as fh:
                raw = fh.read(max_bytes + 1)
            if len(raw) > max_bytes:
                raise ValueError(f"larger than the {max_bytes}-byte limit")
            resolver.add(json.loads(raw), f"file {path}")
        except OSError as exc:
            raise DidDocumentFileError(f"DID document {path}: cannot be read ({exc.strerror or exc})") from exc
        except (ValueError, RecursionError) as exc:
            raise DidDocumentFileError(f"DID document {path}: {exc}") from exc
    return resolver


def build_verifier(
    networks: Iterable[NetworkConfig],
    resolver: DidResolver,
    *,
    min_confirmations: int = 1,
    cache_ttl: float | None = None,
    status_source: StatusListSource | None = None,
    trust_roots: Iterable[str] = (),
    trust_registry_url: str | None = None,
) -> VerifierSetup:
    """``status_source``: where status lists come from (snapshot files; the service's guarded fetcher).
    ``trust_roots``: the RootTAO DIDs whose accreditation chains are trusted (none: issuer trust is not checked);
    accreditations are read from ``trust_registry_url``, else from the first EBSI-like ledger configured."""
    networks = list(networks)
    ledger, transports = build_ledger(networks, cache_ttl=cache_ttl)
    ebsi_urls = [n.ebsi_url for n in networks if n.ledger == "ebsi" and n.ebsi_url]
    if ebsi_urls:  # did:ebsi issuers resolve from the (first) EBSI-like ledger's DID Registry
        ebsi_client = EbsiReadClient(ebsi_urls[0])
        resolver = EbsiDidResolver(ebsi_client, resolver)
        transports = (*transports, ebsi_client)
    trust_roots = frozenset(trust_roots)
    registry_url = trust_registry_url or (ebsi_urls[0] if ebsi_urls else None)
    trust = None
    if trust_roots and registry_url:  # read afresh for every verification: a client of its own, no cache
        trust_client = EbsiReadClient(registry_url)
        trust = EbsiTrustReader(trust_client)
        transports = (*transports, trust_client)
    verifier = Verifier(
        ledger=ledger,
        did_resolver=resolver,
        trust_registry=trust,
        options=VerifierOptions(
            trust_roots=trust_roots,
            min_confirmations=min_confirmations,
            network_labels={n.label: n.chain_id for n in networks},
            confirmations_by_chain={n.chain_id: n.min_confirmations for n in networks},
        ),
        status_source=status_source,
    )
    return VerifierSetup(verifier, transports)
