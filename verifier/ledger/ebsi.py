"""Reading the EBSI-like ledger over its REST API: timestamps, the Trusted Issuers Registry, DID documents.

The verifier talks to the ledger's facade (``ebsi/service``) over HTTP only, at the one URL its configuration allows
(no web3), so an employer installs nothing more than for EVM anchors. The parts:

- ``verifier.ledger.ebsicodec``: EBSI's identifiers (pure), re-exported here;
- ``verifier.ledger.ebsihttp.EbsiReadClient``: the GET endpoints and the read-only ledger proxy, re-exported here;
- ``EbsiReader``: the ``LedgerReader`` for ``blink:ebsi:<chain id>:<timestamp id>`` anchors, and ``EbsiLedgerRouter``,
  which sends those to it and everything else to the EVM router;
- ``EbsiDidResolver`` for ``did:ebsi`` issuers (documents read from the DID Registry).

What is read here is evidence, not a verdict: the anchor check compares the timestamped hash with the recomputed root
and the timestamping address with the issuer's keys (``verifier.checks``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from verifier import keys
from verifier.did import DidResolver, ResolvedDid
from verifier.errors import AnchorcredError, DidResolutionError
from verifier.ledger.base import AnchorEvidence, AnchorRef, to_checksum_address
from verifier.ledger.ebsicodec import (
    ISSUER_TYPES,
    MULTIHASH_CODES,
    TIMESTAMP_ID_RE,
    decode_multihash,
    encode_multihash,
    hash_from_multibase,
    hash_to_multibase,
    timestamp_id,
    timestamp_id_digest,
)
from verifier.ledger.ebsihttp import EbsiReadClient
from verifier.ledger.ebsihttp import parse_time as _parse_time
from verifier.ledger.ebsihttp import quantity as _quantity
from verifier.ledger.errors import (
    ChainMismatchError,
    InvalidAnchorRefError,
    LedgerResponseError,
    RegistryNotConfiguredError,
    UnknownChainError,
)

__all__ = [
    "ISSUER_TYPES",
    "EbsiDidResolver",
    "EbsiLedgerRouter",
    "EbsiReadClient",
    "EbsiReader",
    "MULTIHASH_CODES",
    "TIMESTAMP_ID_RE",
    "capability_invocation_addresses",
    "decode_multihash",
    "encode_multihash",
    "hash_from_multibase",
    "hash_to_multibase",
    "timestamp_id",
    "timestamp_id_digest",
]

# ------------------------------------------------------------------------------------------------------ the reader


class EbsiReader:
    """Anchor evidence from the EBSI-like ledger's Timestamp API, for anchors ``blink:ebsi:<chain id>:<timestamp id>``.

    Per read: the timestamp record (the first account that timestamped the hash, as EBSI's API shows it), the
    transaction's receipt and the latest block number through the facade's ledger proxy. The chain id is checked once.
    """

    def __init__(self, client: EbsiReadClient, *, chain_id: int):
        self._client = client
        self.chain_id = chain_id
        self._chain_checked = False

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        if ref.ledger != "ebsi":
            raise InvalidAnchorRefError(f"the EBSI reader reads blink:ebsi anchors, got a {ref.ledger!r} anchor")
        if ref.chain_id != self.chain_id:
            raise UnknownChainError(ref.chain_id, [self.chain_id])
        if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
            raise InvalidAnchorRefError(f"root must be 32 bytes, got {root!r}")
        self._check_chain()
        record = self._call(self._client.timestamp, ref.tx_hash)
        if record is None:
            return None
        try:
            _, carried = hash_from_multibase(record.get("hash"))
        except ValueError as exc:
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: hash: {exc}") from exc
        by = record.get("timestampedBy")
        if not isinstance(by, str):
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: timestampedBy missing")
        sender = to_checksum_address(by)
        when = _parse_time(record.get("timestamp"), f"timestamp {ref.tx_hash}")
        tx_hash = record.get("transactionHash")
        if not isinstance(tx_hash, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", tx_hash):
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: transactionHash is not a transaction hash")
        receipt = self._call(self._client.rpc, "eth_getTransactionReceipt", [tx_hash.lower()])
        if not isinstance(receipt, dict):
            return None  # the record names a transaction the node does not have (reorged away)
        block_number = _quantity(receipt.get("blockNumber"), "receipt blockNumber")
        if block_number != _quantity(record.get("blockNumber"), "timestamp blockNumber"):
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: block number differs from its transaction's")
        receipt_from = receipt.get("from")
        if not isinstance(receipt_from, str) or receipt_from.lower() != sender.lower():
            raise LedgerResponseError(f"timestamp {ref.tx_hash}: timestampedBy {sender} did not send {tx_hash}")
        latest = _quantity(self._call(self._client.rpc, "eth_blockNumber", []), "eth_blockNumber")
        to = receipt.get("to")
        return AnchorEvidence(
            chain_id=ref.chain_id,
            tx_hash=tx_hash.lower(),
            block_number=block_number,
            block_hash=str(receipt.get("blockHash") or ""),
            block_time=when,
            sender=sender,
            to=to_checksum_address(to) if isinstance(to, str) else None,
            status_ok=_quantity(receipt.get("status"), "receipt status") == 1,
            mode="timestamp",
            carried_root=carried,
            registry_sender=sender,
            registry_time=when,
            latest_block=latest,
            confirmations=max(0, latest - block_number + 1),
        )

    def _check_chain(self) -> None:
        if self._chain_checked:
            return
        actual = self._call(self._client.chain_id)
        if actual != self.chain_id:
            raise ChainMismatchError(expected=self.chain_id, actual=actual)
        self._chain_checked = True

    @staticmethod
    def _call(fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except AnchorcredError:
            raise
        except ValueError as exc:
            raise LedgerResponseError(str(exc)) from exc


class EbsiLedgerRouter:
    """Sends ``blink:ebsi`` anchors to the EBSI reader of their chain id and everything else to ``inner`` (the EVM
    router), so an EBSI-like ledger and an EVM chain with the same chain id (the facade on the devnet) do not collide.

    The EBSI-like ledger keeps no AnchorRegistry: key events and status records asked of an EBSI-only chain are
    "not configured" (the DID document alone decides), not "unavailable".
    """

    def __init__(self, inner: Any | None, ebsi: Mapping[int, EbsiReader]):
        self._inner = inner
        self._ebsi = dict(ebsi)

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        if ref.ledger == "ebsi":
            reader = self._ebsi.get(ref.chain_id)
            if reader is None:
                raise UnknownChainError(ref.chain_id, list(self._ebsi))
            return reader.read_anchor(ref, root)
        if self._inner is None:
            raise UnknownChainError(ref.chain_id, [])
        return self._inner.read_anchor(ref, root)

    def _registry(self, chain_id: int, method: str) -> Callable:
        try:
            if self._inner is None:
                raise UnknownChainError(chain_id, [])
            return getattr(self._inner, method)
        except AttributeError as exc:
            raise RegistryNotConfiguredError(f"the ledger of chain id {chain_id} cannot read an AnchorRegistry") from exc

    def _registry_call(self, method: str, chain_id: int, *args: Any) -> Any:
        try:
            return self._registry(chain_id, method)(chain_id, *args)
        except UnknownChainError as exc:
            if chain_id in self._ebsi:
                raise RegistryNotConfiguredError(f"chain id {chain_id} is configured as an EBSI-like ledger only, "
                                                 "which keeps no AnchorRegistry records") from exc
            raise

    def status_of(self, chain_id: int, *args: Any) -> Any:
        return self._registry_call("status_of", chain_id, *args)

    def status_history(self, chain_id: int, *args: Any) -> Any:
        return self._registry_call("status_history", chain_id, *args)

    def key_events(self, chain_id: int, *args: Any) -> Any:
        return self._registry_call("key_events", chain_id, *args)


# ------------------------------------------------------------------------------------------------- did:ebsi issuers


def capability_invocation_addresses(document: Mapping[str, Any]) -> dict[str, str]:
    """address (lowercase) -> verification method id, for the secp256k1 keys in the document's
    ``capabilityInvocation``: the accounts that control the DID in the DID Registry (and may timestamp for it)."""
    methods = {m.get("id"): m for m in document.get("verificationMethod", []) or [] if isinstance(m, Mapping)}
    out: dict[str, str] = {}
    for ref in document.get("capabilityInvocation", []) or []:
        vm = methods.get(ref) if isinstance(ref, str) else ref if isinstance(ref, Mapping) else None
        jwk = vm.get("publicKeyJwk") if isinstance(vm, Mapping) else None
        if not isinstance(jwk, Mapping):
            continue
        try:
            key = keys.jwk_to_public_key(dict(jwk))
        except keys.KeyFormatError:
            continue
        if key.kind == "secp256k1":
            out[keys.eth_address_from_secp256k1(key.raw).lower()] = str(vm.get("id"))
    return out


class EbsiDidResolver(DidResolver):
    """Resolves ``did:ebsi`` DIDs from the DID Registry (other DIDs go to ``inner``), caching each answer for
    ``ttl`` seconds (0: no cache) so a batch of one issuer's credentials asks once, not once per credential."""

    def __init__(self, client: EbsiReadClient, inner: DidResolver | None = None, *, ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._client = client
        self._inner = inner or DidResolver()
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, ResolvedDid]] = {}
        self._lock = threading.Lock()

    def add(self, document: Mapping[str, Any], source: str, *, replace: bool = True) -> bool:
        return self._inner.add(document, source, replace=replace)

    def known(self, did: str) -> bool:
        return self._inner.known(did)

    def resolve_local(self, did: str) -> ResolvedDid | None:
        if not did.startswith("did:ebsi:") or self._inner.known(did):
            return self._inner.resolve_local(did)
        with self._lock:
            hit = self._cache.get(did)
        if hit is not None and self._clock() - hit[0] <= self._ttl:
            return hit[1]
        return None

    def resolve(self, did: str) -> ResolvedDid:
        if not did.startswith("did:ebsi:") or self._inner.known(did):
            return self._inner.resolve(did)
        cached = self.resolve_local(did)
        if cached is not None:
            return cached
        try:
            document = self._client.did_document(did)
        except AnchorcredError as exc:
            raise DidResolutionError(f"{did}: DID Registry at {self._client.where} did not answer: "
                                     f"{exc.diagnostics()}") from exc
        except ValueError as exc:
            raise DidResolutionError(f"{did}: {exc}") from exc
        if document is None:
            raise DidResolutionError(f"{did}: not registered in the DID Registry at {self._client.where}")
        if document.get("id") != did:
            raise DidResolutionError(f"{did}: the DID Registry answered with the document of {document.get('id')!r}")
        resolved = ResolvedDid(did, document, f"DID Registry at {self._client.where}")
        if self._ttl > 0:
            with self._lock:
                self._cache[did] = (self._clock(), resolved)
        return resolved
