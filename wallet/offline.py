"""Verifying an offline bundle with no network: every check says what evidence it used and how fresh it is.

    1. bundle_ledger        every block the bundle carries proves itself (header hash, transactions and receipts
                            roots), the descendants follow the anchor's block, the anchoring transaction is where the
                            bundle says it is
    2. bundle_merkle        the bundle's Merkle path is the one in the credential's proof
    3. bundle_issuer        the DID document is the issuer's (where it came from, when)
    4. the credential's own checks, by the verifier's core (format, signature, integrity, Merkle inclusion, anchor,
       status, validity, and what else the verifier runs), with the bundle as its only evidence: the DID document,
       a ledger reader answering from the proven blocks (the anchoring transaction, the registry's key events and
       status publications), the status list snapshots
    5. ledger_confirmation  a ledger node, if one is configured for the chain and answers, has the same block hash at
                            that height (and its confirmations now); without one the header is only self-consistent,
                            and the check is skipped, saying so

Without a node the verdict is at best "partially verified": nothing offline shows that the bundle's block is on the
chain everyone else sees (fail closed, DESIGN.md "Verification"). Omissions cannot be seen offline either (a key
revocation or a status publication after the export is not in the bundle): each check's evidence names its date.
Pure except ``NodeConfirmer``, which is the only I/O, and only when configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any

from verifier.errors import AnchorcredError
from verifier.ledger.base import AnchorEvidence, AnchorRef, KeyEvent, StatusPublication, StatusRecord
from verifier.ledger.evm import Transport
from verifier.ledger.registry import (
    KEY_EVENT_RECORDED_TOPIC,
    STATUS_PUBLISHED_TOPIC,
    address_topic,
    decode_key_event_log,
    decode_status_log,
)
from verifier.report import CheckResult, Report, Status, Verdict, verdict_of
from wallet import evmproof as ep
from wallet.evmjson import quantity

ANCHOR_SELECTOR = ep.keccak256(b"anchor(bytes32)")[:4]
ROOT_ANCHORED_TOPIC = ep.keccak256(b"RootAnchored(bytes32,address,uint64)")

TITLES = {
    "bundle_ledger": "Ledger evidence in the bundle",
    "bundle_merkle": "Merkle path in the bundle",
    "bundle_issuer": "Issuer's DID document in the bundle",
    "ledger_confirmation": "Block confirmed by a ledger node",
}


def _result(check_id: str, status: Status, reason: str) -> CheckResult:
    return CheckResult(check_id, TITLES[check_id], status, reason)


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "at an unknown time"
    days = (now - then).total_seconds() / 86400
    return f"{_when(then)}, " + ("less than a day ago" if days < 1 else f"{days:.0f} days ago")


@dataclass(frozen=True)
class ProvenBlock:
    header: ep.Header
    transactions: tuple[bytes, ...]
    receipts: tuple[bytes, ...]


@dataclass
class Proven:
    """The blocks whose bytes prove themselves, and what did not."""

    blocks: dict[bytes, ProvenBlock] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    descendants: int = 0
    tx_index: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # tx hash -> (block hash, index)


def _hexbytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ep.ProofError(f"{what}: expected 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ep.ProofError(f"{what}: not hex") from None


def prove_blocks(ledger: Any, anchor_block: str | None) -> Proven:
    """Check every block of ``bundle["ledger"]`` from its bytes; the descendants against the anchor's block."""
    proven = Proven()
    blocks = ledger.get("blocks") if isinstance(ledger, dict) else None
    if not isinstance(blocks, dict):
        proven.problems.append("ledger.blocks: missing")
        return proven
    for named, block in blocks.items():
        try:
            if not isinstance(block, dict):
                raise ep.ProofError("not an object")
            header = ep.parse_header(_hexbytes(block.get("header"), "header"))
            if "0x" + header.hash.hex() != named:
                raise ep.ProofError(f"its header hashes to 0x{header.hash.hex()}, not to the hash it is filed under "
                                    "(the header was changed)")
            txs = tuple(_hexbytes(t, "transaction") for t in block.get("transactions") or [])
            receipts = tuple(_hexbytes(r, "receipt") for r in block.get("receipts") or [])
            if ep.ordered_trie_root(txs) != header.transactions_root:
                raise ep.ProofError("its transactions do not give the header's transactionsRoot (a transaction was "
                                    "changed, added or removed)")
            if ep.ordered_trie_root(receipts) != header.receipts_root:
                raise ep.ProofError("its receipts do not give the header's receiptsRoot (a receipt was changed)")
        except ep.ProofError as exc:
            proven.problems.append(f"block {str(named)[:18]}…: {exc}")
            continue
        proven.blocks[header.hash] = ProvenBlock(header, txs, receipts)
        for i, raw in enumerate(txs):
            proven.tx_index["0x" + ep.keccak256(raw).hex()] = (header.hash, i)
    if anchor_block is not None:
        parent = _parent_of_descendants(ledger, anchor_block, proven)
        if parent is not None:
            proven.problems.append(parent)
    return proven


def _parent_of_descendants(ledger: dict[str, Any], anchor_block: str, proven: Proven) -> str | None:
    try:
        parent = _hexbytes(anchor_block, "anchor.block")
    except ep.ProofError as exc:
        return str(exc)
    for n, raw in enumerate(ledger.get("descendants") or []):
        try:
            header = ep.parse_header(_hexbytes(raw, "descendant header"))
        except ep.ProofError as exc:
            return f"descendant {n + 1}: {exc}"
        if header.parent_hash != parent:
            return (f"descendant {n + 1} (block {header.number}) does not follow the block before it: a header was "
                    "changed or left out")
        parent = header.hash
        proven.descendants += 1
    return None


class OfflineLedger:
    """A ledger reader that answers only from proven blocks (the verifier's LedgerReader and RegistryReader)."""

    def __init__(self, chain_id: int, proven: Proven, *, registry: str | None, latest_block: int | None = None):
        self.chain_id = chain_id
        self._proven = proven
        self._registry = registry
        self._latest = latest_block

    def _located(self, tx_hash: str) -> tuple[ProvenBlock, int] | None:
        where = self._proven.tx_index.get(tx_hash)
        return (self._proven.blocks[where[0]], where[1]) if where else None

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        if ref.chain_id != self.chain_id:
            raise _NotInBundle(f"the bundle carries chain {self.chain_id}, not chain {ref.chain_id}")
        located = self._located(ref.tx_hash)
        if located is None:
            return None  # not in any proven block: the anchor check fails it as not found
        block, i = located
        tx = ep.parse_transaction(block.transactions[i])
        receipt = ep.parse_receipt(block.receipts[i])
        mode, carried, sender, when = "calldata", (tx.data if len(tx.data) == 32 else None), None, None
        if len(tx.data) == 36 and tx.data[:4] == ANCHOR_SELECTOR:
            mode, carried = "call", tx.data[4:]
            for log in receipt.logs:  # the registry's own record of the root, from its event
                if log.address == tx.to and log.topics[:2] == (ROOT_ANCHORED_TOPIC, bytes(root)) and len(log.topics) == 3:
                    mode, sender = "contract", ep.to_checksum_address("0x" + log.topics[2][12:].hex())
                    when = datetime.fromtimestamp(int.from_bytes(log.data[:32], "big"), tz=timezone.utc)
        number = block.header.number
        latest = self._latest if self._latest is not None else number + self._proven.descendants
        return AnchorEvidence(
            chain_id=ref.chain_id, tx_hash=ref.tx_hash, block_number=number, block_hash="0x" + block.header.hash.hex(),
            block_time=datetime.fromtimestamp(block.header.timestamp, tz=timezone.utc), sender=tx.sender, to=tx.to,
            status_ok=receipt.status_ok, mode=mode, carried_root=carried, registry_sender=sender, registry_time=when,
            latest_block=latest, confirmations=max(0, latest - number + 1))

    # ── the registry's events, from the proven receipts ────────────────────────────────────────────────────────
    def _logs(self, registry: str | None, topics: list[bytes]) -> list[dict[str, Any]]:
        registry = registry or self._registry
        if registry is None:
            raise _NotInBundle("the bundle names no registry (its anchoring transaction called none)")
        found = []
        for block in sorted(self._proven.blocks.values(), key=lambda b: b.header.number):
            for i, raw in enumerate(block.receipts):
                receipt = ep.parse_receipt(raw)
                tx_hash = "0x" + ep.keccak256(block.transactions[i]).hex()
                for log in receipt.logs:
                    if log.address.lower() == registry.lower() and list(log.topics[:len(topics)]) == topics:
                        found.append({"topics": ["0x" + t.hex() for t in log.topics], "data": "0x" + log.data.hex(),
                                      "transactionHash": tx_hash, "blockNumber": block.header.number})
        return found

    def key_events(self, chain_id: int, registry: str | None, controller: str) -> list[KeyEvent]:
        self._chain(chain_id)
        return [decode_key_event_log(log) for log in self._logs(registry, [KEY_EVENT_RECORDED_TOPIC,
                                                                            address_topic(controller)])]

    def status_history(self, chain_id: int, registry: str | None, publisher: str,
                       list_id: bytes) -> list[StatusPublication]:
        self._chain(chain_id)
        logs = self._logs(registry, [STATUS_PUBLISHED_TOPIC, address_topic(publisher), bytes(list_id)])
        return sorted((decode_status_log(log) for log in logs), key=lambda p: (p.version, p.block_number))

    def status_of(self, chain_id: int, registry: str | None, publisher: str, list_id: bytes) -> StatusRecord | None:
        history = self.status_history(chain_id, registry, publisher, list_id)
        if not history:
            return None
        last = history[-1]
        return StatusRecord(last.digest, last.version, last.time)

    def _chain(self, chain_id: int) -> None:
        if chain_id != self.chain_id:
            raise _NotInBundle(f"the bundle carries chain {self.chain_id}, not chain {chain_id}")


class _NotInBundle(AnchorcredError):
    """What was asked is not in the bundle (an indeterminate check, not a failed one)."""


@dataclass(frozen=True)
class NodeAnswer:
    """What a ledger node said about the anchor's block height."""

    block_hash: str | None  # the node's hash at that height, None if it has no such block
    latest: int
    where: str


class NodeConfirmer:
    """Asks one node (the wallet's or the verifier's networks file) for the block hash at a height."""

    def __init__(self, transport: Transport, *, chain_id: int, where: str):
        self._transport, self.chain_id, self.where = transport, chain_id, where

    def confirm(self, number: int) -> NodeAnswer:
        chain = quantity(self._transport.request("eth_chainId", []), "eth_chainId")
        if chain != self.chain_id:
            raise _NotInBundle(f"the node at {self.where} serves chain {chain}, not chain {self.chain_id}")
        block = self._transport.request("eth_getBlockByNumber", [hex(number), False])
        latest = quantity(self._transport.request("eth_blockNumber", []), "eth_blockNumber")
        found = block.get("hash") if isinstance(block, dict) else None
        return NodeAnswer(found.lower() if isinstance(found, str) else None, latest, self.where)


@dataclass(frozen=True)
class BundleReport:
    source: str
    exported_at: str | None
    checks: tuple[CheckResult, ...]  # the bundle's own checks, then the credential's, then the node's
    credential: Report | None
    evidence: tuple[tuple[str, str], ...]  # (check id, what evidence it used and how fresh it is)
    verified_at: str

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "kind": "offline bundle", "exported_at": self.exported_at,
                "verdict": self.verdict.value, "verified_at": self.verified_at,
                "checks": [c.to_json() for c in self.checks],
                "evidence": [{"check": c, "evidence": e} for c, e in self.evidence],
                "credential": self.credential.to_json() if self.credential else None}


def verify_bundle(bundle: dict[str, Any], *, now: datetime | None = None, source: str = "bundle",
                  node: NodeConfirmer | None = None,
                  trusted_documents: Mapping[str, tuple[dict[str, Any], str]] | None = None) -> BundleReport:
    """Every check of the bundle, with the bundle as the only evidence (and ``node``, if given, for the header;
    ``trusted_documents``, DID -> (document, where it came from), to confirm the bundle's DID document)."""
    from wallet.offlinechecks import run_checks  # the checks themselves, kept apart (module size)

    now = now or datetime.now(timezone.utc)
    return run_checks(bundle, now=now, source=source, node=node, trusted=trusted_documents)


__all__ = ["BundleReport", "NodeAnswer", "NodeConfirmer", "OfflineLedger", "Proven", "prove_blocks", "verify_bundle"]
