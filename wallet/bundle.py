"""The offline bundle: a credential with every proof it needs, so it verifies when the issuer's website is gone.

Format (docs/wallet.md, "Offline bundle"): one JSON object,

    format, version         "anchorcred-offline-bundle", 1
    exported_at             when the wallet wrote it (UTC)
    credential              the credential, both proofs included
    merkle                  targetHash, merkleRoot and path, as the credential's merkle-proof-2019 proof states them
    anchor                  chain_id, tx_hash, and the block (hash) and index of the anchoring transaction
    ledger                  chain_id; registry (the AnchorRegistry the issuer's transactions call); blocks: for each
                            block the bundle relies on, by its hash: header (RLP), transactions (every one of the block,
                            signed bytes) and receipts (every one); descendants: the headers of the blocks that followed
                            the anchor's block at export (its confirmations); head_at_export: the node's latest block
    issuer                  did, document (the DID document), source (where and when it was had), key_events (the
                            transactions recording the issuer's key events, read from the registry at export)
    status                  one item per status list the credential names: url, list_credential (the signed list as
                            fetched at export), source, fetched_at, publications (the transactions that anchored its
                            digests)

Every ledger fact in the bundle is carried as the bytes a node would give and is checked from them (wallet/evmproof):
block hash from the header, transactions and receipts from the header's roots, senders from signatures, registry
events from receipts. Nothing the export says in prose (hashes as keys, "index", "registry") is trusted offline: it
is recomputed, or only used to say what is missing.

Export reads the ledger through a JSON-RPC transport (the wallet's networks file), the status lists through the guarded
fetcher, and refuses a block whose recomputed hash or roots differ from the node's answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from verifier.document import parse_credential
from verifier.errors import AnchorcredError, EvidenceUnavailableError
from verifier.keyhistory import bound_addresses
from verifier.ledger.base import list_id_of, to_checksum_address
from verifier.ledger.evm import EvmReader, Transport
from verifier.merkle import path_to_json
from verifier.status import StatusListError, status_entries
from wallet.errors import BundleError, BundleExportUnavailableError
from wallet import evmjson as ej
from wallet import evmproof as ep

FORMAT = "anchorcred-offline-bundle"
VERSION = 1
MAX_BUNDLE_BYTES = 64 << 20  # refused above this when read (an honest bundle of a devnet batch is ~30 KiB)
MAX_BLOCKS = 256  # blocks one bundle carries (anchor, key events, status publications)
MAX_BLOCK_TRANSACTIONS = 2_000  # a block with more cannot be carried whole
DEFAULT_DESCENDANTS = 12  # headers after the anchor's block: confirmations the bundle proves by itself


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Blocks:
    """Collects whole blocks from a node, each checked (hash, roots) before it is kept."""

    transport: Transport
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)

    def call(self, method: str, params: list) -> Any:
        try:
            return self.transport.request(method, params)
        except EvidenceUnavailableError as exc:
            raise BundleExportUnavailableError(f"the ledger could not be read ({method}): {exc.diagnostics()}") from exc
        except AnchorcredError as exc:
            raise BundleError(f"the ledger answered {method} with something unusable: {exc.diagnostics()}") from exc

    def add_transaction(self, tx_hash: str) -> tuple[str, int, int]:
        """(block hash, index, block number) of a mined transaction; its whole block is collected."""
        tx = self.call("eth_getTransactionByHash", [tx_hash])
        if not isinstance(tx, dict) or tx.get("blockHash") in (None, "0x" + "00" * 32):
            raise BundleError(f"transaction {tx_hash} is not mined on this ledger (not found or pending)")
        block_hash = _hex(ej.data_bytes(tx["blockHash"], "blockHash", size=32))
        if block_hash not in self.blocks:
            self.add_block(block_hash)
        return block_hash, ej.quantity(tx.get("transactionIndex"), "transactionIndex"), self.numbers[block_hash]

    def add_block(self, block_hash: str) -> None:
        if len(self.blocks) >= MAX_BLOCKS:
            raise BundleError(f"a bundle carries at most {MAX_BLOCKS} blocks")
        block = self.call("eth_getBlockByHash", [block_hash, True])
        if not isinstance(block, dict):
            raise BundleError(f"block {block_hash} not found (reorganised away?); export again")
        txs = block.get("transactions") or []
        if len(txs) > MAX_BLOCK_TRANSACTIONS:
            raise BundleError(f"block {block_hash} holds {len(txs)} transactions, more than the "
                              f"{MAX_BLOCK_TRANSACTIONS} a bundle carries")
        try:
            header = ep.parse_header(ej.header_rlp_matching(block))
            raws = [self._raw_transaction(tx) for tx in txs]
            receipts = [ej.raw_receipt_from_json(r) for r in self._receipts(block_hash, txs)]
        except ep.ProofError as exc:
            raise BundleError(f"block {block_hash}: {exc}") from exc
        if ep.ordered_trie_root(raws) != header.transactions_root:
            raise BundleError(f"block {block_hash}: its transactions do not give the header's transactionsRoot")
        if ep.ordered_trie_root(receipts) != header.receipts_root:
            raise BundleError(f"block {block_hash}: its receipts do not give the header's receiptsRoot")
        self.blocks[block_hash] = {"header": _hex(header.rlp), "transactions": [_hex(r) for r in raws],
                                   "receipts": [_hex(r) for r in receipts]}
        self.numbers[block_hash] = header.number

    def _raw_transaction(self, tx: Any) -> bytes:
        if not isinstance(tx, dict):
            raise BundleError("the node listed a block's transactions without their bodies")
        expected = ej.data_bytes(tx.get("hash"), "transaction hash", size=32)
        try:
            raw = ej.raw_transaction_from_json(tx)
        except ep.ProofError:
            raw = b""
        if ep.keccak256(raw) != expected:  # a field form we do not know: ask the node for the bytes themselves
            answer = self.call("eth_getRawTransactionByHash", [_hex(expected)])
            raw = ej.data_bytes(answer, "raw transaction")
            if ep.keccak256(raw) != expected:
                raise BundleError(f"transaction {_hex(expected)}: its bytes do not hash to its hash")
        return raw

    def _receipts(self, block_hash: str, txs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            receipts = self.transport.request("eth_getBlockReceipts", [block_hash])
        except AnchorcredError:
            receipts = None  # not every node has it (eth-tester): one receipt per transaction instead
        if not isinstance(receipts, list) or len(receipts) != len(txs):
            receipts = [self.call("eth_getTransactionReceipt", [tx["hash"]]) for tx in txs]
        if any(not isinstance(r, dict) for r in receipts):
            raise BundleError(f"block {block_hash}: a receipt is missing")
        return receipts

    def descendants(self, anchor_block: str, limit: int) -> tuple[list[str], dict[str, Any]]:
        """Headers of the blocks after ``anchor_block`` (at most ``limit``), each the child of the one before."""
        latest = ej.quantity(self.call("eth_blockNumber", []), "eth_blockNumber")
        number = self.numbers[anchor_block]
        parent = bytes.fromhex(anchor_block[2:])
        out = []
        for n in range(number + 1, min(latest, number + limit) + 1):
            block = self.call("eth_getBlockByNumber", [hex(n), False])
            if not isinstance(block, dict):
                break
            try:
                header = ep.parse_header(ej.header_rlp_matching(block))
            except ep.ProofError as exc:
                raise BundleError(f"block {n}: {exc}") from exc
            if header.parent_hash != parent:
                raise BundleError(f"block {n} does not follow block {n - 1} (a reorganisation during export); "
                                  "export again")
            out.append(_hex(header.rlp))
            parent = header.hash
        head = self.call("eth_getBlockByNumber", [hex(latest), False])
        head_hash = head.get("hash") if isinstance(head, dict) else None
        return out, {"number": latest, "hash": head_hash}


def export_bundle(credential: dict[str, Any], *, transport: Transport, chain_id: int, registry: str | None,
                  did_document: tuple[dict[str, Any], str, str] | None,
                  status_lists: dict[str, tuple[Any, str, str]] | None = None,
                  now: datetime | None = None, descendants: int = DEFAULT_DESCENDANTS,
                  say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """A bundle for ``credential``, read from the ledger ``transport`` serves (chain ``chain_id``).

    ``registry``: the AnchorRegistry to read key events and status publications from (None: the contract the
    anchoring transaction called, if it called one). ``did_document``: (document, where it came from, when).
    ``status_lists``: url -> (list credential, where it came from, when) for the lists the credential names.
    """
    now = now or datetime.now(timezone.utc)
    parsed = parse_credential(credential)
    if parsed.merkle is None or not parsed.merkle.anchors:
        raise BundleError("the credential has no anchor (merkle-proof-2019) yet: claim it again once its batch is "
                          "anchored")
    anchor = parsed.merkle.anchors[0]
    if anchor.network != chain_id:
        raise BundleError(f"the credential is anchored on chain {anchor.network}, the ledger given is chain {chain_id}")
    node_chain = ej.quantity(_Blocks(transport).call("eth_chainId", []), "eth_chainId")
    if node_chain != chain_id:
        raise BundleError(f"the node serves chain {node_chain}, not chain {chain_id}")
    blocks = _Blocks(transport)
    say(f"reading the anchoring transaction {anchor.tx_hash} …")
    block_hash, index, _number = blocks.add_transaction(anchor.tx_hash)
    tx = ep.parse_transaction(bytes.fromhex(blocks.blocks[block_hash]["transactions"][index][2:]))
    registry = to_checksum_address(registry) if registry else (tx.to if tx.data[:4] == _ANCHOR_SELECTOR else None)
    later, head = blocks.descendants(block_hash, descendants)

    issuer: dict[str, Any] = {"did": parsed.issuer_id}
    key_events: list[dict[str, Any]] = []
    addresses: list[str] = []
    if did_document is not None:
        document, source, captured = did_document
        issuer.update(document=document, source=source, captured=captured)
        addresses = sorted(bound_addresses(document, chain_id))
    reader = EvmReader(transport, chain_id=chain_id, registry_address=registry) if registry else None
    if reader is not None and addresses:
        say(f"reading the key events of {len(addresses)} anchoring address(es) …")
        for address in addresses:
            for event in _read(lambda: reader.key_events(chain_id, None, to_checksum_address(address))):
                bh, i, _n = blocks.add_transaction(event.tx_hash)
                key_events.append({"tx_hash": event.tx_hash, "block": bh, "index": i})
    statuses: list[dict[str, Any]] = []
    for url, (list_credential, source_, fetched) in (status_lists or {}).items():
        pubs = []
        for address in addresses if reader is not None else []:
            for pub in _read(lambda: reader.status_history(chain_id, None, to_checksum_address(address),
                                                           list_id_of(url))):
                bh, i, _n = blocks.add_transaction(pub.tx_hash)
                pubs.append({"tx_hash": pub.tx_hash, "block": bh, "index": i})
        statuses.append({"url": url, "list_credential": list_credential, "source": source_, "fetched_at": fetched,
                         "publications": pubs})
    issuer["key_events"] = key_events
    return {
        "format": FORMAT, "version": VERSION, "exported_at": _iso(now), "exporter": "anchorcred wallet",
        "credential": credential,
        "merkle": {"targetHash": parsed.merkle.target_hash.hex(), "merkleRoot": parsed.merkle.merkle_root.hex(),
                   "path": path_to_json(parsed.merkle.path)},
        "anchor": {"chain_id": chain_id, "tx_hash": anchor.tx_hash, "block": block_hash, "index": index},
        "ledger": {"chain_id": chain_id, "registry": registry, "blocks": blocks.blocks, "descendants": later,
                   "head_at_export": head},
        "issuer": issuer,
        "status": statuses,
    }


_ANCHOR_SELECTOR = ep.keccak256(b"anchor(bytes32)")[:4]


def _read(read: Callable[[], list]) -> list:
    try:
        return list(read())
    except EvidenceUnavailableError as exc:
        raise BundleExportUnavailableError(f"the registry could not be read: {exc.diagnostics()}") from exc
    except AnchorcredError as exc:
        raise BundleError(f"the registry could not be read: {exc.diagnostics()}") from exc


def status_list_urls(credential: dict[str, Any]) -> list[str]:
    """The status list credentials a credential names (revocation and suspension), in order, once each."""
    try:
        entries = status_entries(credential)
    except StatusListError as exc:
        raise BundleError(f"credentialStatus: {exc.diagnostics()}") from exc
    return list(dict.fromkeys(e.list_url for e in entries))


def write_bundle(bundle: dict[str, Any]) -> bytes:
    return (json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def read_bundle(raw: bytes, where: str) -> dict[str, Any]:
    """The bundle object, or BundleError saying why it is not one (size, JSON, format, version)."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError(f"{where}: larger than the {MAX_BUNDLE_BYTES}-byte limit of a bundle")
    try:
        bundle = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleError(f"{where}: not an anchorcred offline bundle (format {FORMAT!r} expected)")
    if bundle.get("version") != VERSION:
        raise BundleError(f"{where}: bundle version {bundle.get('version')!r}; this anchorcred reads version {VERSION}")
    return bundle


__all__ = ["FORMAT", "VERSION", "export_bundle", "read_bundle", "status_list_urls", "write_bundle"]
