"""Node JSON to the bytes an offline bundle carries: block headers, signed transactions, receipts. For the export.

A node answers JSON-RPC with fields; the bundle carries the consensus bytes those fields encode, so that an offline
check needs nothing but the bytes (wallet/evmproof.py). Every encoding is checked at once against what the node said
(the header against the block hash, a transaction against its hash, the receipts against the header's receiptsRoot by
the caller): a field form this module does not know is an export error, never a wrong bundle.

Accepted: hex quantities and data as JSON-RPC specifies them, and eth-tester's Python values (integers, bytes,
``coinbase`` for ``miner``, ``logsBloom`` as an integer), since the embedded chain answers that way.
"""

from __future__ import annotations

from typing import Any

from verifier.keys import keccak256
from verifier.ledger import hexjson
from wallet.evmproof import HEADER_FIELDS, HEADER_SIZES, ProofError, RLPItem, int_bytes, logs_bloom, rlp_encode

_HEADER_INTS = {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed",
                "excessBlobGas"}


def quantity(value: Any, what: str) -> int:
    """A JSON-RPC quantity read as the verifier reads it, refused as an export error."""
    return hexjson.quantity(value, what, error=ProofError)


def data_bytes(value: Any, what: str, *, size: int | None = None) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, int) and not isinstance(value, bool) and size is not None:
        data = value.to_bytes(size, "big")  # eth-tester gives logsBloom as an integer
    elif isinstance(value, str) and value.startswith("0x"):
        try:
            data = bytes.fromhex(value[2:])
        except ValueError:
            raise ProofError(f"{what}: not hex data: {value[:80]!r}") from None
    else:
        raise ProofError(f"{what}: expected hex data, got {value!r:.80}")
    if size is not None and len(data) != size:
        raise ProofError(f"{what}: {len(data)} bytes, expected {size}")
    return data


def _address_item(value: Any, what: str) -> bytes:
    return b"" if value in (None, "", b"") else data_bytes(value, what, size=20)


def _access_list(value: Any) -> list[RLPItem]:
    out: list[RLPItem] = []
    for entry in value or []:
        address = entry.get("address")
        keys = entry.get("storageKeys") or entry.get("storage_keys") or []
        out.append([data_bytes(address, "accessList address", size=20),
                    [data_bytes(k, "accessList storage key", size=32) for k in keys]])
    return out


def _tx_type(tx: dict[str, Any]) -> int:
    return quantity(tx.get("type", 0), "transaction type") if tx.get("type") is not None else 0


def raw_transaction_from_json(tx: dict[str, Any]) -> bytes:
    """The signed bytes (EIP-2718 envelope) of a node's transaction JSON."""
    kind = _tx_type(tx)
    q = lambda name: int_bytes(quantity(tx.get(name, 0), name))
    data = data_bytes(tx.get("input", tx.get("data", "0x")), "input")
    to = _address_item(tx.get("to"), "to")
    y_parity = tx.get("yParity", tx.get("v"))
    sig = [int_bytes(quantity(y_parity, "yParity")), q("r"), q("s")]
    if kind == 0:
        return rlp_encode([q("nonce"), q("gasPrice"), q("gas"), to, q("value"), data, q("v"), q("r"), q("s")])
    if kind == 1:
        body = [q("chainId"), q("nonce"), q("gasPrice"), q("gas"), to, q("value"), data,
                _access_list(tx.get("accessList"))]
    elif kind in (2, 3, 4):
        body = [q("chainId"), q("nonce"), q("maxPriorityFeePerGas"), q("maxFeePerGas"), q("gas"), to, q("value"), data,
                _access_list(tx.get("accessList"))]
        if kind == 3:
            body += [q("maxFeePerBlobGas"), [data_bytes(h, "blobVersionedHashes", size=32)
                                             for h in tx.get("blobVersionedHashes") or []]]
        if kind == 4:
            body.append([[int_bytes(quantity(a.get("chainId"), "auth chainId")),
                          data_bytes(a.get("address"), "auth address", size=20),
                          int_bytes(quantity(a.get("nonce"), "auth nonce")),
                          int_bytes(quantity(a.get("yParity", a.get("v")), "auth yParity")),
                          int_bytes(quantity(a.get("r"), "auth r")), int_bytes(quantity(a.get("s"), "auth s"))]
                         for a in tx.get("authorizationList") or []])
    else:
        raise ProofError(f"transaction type {kind} is not supported")
    return bytes([kind]) + rlp_encode(body + sig)


def header_rlp_from_json(block: dict[str, Any]) -> bytes:
    """The header RLP of a node's block JSON (fields named as in JSON-RPC; eth-tester's ``coinbase`` accepted).
    Fields of later forks are included exactly when present, in fork order."""
    values: list[RLPItem] = []
    aliases = {"miner": ("miner", "coinbase")}
    for name in HEADER_FIELDS:
        value = next((block[a] for a in aliases.get(name, (name,)) if a in block), None)
        if value is None:
            if HEADER_FIELDS.index(name) < 15:
                raise ProofError(f"block {block.get('number')}: header field {name} missing from the node's answer")
            break  # later fork fields are contiguous: the first absent one ends the header
        if name in _HEADER_INTS:
            values.append(int_bytes(quantity(value, name)))
        else:
            data = data_bytes(value, name, size=HEADER_SIZES.get(name))
            values.append(data)
    return rlp_encode(values)


def header_rlp_matching(block: dict[str, Any]) -> bytes:
    """The header RLP of a node's block JSON whose Keccak-256 is the block hash the node gave; ``ProofError`` if no
    reading of the JSON gives it. eth-tester (the embedded chain) reports an empty ``extraData`` as 32 zero bytes, so
    that reading is tried too; the hash decides, nothing is taken on trust."""
    expected = data_bytes(block.get("hash"), "block hash", size=32)
    candidates = [block]
    extra = block.get("extraData")
    if isinstance(extra, str) and extra.startswith("0x") and len(extra) > 2 and set(extra[2:]) == {"0"}:
        candidates.append({**block, "extraData": "0x"})
    for candidate in candidates:
        rlp = header_rlp_from_json(candidate)
        if keccak256(rlp) == expected:
            return rlp
    raise ProofError(f"block {block.get('number')}: the header fields the node gave do not hash to its block hash "
                     f"0x{expected.hex()} (a header form this wallet does not know)")


def raw_receipt_from_json(receipt: dict[str, Any]) -> bytes:
    """The consensus encoding of a node's receipt JSON (EIP-2718 typed receipts); the bloom is recomputed."""
    kind = _tx_type(receipt)
    status = quantity(receipt.get("status"), "receipt status")
    logs: list[tuple[bytes, list[bytes], bytes]] = []
    for log in receipt.get("logs") or []:
        logs.append((data_bytes(log.get("address"), "log address", size=20),
                     [data_bytes(t, "log topic", size=32) for t in log.get("topics") or []],
                     data_bytes(log.get("data", "0x"), "log data")))
    bloom = logs_bloom([(a, t) for a, t, _ in logs])
    if receipt.get("logsBloom") is not None and data_bytes(receipt["logsBloom"], "logsBloom", size=256) != bloom:
        raise ProofError(f"receipt of {receipt.get('transactionHash')}: the node's logsBloom differs from its logs")
    body = rlp_encode([int_bytes(status), int_bytes(quantity(receipt.get("cumulativeGasUsed"), "cumulativeGasUsed")),
                       bloom, [[a, list(t), d] for a, t, d in logs]])
    return body if kind == 0 else bytes([kind]) + body




__all__ = ["data_bytes", "header_rlp_from_json", "header_rlp_matching", "quantity", "raw_receipt_from_json",
           "raw_transaction_from_json"]
