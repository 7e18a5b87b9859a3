"""The codec of the EBSI-like ledger's identifiers (pure): EBSI Timestamp API v4 "Get a timestamp" names a timestamp
``multibase_base64url(multihash(sha256(hash)))`` and shows a timestamped hash as ``multibase_base64(multihash(hash))``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from verifier.ledger.errors import InvalidAnchorRefError

__all__ = ["ISSUER_TYPES", "MULTIHASH_CODES", "TIMESTAMP_ID_RE", "decode_multihash", "encode_multihash",
           "hash_from_multibase", "hash_to_multibase", "timestamp_id", "timestamp_id_digest"]

# Multihash codes (multiformats table) of the algorithms a timestamp may use.
MULTIHASH_CODES: Mapping[str, int] = {
    "sha2-256": 0x12, "sha2-512": 0x13, "sha3-512": 0x14, "sha3-384": 0x15, "sha3-256": 0x16, "sha3-224": 0x17,
    "keccak-256": 0x1B,
}
_MULTIHASH_NAMES = {code: name for name, code in MULTIHASH_CODES.items()}
# "u" + base64url (no padding) of the 34-byte multihash 0x12 0x20 <32 bytes>: 46 characters.
TIMESTAMP_ID_RE = re.compile(r"u[A-Za-z0-9_-]{46}")
ISSUER_TYPES: Mapping[int, str] = {0: "Undefined", 1: "RootTAO", 2: "TAO", 3: "TI", 4: "Revoked"}


def encode_multihash(digest: bytes, name: str = "sha2-256") -> bytes:
    """``<code><length><digest>`` (codes and lengths below 128 are one varint byte)."""
    if name not in MULTIHASH_CODES:
        raise ValueError(f"unknown multihash name {name!r} (known: {sorted(MULTIHASH_CODES)})")
    if not 0 < len(digest) < 128:
        raise ValueError(f"digest must be 1..127 bytes, got {len(digest)}")
    return bytes([MULTIHASH_CODES[name], len(digest)]) + bytes(digest)


def decode_multihash(data: bytes) -> tuple[str, bytes]:
    """(algorithm name, digest) of a multihash; ``ValueError`` saying what is wrong."""
    if len(data) < 3:
        raise ValueError(f"multihash too short ({len(data)} bytes)")
    code, length, digest = data[0], data[1], data[2:]
    if code not in _MULTIHASH_NAMES:
        raise ValueError(f"unknown multihash code 0x{code:02x}")
    if length != len(digest):
        raise ValueError(f"multihash says {length} digest bytes, has {len(digest)}")
    return _MULTIHASH_NAMES[code], bytes(digest)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, *, url: bool) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    alphabet = rb"[A-Za-z0-9_-]*" if url else rb"[A-Za-z0-9+/]*"
    if not re.fullmatch(alphabet, padded.rstrip("=").encode("ascii", "replace")):
        raise ValueError("not base64" + ("url" if url else ""))
    return base64.urlsafe_b64decode(padded) if url else base64.b64decode(padded, validate=True)


def timestamp_id(hash_value: bytes) -> str:
    """The API-level timestamp id of ``hash_value``: ``"u" + base64url(multihash(sha256(hash_value)))``."""
    return "u" + _b64url(encode_multihash(hashlib.sha256(bytes(hash_value)).digest()))


def timestamp_id_digest(tid: str) -> bytes:
    """The 32-byte id the Timestamp contract keys records by (sha256 of the hash), from an API-level id."""
    if not isinstance(tid, str) or not TIMESTAMP_ID_RE.fullmatch(tid):
        raise InvalidAnchorRefError(f"timestamp id must be 'u' + 46 base64url characters, got {tid!r:.80}")
    try:
        name, digest = decode_multihash(_unb64(tid[1:], url=True))
    except ValueError as exc:
        raise InvalidAnchorRefError(f"timestamp id {tid}: {exc}") from exc
    if name != "sha2-256" or len(digest) != 32:
        raise InvalidAnchorRefError(f"timestamp id {tid}: expected a sha2-256 multihash, got {name}")
    return digest


def hash_to_multibase(hash_value: bytes, name: str = "sha2-256") -> str:
    """How the API shows a timestamped hash: ``"m" + base64(multihash(hash))`` (multibase base64, no padding)."""
    return "m" + base64.b64encode(encode_multihash(hash_value, name)).rstrip(b"=").decode("ascii")


def hash_from_multibase(text: Any) -> tuple[str, bytes]:
    """(algorithm name, hash) of a timestamped hash as the API shows it (``m`` base64 or ``u`` base64url)."""
    if not isinstance(text, str) or len(text) < 2 or text[0] not in "mu":
        raise ValueError(f"expected a multibase multihash ('m' or 'u' prefix), got {text!r:.80}")
    return decode_multihash(_unb64(text[1:], url=text[0] == "u"))
