"""Self-proving ledger evidence: EVM blocks, transactions and receipts checked from their bytes alone. Pure: no I/O.

An offline bundle carries, for each block it relies on, the block header (RLP), every transaction of the block (their
signed bytes, EIP-2718 envelopes) and every receipt. From these bytes alone:

- the block hash is Keccak-256 of the header RLP (Ethereum Yellow Paper §4.3): a header cannot be edited without
  changing the hash a ledger node would confirm;
- a transaction's hash is Keccak-256 of its signed bytes, and its sender is recovered from its signature (secp256k1
  ECDSA, EIP-155 / EIP-2930 / EIP-1559 signing payloads);
- the transactions and the receipts are in the block because the roots of their Merkle-Patricia tries (keys
  RLP(index)) equal the header's ``transactionsRoot`` and ``receiptsRoot`` (Yellow Paper §4.3.2 and Appendix D);
- a receipt's status and logs (the registry's events) are read from its bytes.

The bytes are produced at export from a node's JSON answers (wallet/evmjson.py, or ``eth_getRawTransactionByHash``) and
the export refuses any block whose recomputed hash or roots differ from what the node said: the functions here run on
both sides.
Supported: legacy, EIP-2930 (type 1), EIP-1559 (type 2), EIP-4844 (type 3) and EIP-7702 (type 4) transactions;
headers of any fork (the header is hashed as given; its first fields are read by position).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

from coincurve import PublicKey as Secp256k1PublicKey

from verifier.keys import keccak256, to_checksum_address
from wallet.errors import BundleError

RLPItem = Union[bytes, list["RLPItem"]]
EMPTY_TRIE_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
MAX_RLP_DEPTH = 16
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class ProofError(BundleError):
    """Bytes that do not decode as what they claim to be (malformed RLP, a transaction type not supported). A
    ``BundleError``: where the verifier meets it while gathering evidence, the check says so instead of failing hard."""


# ── RLP (Yellow Paper Appendix B) ────────────────────────────────────────────────────────────────────────────────
def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(raw)]) + raw


def rlp_encode(item: RLPItem) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        item = bytes(item)
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_prefix(len(item), 0x80) + item
    if isinstance(item, list):
        body = b"".join(rlp_encode(x) for x in item)
        return _length_prefix(len(body), 0xC0) + body
    raise TypeError(f"RLP encodes bytes and lists, got {type(item).__name__}")


def rlp_decode(data: bytes) -> RLPItem:
    """The item of ``data``, which must be exactly one canonical RLP item."""
    item, end = _decode_at(bytes(data), 0, 0)
    if end != len(data):
        raise ProofError(f"RLP: {len(data) - end} bytes after the item")
    return item


def _decode_at(data: bytes, pos: int, depth: int) -> tuple[RLPItem, int]:
    if depth > MAX_RLP_DEPTH:
        raise ProofError(f"RLP nested deeper than {MAX_RLP_DEPTH}")
    if pos >= len(data):
        raise ProofError("RLP: truncated")
    first = data[pos]
    if first < 0x80:
        return data[pos:pos + 1], pos + 1
    if first < 0xB8:
        length, start = first - 0x80, pos + 1
        if length == 1 and start < len(data) and data[start] < 0x80:
            raise ProofError("RLP: a single byte below 0x80 must encode itself")
        return _slice(data, start, length), start + length
    if first < 0xC0:
        length, start = _long_length(data, pos, first - 0xB7)
        return _slice(data, start, length), start + length
    if first < 0xF8:
        length, start = first - 0xC0, pos + 1
    else:
        length, start = _long_length(data, pos, first - 0xF7)
    end = start + length
    if end > len(data):
        raise ProofError("RLP: list runs past the end")
    items, cursor = [], start
    while cursor < end:
        item, cursor = _decode_at(data, cursor, depth + 1)
        items.append(item)
    if cursor != end:
        raise ProofError("RLP: list length does not match its items")
    return items, end


def _long_length(data: bytes, pos: int, size: int) -> tuple[int, int]:
    raw = data[pos + 1:pos + 1 + size]
    if len(raw) != size or raw[:1] == b"\x00":
        raise ProofError("RLP: bad long length")
    length = int.from_bytes(raw, "big")
    if length < 56:
        raise ProofError("RLP: long form for a short length")
    return length, pos + 1 + size


def _slice(data: bytes, start: int, length: int) -> bytes:
    if start + length > len(data):
        raise ProofError("RLP: string runs past the end")
    return data[start:start + length]


def to_int(b: RLPItem, what: str = "integer") -> int:
    if not isinstance(b, bytes):
        raise ProofError(f"{what}: expected an RLP string, got a list")
    if b[:1] == b"\x00":
        raise ProofError(f"{what}: integer with leading zero bytes")
    return int.from_bytes(b, "big")


def int_bytes(n: int) -> bytes:
    if n < 0:
        raise ValueError(f"RLP integers are unsigned, got {n}")
    return b"" if n == 0 else n.to_bytes((n.bit_length() + 7) // 8, "big")


# ── Merkle-Patricia trie root of an ordered list (Yellow Paper Appendix D) ──────────────────────────────────────
def _nibbles(key: bytes) -> tuple[int, ...]:
    return tuple(n for b in key for n in (b >> 4, b & 0x0F))


def _hex_prefix(nibbles: Sequence[int], leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    if len(nibbles) % 2:
        nibbles = (flag + 1, *nibbles)
    else:
        nibbles = (flag, 0, *nibbles)
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _node(items: list[tuple[tuple[int, ...], bytes]], depth: int) -> RLPItem:
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    shortest = min(len(k) for k, _ in items)
    common = 0
    while depth + common < shortest and len({k[depth + common] for k, _ in items}) == 1:
        common += 1
    if common:
        prefix = items[0][0][depth:depth + common]
        return [_hex_prefix(prefix, False), _ref(_node(items, depth + common))]
    branch: list[RLPItem] = [b""] * 17
    for nibble in range(16):
        group = [(k, v) for k, v in items if len(k) > depth and k[depth] == nibble]
        if group:
            branch[nibble] = _ref(_node(group, depth + 1))
    ended = [v for k, v in items if len(k) == depth]
    if ended:
        branch[16] = ended[0]
    return branch


def _ref(node: RLPItem) -> RLPItem:
    encoded = rlp_encode(node)
    return node if len(encoded) < 32 else keccak256(encoded)


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """The root of the trie mapping RLP(i) to ``values[i]`` (a block's transactions or receipts)."""
    if not values:
        return EMPTY_TRIE_ROOT
    items = sorted((_nibbles(rlp_encode(int_bytes(i))), bytes(v)) for i, v in enumerate(values))
    return keccak256(rlp_encode(_node(items, 0)))


# ── headers ──────────────────────────────────────────────────────────────────────────────────────────────────────
HEADER_FIELDS = ("parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom",
                 "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData", "mixHash", "nonce",
                 "baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot",
                 "requestsHash")
HEADER_SIZES = {"parentHash": 32, "sha3Uncles": 32, "miner": 20, "stateRoot": 32, "transactionsRoot": 32,
                 "receiptsRoot": 32, "logsBloom": 256, "mixHash": 32, "nonce": 8, "withdrawalsRoot": 32,
                 "parentBeaconBlockRoot": 32, "requestsHash": 32}


@dataclass(frozen=True)
class Header:
    rlp: bytes
    hash: bytes
    parent_hash: bytes
    transactions_root: bytes
    receipts_root: bytes
    number: int
    timestamp: int


def parse_header(rlp: bytes) -> Header:
    fields = rlp_decode(rlp)
    if not isinstance(fields, list) or len(fields) < 15 or not all(isinstance(f, bytes) for f in fields):
        raise ProofError("block header: expected an RLP list of at least 15 byte strings")
    for i, name in enumerate(HEADER_FIELDS[:len(fields)]):
        size = HEADER_SIZES.get(name)
        if size is not None and len(fields[i]) != size:
            raise ProofError(f"block header: {name} is {len(fields[i])} bytes, expected {size}")
    return Header(rlp=bytes(rlp), hash=keccak256(rlp), parent_hash=fields[0], transactions_root=fields[4],
                  receipts_root=fields[5], number=to_int(fields[8], "header number"),
                  timestamp=to_int(fields[11], "header timestamp"))


@dataclass(frozen=True)
class Transaction:
    hash: str  # 0x hex
    type: int
    chain_id: int | None
    to: str | None  # EIP-55
    data: bytes
    sender: str  # EIP-55, recovered from the signature


def parse_transaction(raw: bytes) -> Transaction:
    """Decode signed transaction bytes and recover the sender."""
    raw = bytes(raw)
    if not raw:
        raise ProofError("transaction: no bytes")
    if raw[0] >= 0xC0:  # legacy: an RLP list
        fields = rlp_decode(raw)
        if not isinstance(fields, list) or len(fields) != 9:
            raise ProofError("legacy transaction: expected 9 fields")
        v = to_int(fields[6], "v")
        if v in (27, 28):
            chain_id, recid, payload = None, v - 27, fields[:6]
        elif v >= 35:
            chain_id, recid = (v - 35) // 2, (v - 35) % 2
            payload = fields[:6] + [int_bytes(chain_id), b"", b""]
        else:
            raise ProofError(f"legacy transaction: v = {v} is neither 27/28 nor EIP-155")
        signing = rlp_encode(payload)
        kind, to_item, data, r, s = 0, fields[3], fields[5], fields[7], fields[8]
    else:
        kind = raw[0]
        fields = rlp_decode(raw[1:])
        expected = {1: 11, 2: 12, 3: 14, 4: 13}.get(kind)
        if expected is None:
            raise ProofError(f"transaction type {kind} is not supported")
        if not isinstance(fields, list) or len(fields) != expected:
            raise ProofError(f"type {kind} transaction: expected {expected} fields")
        chain_id = to_int(fields[0], "chainId")
        recid = to_int(fields[-3], "yParity")
        signing = bytes([kind]) + rlp_encode(fields[:-3])
        to_item = fields[4] if kind == 1 else fields[5]
        data = fields[6] if kind == 1 else fields[7]
        r, s = fields[-2], fields[-1]
    if recid not in (0, 1) or not isinstance(to_item, bytes) or not isinstance(data, bytes):
        raise ProofError("transaction: malformed signature or fields")
    r_int, s_int = to_int(r, "r"), to_int(s, "s")
    if not (0 < r_int < SECP256K1_N and 0 < s_int <= SECP256K1_N // 2):
        raise ProofError("transaction: signature values out of range (EIP-2: low s)")
    try:
        public = Secp256k1PublicKey.from_signature_and_message(
            r_int.to_bytes(32, "big") + s_int.to_bytes(32, "big") + bytes([recid]), keccak256(signing), hasher=None)
    except Exception as exc:  # coincurve raises plain exceptions for unrecoverable signatures
        raise ProofError(f"transaction: the signature does not recover a key ({exc})") from exc
    sender = "0x" + keccak256(public.format(compressed=False)[1:])[-20:].hex()
    if to_item and len(to_item) != 20:
        raise ProofError("transaction: 'to' is not a 20-byte address")
    return Transaction(hash="0x" + keccak256(raw).hex(), type=kind, chain_id=chain_id,
                       to=to_checksum_address("0x" + to_item.hex()) if to_item else None, data=bytes(data),
                       sender=to_checksum_address(sender))


# ── receipts ─────────────────────────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Log:
    address: str  # EIP-55
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Receipt:
    type: int
    status_ok: bool
    logs: tuple[Log, ...]


def logs_bloom(logs: Sequence[tuple[bytes, Sequence[bytes]]]) -> bytes:
    """The 2048-bit bloom of (address, topics) pairs (Yellow Paper §4.3.1, M3:2048)."""
    bloom = 0
    for address, topics in logs:
        for item in (address, *topics):
            digest = keccak256(item)
            for i in (0, 2, 4):
                bloom |= 1 << (int.from_bytes(digest[i:i + 2], "big") & 2047)
    return bloom.to_bytes(256, "big")


def parse_receipt(raw: bytes) -> Receipt:
    raw = bytes(raw)
    if not raw:
        raise ProofError("receipt: no bytes")
    kind, body = (0, raw) if raw[0] >= 0xC0 else (raw[0], raw[1:])
    fields = rlp_decode(body)
    if not isinstance(fields, list) or len(fields) != 4 or not isinstance(fields[3], list):
        raise ProofError("receipt: expected [status, cumulativeGasUsed, logsBloom, logs]")
    status = fields[0]
    if not isinstance(status, bytes) or len(status) == 32:
        raise ProofError("receipt: a pre-Byzantium state root instead of a status is not supported")
    logs = []
    for item in fields[3]:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], bytes) and len(item[0]) == 20
                and isinstance(item[1], list) and isinstance(item[2], bytes)):
            raise ProofError("receipt: malformed log")
        topics = tuple(t for t in item[1] if isinstance(t, bytes) and len(t) == 32)
        if len(topics) != len(item[1]):
            raise ProofError("receipt: a log topic is not 32 bytes")
        logs.append(Log(to_checksum_address("0x" + item[0].hex()), topics, item[2]))
    if isinstance(fields[2], bytes) and fields[2] != logs_bloom([(bytes.fromhex(l.address[2:]), l.topics)
                                                               for l in logs]):
        raise ProofError("receipt: logsBloom does not match its logs")
    return Receipt(kind, to_int(status, "receipt status") == 1, tuple(logs))


__all__ = [
    "EMPTY_TRIE_ROOT", "HEADER_FIELDS", "HEADER_SIZES", "Header", "Log", "ProofError", "Receipt", "Transaction", "int_bytes",
    "logs_bloom", "ordered_trie_root", "parse_header", "parse_receipt", "parse_transaction", "rlp_decode", "rlp_encode",
    "to_int",
]
