"""The bitstring of a status list and its ``encodedList`` (W3C Bitstring Status List v1.0 §3.1, §3.2).

Index 0 is the left-most bit of the first byte (most significant bit first, spec §3.2 "Bitstring Expansion"); the
bitstring is GZIP-compressed, then multibase base64url without padding (prefix ``u``). A list has at least
131,072 entries (16 KiB), the minimum the spec recommends so that one list hides a batch among many credentials.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable

__all__ = ["MIN_LIST_SIZE", "Bitstring", "encode_list"]

MIN_LIST_SIZE = 131_072  # spec §3.2: "a minimum length of 131,072 ... 16KB"
MAX_LIST_SIZE = 1 << 26  # 8 MiB of bits: far above any list this service opens, far below harm


class Bitstring:
    """A fixed-size bitstring; ``set``/``clear``/``get`` by index, most significant bit of byte 0 first."""

    def __init__(self, size: int = MIN_LIST_SIZE, ones: Iterable[int] = ()):
        if type(size) is not int or size % 8 or not MIN_LIST_SIZE <= size <= MAX_LIST_SIZE:
            raise ValueError(f"a status list has a multiple of 8 entries between {MIN_LIST_SIZE} and "
                             f"{MAX_LIST_SIZE}, got {size!r}")
        self.size = size
        self._bytes = bytearray(size // 8)
        for index in ones:
            self.set(index)

    def _where(self, index: int) -> tuple[int, int]:
        if type(index) is not int or not 0 <= index < self.size:  # bool is an int, but never an index
            raise ValueError(f"status list index must be 0..{self.size - 1}, got {index!r}")
        return index >> 3, 0x80 >> (index & 7)

    def set(self, index: int) -> None:
        byte, mask = self._where(index)
        self._bytes[byte] |= mask

    def clear(self, index: int) -> None:
        byte, mask = self._where(index)
        self._bytes[byte] &= ~mask & 0xFF

    def get(self, index: int) -> bool:
        byte, mask = self._where(index)
        return bool(self._bytes[byte] & mask)

    def ones(self) -> list[int]:
        """The indices whose bit is set, in order."""
        return [i * 8 + b for i, value in enumerate(self._bytes) if value for b in range(8) if value & (0x80 >> b)]

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def encode(self) -> str:
        return encode_list(self._bytes)


def encode_list(bits: bytes | bytearray) -> str:
    """``encodedList``: ``u`` + base64url (no padding) of the GZIP of the bitstring (spec §3.2 "Bitstring
    Generation"). ``mtime=0``: the same bits always give the same text (the list's digest changes only with them
    and with the signature). Level 6 is zlib's default, as in Node's zlib: the output is byte for byte the one of
    the reference implementation (@digitalbazaar/vc-bitstring-status-list; tests/unit/test_status_bitstring.py)."""
    compressed = gzip.compress(bytes(bits), compresslevel=6, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")
