"""The Blockcerts v3 ``merkle-proof-2019`` proof: its ``proofValue`` codec and its proof object.

Wire format, as the reference codecs write it (PyPI ``lds-merkle-proof-2019`` 0.1.0, which cert-issuer uses, and the
npm ``@blockcerts/lds-merkle-proof-2019``)::

    proofValue = "z" + base58btc( CBOR array of [key, value] pairs )
    keys:   0 merkleRoot, 1 targetHash, 2 anchors, 3 path
    path:   array of [side, hash]             side: 0 left, 1 right (the side the sibling is on)
    anchor: array of [[0, chain], [1, network], [2, txid]]
            chain: 0 btc, 1 eth, 2 mtc (Polygon), 3 base; network for EVM chains = EIP-155 chain id (Sepolia 11155111)

Every hash (and the txid) is itself a CBOR item wrapped in a CBOR byte string. Two encodings are in the wild:
- "hex text": bstr( CBOR tstr "<64 hex>" ) - the Python reference and therefore every cert-issuer credential
  (the txid of an EVM anchor is the text "0x<64 hex>");
- "raw bytes": bstr( CBOR bstr <32 bytes> ) - the JavaScript reference encoder.
We decode both (and, since it cannot be confused with either, a bare 32-byte bstr). We ENCODE the hex-text form
only, with cert-issuer's key order (path, merkleRoot, targetHash, anchors): it is the one form that both reference
decoders (Python and JavaScript) read back to exactly the JSON that went in, and our output is byte-identical to
cert-issuer's for the same proof (tests/conformance/test_blockcerts_reference.py).

Pure: values in, values out. Anything malformed raises ``ProofFormatError`` saying what and where.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cbor2

from verifier.base58btc import b58decode, b58encode
from verifier.errors import ProofFormatError
from verifier.merkle import DIGEST_SIZE, PathStep, root_from_path

# Decoder limits: a proof for a batch of 2^64 credentials has a 64-step path; a proofValue is a few hundred chars.
MAX_PROOF_VALUE_CHARS = 64 * 1024
MAX_PATH_STEPS = 64
MAX_ANCHORS = 8

CRYPTOSUITE = "merkle-proof-2019"
LEGACY_PROOF_TYPE = "MerkleProof2019"

_KEY_MERKLE_ROOT, _KEY_TARGET_HASH, _KEY_ANCHORS, _KEY_PATH = 0, 1, 2, 3
_KEY_NAMES = {0: "merkleRoot", 1: "targetHash", 2: "anchors", 3: "path"}
_SIDE_CODES = {"left": 0, "right": 1}
_SIDE_NAMES = {0: "left", 1: "right"}

# Chain codes of the Blockcerts keymap. "mocknet" (-1) is deliberately absent: it anchors nothing.
# "ebsi" (100) is anchorcred's own, outside the Blockcerts range: an anchor on the EBSI-like ledger names a timestamp
# id, not a transaction (docs/formats.md "EBSI anchors"); Blockcerts tools do not read it.
EBSI_CHAIN_CODE = 100
CHAIN_CODES = {"btc": 0, "eth": 1, "mtc": 2, "base": 3, "ebsi": EBSI_CHAIN_CODE}
_CHAIN_NAMES = {code: name for name, code in CHAIN_CODES.items()}
EVM_CHAINS = frozenset({"eth", "mtc", "base"})
# An EBSI timestamp id: "u" + base64url of the multihash (sha2-256, 32 bytes) of the timestamped hash's sha256.
_EBSI_TIMESTAMP_ID = re.compile(r"uEi[A-D][A-Za-z0-9_-]{43}")
# Bitcoin networks have no chain id; Blockcerts numbers them itself.
BTC_NETWORKS = {"mainnet": 1, "regtest": 2, "testnet": 3}
# The labels the Blockcerts tools know for Ethereum networks (their values are EIP-155 chain ids). Configuration may
# start from these; the codec itself never assumes them.
BLOCKCERTS_ETH_NETWORK_LABELS: Mapping[str, int] = {
    "mainnet": 1,
    "ropsten": 3,
    "rinkeby": 4,
    "goerli": 5,
    "sepolia": 11155111,
}
_MAX_CHAIN_ID = 2**64 - 1  # CBOR unsigned integers end there

_EVM_TX = re.compile(r"0x[0-9a-f]{64}")
_BTC_TX = re.compile(r"[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")


@dataclass(frozen=True)
class Anchor:
    """Where a Merkle root was anchored: ``blink:<chain>:<network>:<tx hash>``."""

    chain: str
    network: int  # EVM and ebsi: the EIP-155 chain id; btc: the Blockcerts network number
    tx_hash: str  # EVM: "0x" + 64 lowercase hex; btc: 64 lowercase hex; ebsi: the timestamp id ("uEi…")

    def __post_init__(self) -> None:
        if self.chain not in CHAIN_CODES:
            raise ValueError(f"anchor chain must be one of {sorted(CHAIN_CODES)}, got {self.chain!r}")
        if isinstance(self.network, bool) or not isinstance(self.network, int):
            raise ValueError(f"anchor network must be an int, got {type(self.network).__name__}")
        if self.chain == "ebsi":
            if not 1 <= self.network <= _MAX_CHAIN_ID:
                raise ValueError(f"EBSI ledger chain id must be in 1..2^64-1, got {self.network}")
            if not isinstance(self.tx_hash, str) or not _EBSI_TIMESTAMP_ID.fullmatch(self.tx_hash):
                raise ValueError(f"EBSI timestamp id must be 'uEi' + 44 base64url characters (a sha2-256 multihash), got {self.tx_hash!r}")
        elif self.chain in EVM_CHAINS:
            if not 1 <= self.network <= _MAX_CHAIN_ID:
                raise ValueError(f"EVM chain id must be in 1..2^64-1, got {self.network}")
            if not isinstance(self.tx_hash, str) or not _EVM_TX.fullmatch(self.tx_hash):
                raise ValueError(f"EVM transaction hash must be '0x' + 64 lowercase hex, got {self.tx_hash!r}")
        else:
            if self.network not in BTC_NETWORKS.values():
                raise ValueError(f"btc network must be one of {sorted(BTC_NETWORKS.values())}, got {self.network}")
            if not isinstance(self.tx_hash, str) or not _BTC_TX.fullmatch(self.tx_hash):
                raise ValueError(f"btc transaction id must be 64 lowercase hex, got {self.tx_hash!r}")

    def uri(self, label: str | None = None) -> str:
        """``blink:eth:11155111:0x…``, or ``blink:eth:sepolia:0x…`` when a (configured) label is given."""
        return f"blink:{self.chain}:{label if label is not None else self.network}:{self.tx_hash}"


@dataclass(frozen=True)
class MerkleProof2019:
    merkle_root: bytes
    target_hash: bytes
    path: tuple[PathStep, ...]
    anchors: tuple[Anchor, ...]

    def __post_init__(self) -> None:
        for name in ("merkle_root", "target_hash"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != DIGEST_SIZE:
                raise ValueError(f"{name} must be {DIGEST_SIZE} bytes, got {value!r:.80}")
        if not all(isinstance(step, PathStep) for step in self.path):
            raise ValueError("path must be a sequence of PathStep")
        if not 1 <= len(self.anchors) <= MAX_ANCHORS or not all(isinstance(a, Anchor) for a in self.anchors):
            raise ValueError(f"anchors must be 1..{MAX_ANCHORS} Anchor values, got {self.anchors!r:.120}")
        if len(self.path) > MAX_PATH_STEPS:
            raise ValueError(f"path has {len(self.path)} steps, at most {MAX_PATH_STEPS} allowed")
        object.__setattr__(self, "path", tuple(self.path))
        object.__setattr__(self, "anchors", tuple(self.anchors))

    def recomputed_root(self) -> bytes:
        """The root the path leads to from the target hash (to compare with ``merkle_root`` and the anchor)."""
        return root_from_path(self.target_hash, self.path)

    def to_json(self, network_labels: Mapping[int, str] | None = None) -> dict[str, Any]:
        """The decoded JSON shape the reference codecs use (``anchors`` as blink URIs)."""
        labels = network_labels or {}
        return {
            "path": [step.to_json() for step in self.path],
            "merkleRoot": self.merkle_root.hex(),
            "targetHash": self.target_hash.hex(),
            "anchors": [a.uri(labels.get(a.network)) for a in self.anchors],
        }


# ---------------------------------------------------------------------------------------------------- encoding


def encode_proof_value(p: MerkleProof2019) -> str:
    """Encode as cert-issuer does (hex-text hashes, key order path, merkleRoot, targetHash, anchors).

    The CBOR is assembled from byte strings that cbor2 itself produced once (``_CBOR_*``): the same bytes as
    ``cbor2.dumps`` of the nested pairs, without building and walking the nested lists 10,000 times per batch.
    """
    head = _CBOR_PATH_STEP_HEADS
    return "z" + b58encode(
        b"".join(
            [
                _CBOR_PAIRS_HEAD,
                _cbor_array_head(len(p.path)),
                *[head[s.side] + s.digest.hex().encode("ascii") for s in p.path],
                _CBOR_ROOT_HEAD,
                p.merkle_root.hex().encode("ascii"),
                _CBOR_TARGET_HEAD,
                p.target_hash.hex().encode("ascii"),
                _cbor_anchors(p.anchors),
            ]
        )
    )


def _encode_anchor(a: Anchor) -> list[list[Any]]:
    return [[0, CHAIN_CODES[a.chain]], [1, a.network], [2, _wrap_text(a.tx_hash)]]


def _wrap_text(text: str) -> bytes:
    return cbor2.dumps(text)


def _cbor_prefix(value: object, suffix: bytes) -> bytes:
    """The CBOR of ``value`` up to the (asserted) trailing ``suffix``: the fixed bytes before a variable part."""
    encoded = cbor2.dumps(value)
    assert encoded.endswith(suffix)
    return encoded[: len(encoded) - len(suffix)]


_HEX_PLACEHOLDER = "0" * 64
# [ [3, [ ...path... ]], ...: the outer 4-array, the path pair and its key; then the array head of the path
_CBOR_PAIRS_HEAD = _cbor_prefix([[_KEY_PATH, []], 0, 0, 0], b"\x80\x00\x00\x00")
# one path step [side, bstr(tstr(64 hex))] without its 64 hex characters
_CBOR_PATH_STEP_HEADS = {
    side: _cbor_prefix([code, _wrap_text(_HEX_PLACEHOLDER)], _HEX_PLACEHOLDER.encode())
    for side, code in _SIDE_CODES.items()
}
_CBOR_ROOT_HEAD = _cbor_prefix([_KEY_MERKLE_ROOT, _wrap_text(_HEX_PLACEHOLDER)], _HEX_PLACEHOLDER.encode())
_CBOR_TARGET_HEAD = _cbor_prefix([_KEY_TARGET_HASH, _wrap_text(_HEX_PLACEHOLDER)], _HEX_PLACEHOLDER.encode())


@lru_cache(maxsize=MAX_PATH_STEPS + 1)
def _cbor_array_head(length: int) -> bytes:
    return _cbor_prefix([0] * length, b"\x00" * length)


@lru_cache(maxsize=64)
def _cbor_anchors(anchors: tuple[Anchor, ...]) -> bytes:
    """The last pair, [2, anchors]: the same for every proof of a batch."""
    return cbor2.dumps([_KEY_ANCHORS, [_encode_anchor(a) for a in anchors]])


# ---------------------------------------------------------------------------------------------------- decoding


def decode_proof_value(s: str, *, network_labels: Mapping[str, int] | None = None) -> MerkleProof2019:
    """Decode a ``proofValue``. ``network_labels`` resolves an anchor network written as text instead of a chain id."""
    items = _decode_pairs(_cbor_from_multibase(s))
    missing = [_KEY_NAMES[k] for k in (_KEY_MERKLE_ROOT, _KEY_TARGET_HASH, _KEY_ANCHORS) if k not in items]
    if missing:
        raise ProofFormatError(f"proofValue: missing {', '.join(missing)}")
    path = _decode_path(items.get(_KEY_PATH, []))
    anchors = _decode_anchors(items[_KEY_ANCHORS], network_labels or {})
    try:
        return MerkleProof2019(
            merkle_root=_decode_hash(items[_KEY_MERKLE_ROOT], "merkleRoot"),
            target_hash=_decode_hash(items[_KEY_TARGET_HASH], "targetHash"),
            path=path,
            anchors=anchors,
        )
    except ValueError as exc:  # pragma: no cover - every field is checked above; keep the error family anyway
        raise ProofFormatError(f"proofValue: {exc}") from exc


def _cbor_from_multibase(s: object) -> object:
    if not isinstance(s, str):
        raise ProofFormatError(f"proofValue: expected a string, got {type(s).__name__}")
    if len(s) > MAX_PROOF_VALUE_CHARS:
        raise ProofFormatError(f"proofValue: {len(s)} characters, at most {MAX_PROOF_VALUE_CHARS} allowed")
    if not s.startswith("z"):
        raise ProofFormatError(f"proofValue: expected multibase base58btc (leading 'z'), got {s[:1]!r}")
    if not _BASE58.fullmatch(s[1:]):
        raise ProofFormatError("proofValue: not base58btc (empty, or a character outside the base58 alphabet)")
    return _strict_cbor(b58decode(s[1:]), "proofValue")




def _strict_cbor(data: bytes, where: str) -> object:
    """One complete CBOR item, nothing after it."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, RecursionError, ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise ProofFormatError(f"{where}: not valid CBOR ({exc})") from exc
    if stream.tell() != len(data):
        raise ProofFormatError(f"{where}: {len(data) - stream.tell()} trailing bytes after the CBOR item")
    return value


def _decode_pairs(decoded: object) -> dict[int, object]:
    """The top level: an array of [key, value] pairs (as the references write it); a CBOR map is read too."""
    if isinstance(decoded, dict):
        pairs: list[object] = [[k, v] for k, v in decoded.items()]
    elif isinstance(decoded, list):
        pairs = decoded
    else:
        raise ProofFormatError(f"proofValue: expected a CBOR array of [key, value] pairs, got {_kind(decoded)}")
    items: dict[int, object] = {}
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ProofFormatError(f"proofValue: entry {i} must be a [key, value] pair, got {_kind(pair)}")
        key, value = pair
        if not _is_int(key) or key not in _KEY_NAMES:
            raise ProofFormatError(f"proofValue: entry {i} has unknown key {key!r} (expected 0, 1, 2 or 3)")
        if key in items:
            raise ProofFormatError(f"proofValue: {_KEY_NAMES[key]} appears twice")
        items[key] = value
    return items


def _decode_path(value: object) -> tuple[PathStep, ...]:
    if not isinstance(value, list):
        raise ProofFormatError(f"proofValue: path must be an array, got {_kind(value)}")
    if len(value) > MAX_PATH_STEPS:
        raise ProofFormatError(f"proofValue: path has {len(value)} steps, at most {MAX_PATH_STEPS} allowed")
    steps = []
    for i, item in enumerate(value):
        if not isinstance(item, list) or len(item) != 2:
            raise ProofFormatError(f"proofValue: path[{i}] must be a [side, hash] pair, got {_kind(item)}")
        side, digest = item
        if not _is_int(side) or side not in _SIDE_NAMES:
            raise ProofFormatError(f"proofValue: path[{i}] side must be 0 (left) or 1 (right), got {side!r}")
        steps.append(PathStep(_SIDE_NAMES[side], _decode_hash(digest, f"path[{i}]")))
    return tuple(steps)


def _decode_hash(value: object, where: str) -> bytes:
    """A 32-byte hash in any of the encodings found in the wild (see the module docstring)."""
    if not isinstance(value, bytes):
        raise ProofFormatError(f"proofValue: {where} must be a CBOR byte string, got {_kind(value)}")
    if len(value) == DIGEST_SIZE:
        return value  # bare raw digest (34- and 66-byte wrapped forms cannot be 32 bytes long)
    inner = _strict_cbor(value, f"proofValue: {where}")
    if isinstance(inner, bytes) and len(inner) == DIGEST_SIZE:
        return inner  # JavaScript reference: bstr(CBOR bstr(32))
    if isinstance(inner, str) and _HEX64.fullmatch(inner):
        return bytes.fromhex(inner)  # Python reference / cert-issuer: bstr(CBOR tstr(64 hex))
    raise ProofFormatError(
        f"proofValue: {where} must wrap a 32-byte string or 64 hex characters, got {_kind(inner)} {inner!r:.80}"
    )


def _decode_anchors(value: object, network_labels: Mapping[str, int]) -> tuple[Anchor, ...]:
    if not isinstance(value, list) or not value:
        raise ProofFormatError(f"proofValue: anchors must be a non-empty array, got {_kind(value)}")
    if len(value) > MAX_ANCHORS:
        raise ProofFormatError(f"proofValue: {len(value)} anchors, at most {MAX_ANCHORS} allowed")
    return tuple(_decode_anchor(item, f"anchors[{i}]", network_labels) for i, item in enumerate(value))


def _decode_anchor(item: object, where: str, network_labels: Mapping[str, int]) -> Anchor:
    if not isinstance(item, list) or not all(isinstance(e, list) and len(e) == 2 for e in item):
        raise ProofFormatError(f"proofValue: {where} must be an array of [index, value] pairs, got {_kind(item)}")
    fields = dict((e[0], e[1]) for e in item if _is_int(e[0]))
    if len(fields) != len(item) or sorted(fields) != [0, 1, 2]:
        keys = [e[0] for e in item]
        raise ProofFormatError(
            f"proofValue: {where} must have exactly entries 0 (chain), 1 (network), 2 (txid), got {keys!r}"
        )
    chain_code = fields[0]
    if not _is_int(chain_code) or chain_code not in _CHAIN_NAMES:
        raise ProofFormatError(
            f"proofValue: {where} chain code must be one of {sorted(_CHAIN_NAMES)} "
            f"({', '.join(CHAIN_CODES)}), got {chain_code!r}"
        )
    chain = _CHAIN_NAMES[chain_code]
    network = _decode_network(fields[1], chain, f"{where} network", network_labels)
    tx_hash = _decode_txid(fields[2], chain, f"{where} txid")
    try:
        return Anchor(chain, network, tx_hash)
    except ValueError as exc:
        raise ProofFormatError(f"proofValue: {where}: {exc}") from exc


def _decode_network(value: object, chain: str, where: str, network_labels: Mapping[str, int]) -> int:
    if _is_int(value):
        return value  # type: ignore[return-value]
    # Not what the references write for eth/btc, but a network can arrive as text (wrapped or bare): resolve it
    # only through the caller's configuration, never by guessing.
    text = _strict_cbor(value, f"proofValue: {where}") if isinstance(value, bytes) else value
    if isinstance(text, str):
        if text.isdecimal():
            return int(text)
        labels = BTC_NETWORKS if chain == "btc" else network_labels
        if text in labels:
            return labels[text]
        raise ProofFormatError(f"proofValue: {where} label {text!r} is not configured (known: {sorted(labels)})")
    raise ProofFormatError(f"proofValue: {where} must be an integer chain id, got {_kind(value)}")


def _decode_txid(value: object, chain: str, where: str) -> str:
    if not isinstance(value, bytes):
        raise ProofFormatError(f"proofValue: {where} must be a CBOR byte string, got {_kind(value)}")
    if chain == "ebsi":  # the timestamp id, as text wrapped like a hex-text hash
        inner = _strict_cbor(value, f"proofValue: {where}")
        if not isinstance(inner, str) or not _EBSI_TIMESTAMP_ID.fullmatch(inner):
            raise ProofFormatError(f"proofValue: {where} must wrap an EBSI timestamp id, got {inner!r:.80}")
        return inner
    inner: object = value if len(value) == DIGEST_SIZE else _strict_cbor(value, f"proofValue: {where}")
    if isinstance(inner, bytes) and len(inner) == DIGEST_SIZE:
        digits = inner.hex()
    elif isinstance(inner, str):
        digits = inner[2:] if inner[:2] in ("0x", "0X") else inner
        if not _HEX64.fullmatch(digits):
            raise ProofFormatError(f"proofValue: {where} must be a 32-byte transaction hash, got {inner!r:.80}")
        digits = digits.lower()
    else:
        raise ProofFormatError(f"proofValue: {where} must wrap a transaction hash, got {_kind(inner)}")
    return "0x" + digits if chain in EVM_CHAINS else digits


# ---------------------------------------------------------------------------------------------------- anchor URIs


def parse_anchor_uri(uri: str, network_labels: Mapping[str, int] | None = None) -> Anchor:
    """Read ``blink:eth:11155111:0x…`` or ``blink:eth:sepolia:0x…`` (labels come from configuration)."""
    parts = uri.split(":") if isinstance(uri, str) else []
    if len(parts) != 4 or parts[0] != "blink":
        raise ProofFormatError(f"anchor: expected 'blink:<chain>:<network>:<tx hash>', got {uri!r:.120}")
    _, chain, network_text, tx = parts
    if chain not in CHAIN_CODES:
        raise ProofFormatError(f"anchor {uri!r}: chain must be one of {sorted(CHAIN_CODES)}, got {chain!r}")
    if network_text.isdecimal():
        network = int(network_text)
    else:
        labels = BTC_NETWORKS if chain == "btc" else (network_labels or {})
        if network_text not in labels:
            raise ProofFormatError(
                f"anchor {uri!r}: network {network_text!r} is neither a chain id nor a configured label "
                f"(known: {sorted(labels)})"
            )
        network = labels[network_text]
    if chain in EVM_CHAINS and not tx.startswith("0x"):
        raise ProofFormatError(f"anchor {uri!r}: an EVM transaction hash starts with '0x'")
    try:
        return Anchor(chain, network, tx if chain == "ebsi" else tx.lower())
    except ValueError as exc:
        raise ProofFormatError(f"anchor {uri!r}: {exc}") from exc


# ---------------------------------------------------------------------------------------------------- proof object


def make_proof(
    *,
    proof_value: str,
    verification_method: str,
    created: str,
    previous_proof: str | None,
    proof_id: str | None = None,
) -> dict[str, Any]:
    """The Blockcerts v3 anchor proof (VC Data Integrity ``DataIntegrityProof``, cryptosuite ``merkle-proof-2019``).

    ``previous_proof`` is the id of the proof this one is chained after (VC-DI 1.0 §2.1.2 proof chains): the eddsa
    signature, whose presence the target hash covers.
    """
    proof: dict[str, Any] = {}
    if proof_id is not None:
        proof["id"] = proof_id
    proof.update(
        {
            "type": "DataIntegrityProof",
            "cryptosuite": CRYPTOSUITE,
            "created": created,
            "proofPurpose": "assertionMethod",
            "verificationMethod": verification_method,
        }
    )
    if previous_proof is not None:
        proof["previousProof"] = previous_proof
    proof["proofValue"] = proof_value
    return proof


def is_merkle_proof(proof: Mapping[str, Any]) -> bool:
    """A Blockcerts anchor proof: ``DataIntegrityProof`` + ``merkle-proof-2019``, or the legacy ``MerkleProof2019``."""
    if not isinstance(proof, Mapping):
        return False
    types = proof.get("type")
    types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    if LEGACY_PROOF_TYPE in types:
        return True
    return "DataIntegrityProof" in types and proof.get("cryptosuite") == CRYPTOSUITE


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    if isinstance(value, bytes):
        return f"a byte string of {len(value)} bytes"
    if isinstance(value, str):
        return f"a text string of {len(value)} characters"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    if isinstance(value, dict):
        return f"a map of {len(value)} entries"
    return type(value).__name__


__all__ = [
    "Anchor",
    "BLOCKCERTS_ETH_NETWORK_LABELS",
    "CRYPTOSUITE",
    "LEGACY_PROOF_TYPE",
    "MAX_ANCHORS",
    "MAX_PATH_STEPS",
    "MAX_PROOF_VALUE_CHARS",
    "MerkleProof2019",
    "decode_proof_value",
    "encode_proof_value",
    "is_merkle_proof",
    "make_proof",
    "parse_anchor_uri",
]
