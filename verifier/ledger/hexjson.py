"""The two value forms of Ethereum JSON-RPC answers, read strictly: quantities and data (hex strings with ``0x``).

One reading for every ledger client (the EVM reader, the AnchorRegistry log decoder, the EBSI-like REST client, the
wallet's bundle export), so a node's answer is accepted or refused the same way wherever it is read. The embedded
chain (eth-tester) answers with Python ints and bytes, which are accepted as they are; a bool is not a quantity.
"""

from __future__ import annotations

from typing import Any

from verifier.ledger.errors import LedgerResponseError

__all__ = ["hex_bytes", "quantity"]


def quantity(value: Any, what: str, *, error: type[Exception] = LedgerResponseError) -> int:
    """``value`` as an int (a JSON-RPC hex quantity, or an int); else ``error`` naming ``what`` and the value."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise error(f"{what}: expected a hex quantity, got {value!r:.80}")


def hex_bytes(value: Any, what: str) -> bytes:
    """``value`` as bytes (JSON-RPC hex data, or bytes); else :class:`LedgerResponseError` naming ``what``."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise LedgerResponseError(f"{what}: expected hex data, got {value!r:.80}")
