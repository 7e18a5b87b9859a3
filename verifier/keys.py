"""Key encodings: Multikey (multibase base58btc + multicodec), did:key, JWK, Ethereum addresses, CAIP-10 accounts.

References: W3C Controlled Identifiers 1.0 §2.2.2 Multikey; did:key Method v0.9; RFC 8037 (OKP JWK); RFC 7518 §6.2
(EC JWK); EIP-55 (checksummed addresses); CAIP-10 (``eip155:<chainId>:<address>``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from Crypto.Hash import keccak

from verifier.base58btc import b58decode, b58encode
from verifier.errors import InvalidInputError

ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub (varint 0xed)
SECP256K1_PUB = b"\xe7\x01"  # multicodec secp256k1-pub (varint 0xe7), 33-byte compressed point
ED25519_PRIV = b"\x80\x26"  # multicodec ed25519-priv (varint 0x1300)
_SECP256K1_P = 2**256 - 2**32 - 977


class KeyFormatError(InvalidInputError):
    """A key, DID or address that is not in the expected encoding."""


@dataclass(frozen=True)
class PublicKey:
    kind: str  # "Ed25519" or "secp256k1"
    raw: bytes  # Ed25519: 32 bytes; secp256k1: 33-byte compressed point


# --- multibase / Multikey ---------------------------------------------------------------------------------------


def multibase_decode(value: str) -> bytes:
    """Decode base58btc multibase (``z`` prefix), the only base Multikey and eddsa proofs use."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise KeyFormatError(f"expected a base58btc multibase string starting with 'z', got {value!r:.60}")
    try:
        return b58decode(value[1:])
    except ValueError as exc:
        raise KeyFormatError(f"invalid base58btc in {value!r:.60}: {exc}") from exc


def multibase_encode(data: bytes) -> str:
    return "z" + b58encode(data)


def encode_multikey(key: PublicKey) -> str:
    if key.kind == "Ed25519":
        if len(key.raw) != 32:
            raise ValueError(f"Ed25519 public key must be 32 bytes, got {len(key.raw)}")
        return multibase_encode(ED25519_PUB + key.raw)
    if key.kind == "secp256k1":
        return multibase_encode(SECP256K1_PUB + compress_secp256k1(key.raw))
    raise ValueError(f"unsupported key type {key.kind!r}")


# Pure functions of their (hashable) argument, called for every credential of a batch with the issuer's same key.
@lru_cache(maxsize=1024)
def decode_multikey(value: str) -> PublicKey:
    """``z6Mk…`` → Ed25519 (32 bytes); ``zQ3s…`` → secp256k1 (33-byte compressed point)."""
    data = multibase_decode(value)
    if data[:2] == ED25519_PUB:
        if len(data) != 34:
            raise KeyFormatError(f"Ed25519 Multikey must hold 32 key bytes, got {len(data) - 2}")
        return PublicKey("Ed25519", data[2:])
    if data[:2] == SECP256K1_PUB:
        if len(data) != 35 or data[2] not in (2, 3):
            raise KeyFormatError(f"secp256k1 Multikey must hold a 33-byte compressed point, got {len(data) - 2} bytes")
        return PublicKey("secp256k1", data[2:])
    raise KeyFormatError(f"unsupported Multikey codec 0x{data[:2].hex()} (expected ed01 Ed25519 or e701 secp256k1)")


def decode_ed25519_secret(value: str) -> bytes:
    """The 32-byte seed from an Ed25519 secret Multikey (``z3u2…``: 32-byte seed; ``zru…``: seed || public key)."""
    data = multibase_decode(value)
    if data[:2] != ED25519_PRIV or len(data) not in (34, 66):
        raise KeyFormatError(f"expected an ed25519-priv (0x1300) multikey of 32 or 64 bytes, got {len(data)} bytes")
    return data[2:34]


def compress_secp256k1(raw: bytes) -> bytes:
    if len(raw) == 33 and raw[0] in (2, 3):
        return raw
    if len(raw) == 65 and raw[0] == 4:
        raw = raw[1:]
    if len(raw) != 64:
        raise KeyFormatError(f"secp256k1 public key must be 33, 64 or 65 bytes, got {len(raw)}")
    x, y = raw[:32], int.from_bytes(raw[32:], "big")
    return bytes([2 + (y & 1)]) + x


@lru_cache(maxsize=1024)
def decompress_secp256k1(raw: bytes) -> bytes:
    """64-byte X || Y of a secp256k1 point given compressed (33) or uncompressed (64/65) bytes."""
    if len(raw) == 65 and raw[0] == 4:
        return raw[1:]
    if len(raw) == 64:
        return raw
    if len(raw) != 33 or raw[0] not in (2, 3):
        raise KeyFormatError(f"secp256k1 public key must be 33, 64 or 65 bytes, got {len(raw)}")
    x = int.from_bytes(raw[1:], "big")
    y2 = (pow(x, 3, _SECP256K1_P) + 7) % _SECP256K1_P
    y = pow(y2, (_SECP256K1_P + 1) // 4, _SECP256K1_P)
    if y * y % _SECP256K1_P != y2:
        raise KeyFormatError("secp256k1 compressed key is not a point on the curve")
    if y & 1 != raw[0] & 1:
        y = _SECP256K1_P - y
    return raw[1:] + y.to_bytes(32, "big")


# --- did:key ----------------------------------------------------------------------------------------------------


def did_key_from_ed25519(public_key: bytes) -> str:
    return "did:key:" + encode_multikey(PublicKey("Ed25519", public_key))


def did_key_document(did: str) -> dict[str, Any]:
    """DID document of an Ed25519 ``did:key`` with a Multikey verification method (did:key spec §3.1.2)."""
    m = re.fullmatch(r"did:key:(z[1-9A-HJ-NP-Za-km-z]+)(?:#.*)?", did)
    if m is None:
        raise KeyFormatError(f"expected did:key:z…, got {did!r:.80}")
    multikey = m.group(1)
    key = decode_multikey(multikey)
    if key.kind != "Ed25519":
        raise KeyFormatError(f"only Ed25519 did:key documents are supported, got {key.kind}")
    did = "did:key:" + multikey
    vm_id = f"{did}#{multikey}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityDelegation": [vm_id],
        "capabilityInvocation": [vm_id],
    }


# --- JWK --------------------------------------------------------------------------------------------------------


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFormatError(f"JWK {what} must be a base64url string, got {type(value).__name__}")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise KeyFormatError(f"JWK {what} is not base64url: {exc}") from exc


def public_key_to_jwk(key: PublicKey) -> dict[str, str]:
    if key.kind == "Ed25519":
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64u(key.raw)}
    if key.kind == "secp256k1":
        xy = decompress_secp256k1(key.raw)
        return {"kty": "EC", "crv": "secp256k1", "x": _b64u(xy[:32]), "y": _b64u(xy[32:])}
    raise ValueError(f"unsupported key type {key.kind!r}")


def jwk_to_public_key(jwk: dict[str, Any]) -> PublicKey:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        x = _unb64u(jwk.get("x"), "x")
        if len(x) != 32:
            raise KeyFormatError(f"Ed25519 JWK x must be 32 bytes, got {len(x)}")
        return PublicKey("Ed25519", x)
    if kty == "EC" and crv == "secp256k1":
        x, y = _unb64u(jwk.get("x"), "x"), _unb64u(jwk.get("y"), "y")
        if len(x) != 32 or len(y) != 32:
            raise KeyFormatError(f"secp256k1 JWK x and y must be 32 bytes each, got {len(x)} and {len(y)}")
        compressed = compress_secp256k1(x + y)
        if decompress_secp256k1(compressed) != x + y:
            raise KeyFormatError("secp256k1 JWK is not a point on the curve")
        return PublicKey("secp256k1", compressed)
    raise KeyFormatError(f"unsupported JWK kty={kty!r} crv={crv!r} (expected OKP/Ed25519 or EC/secp256k1)")


# --- Ethereum ---------------------------------------------------------------------------------------------------


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


@lru_cache(maxsize=4096)
def to_checksum_address(address: str) -> str:
    """EIP-55 mixed-case checksum of a 20-byte hex address."""
    hex_addr = address.lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{40}", hex_addr):
        raise KeyFormatError(f"expected a 20-byte hex address, got {address!r:.60}")
    digest = keccak256(hex_addr.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_addr))


def eth_address_from_secp256k1(pubkey_bytes: bytes) -> str:
    """Ethereum address (EIP-55) of a secp256k1 public key: last 20 bytes of keccak256(X || Y)."""
    return to_checksum_address(keccak256(decompress_secp256k1(pubkey_bytes))[-20:].hex())


@dataclass(frozen=True)
class BlockchainAccount:
    chain_id: int
    address: str  # EIP-55 checksummed


def parse_blockchain_account_id(value: str) -> BlockchainAccount:
    """``eip155:<chainId>:<address>`` (CAIP-10). A mixed-case address must carry a valid EIP-55 checksum."""
    m = re.fullmatch(r"eip155:([0-9]{1,32}):(0x[0-9a-fA-F]{40})", value or "")
    if m is None:
        raise KeyFormatError(f"expected eip155:<chainId>:<0x address>, got {value!r:.80}")
    address = m.group(2)
    checksummed = to_checksum_address(address)
    body = address[2:]
    if body != body.lower() and body != body.upper() and address != checksummed:
        raise KeyFormatError(f"address {address} has a wrong EIP-55 checksum (expected {checksummed})")
    return BlockchainAccount(int(m.group(1)), checksummed)
