"""The wallet's store: encrypted at rest, a wrong passphrase named as such, altered or moved files refused."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.wallet.kit import PASSPHRASE, new_wallet
from wallet.errors import (
    EntryNotFoundError,
    StoreFormatError,
    WalletError,
    WalletExistsError,
    WalletNotFoundError,
    WrongPassphraseError,
)
from wallet.store import DEFAULT_KDF, ENTRIES, HEADER, Wallet

CREDENTIAL = {"id": "urn:uuid:0b0e6a36-1111-4c4e-9d0a-6f3f1ad4a001", "type": ["VerifiableCredential"],
              "credentialSubject": {"name": "Łukasz Żółć"}}


def _add(wallet: Wallet, credential=CREDENTIAL, **kw):
    return wallet.add(credential, source={"kind": "file", "name": "c.json"}, report={"verdict": "verified"}, **kw)


def test_create_then_open_with_the_default_cost_keeps_the_holder_and_the_credentials(tmp_path):
    wallet = Wallet.create(tmp_path / "w", PASSPHRASE)
    header = json.loads((tmp_path / "w" / HEADER).read_text())
    assert header["kdf"]["name"] == "scrypt" and header["kdf"]["n"] == DEFAULT_KDF["n"] == 2**15
    assert header["cipher"] == "AES-256-GCM" and header["version"] == 1
    entry = _add(wallet)
    again = Wallet.open(tmp_path / "w", PASSPHRASE)
    assert again.holder_did == wallet.holder_did and again.holder_did.startswith("did:key:z6Mk")
    assert [e.credential for e in again.entries()] == [CREDENTIAL]
    assert again.get(entry.id).report == {"verdict": "verified"}
    # The same key signs: a signature by the reopened wallet verifies with the first one's public key.
    assert again.sign(b"x") == wallet.sign(b"x")  # Ed25519 is deterministic


def test_nothing_readable_at_rest(tmp_path):
    wallet = new_wallet(tmp_path / "w")
    entry = _add(wallet)
    sealed = (tmp_path / "w" / ENTRIES / f"{entry.id}.acw").read_bytes()
    header = (tmp_path / "w" / HEADER).read_bytes()
    for secret in (b"urn:uuid:0b0e6a36", "Łukasz".encode(), wallet.holder_did.encode(), b"verified"):
        assert secret not in sealed and secret not in header
    assert stat.S_IMODE((tmp_path / "w").stat().st_mode) == 0o700
    for path in (tmp_path / "w" / HEADER, tmp_path / "w" / ENTRIES / f"{entry.id}.acw"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_wrong_passphrase_is_named_and_no_wallet_is_named(tmp_path):
    new_wallet(tmp_path / "w")
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        Wallet.open(tmp_path / "w", "not the passphrase")
    with pytest.raises(WalletNotFoundError, match="anchorcred wallet init"):
        Wallet.open(tmp_path / "elsewhere", PASSPHRASE)
    with pytest.raises(WalletExistsError, match="never overwritten"):
        new_wallet(tmp_path / "w")
    with pytest.raises(ValueError, match="at least 8"):
        Wallet.create(tmp_path / "short", "1234567")


def test_an_altered_entry_and_an_entry_moved_to_another_slot_are_refused(tmp_path):
    wallet = new_wallet(tmp_path / "w")
    first = _add(wallet)
    second = _add(wallet, {**CREDENTIAL, "id": "urn:uuid:second"})
    folder = tmp_path / "w" / ENTRIES
    data = bytearray((folder / f"{first.id}.acw").read_bytes())
    data[-5] ^= 1
    (folder / f"{first.id}.acw").write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match="does not authenticate"):
        wallet.get(first.id)
    # A whole valid entry file copied over another entry's name: sealed for its own slot, so refused there.
    (folder / f"{first.id}.acw").write_bytes((folder / f"{second.id}.acw").read_bytes())
    with pytest.raises(StoreFormatError, match="moved from another slot"):
        wallet.get(first.id)
    # An entry of another wallet (other key) is refused the same way.
    other = new_wallet(tmp_path / "other")
    foreign = _add(other)
    (folder / f"{foreign.id}.acw").write_bytes((tmp_path / "other" / ENTRIES / f"{foreign.id}.acw").read_bytes())
    with pytest.raises(StoreFormatError, match="does not authenticate"):
        wallet.get(foreign.id)


def test_header_versions_and_costs_outside_the_limits_are_refused(tmp_path):
    new_wallet(tmp_path / "w")
    path = tmp_path / "w" / HEADER
    original = json.loads(path.read_text())
    for change, message in (({"version": 2}, "version 2"), ({"format": "x"}, "not an anchorcred wallet"),
                            ({"kdf": {**original["kdf"], "n": 2**22}}, "outside what this wallet accepts"),
                            ({"kdf": {**original["kdf"], "n": 3000}}, "outside what this wallet accepts"),
                            ({"cipher": "AES-128-CBC"}, "not AES-256-GCM")):
        path.write_text(json.dumps({**original, **change}))
        with pytest.raises(StoreFormatError, match=message):
            Wallet.open(tmp_path / "w", PASSPHRASE)
    path.write_text(json.dumps({**original, "holder": original["check"]}))  # the check sealed as the holder: refused
    with pytest.raises(StoreFormatError, match="holder key is damaged or was altered"):
        Wallet.open(tmp_path / "w", PASSPHRASE)


def test_one_entry_per_credential_and_lookups_by_prefix_and_credential_id(tmp_path):
    wallet = new_wallet(tmp_path / "w")
    entry = _add(wallet)
    with pytest.raises(WalletError, match=f"already in the wallet as {entry.id}"):
        _add(wallet)
    replaced = wallet.add({**CREDENTIAL, "name": "new form"}, source={"kind": "link", "url": "https://x/share/a"},
                          report=None, replace=True)
    assert replaced.id == entry.id and replaced.added == entry.added and len(wallet.entries()) == 1
    assert wallet.get(entry.id[:5]).credential["name"] == "new form"
    assert wallet.get(CREDENTIAL["id"]).id == entry.id
    with pytest.raises(EntryNotFoundError, match="no credential"):
        wallet.get("urn:uuid:nobody")
    with pytest.raises(EntryNotFoundError, match="not a wallet entry id"):
        wallet._load("../../etc/passwd")
    assert wallet.remove(entry.id).id == entry.id and wallet.entries() == []


def test_settings_are_plain_and_hold_nothing_secret(tmp_path):
    wallet = new_wallet(tmp_path / "w")
    wallet.update_settings(verifier_url="https://verify.example", allow_http_hosts=["localhost"])
    assert wallet.settings() == {"verifier_url": "https://verify.example", "allow_http_hosts": ["localhost"]}
    assert PASSPHRASE not in (tmp_path / "w" / "settings.json").read_text()
    assert not any(name.startswith(".") for name in os.listdir(tmp_path / "w"))  # no temporary file left behind
