"""The issuer's ``ebsi`` ledger backend: a batch's Merkle root is timestamped on the EBSI-like ledger with
``timestampHashes`` (one transaction per batch, whatever its size), and the credentials' anchor names the timestamp
id: ``blink:ebsi:<chain id>:<timestamp id>`` (docs/formats.md "EBSI anchors").

The writer is the issuer's anchoring account: it gets a ``timestamp_write`` token for ``eip155:<chainId>:<address>``
(or for its did:ebsi DID when it has one in the DID Registry), and the verifier ties that address to the issuer
through the issuer's DID document (``blockchainAccountId`` on the ledger's chain id) or, for a did:ebsi issuer, its
capabilityInvocation keys in the DID Registry.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ebsi.client import EbsiClient, EbsiWriteError
from ebsi.errors import EbsiError
from issuer.ledger.base import AnchorReceipt
from issuer.ledger.errors import (
    AlreadyAnchoredError,
    AnchorRevertedError,
    IssuerLedgerError,
    LedgerConnectionError,
    TransactionRejectedError,
)
from issuer.ledger.networks import replace_network
from verifier.errors import EvidenceUnavailableError
from verifier.ledger.ebsi import timestamp_id

__all__ = ["EbsiWriter", "open_ebsi_writer", "publish_ebsi_network"]

ANCHOR_DATA = b'{"type":"anchorcred-batch-root"}'  # the timestampData: says what the hash is, nothing personal


class EbsiWriter:
    """``LedgerWriter`` over the EBSI-like ledger's Timestamp API. ``client`` holds the anchoring key."""

    def __init__(self, client: EbsiClient):
        self._client = client
        try:
            self.chain_id = client.chain_id
        except (EbsiError, EvidenceUnavailableError) as exc:
            raise LedgerConnectionError(f"EBSI ledger at {client.read.where}: {exc}") from exc

    def anchor(self, root: bytes) -> AnchorReceipt:
        if not isinstance(root, (bytes, bytearray)) or len(root) != 32 or bytes(root) == bytes(32):
            raise ValueError(f"root must be 32 non-zero bytes, got {root!r}")
        root = bytes(root)
        tid = timestamp_id(root)
        mine = self._own_record(tid)
        if mine is not None:
            raise AlreadyAnchoredError(root, mine["timestampedBy"], None)
        try:
            ids, sent = self._client.timestamp_hashes([root], data=ANCHOR_DATA)
        except EbsiWriteError as exc:
            if exc.problem.get("error") == "Timestamp__AlreadyTimestamped":
                raise AlreadyAnchoredError(root, self._client.address, None) from exc
            if exc.status in (401, 403):
                raise TransactionRejectedError(f"EBSI ledger refused to timestamp for {self._client.address}: "
                                               f"{exc}") from exc
            raise AnchorRevertedError(f"EBSI ledger refused the timestamp: {exc}") from exc
        except (EbsiError, EvidenceUnavailableError) as exc:
            raise LedgerConnectionError(f"EBSI ledger at {self._client.read.where}: {exc}") from exc
        record = self._own_record(ids[0])
        if record is None:
            raise IssuerLedgerError(f"timestamp {ids[0]} was mined in {sent.tx_hash} but the ledger does not show it")
        return AnchorReceipt(
            chain_id=self.chain_id,
            tx_hash=sent.tx_hash.lower(),
            block_number=sent.block_number,
            block_hash=str(sent.receipt.get("blockHash", "")).lower(),
            block_time=datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")),
            gas_used=int(sent.receipt.get("gasUsed", "0x0"), 16),
            sender=self._client.address,
            mode="ebsi",
            registry_address=sent.receipt.get("to"),
            anchor_chain="ebsi",
            anchor_id=ids[0],
        )

    def _own_record(self, tid: str) -> dict | None:
        try:
            return self._client.read.get(f"/timestamp/v4/timestamps/{tid}",
                                         {"timestampedBy": self._client.address})
        except (EbsiError, EvidenceUnavailableError) as exc:
            raise LedgerConnectionError(f"EBSI ledger at {self._client.read.where}: {exc}") from exc


def open_ebsi_writer(data_dir: Path, secret: bytes, ebsi_url: str) -> EbsiWriter:
    """The writer for ``anchorcred issue --ledger ebsi --ebsi-url URL``: the anchoring key ``secret`` timestamps at
    ``ebsi_url``, and the verifier's networks file (``<data_dir>/networks.json``) names that ledger."""
    writer = EbsiWriter(EbsiClient(ebsi_url, secret))
    publish_ebsi_network(data_dir, writer.chain_id, f"ebsi-{writer.chain_id}", ebsi_url)
    return writer


def publish_ebsi_network(data_dir: Path, chain_id: int, label: str, ebsi_url: str) -> Path:
    """Adds or replaces the EBSI entry of ``chain_id`` in ``<data_dir>/networks.json`` (the verifier's networks file;
    EVM entries, even of the same chain id, are kept), atomically."""
    return replace_network(data_dir, lambda n: not (n.get("ledger") == "ebsi" and n.get("chain_id") == chain_id),
                           {"chain_id": chain_id, "label": label, "ledger": "ebsi", "ebsi_url": ebsi_url})
