"""The wallet's store: credentials, their verification reports and their evidence, encrypted at rest.

A wallet is a folder (format in docs/wallet.md, "Store"):

    wallet.json             plaintext header: format name and version, KDF and its parameters, salt, and two sealed
                            values: ``check`` (a known text: a wrong passphrase fails here, with a clear error) and
                            ``holder`` (the learner's Ed25519 did:key secret)
    settings.json           plaintext, nothing secret: the verifier URL shares point at, the networks file to read
    entries/<id>.acw        one sealed credential entry each (credential, report, evidence kept for offline bundles)

Key: scrypt (RFC 7914; N=2^15, r=8, p=1: 32 MiB and ~0.1 s per opening) of the passphrase and a random 16-byte salt
gives a 32-byte key; every value is sealed with AES-256-GCM under a fresh 96-bit nonce, with associated data naming
the format, its version and the value's slot (``check``, ``holder``, ``entry/<id>``), so a file moved into another
slot or taken from another wallet fails authentication instead of being read as something else.

Writes are atomic (a temporary file in the same folder, fsync, rename) and serialised by an advisory lock on
``wallet.lock``, so the CLI and the wallet's page can both write. Files are owner-only (0600, folder 0700).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from verifier.keys import did_key_from_ed25519
from wallet.errors import (
    EntryNotFoundError,
    StoreFormatError,
    WalletError,
    WalletExistsError,
    WalletNotFoundError,
    WrongPassphraseError,
)

FORMAT = "anchorcred-wallet"
VERSION = 1
HEADER = "wallet.json"
SETTINGS = "settings.json"
ENTRIES = "entries"
ENTRY_SUFFIX = ".acw"
ENTRY_MAGIC = b"ACW1"  # entry file: magic, 12-byte nonce, AES-GCM ciphertext and tag
CHECK_TEXT = b"anchorcred-wallet check v1"
NONCE_BYTES = 12
SALT_BYTES = 16

DEFAULT_KDF = {"name": "scrypt", "n": 2**15, "r": 8, "p": 1}
MAX_SCRYPT_N = 2**20  # a header asking for more is refused (a crafted file must not make opening take minutes)
MIN_SCRYPT_N = 2**10  # tests may lower the cost; nothing real goes below this
MAX_ENTRY_BYTES = 8 << 20  # an entry holds a credential (≤ 2 MiB) and its evidence; far above any real one
MAX_HEADER_BYTES = 64 << 10
MAX_ENTRIES = 10_000
MIN_PASSPHRASE = 8
_ENTRY_ID = re.compile(r"^[0-9a-f]{12}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise StoreFormatError(f"{what}: expected base64url text, got {type(text).__name__}")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise StoreFormatError(f"{what}: not base64url ({exc})") from exc


def _aad(slot: str) -> bytes:
    return f"{FORMAT}/{VERSION}/{slot}".encode("ascii")


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class KdfParams:
    n: int
    r: int
    p: int
    salt: bytes

    def to_json(self) -> dict[str, Any]:
        return {"name": "scrypt", "n": self.n, "r": self.r, "p": self.p, "salt": _b64(self.salt)}

    @classmethod
    def from_json(cls, data: Any, where: str) -> KdfParams:
        if not isinstance(data, dict) or data.get("name") != "scrypt":
            raise StoreFormatError(f"{where}: kdf: expected scrypt, got {data!r:.80}")
        n, r, p = data.get("n"), data.get("r"), data.get("p")
        for name, value in (("n", n), ("r", r), ("p", p)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise StoreFormatError(f"{where}: kdf.{name}: expected a positive integer, got {value!r}")
        if n & (n - 1) or not MIN_SCRYPT_N <= n <= MAX_SCRYPT_N or r > 32 or p > 16:
            raise StoreFormatError(f"{where}: kdf parameters n={n}, r={r}, p={p} outside what this wallet accepts "
                                   f"(n a power of two from {MIN_SCRYPT_N} to {MAX_SCRYPT_N}, r ≤ 32, p ≤ 16)")
        salt = _unb64(data.get("salt"), f"{where}: kdf.salt")
        if len(salt) < SALT_BYTES:
            raise StoreFormatError(f"{where}: kdf.salt: expected at least {SALT_BYTES} bytes, got {len(salt)}")
        return cls(n, r, p, salt)

    def derive(self, passphrase: str) -> bytes:
        return Scrypt(salt=self.salt, length=32, n=self.n, r=self.r, p=self.p).derive(passphrase.encode("utf-8"))


class _Box:
    """AES-256-GCM under the derived key; the slot is the associated data."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def seal(self, slot: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, _aad(slot))

    def open(self, slot: str, sealed: bytes) -> bytes:
        if len(sealed) < NONCE_BYTES + 16:
            raise InvalidTag()
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(slot))


@dataclass(frozen=True)
class Entry:
    """One credential in the wallet, with what the wallet learned about it."""

    id: str
    credential: dict[str, Any]
    added: str
    source: dict[str, Any]  # {"kind": "link"|"qr"|"file", "url": share URL or None, "name": file name or None}
    report: dict[str, Any] | None = None  # the last verification report (verifier.report.Report.to_json())
    evidence: dict[str, Any] = field(default_factory=dict)  # e.g. {"issuer_did_document": {...}, "did_source": ...}

    @property
    def credential_id(self) -> str | None:
        cid = self.credential.get("id")
        return cid if isinstance(cid, str) else None

    @property
    def verdict(self) -> str | None:
        return self.report.get("verdict") if isinstance(self.report, dict) else None

    @property
    def share_url(self) -> str | None:
        url = self.source.get("url")
        return url if isinstance(url, str) else None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "credential": self.credential, "added": self.added, "source": self.source,
                "report": self.report, "evidence": self.evidence}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Entry:
        if not isinstance(data, dict) or not isinstance(data.get("credential"), dict):
            raise StoreFormatError(f"{where}: not a wallet entry (no credential object)")
        return cls(id=str(data.get("id")), credential=data["credential"], added=str(data.get("added") or ""),
                   source=data.get("source") if isinstance(data.get("source"), dict) else {},
                   report=data.get("report") if isinstance(data.get("report"), dict) else None,
                   evidence=data.get("evidence") if isinstance(data.get("evidence"), dict) else {})


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StoreFormatError(f"{path}: cannot read {what} ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > limit:
        raise StoreFormatError(f"{path}: {what} larger than the {limit}-byte limit")
    return data


class Wallet:
    """An opened wallet: the holder's key and the credentials, decrypted on demand."""

    def __init__(self, path: Path, box: _Box, holder_secret: bytes):
        self.path = path
        self._box = box
        self._holder = Ed25519PrivateKey.from_private_bytes(holder_secret)
        raw = self._holder.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.holder_did = did_key_from_ed25519(raw)

    # ── creating and opening ──────────────────────────────────────────────────────────────────────────────────
    @classmethod
    def create(cls, path: Path, passphrase: str, *, kdf: dict[str, int] | None = None) -> Wallet:
        """A new wallet in ``path`` (made if absent, must hold no wallet) with a new holder did:key."""
        path = Path(path)
        if len(passphrase) < MIN_PASSPHRASE:
            raise ValueError(f"a wallet passphrase needs at least {MIN_PASSPHRASE} characters")
        if (path / HEADER).exists():
            raise WalletExistsError(f"{path}: a wallet is already here (it is never overwritten)")
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
        (path / ENTRIES).mkdir(exist_ok=True, mode=0o700)
        cost = {**DEFAULT_KDF, **(kdf or {})}
        params = KdfParams(cost["n"], cost["r"], cost["p"], secrets.token_bytes(SALT_BYTES))
        KdfParams.from_json(params.to_json(), "new wallet")  # the same limits as reading
        box = _Box(params.derive(passphrase))
        secret = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        header = {
            "format": FORMAT, "version": VERSION, "created": now_iso(), "kdf": params.to_json(), "cipher": "AES-256-GCM",
            "check": _b64(box.seal("check", CHECK_TEXT)),
            "holder": _b64(box.seal("holder", json.dumps({"type": "Ed25519", "secret": _b64(secret)}).encode())),
        }
        with _locked(path):
            if (path / HEADER).exists():
                raise WalletExistsError(f"{path}: a wallet is already here (it is never overwritten)")
            _write_atomic(path / HEADER, json.dumps(header, indent=2).encode("utf-8"))
        return cls(path, box, secret)

    @classmethod
    def open(cls, path: Path, passphrase: str) -> Wallet:
        path = Path(path)
        where = str(path / HEADER)
        try:
            raw = _read_limited(path / HEADER, MAX_HEADER_BYTES, "the wallet header")
        except FileNotFoundError:
            raise WalletNotFoundError(f"{path}: no wallet here (make one with: anchorcred wallet init)") from None
        try:
            header = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreFormatError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise StoreFormatError(f"{where}: not an anchorcred wallet header")
        if header.get("version") != VERSION:
            raise StoreFormatError(f"{where}: wallet format version {header.get('version')!r}; this anchorcred reads "
                                   f"version {VERSION}")
        if header.get("cipher") != "AES-256-GCM":
            raise StoreFormatError(f"{where}: cipher {header.get('cipher')!r} is not AES-256-GCM")
        box = _Box(KdfParams.from_json(header.get("kdf"), where).derive(passphrase))
        try:
            check = box.open("check", _unb64(header.get("check"), f"{where}: check"))
        except InvalidTag:
            raise WrongPassphraseError(f"{path}: wrong passphrase (it does not open this wallet)") from None
        if check != CHECK_TEXT:
            raise StoreFormatError(f"{where}: the key check decrypted to unexpected text")
        try:
            holder = json.loads(box.open("holder", _unb64(header.get("holder"), f"{where}: holder")))
            secret = _unb64(holder["secret"], f"{where}: holder secret")
        except (InvalidTag, ValueError, KeyError, TypeError) as exc:
            raise StoreFormatError(f"{where}: the holder key is damaged or was altered") from exc
        if len(secret) != 32:
            raise StoreFormatError(f"{where}: the holder key is not a 32-byte Ed25519 secret")
        return cls(path, box, secret)

    # ── the holder ────────────────────────────────────────────────────────────────────────────────────────────
    @property
    def holder_method(self) -> str:
        """The verification method of the holder's did:key (did:key spec: the fragment is the multikey itself)."""
        return f"{self.holder_did}#{self.holder_did.removeprefix('did:key:')}"

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature by the holder's key (the key itself never leaves this object)."""
        return self._holder.sign(data)

    # ── settings (plaintext, nothing secret) ───────────────────────────────────────────────────────────────────
    def settings(self) -> dict[str, Any]:
        try:
            data = json.loads(_read_limited(self.path / SETTINGS, MAX_HEADER_BYTES, "the settings"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreFormatError(f"{self.path / SETTINGS}: not JSON ({exc})") from exc
        return data if isinstance(data, dict) else {}

    def update_settings(self, **values: Any) -> dict[str, Any]:
        with _locked(self.path):
            current = self.settings()
            current.update({k: v for k, v in values.items() if v is not None})
            _write_atomic(self.path / SETTINGS, json.dumps(current, indent=2).encode("utf-8"))
        return current

    # ── entries ───────────────────────────────────────────────────────────────────────────────────────────────
    def _entry_path(self, entry_id: str) -> Path:
        if not _ENTRY_ID.match(entry_id):
            raise EntryNotFoundError(f"{entry_id!r:.40} is not a wallet entry id (12 hex digits)")
        return self.path / ENTRIES / f"{entry_id}{ENTRY_SUFFIX}"

    def _ids(self) -> list[str]:
        folder = self.path / ENTRIES
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(ENTRY_SUFFIX)] for p in folder.iterdir()
                      if p.name.endswith(ENTRY_SUFFIX) and _ENTRY_ID.match(p.name[: -len(ENTRY_SUFFIX)]))

    def _load(self, entry_id: str) -> Entry:
        path = self._entry_path(entry_id)
        try:
            sealed = _read_limited(path, MAX_ENTRY_BYTES + 64, "a wallet entry")
        except FileNotFoundError:
            raise EntryNotFoundError(f"no credential {entry_id} in the wallet {self.path}") from None
        if not sealed.startswith(ENTRY_MAGIC):
            raise StoreFormatError(f"{path}: not a wallet entry file (bad magic)")
        try:
            plain = self._box.open(f"entry/{entry_id}", sealed[len(ENTRY_MAGIC):])
        except InvalidTag:
            raise StoreFormatError(f"{path}: entry does not authenticate (altered, damaged, or moved from another "
                                   "slot or wallet)") from None
        try:
            data = json.loads(plain)
        except ValueError as exc:
            raise StoreFormatError(f"{path}: entry is not JSON ({exc})") from exc
        entry = Entry.from_json(data, str(path))
        if entry.id != entry_id:
            raise StoreFormatError(f"{path}: entry claims id {entry.id!r}")
        return entry

    def entries(self) -> list[Entry]:
        """Every credential, oldest first."""
        return sorted((self._load(i) for i in self._ids()), key=lambda e: (e.added, e.id))

    def get(self, ref: str) -> Entry:
        """The entry named by its id, a unique prefix of it (at least 4 digits), or its credential's id."""
        ref = ref.strip()
        ids = self._ids()
        if ref in ids:
            return self._load(ref)
        if len(ref) >= 4 and re.fullmatch(r"[0-9a-f]+", ref):
            matches = [i for i in ids if i.startswith(ref)]
            if len(matches) == 1:
                return self._load(matches[0])
            if len(matches) > 1:
                raise EntryNotFoundError(f"{ref!r} matches {len(matches)} credentials; give more digits")
        for entry in self.entries():
            if entry.credential_id == ref:
                return entry
        raise EntryNotFoundError(f"no credential {ref!r:.80} in the wallet {self.path} (see: anchorcred wallet list)")

    def find_credential(self, credential_id: str | None) -> Entry | None:
        if credential_id is None:
            return None
        return next((e for e in self.entries() if e.credential_id == credential_id), None)

    def add(self, credential: dict[str, Any], *, source: dict[str, Any], report: dict[str, Any] | None,
            evidence: dict[str, Any] | None = None, replace: bool = False) -> Entry:
        """Keep a credential. One entry per credential id: the same credential again replaces the entry only with
        ``replace`` (a claim link that now serves the anchored form), else it is an error naming the entry."""
        existing = self.find_credential(credential.get("id") if isinstance(credential.get("id"), str) else None)
        if existing is not None and not replace:
            raise WalletError(f"credential {existing.credential_id} is already in the wallet as {existing.id}")
        if existing is None and len(self._ids()) >= MAX_ENTRIES:
            raise WalletError(f"the wallet holds {MAX_ENTRIES} credentials, its limit")
        entry = Entry(id=existing.id if existing else secrets.token_hex(6), credential=credential,
                      added=existing.added if existing else now_iso(), source=source, report=report,
                      evidence=evidence or {})
        self.save(entry)
        return entry

    def save(self, entry: Entry) -> None:
        plain = json.dumps(entry.to_json(), ensure_ascii=False).encode("utf-8")
        if len(plain) > MAX_ENTRY_BYTES:
            raise WalletError(f"entry {entry.id}: {len(plain)} bytes, over the {MAX_ENTRY_BYTES}-byte limit")
        sealed = ENTRY_MAGIC + self._box.seal(f"entry/{entry.id}", plain)
        with _locked(self.path):
            (self.path / ENTRIES).mkdir(exist_ok=True, mode=0o700)
            _write_atomic(self._entry_path(entry.id), sealed)

    def remove(self, ref: str) -> Entry:
        entry = self.get(ref)
        with _locked(self.path):
            self._entry_path(entry.id).unlink(missing_ok=True)
        return entry


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on the wallet folder for one write."""
    with open(path / "wallet.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


__all__ = ["Entry", "Wallet", "DEFAULT_KDF", "FORMAT", "VERSION"]
