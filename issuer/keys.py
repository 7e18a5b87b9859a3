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
from typing import Any, Iterable

import coincurve
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from issuer.achievement import DID_WEB_RE
from issuer.errors import InputFileError, OptionError
from verifier import keys as vkeys

SIGNING_FRAGMENT = "key-1"
ANCHORING_METHOD_TYPE = "EcdsaSecp256k1VerificationKey2019"


def anchoring_fragment(chain_id: int) -> str:
    """One anchoring method per chain (its CAIP-2 id, `eip155:<chainId>`): a DID document binding the address on
    several chains keeps every batch's merkle proof naming a method of its own chain."""
    return f"anchor-eip155-{int(chain_id)}"


def check_issuer_did(did: str) -> str:
    """``did`` if it can name an issuer whose keys this issuer creates: a did:web DID (the achievement's rule for
    ``awarding_body.did``). A did:key is never given, it is derived from the key (omit the DID to use one)."""
    if not (isinstance(did, str) and DID_WEB_RE.match(did)):
        raise OptionError(
            f"issuer DID {did!r}: expected a did:web DID such as did:web:registrar.university.example "
            "(omit it to sign as a did:key, which is derived from the key)"
        )
    return did


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

    def anchoring_method(self, chain_id: int) -> str | None:
        """The id of the method binding the anchoring address on ``chain_id`` (what a merkle proof names)."""
        # did:key documents are derived from the key alone and cannot bind a second key.
        return None if self.did.startswith("did:key:") else f"{self.did}#{anchoring_fragment(chain_id)}"

    def signer(self):
        """A sign(bytes) -> bytes callable; the key object stays inside it."""
        return self._signing_key.sign

    def bound_chains(self, document: Any) -> set[int]:
        """The chains on which ``document`` (an earlier did.json of this DID) binds this identity's anchoring address."""
        if not isinstance(document, dict) or document.get("id") != self.did:
            return set()
        chains = set()
        for method in document.get("verificationMethod") or []:
            account = method.get("blockchainAccountId") if isinstance(method, dict) else None
            try:
                bound = vkeys.parse_blockchain_account_id(account) if isinstance(account, str) else None
            except vkeys.KeyFormatError:
                bound = None
            if bound is not None and bound.address.lower() == self.anchoring_address.lower():
                chains.add(bound.chain_id)
        return chains

    def did_document(self, chain_ids: int | Iterable[int] | None = None) -> dict[str, Any]:
        """The DID document; it binds the anchoring address on each chain of ``chain_ids`` (one method per chain)."""
        if self.did.startswith("did:key:"):
            return vkeys.did_key_document(self.did)
        if chain_ids is None:
            chain_ids = ()
        elif isinstance(chain_ids, int):
            chain_ids = (chain_ids,)
        signing = {
            "id": f"{self.did}#{SIGNING_FRAGMENT}",
            "type": "Multikey",
            "controller": self.did,
            "publicKeyMultibase": vkeys.encode_multikey(vkeys.PublicKey("Ed25519", self.ed25519_public)),
        }
        methods: list[dict[str, Any]] = [signing]
        jwk = vkeys.public_key_to_jwk(vkeys.PublicKey("secp256k1", self.secp256k1_public))
        for chain_id in sorted(set(chain_ids)):
            methods.append(
                {
                    "id": self.anchoring_method(chain_id),
                    "type": ANCHORING_METHOD_TYPE,
                    "controller": self.did,
                    "publicKeyJwk": dict(jwk),
                    "blockchainAccountId": f"eip155:{chain_id}:{self.anchoring_address}",
                }
            )
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
        }


def new_identity(did: str | None) -> IssuerIdentity:
    """Fresh keys for the did:web ``did``, or for the did:key they derive when ``did`` is None."""
    if did is not None:
        check_issuer_did(did)
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
            raise InputFileError(path, f"unreadable issuer key file ({type(exc).__name__})") from None
        if did is not None and identity.did != did:
            raise InputFileError(path, f"holds the keys of {identity.did}, not of {did}; use another --data-dir")
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
