"""The issuer's keys and DID: an Ed25519 signing key and a secp256k1 anchoring key, bound in one DID document.

Keys live in a JSON file readable only by its owner; they are never printed or logged. The DID document binds the
anchoring address as `blockchainAccountId` (CAIP-10, `eip155:<chainId>:<address>`) beside the key it comes from
(`publicKeyJwk`, from which Blockcerts-style verifiers derive the address) — DESIGN.md, "Anchoring".
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import coincurve
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from issuer.errors import InputFileError
from verifier import keys as vkeys

SIGNING_FRAGMENT = "key-1"
ANCHORING_FRAGMENT = "anchor-1"


@dataclass(frozen=True)
class IssuerIdentity:
    did: str
    ed25519_seed: bytes = field(repr=False)
    secp256k1_secret: bytes = field(repr=False)

    # ── derived ────────────────────────────────────────────────────────────────────────────────────────────────
    @property
    def _signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.ed25519_seed)

    @property
    def ed25519_public(self) -> bytes:
        return self._signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def secp256k1_public(self) -> bytes:
        return coincurve.PrivateKey(self.secp256k1_secret).public_key.format(compressed=True)

    @property
    def anchoring_address(self) -> str:
        return vkeys.eth_address_from_secp256k1(self.secp256k1_public)

    @property
    def signing_method(self) -> str:
        if self.did.startswith("did:key:"):
            return f"{self.did}#{self.did.removeprefix('did:key:')}"
        return f"{self.did}#{SIGNING_FRAGMENT}"

    @property
    def anchoring_method(self) -> str | None:
        # did:key documents are derived from the key alone and cannot bind a second key.
        return None if self.did.startswith("did:key:") else f"{self.did}#{ANCHORING_FRAGMENT}"

    def signer(self):
        """A sign(bytes) -> bytes callable; the key object stays inside it."""
        return self._signing_key.sign

    def did_document(self, chain_id: int | None) -> dict[str, Any]:
        """The DID document; with a chain id, it binds the anchoring address on that chain."""
        if self.did.startswith("did:key:"):
            return vkeys.did_key_document(self.did)
        signing = {
            "id": f"{self.did}#{SIGNING_FRAGMENT}",
            "type": "Multikey",
            "controller": self.did,
            "publicKeyMultibase": vkeys.encode_multikey(vkeys.PublicKey("Ed25519", self.ed25519_public)),
        }
        methods: list[dict[str, Any]] = [signing]
        if chain_id is not None:
            methods.append(
                {
                    "id": f"{self.did}#{ANCHORING_FRAGMENT}",
                    "type": "EcdsaSecp256k1VerificationKey2019",
                    "controller": self.did,
                    "publicKeyJwk": vkeys.public_key_to_jwk(vkeys.PublicKey("secp256k1", self.secp256k1_public)),
                    "blockchainAccountId": f"eip155:{chain_id}:{self.anchoring_address}",
                }
            )
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
        }


def did_web_for(domain: str) -> str:
    """did:web method spec §3.2: the host (with an encoded port) and optional path, ':'-separated."""
    host, _, path = domain.partition("/")
    parts = [host.replace(":", "%3A")] + [p for p in path.split("/") if p]
    return "did:web:" + ":".join(parts)


def new_identity(did: str | None) -> IssuerIdentity:
    seed = secrets.token_bytes(32)
    secp = coincurve.PrivateKey().secret
    if did is None:
        pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        did = vkeys.did_key_from_ed25519(pub)
    return IssuerIdentity(did, seed, secp)


def load_or_create_identity(path: Path, did: str | None) -> IssuerIdentity:
    """Keys for `did` from `path`, created (mode 0600) on first use. A file holding another DID is an error."""
    if path.exists():
        try:
            data = json.loads(path.read_text("utf-8"))
            identity = IssuerIdentity(
                data["did"], bytes.fromhex(data["ed25519_seed"]), bytes.fromhex(data["secp256k1_secret"])
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputFileError(f"{path}: unreadable issuer key file ({type(exc).__name__})") from None
        if did is not None and identity.did != did:
            raise InputFileError(f"{path}: holds the keys of {identity.did}, not of {did}; use another --data-dir")
        return identity
    identity = new_identity(did)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(
            {"did": identity.did, "ed25519_seed": identity.ed25519_seed.hex(), "secp256k1_secret": identity.secp256k1_secret.hex()},
            fh,
        )
    return identity
