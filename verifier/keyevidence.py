"""Gathering the issuer's key events from the ledger (evidence: the only I/O of key history; judging is
``verifier.keyhistory``'s job, in the signature and anchor checks).

The events are read on the chain the credential is anchored on, for every anchoring address the issuer's DID
document binds there (current and earlier ones): a key revocation is recorded by the address the issuer held then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.did import ResolvedDid
from verifier.document import ParsedCredential
from verifier.errors import AnchorcredError, EvidenceUnavailableError
from verifier.keyhistory import MAX_EVENTS, LedgerKeyHistory, bound_addresses
from verifier.ledger.base import to_checksum_address
from verifier.ledger.errors import RegistryNotConfiguredError

__all__ = ["KeyHistoryEvidence", "gather_key_history"]

MAX_CONTROLLERS = 64  # anchoring addresses read per issuer and chain (each is one ledger read, cached)


@dataclass(frozen=True)
class KeyHistoryEvidence:
    events: LedgerKeyHistory | None = None
    error: str | None = None  # could not be read: a revocation cannot be ruled out
    note: str | None = None  # not readable on that ledger at all (no registry): the DID document alone decides


def gather_key_history(ledger: Any, issuer: ResolvedDid | None, cred: ParsedCredential, *,
                       local_only: bool = False) -> KeyHistoryEvidence | None:
    """The key events for the credential's issuer on its anchor's chain; None only when ``local_only`` and they
    are not in the reader's cache (they would need I/O)."""
    if issuer is None or issuer.did.startswith("did:key:") or cred.merkle is None or not cred.merkle.anchors:
        return KeyHistoryEvidence()
    chain_id = cred.merkle.anchors[0].network
    if ledger is None:
        return KeyHistoryEvidence(note="no ledger configured")
    read = getattr(ledger, "key_events", None)
    if not callable(read):
        return KeyHistoryEvidence(note="this ledger reader cannot read key events")
    controllers = sorted(bound_addresses(issuer.document, chain_id))
    if len(controllers) > MAX_CONTROLLERS:
        return KeyHistoryEvidence(error=f"the DID document binds {len(controllers)} anchoring addresses on chain "
                                        f"{chain_id}, more than the {MAX_CONTROLLERS} this verifier reads")
    events = {}
    try:
        for address in controllers:
            checksummed = to_checksum_address(address)
            if local_only:
                peek = getattr(ledger, "peek_key_events", None)
                hit, found = peek(chain_id, None, checksummed) if callable(peek) else (False, None)
                if not hit:
                    return None
            else:
                found = read(chain_id, None, checksummed)
            events[address] = tuple(found)
            total = sum(len(e) for e in events.values())
            if total > MAX_EVENTS:  # the judging refuses them (ValueError): said here, as unavailable evidence
                return KeyHistoryEvidence(error=f"the issuer's anchoring addresses sent {total} key events on chain "
                                                f"{chain_id}, more than the {MAX_EVENTS} this verifier reads")
    except RegistryNotConfiguredError as exc:
        return KeyHistoryEvidence(note=exc.diagnostics())
    except EvidenceUnavailableError as exc:
        return KeyHistoryEvidence(error=exc.diagnostics())
    except AnchorcredError as exc:
        return KeyHistoryEvidence(error=exc.diagnostics())
    return KeyHistoryEvidence(events=LedgerKeyHistory(chain_id, events))
