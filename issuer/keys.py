"""The issuer's keys and DID: Ed25519 signing and secp256k1 anchoring keys, with their history, in one DID document.

Keys live in a JSON file readable only by its owner; they are never printed or logged. The DID document binds the
anchoring address as `blockchainAccountId` (CAIP-10, `eip155:<chainId>:<address>`) beside the key it comes from
(`publicKeyJwk`, from which Blockcerts-style verifiers derive the address) — DESIGN.md, "Anchoring".

Key history (docs/formats.md, "Key history"): an issuer rotates a key (the old one is *retired*: it signed in good
order and what it signed stays valid) or revokes it (compromised). The DID document keeps every key it ever used,
numbered per role (`#key-1`, `#key-2`…; `#anchor-eip155-<chain>`, `#anchor-eip155-<chain>-2`…), each with `created`
and, once set, `retired` / `revoked`; only current keys are in `assertionMethod`. Every change is also recorded on the
ledger (``KeyChange``, sent by ``issuer.keyevents``), so a verifier can check the history without the website.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import coincurve
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from issuer.achievement import DID_WEB_RE
from issuer.errors import InputFileError, OptionError
from verifier import keys as vkeys
from verifier.keyhistory import method_digest
from verifier.ledger.base import KEY_REVOKED, key_id_of

SIGNING_FRAGMENT = "key-1"
ANCHORING_METHOD_TYPE = "EcdsaSecp256k1VerificationKey2019"
SIGNING, ANCHORING = "signing", "anchoring"
ROLES = (SIGNING, ANCHORING)
MAX_KEYS_PER_ROLE = 1000  # a DID document is fetched by every verifier: its history must stay small


def anchoring_fragment(chain_id: int, number: int = 1) -> str:
    """One anchoring method per chain (its CAIP-2 id, `eip155:<chainId>`): a DID document binding the address on
    several chains keeps every batch's merkle proof naming a method of its own chain. The first anchoring key keeps
    the name it had before key history; later ones add their number."""
    return f"anchor-eip155-{int(chain_id)}" + ("" if number == 1 else f"-{int(number)}")


def xsd(moment: datetime) -> str:
    """An XSD dateTime in UTC to the second (what the DID document's history members hold)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_issuer_did(did: str) -> str:
    """``did`` if it can name an issuer whose keys this issuer creates: a did:web DID (the achievement's rule for
    ``awarding_body.did``). A did:key is never given, it is derived from the key (omit the DID to use one)."""
    if not (isinstance(did, str) and DID_WEB_RE.match(did)):
        raise OptionError(
            f"issuer DID {did!r}: expected a did:web DID such as did:web:registrar.university.example "
            "(omit it to sign as a did:key, which is derived from the key)"
        )
    return did


def _ed25519_public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _secp256k1_public(secret: bytes) -> bytes:
    return coincurve.PrivateKey(secret).public_key.format(compressed=True)


def anchoring_address_of(secret: bytes) -> str:
    """The EIP-55 address of the secp256k1 key ``secret``."""
    return vkeys.eth_address_from_secp256k1(_secp256k1_public(secret))


@dataclass(frozen=True)
class KeyRecord:
    """One key the issuer used: its role, its number within the role, its public key and its dates (XSD)."""

    role: str
    number: int
    public: bytes  # Ed25519: 32 raw bytes; secp256k1: 33 bytes compressed
    created: str | None = None  # None for a key made before key history was kept
    retired: str | None = None
    revoked: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"key role must be one of {ROLES}, got {self.role!r}")
        number = self.number
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_KEYS_PER_ROLE:
            raise ValueError(f"key number must be 1..{MAX_KEYS_PER_ROLE}, got {self.number!r}")
        size = 32 if self.role == SIGNING else 33
        if not isinstance(self.public, bytes) or len(self.public) != size:
            raise ValueError(f"{self.role} public key must be {size} bytes")

    @property
    def active(self) -> bool:
        return self.retired is None and self.revoked is None

    @property
    def address(self) -> str | None:
        return vkeys.eth_address_from_secp256k1(self.public) if self.role == ANCHORING else None

    @property
    def label(self) -> str:
        return f"{self.role} key {self.number}"

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "number": self.number, "public": self.public.hex(), "created": self.created,
                "retired": self.retired, "revoked": self.revoked}

    @classmethod
    def from_json(cls, data: Any) -> KeyRecord:
        if not isinstance(data, dict):
            raise ValueError("a key record must be an object")
        return cls(data["role"], data["number"], bytes.fromhex(data["public"]), data.get("created"),
                   data.get("retired"), data.get("revoked"))


@dataclass(frozen=True)
class KeyChange:
    """One event to record on the ledger: ``kind`` (added / retired / revoked) of the key (role, number), sent by
    the anchoring key ``sender`` (its number)."""

    role: str
    number: int
    kind: int  # verifier.ledger.base KEY_ADDED / KEY_RETIRED / KEY_REVOKED
    sender: int

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "number": self.number, "kind": self.kind, "sender": self.sender}

    @classmethod
    def from_json(cls, data: Any) -> KeyChange:
        return cls(data["role"], int(data["number"]), int(data["kind"]), int(data["sender"]))


@dataclass(frozen=True)
class IssuerIdentity:
    did: str
    ed25519_seed: bytes = field(repr=False)
    secp256k1_secret: bytes = field(repr=False)
    # Every key ever used; empty for an identity made before key history (its two keys are then number 1, undated).
    history: tuple[KeyRecord, ...] = ()

    def __post_init__(self) -> None:
        if not self.history:
            return
        for role, public in ((SIGNING, self.ed25519_public), (ANCHORING, self.secp256k1_public)):
            numbers = [r.number for r in self.history if r.role == role]
            if len(numbers) != len(set(numbers)):
                raise ValueError(f"key history numbers two {role} keys alike")
            current = [r for r in self.history if r.role == role and r.public == public]
            if len(current) != 1 or not current[0].active:
                raise ValueError(f"key history must hold the current {role} key once, neither retired nor revoked")

    # ── derived ────────────────────────────────────────────────────────────────────────────────────────────────
    @property
    def _signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.ed25519_seed)

    @property
    def ed25519_public(self) -> bytes:
        return _ed25519_public(self.ed25519_seed)

    @property
    def secp256k1_public(self) -> bytes:
        return _secp256k1_public(self.secp256k1_secret)

    @property
    def anchoring_address(self) -> str:
        return vkeys.eth_address_from_secp256k1(self.secp256k1_public)

    def records(self) -> tuple[KeyRecord, ...]:
        """The key history, signing keys first, each role by number."""
        if self.history:
            return tuple(sorted(self.history, key=lambda r: (ROLES.index(r.role), r.number)))
        return (KeyRecord(SIGNING, 1, self.ed25519_public), KeyRecord(ANCHORING, 1, self.secp256k1_public))

    def record(self, role: str, number: int) -> KeyRecord:
        for r in self.records():
            if r.role == role and r.number == number:
                return r
        raise OptionError(f"{self.did} has no {role} key {number} (it has: "
                          f"{', '.join(str(r.number) for r in self.records() if r.role == role)})")

    def current(self, role: str) -> KeyRecord:
        public = self.ed25519_public if role == SIGNING else self.secp256k1_public
        return next(r for r in self.records() if r.role == role and r.public == public)

    def method_id(self, record: KeyRecord, chain_id: int | None = None) -> str:
        """The verification method id of ``record`` (an anchoring key has one per chain)."""
        if record.role == SIGNING:
            return f"{self.did}#key-{record.number}"
        if chain_id is None:
            raise ValueError("an anchoring key's method id needs a chain id")
        return f"{self.did}#{anchoring_fragment(chain_id, record.number)}"

    @property
    def signing_method(self) -> str:
        if self.did.startswith("did:key:"):
            return f"{self.did}#{self.did.removeprefix('did:key:')}"
        return self.method_id(self.current(SIGNING))

    def anchoring_method(self, chain_id: int, address: str | None = None) -> str | None:
        """The id of the method binding the anchoring address on ``chain_id`` (what a merkle proof names): the
        current address's, or that of ``address`` when it is one of this identity's (a batch anchored before a
        rotation names the address that sent it)."""
        # did:key documents are derived from the key alone and cannot bind a second key.
        if self.did.startswith("did:key:"):
            return None
        if address is None:
            return self.method_id(self.current(ANCHORING), chain_id)
        for r in self.records():
            if r.role == ANCHORING and r.address.lower() == address.lower():
                return self.method_id(r, chain_id)
        raise ValueError(f"{address} is none of {self.did}'s anchoring addresses")

    def signer(self):
        """A sign(bytes) -> bytes callable; the key object stays inside it."""
        return self._signing_key.sign

    def bound_chains(self, document: Any) -> set[int]:
        """The chains on which ``document`` (an earlier did.json of this DID) binds one of this identity's anchoring
        addresses (the current one or an earlier one)."""
        if not isinstance(document, dict) or document.get("id") != self.did:
            return set()
        ours = {r.address.lower() for r in self.records() if r.role == ANCHORING}
        chains = set()
        for method in document.get("verificationMethod") or []:
            account = method.get("blockchainAccountId") if isinstance(method, dict) else None
            try:
                bound = vkeys.parse_blockchain_account_id(account) if isinstance(account, str) else None
            except vkeys.KeyFormatError:
                bound = None
            if bound is not None and bound.address.lower() in ours:
                chains.add(bound.chain_id)
        return chains

    def method(self, record: KeyRecord, chain_id: int | None = None) -> dict[str, Any]:
        """The verification method of ``record`` with its history members (created, retired, revoked when set)."""
        if record.role == SIGNING:
            vm: dict[str, Any] = {
                "id": self.method_id(record), "type": "Multikey", "controller": self.did,
                "publicKeyMultibase": vkeys.encode_multikey(vkeys.PublicKey("Ed25519", record.public)),
            }
        else:
            vm = {
                "id": self.method_id(record, chain_id), "type": ANCHORING_METHOD_TYPE, "controller": self.did,
                "publicKeyJwk": vkeys.public_key_to_jwk(vkeys.PublicKey("secp256k1", record.public)),
                "blockchainAccountId": f"eip155:{chain_id}:{record.address}",
            }
        for member in ("created", "retired", "revoked"):
            if getattr(record, member) is not None:
                vm[member] = getattr(record, member)
        return vm

    def did_document(self, chain_ids: int | Iterable[int] | None = None) -> dict[str, Any]:
        """The DID document: every key ever used, each anchoring key bound on each chain of ``chain_ids``; the
        current keys (neither retired nor revoked) are its ``assertionMethod``."""
        if self.did.startswith("did:key:"):
            return vkeys.did_key_document(self.did)
        if chain_ids is None:
            chain_ids = ()
        elif isinstance(chain_ids, int):
            chain_ids = (chain_ids,)
        chains = sorted(set(chain_ids))
        methods: list[dict[str, Any]] = []
        current: list[str] = []
        for record in self.records():
            for chain in ([None] if record.role == SIGNING else chains):
                vm = self.method(record, chain)
                methods.append(vm)
                if record.active:
                    current.append(vm["id"])
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": current,
        }

    def key_event(self, change: KeyChange, chain_id: int) -> tuple[bytes, int, bytes, str]:
        """(keyId, kind, detail, method id) of ``change`` on ``chain_id``, as ``recordKeyEvent`` takes them: the
        detail binds the method's key material (zero for a revocation: nothing of a lost key needs binding)."""
        record = self.record(change.role, change.number)
        vm = self.method(record, chain_id)
        detail = bytes(32) if change.kind == KEY_REVOKED else method_digest(vm)
        return key_id_of(vm["id"]), change.kind, detail, vm["id"]


# ── creation and the key file ─────────────────────────────────────────────────────────────────────────────────
def new_identity(did: str | None, *, now: datetime | None = None) -> IssuerIdentity:
    """Fresh keys for the did:web ``did`` (dated ``now``), or for the did:key they derive when ``did`` is None."""
    if did is not None:
        check_issuer_did(did)
    seed = secrets.token_bytes(32)
    secp = coincurve.PrivateKey().secret
    if did is None:
        return IssuerIdentity(vkeys.did_key_from_ed25519(_ed25519_public(seed)), seed, secp)
    when = xsd(now or datetime.now(timezone.utc))
    history = (KeyRecord(SIGNING, 1, _ed25519_public(seed), created=when),
               KeyRecord(ANCHORING, 1, _secp256k1_public(secp), created=when))
    return IssuerIdentity(did, seed, secp, history)


@dataclass(frozen=True)
class KeyFile:
    """What ``<data>/issuer/keys.json`` holds: the identity, the anchoring secret being rotated out (until it has
    recorded its retirement), and the ledger events still to record."""

    identity: IssuerIdentity
    retiring_secret: bytes | None = field(default=None, repr=False)
    pending: tuple[KeyChange, ...] = ()
    recorded: tuple[dict[str, Any], ...] = ()  # {"method", "kind", "chain_id", "tx", "block", "time"}


def read_key_file(path: Path) -> KeyFile:
    try:
        data = json.loads(path.read_text("utf-8"))
        history = tuple(KeyRecord.from_json(r) for r in data.get("history") or [])
        identity = IssuerIdentity(data["did"], bytes.fromhex(data["ed25519_seed"]),
                                  bytes.fromhex(data["secp256k1_secret"]), history)
        retiring = data.get("retiring_secp256k1_secret")
        return KeyFile(identity, bytes.fromhex(retiring) if retiring else None,
                       tuple(KeyChange.from_json(c) for c in data.get("pending_events") or []),
                       tuple(data.get("recorded_events") or []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputFileError(path, f"unreadable issuer key file ({type(exc).__name__})") from None


def write_key_file(path: Path, keyfile: KeyFile, *, create: bool = False) -> None:
    """Writes the key file atomically (a new file, mode 0600, renamed over the old): a crash leaves one or the other.
    With ``create``, an existing file is never replaced (``FileExistsError``): two first runs cannot both win."""
    identity = keyfile.identity
    data: dict[str, Any] = {"did": identity.did, "ed25519_seed": identity.ed25519_seed.hex(),
                            "secp256k1_secret": identity.secp256k1_secret.hex()}
    if identity.history:
        data["history"] = [r.to_json() for r in identity.records()]
    if keyfile.retiring_secret is not None:
        data["retiring_secp256k1_secret"] = keyfile.retiring_secret.hex()
    if keyfile.pending:
        data["pending_events"] = [c.to_json() for c in keyfile.pending]
    if keyfile.recorded:
        data["recorded_events"] = list(keyfile.recorded)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if create:
            os.link(tmp, path)  # fails if the file exists meanwhile
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_create_identity(path: Path, did: str | None) -> IssuerIdentity:
    """Keys for `did` from `path`, created (mode 0600) on first use. A file holding another DID is an error."""
    if path.exists():
        keyfile = read_key_file(path)
        identity = keyfile.identity
        if did is not None and identity.did != did:
            raise InputFileError(path, f"holds the keys of {identity.did}, not of {did}; use another --data-dir")
        if keyfile.pending:
            # A new anchoring key used before its "added" event is on the ledger would read as not yet the issuer's.
            raise OptionError(f"{len(keyfile.pending)} key event(s) of {identity.did} are not yet recorded on the "
                              "ledger; run `anchorcred keys record` first")
        return identity
    identity = new_identity(did)
    write_key_file(path, KeyFile(identity), create=True)
    return identity
