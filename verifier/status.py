"""W3C Bitstring Status List v1.0, the verifier's side: read a credential's status entries, decode a status list
credential's bitstring (multibase base64url of GZIP), read an entry's bits, and hash the list as the ledger anchors it.

Pure: values in, values out, no I/O. Untrusted input is bounded before any work: the encoded list's length, and the
GZIP output (``zlib`` with ``max_length``, so a gzip bomb of a few KiB cannot inflate to gigabytes: it is refused once
the output passes the limit, without producing the rest).

Spec references ("BSL" = Bitstring Status List v1.0, W3C Recommendation 2025):
- BSL §2.1 BitstringStatusListEntry: ``statusPurpose``, ``statusListIndex`` (an integer >= 0 written in base 10, as a
  string), ``statusListCredential`` (a URL), optional ``statusSize`` (default 1) and ``statusMessage``.
- BSL §2.2 BitstringStatusListCredential: subject ``BitstringStatusList`` with ``statusPurpose`` and ``encodedList``
  ("the Multibase-encoded base64url (with no padding) representation of the GZIP-compressed bitstring"), optional
  ``ttl`` (milliseconds).
- BSL §3.1/§3.2: bit 0 is the left-most bit of the first byte; the uncompressed bitstring is at least 131,072 bits
  (16 KiB) times ``statusSize`` (herd privacy); an index past the end is a range error.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from typing import Any

from verifier.document import parse_datetime
from verifier.errors import InvalidInputError

__all__ = [
    "ENTRY_TYPE", "JUDGED_PURPOSES", "LIST_CREDENTIAL_TYPE", "LIST_SUBJECT_TYPE", "MAX_ENCODED_CHARS",
    "MAX_LIST_BYTES", "MIN_LIST_BITS", "StatusEntry", "StatusList", "StatusListError", "decode_list", "encode_list",
    "read_status", "parse_status_list", "status_entries", "status_list_digest",
]

ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_SUBJECT_TYPE = "BitstringStatusList"
JUDGED_PURPOSES = ("revocation", "suspension")  # the purposes that decide validity; "refresh" and "message" do not
MIN_LIST_BITS = 131_072  # BSL §3.1 minimum bitstring length (16 KiB), per unit of statusSize
MAX_ENCODED_CHARS = 4 * 1024 * 1024  # the encoded list as text: an honest 131,072-entry list is ~200 characters
MAX_LIST_BYTES = 16 * 1024 * 1024  # decompressed: 134 million one-bit entries, far beyond any issuer
MAX_STATUS_SIZE = 8  # bits per entry; BSL allows more for "message" lists, which are not judged here
MAX_ENTRIES = 16  # status entries in one credential
_INDEX = re.compile(r"(0|[1-9][0-9]{0,17})")  # base-10, no sign, no leading zeros, below 10**18
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class StatusListError(InvalidInputError):
    """A status entry or a status list credential is malformed (BSL's MALFORMED_VALUE, RANGE and LENGTH errors)."""


@dataclass(frozen=True)
class StatusEntry:
    """One ``BitstringStatusListEntry`` of a credential (BSL §2.1), validated."""

    purpose: str
    index: int
    list_url: str
    size: int = 1
    entry_id: str | None = None


def status_entries(credential: Any) -> tuple[StatusEntry, ...]:
    """The credential's ``credentialStatus`` entries (one object or a list). ``()`` when it declares none.

    Every entry must be a ``BitstringStatusListEntry`` here: another status type cannot be judged, and an entry that
    cannot be judged must not be passed over in silence (``StatusListError`` names it).
    """
    if not isinstance(credential, dict) or "credentialStatus" not in credential:
        return ()
    raw = credential["credentialStatus"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        return ()
    if len(items) > MAX_ENTRIES:
        raise StatusListError(f"credentialStatus: {len(items)} entries, at most {MAX_ENTRIES} are read")
    out: list[StatusEntry] = []
    for i, item in enumerate(items):
        at = f"credentialStatus[{i}]" if isinstance(raw, list) else "credentialStatus"
        if not isinstance(item, dict):
            raise StatusListError(f"{at}: expected an object, got {type(item).__name__}")
        types = item.get("type")
        types = types if isinstance(types, list) else [types]
        if ENTRY_TYPE not in types:
            raise StatusListError(f"{at}.type: {item.get('type')!r} is not {ENTRY_TYPE}, the status type this "
                                  "verifier reads")
        purpose = item.get("statusPurpose")
        if not isinstance(purpose, str) or not purpose:
            raise StatusListError(f"{at}.statusPurpose: expected a string, got {purpose!r:.80}")
        index = item.get("statusListIndex")
        if not isinstance(index, str) or not _INDEX.fullmatch(index):
            raise StatusListError(f"{at}.statusListIndex: expected a non-negative integer in base 10 as a string, "
                                  f"got {index!r:.80}")
        url = item.get("statusListCredential")
        if not isinstance(url, str) or not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url):
            raise StatusListError(f"{at}.statusListCredential: expected a URL, got {url!r:.80}")
        size = item.get("statusSize", 1)
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_STATUS_SIZE:
            raise StatusListError(f"{at}.statusSize: expected an integer from 1 to {MAX_STATUS_SIZE}, got {size!r:.40}")
        if purpose in JUDGED_PURPOSES and size != 1:
            raise StatusListError(f"{at}.statusSize: a {purpose} entry is one bit, got {size}")
        entry_id = item.get("id")
        out.append(StatusEntry(purpose, int(index), url, size, entry_id if isinstance(entry_id, str) else None))
    return tuple(out)


# ----------------------------------------------------------------------------------------------------- the bits


def decode_list(encoded: Any, *, max_encoded_chars: int = MAX_ENCODED_CHARS, max_bytes: int = MAX_LIST_BYTES) -> bytes:
    """The bitstring of an ``encodedList``: multibase ``u`` + base64url without padding, of GZIP (BSL §2.2)."""
    if not isinstance(encoded, str):
        raise StatusListError(f"encodedList: expected a string, got {type(encoded).__name__}")
    if len(encoded) > max_encoded_chars:
        raise StatusListError(f"encodedList: {len(encoded)} characters, more than the {max_encoded_chars} allowed")
    if not encoded.startswith("u"):
        raise StatusListError(f"encodedList: expected multibase base64url (prefix 'u'), got prefix {encoded[:1]!r}")
    text = encoded[1:]
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise StatusListError("encodedList: not base64url without padding (characters A-Z a-z 0-9 - _ only)")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError(f"encodedList: not base64url ({exc})") from exc
    return _gunzip(compressed, max_bytes)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """One GZIP member, its output bounded: past ``max_bytes`` the rest is never produced."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise StatusListError(f"encodedList: not valid GZIP ({exc})") from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise StatusListError(f"encodedList: decompresses to more than {max_bytes} bytes (refused)")
    if not inflater.eof:
        raise StatusListError("encodedList: GZIP data is truncated")
    if inflater.unused_data:
        raise StatusListError(f"encodedList: {len(inflater.unused_data)} bytes after the GZIP member")
    return out


def encode_list(bitstring: bytes) -> str:
    """``encodedList`` of a bitstring: GZIP level 6 with a zero mtime (what pako, behind the W3C examples, writes:
    the reference list re-encodes byte for byte), so equal lists encode equally."""
    compressed = gzip.compress(bytes(bitstring), compresslevel=6, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def read_status(bitstring: bytes, index: int, size: int = 1) -> int:
    """The ``size`` bits of entry ``index`` as an integer, bit 0 being the left-most bit of byte 0 (BSL §3.2)."""
    if index < 0 or size < 1:
        raise ValueError(f"index must be >= 0 and size >= 1, got {index} and {size}")
    first = index * size
    if first + size > len(bitstring) * 8:
        raise StatusListError(f"statusListIndex {index} is past the end of a list of {len(bitstring) * 8 // size} "
                              "entries (RANGE_ERROR)")
    value = 0
    for bit in range(first, first + size):
        value = (value << 1) | ((bitstring[bit // 8] >> (7 - bit % 8)) & 1)
    return value


# ----------------------------------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class StatusList:
    """A status list credential's content, read and bounded (its signature and anchoring are judged elsewhere)."""

    url: str | None  # the credential's id
    issuer_id: str | None
    purposes: tuple[str, ...]
    bitstring: bytes
    valid_from: str | None
    valid_until: str | None
    ttl_ms: int | None

    @property
    def entries(self) -> int:
        return len(self.bitstring) * 8


def parse_status_list(document: Any, *, max_encoded_chars: int = MAX_ENCODED_CHARS,
                      max_bytes: int = MAX_LIST_BYTES) -> StatusList:
    """A ``BitstringStatusListCredential`` (BSL §2.2), its bitstring decoded; ``StatusListError`` names a problem."""
    if not isinstance(document, dict):
        raise StatusListError(f"status list: expected a JSON object, got {type(document).__name__}")
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    if LIST_CREDENTIAL_TYPE not in types:
        raise StatusListError(f"status list: type {document.get('type')!r:.80} lacks {LIST_CREDENTIAL_TYPE}")
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise StatusListError("status list: credentialSubject must be one object")
    if subject.get("type") != LIST_SUBJECT_TYPE:
        raise StatusListError(f"status list: credentialSubject.type must be {LIST_SUBJECT_TYPE}, "
                              f"got {subject.get('type')!r:.80}")
    purpose = subject.get("statusPurpose")
    purposes = tuple(purpose) if isinstance(purpose, list) else (purpose,)
    if not purposes or not all(isinstance(p, str) and p for p in purposes):
        raise StatusListError(f"status list: credentialSubject.statusPurpose must be a string, got {purpose!r:.80}")
    bitstring = decode_list(subject.get("encodedList"), max_encoded_chars=max_encoded_chars, max_bytes=max_bytes)
    if len(bitstring) * 8 < MIN_LIST_BITS:
        raise StatusListError(f"status list: {len(bitstring) * 8} entries, fewer than the {MIN_LIST_BITS} a list must "
                              "have to hide its credentials among others (STATUS_LIST_LENGTH_ERROR)")
    ttl = subject.get("ttl")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
        raise StatusListError(f"status list: credentialSubject.ttl must be milliseconds >= 0, got {ttl!r:.40}")
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    valid_from, valid_until = document.get("validFrom"), document.get("validUntil")
    for name, value in (("validFrom", valid_from), ("validUntil", valid_until)):
        if value is not None and parse_datetime(value) is None:
            raise StatusListError(f"status list: {name} must be an XML Schema dateTime with time zone, "
                                  f"got {value!r:.80}")
    url = document.get("id")
    return StatusList(url if isinstance(url, str) else None, issuer_id if isinstance(issuer_id, str) else None,
                      purposes, bitstring, valid_from, valid_until, ttl)


def status_list_digest(document: dict[str, Any], canon: Any) -> bytes:
    """What ``publishStatus`` anchors: SHA-256 of the RDFC-1.0 canonical N-Quads of the signed list credential, proof
    included (the same canonical hashing as a batch leaf). ``canon``: a ``verifier.shapes.Canonicalizer``."""
    return hashlib.sha256(canon.canonicalize(document).encode("utf-8")).digest()
