"""Sealing the tenants' private keys with the service's master secret (``ISSUER_SECRET_KEY``).

AES-256-GCM with a key derived by HKDF-SHA256 from the master secret. The associated data (``aad``) binds a blob to
where it belongs (a tenant's DID and the key's role), so a blob copied into another row does not open.

Blob layout (version 1): ``0x01 || key id (4 bytes) || nonce (12 bytes) || ciphertext || tag (16 bytes)``. The key id
is a second HKDF output of the master secret, not the key: it tells "sealed under another master secret" apart from
"damaged or misplaced" in the error, and reveals nothing about the key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from issuer.store.errors import SecretBoxError

__all__ = ["SecretBox"]

VERSION = 1
_SALT = b"anchorcred issuer secretbox"
_HEADER = 1 + 4 + 12
MIN_MASTER_LENGTH = 16


def _derive(master: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info).derive(master)


class SecretBox:
    """``seal``/``open`` small secrets under one master secret. The master secret is not kept, only derived keys."""

    def __init__(self, master: str):
        if not isinstance(master, str) or len(master) < MIN_MASTER_LENGTH:
            raise ValueError(f"the master secret must be a string of at least {MIN_MASTER_LENGTH} characters")
        raw = master.encode("utf-8")
        self._aead = AESGCM(_derive(raw, b"aes-256-gcm key v1", 32))
        self.key_id = _derive(raw, b"key id v1", 4)

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id.hex()})"

    def seal(self, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return bytes([VERSION]) + self.key_id + nonce + self._aead.encrypt(nonce, bytes(data), bytes(aad))

    def open(self, blob: bytes, aad: bytes) -> bytes:
        blob = bytes(blob)
        if len(blob) < _HEADER + 16 or blob[0] != VERSION:
            raise SecretBoxError(f"sealed secret for {_where(aad)}: not a version-{VERSION} blob (damaged?)")
        if blob[1:5] != self.key_id:
            raise SecretBoxError(
                f"sealed secret for {_where(aad)}: sealed under another master secret "
                f"(key id {blob[1:5].hex()}, ours {self.key_id.hex()}): is ISSUER_SECRET_KEY the one the tenant was "
                "created with?")
        try:
            return self._aead.decrypt(blob[5:17], blob[17:], bytes(aad))
        except InvalidTag:
            raise SecretBoxError(f"sealed secret for {_where(aad)}: does not open (damaged, or it belongs to "
                                 "another record)") from None


def _where(aad: bytes) -> str:
    return bytes(aad).decode("utf-8", "replace")[:200]
