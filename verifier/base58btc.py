"""base58btc (the Bitcoin alphabet), fast and sub-quadratic in pure Python.

Used for Multikey and multibase values and for merkle-proof-2019 proof values (10,000 of them per batch). The usual
digit-by-digit loop is quadratic: 3 ms per proof value, and seconds to reject a large hostile input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["b58encode", "b58decode"]

# base58btc, in pure Python and fast enough for 10,000 proofs per batch. Both directions work on *packed* integers
# (SWAR, "SIMD within a register"): one big int holds many fixed-width fields, and a handful of big-int operations
# (C loops) act on every field at once, so the Python-level work is O(log n) operations instead of O(n) digit steps.
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_TO_CHAR = bytes.maketrans(bytes(range(58)), _B58_ALPHABET.encode("ascii"))
_B58_INVALID = 0xFF
_B58_FROM_CHAR = bytes(_B58_ALPHABET.find(chr(c)) % 256 for c in range(256))  # -1 (not in it) -> 0xFF
_LOG2_58 = math.log2(58)
# Encoding splits the number by schoolbook divisions down to chunks of 2**_B58_CHUNK_LEVELS digits (CPython's
# division is the cost floor, ~0.1 ms for a 1.2 kB proof), then the chunks split into digits by SWAR: 32-digit chunks
# measured fastest (16 and 64 are within a few percent).
_B58_CHUNK_LEVELS = 5


@dataclass(frozen=True)
class _SwarSplit:
    """Split every field (``2 * half`` bits, value < 58**(2**j)) into its high and low halves by d = 58**(2**(j-1)).

    Per-field division by a constant is a multiplication and a shift (Granlund & Montgomery 1994, "Division by
    invariant integers using multiplication", thm 4.2): for 0 <= x < 2**bits, l = d.bit_length(), shift = bits + l and
    m = ceil(2**shift / d), x * m >> shift == x // d exactly. x * m < 2**(2*bits + 2) fits in two fields, so even and
    odd fields are multiplied separately, each with an empty field of headroom.
    """

    half: int  # bits of a field after the split (a field before it has 2 * half)
    divisor: int
    multiplier: int
    shift: int

    @classmethod
    def for_level(cls, j: int) -> _SwarSplit:
        field = 8 << j  # 8 bits per digit: the last level leaves one digit per byte
        bits = (58 ** (1 << j)).bit_length()
        divisor = 58 ** (1 << (j - 1))
        shift = bits + divisor.bit_length()
        assert 2 * bits + 2 <= 2 * field and shift < 2 * field  # headroom (holds for every j >= 1)
        return cls(field // 2, divisor, -(-(1 << shift) // divisor), shift)

    def apply(self, x: int, fields: int) -> int:
        field = 2 * self.half
        even, quotient = _swar_masks(fields, field, 2 * field - self.shift)
        xe, xo = x & even, (x >> field) & even
        qe = ((xe * self.multiplier) >> self.shift) & quotient
        qo = ((xo * self.multiplier) >> self.shift) & quotient
        q = qe | (qo << field)
        r = (xe - qe * self.divisor) | ((xo - qo * self.divisor) << field)
        return (q << self.half) | r  # each field becomes [high | low]: big-endian digit order is kept


_B58_SPLITS = tuple(_SwarSplit.for_level(j) for j in range(_B58_CHUNK_LEVELS, 0, -1))


@lru_cache(maxsize=256)
def _swar_masks(fields: int, field: int, quotient_bits: int) -> tuple[int, int]:
    """Masks over blocks of two fields: the low field of each block, and the low ``quotient_bits`` of each block."""
    blocks, block_bytes = (fields + 1) // 2, 2 * field // 8
    low_field = ((1 << field) - 1).to_bytes(block_bytes, "big")
    low_quotient = ((1 << quotient_bits) - 1).to_bytes(block_bytes, "big")
    return int.from_bytes(low_field * blocks, "big"), int.from_bytes(low_quotient * blocks, "big")


@lru_cache(maxsize=64)
def _pow58(exponent: int) -> int:
    return 58**exponent


def b58encode(data: bytes) -> str:
    """base58btc: divisions down to 32-digit chunks, then SWAR (~0.17 ms for a 14-step proof, was ~0.3 ms)."""
    n = int.from_bytes(data, "big")
    zeros = len(data) - len(data.lstrip(b"\0"))  # each leading zero byte is a leading '1'
    if n == 0:
        return "1" * zeros
    chunk = 1 << _B58_CHUNK_LEVELS
    width = chunk  # digits, a power of two so that every level splits evenly; the surplus '1's are stripped
    while width < int(n.bit_length() / _LOG2_58) + 2:
        width <<= 1
    parts = [n]
    while width > chunk:
        width >>= 1
        divisor = _pow58(width)
        parts = [half for part in parts for half in divmod(part, divisor)]
    packed = int.from_bytes(b"".join([part.to_bytes(chunk, "big") for part in parts]), "big")
    fields = len(parts)
    for split in _B58_SPLITS:
        packed = split.apply(packed, fields)
        fields *= 2
    digits = packed.to_bytes(fields, "big").translate(_B58_TO_CHAR).decode("ascii")
    return "1" * zeros + digits.lstrip("1")


def b58decode(text: str) -> bytes:
    """base58btc decode by SWAR: O(log n) multiplications (sub-quadratic; a 64 KiB input is no DoS)."""
    raw = text.encode("ascii", "replace").translate(_B58_FROM_CHAR)  # non-ASCII -> "?" -> invalid
    if _B58_INVALID in raw:
        raise ValueError("not base58btc: a character outside the base58 alphabet")
    zeros = len(raw) - len(raw.lstrip(b"\0"))  # each leading '1' is a leading zero byte
    width = 1
    while width < len(raw):
        width <<= 1
    # One digit per byte, left-padded with zero digits to a power of two; then merge neighbouring fields,
    # high * 58**k + low, doubling the field width at each level (a field of 8 * 2k bits holds any value < 58**(2k)).
    packed, field, digits = int.from_bytes(raw, "big"), 8, 1
    while digits < width:
        low = _low_field_mask(width // digits // 2, field)
        packed = ((packed >> field) & low) * _pow58(digits) + (packed & low)
        field, digits = 2 * field, 2 * digits
    return b"\0" * zeros + (packed.to_bytes((packed.bit_length() + 7) // 8, "big") if packed else b"")


@lru_cache(maxsize=256)
def _low_field_mask(blocks: int, field: int) -> int:
    """The low field of each of ``blocks`` blocks of two ``field``-bit fields."""
    return int.from_bytes(((1 << field) - 1).to_bytes(field // 4, "big") * blocks, "big")
