"""Exporting a kept credential as an offline bundle: gather the evidence the bundle carries, then write it.

The DID document is fetched afresh when the wallet may (it then shows key rotations and revocations up to now), else
the one kept with the credential since it was claimed is used, and the bundle says which. Each status list the
credential names is fetched through the guarded fetcher; one that cannot be had is left out with a warning (the
bundle's status check is then indeterminate, never passed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from verifier.document import parse_credential
from verifier.errors import AnchorcredError, InvalidInputError
from verifier.ledger.evm import Transport
from wallet.bundle import export_bundle, status_list_urls
from wallet.errors import BundleError
from wallet.store import Entry
from wallet.verifying import WalletVerifier


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def anchor_chain(entry: Entry) -> int:
    try:
        parsed = parse_credential(entry.credential)
    except InvalidInputError as exc:
        raise BundleError(f"credential {entry.id}: {exc.diagnostics()}") from exc
    if parsed.merkle is None or not parsed.merkle.anchors:
        raise BundleError(f"credential {entry.id} is not anchored yet: claim it again once its batch is anchored")
    return parsed.merkle.anchors[0].network


def did_document_for(entry: Entry, wv: WalletVerifier, now: datetime,
                     say: Callable[[str], None]) -> tuple[dict[str, Any], str, str] | None:
    issuer = parse_credential(entry.credential).issuer_id
    if issuer and issuer.startswith("did:") and not issuer.startswith("did:key:"):
        try:
            resolved = wv.resolver.resolve(issuer)
            return dict(resolved.document), resolved.source, _stamp(now)
        except AnchorcredError as exc:
            say(f"warning: the issuer's DID document could not be had now ({exc.diagnostics()}); using the one kept "
                "with the credential")
    kept = entry.evidence.get("issuer_did_document")
    if isinstance(kept, dict):
        return kept, f"kept with the credential ({entry.evidence.get('issuer_did_source') or 'source not recorded'})", \
            str(entry.evidence.get("issuer_did_captured") or entry.added)
    return None


def status_lists_for(entry: Entry, wv: WalletVerifier, now: datetime,
                     say: Callable[[str], None]) -> dict[str, tuple[Any, str, str]]:
    """Each status list the credential names: fetched now, else the snapshot kept since the credential was claimed
    (the bundle then says how old it is), else left out with a warning."""
    out: dict[str, tuple[Any, str, str]] = {}
    kept = entry.evidence.get("status_lists") if isinstance(entry.evidence.get("status_lists"), dict) else {}
    for url in status_list_urls(entry.credential):
        try:
            doc = wv.status_source.get(url)
            out[url] = (doc.document, doc.source, _stamp(now))
            continue
        except AnchorcredError as exc:
            problem = exc.diagnostics()
        snapshot = kept.get(url)
        if isinstance(snapshot, dict) and isinstance(snapshot.get("document"), dict):
            say(f"warning: status list {url} could not be fetched now ({problem}); using the snapshot kept since "
                f"{snapshot.get('fetched_at')}")
            out[url] = (snapshot["document"], f"kept with the credential ({snapshot.get('source')})",
                        str(snapshot.get("fetched_at") or entry.added))
        else:
            say(f"warning: status list {url} could not be fetched ({problem}); the bundle goes without it and its "
                "status check will be indeterminate")
    return out


def bundle_entry(entry: Entry, wv: WalletVerifier, *, transport: Transport, chain_id: int, registry: str | None,
                 now: datetime | None = None, say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    if anchor_chain(entry) != chain_id:
        raise BundleError(f"credential {entry.id} is anchored on chain {anchor_chain(entry)}, not {chain_id}")
    return export_bundle(entry.credential, transport=transport, chain_id=chain_id, registry=registry,
                         did_document=did_document_for(entry, wv, now, say),
                         status_lists=status_lists_for(entry, wv, now, say), now=now, say=say)


__all__ = ["anchor_chain", "bundle_entry", "did_document_for", "status_lists_for"]
