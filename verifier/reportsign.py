"""Signed verification reports: what a report states, its canonical JSON, and the verifier's signature over it.

An HR file keeps the PDF report for years, long after the verifier service that made it is gone, so the report
carries its own integrity: the verifier signs the report's content with its Ed25519 key (its did:key is printed in the
report) and embeds content and signature in the PDF (verifier/pdfreport.py). Anyone can check it offline with
``anchorcred verify-report FILE.pdf``.

- Content: the verified credential's digest and id, the verdict, every check, the recognition scorecard, the issuer
  and anchor summaries, the verification time and the report's time, and the SHA-256 of the PDF's page content.
- Canonical form: JCS (RFC 8785), so any JSON library can rebuild the signed bytes.
- Signature: a detached JWS (RFC 7515 Appendix F) with ``alg`` EdDSA (RFC 8037) and ``kid`` the did:key URL of the
  verifier's key: ``BASE64URL(header) + ".." + BASE64URL(signature)`` over ``BASE64URL(header) "." BASE64URL(JCS)``.
- The credential digest is ``sha256:`` + hex SHA-256 of the credential's JCS form (whitespace and key order do not
  change it; any change of a value does).

Pure apart from ``load_or_create_report_key`` (the one file it reads or writes). The private key is never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import AnchorcredError
from verifier.keys import KeyFormatError, decode_multikey, did_key_from_ed25519
from verifier.report import Report

REPORT_TYPE = "https://anchorcred.org/reports/verification/v1"
MAX_KEY_FILE_BYTES = 4096


class ReportSignatureError(AnchorcredError):
    """A signed report that does not verify: missing, malformed, another key, or changed content."""


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: str, what: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ReportSignatureError(f"{what}: expected base64url text, got {text[:40]!r}")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ReportSignatureError(f"{what}: not base64url ({exc})") from exc


def canonical_json(value: Any) -> bytes:
    """JCS (RFC 8785) bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValueError(f"value has no canonical JSON form: {exc}") from exc


def credential_digest(document: Any) -> str:
    """``sha256:<hex>`` of the credential's JCS form."""
    return "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()


@dataclass(frozen=True)
class ReportKey:
    """The verifier's report-signing key and its did:key."""

    private: Ed25519PrivateKey

    @property
    def did(self) -> str:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return did_key_from_ed25519(raw)

    @property
    def kid(self) -> str:
        """The did:key URL of the verification method (did:key §3.1.2: the fragment repeats the multikey)."""
        did = self.did
        return f"{did}#{did[len('did:key:'):]}"

    def __repr__(self) -> str:  # never print the private key, not even by accident in a log line
        return f"ReportKey({self.did})"

    def sign(self, content: dict[str, Any]) -> str:
        """The detached JWS over the content's JCS form."""
        header = _b64u(json.dumps({"alg": "EdDSA", "kid": self.kid}, separators=(",", ":")).encode("utf-8"))
        signing_input = f"{header}.{_b64u(canonical_json(content))}".encode("ascii")
        return f"{header}..{_b64u(self.private.sign(signing_input))}"


def generate_report_key() -> ReportKey:
    return ReportKey(Ed25519PrivateKey.generate())


def load_or_create_report_key(path: Path) -> tuple[ReportKey, bool]:
    """(key, created): the PEM (PKCS #8) key at ``path``, made there (mode 0600) if the file does not exist yet.

    Two services starting at once with one data folder both end up with the key that was written first.
    """
    path = Path(path)
    if not path.exists():
        key = generate_report_key()
        pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use that one
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            return key, True
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"report key {path}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > MAX_KEY_FILE_BYTES:
        raise ValueError(f"report key {path}: larger than {MAX_KEY_FILE_BYTES} bytes, not a PEM Ed25519 key")
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"report key {path}: expected an unencrypted PEM (PKCS #8) Ed25519 private key") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"report key {path}: expected an Ed25519 key, got {type(private).__name__}")
    return ReportKey(private), False


def report_content(report: Report, document: Any, *, verifier_did: str, generated_at: str) -> dict[str, Any]:
    """What the signed report states (without the page digest, which is added once the pages are drawn)."""
    card = report.recognition
    return {
        "type": REPORT_TYPE,
        "verifier": verifier_did,
        "generated_at": generated_at,
        "credential": {"id": report.credential_id, "digest": credential_digest(document), "source": report.source},
        "verdict": report.verdict.value,
        "verified_at": report.verified_at,
        "checks": [c.to_json() for c in report.checks],
        "recognition": card.to_json() if card is not None else None,
        "issuer": report.issuer,
        "anchor": report.anchor,
    }


def verify_report_signature(content: Any, jws: Any) -> str:
    """The signer's DID when ``jws`` is a valid detached EdDSA JWS over ``content`` by the did:key it names and
    the content names that same DID as its verifier; else ReportSignatureError saying what is wrong."""
    if not isinstance(content, dict):
        raise ReportSignatureError(f"report content: expected a JSON object, got {type(content).__name__}")
    if content.get("type") != REPORT_TYPE:
        raise ReportSignatureError(f"report content: type expected {REPORT_TYPE}, got {content.get('type')!r}")
    if not isinstance(jws, str) or jws.count(".") != 2:
        raise ReportSignatureError("signature: expected a detached JWS 'header..signature'")
    header_b64, payload_b64, signature_b64 = jws.split(".")
    if payload_b64:
        raise ReportSignatureError("signature: expected a detached JWS (empty payload part), got an attached one")
    try:
        header = json.loads(_unb64u(header_b64, "signature header"))
    except ValueError as exc:
        raise ReportSignatureError(f"signature header: not JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise ReportSignatureError(f"signature header: alg expected 'EdDSA', got {header!r:.80}")
    kid = header.get("kid")
    m = re.fullmatch(r"(did:key:(z[1-9A-HJ-NP-Za-km-z]+))#(z[1-9A-HJ-NP-Za-km-z]+)", kid if isinstance(kid, str) else "")
    if m is None or m.group(2) != m.group(3):
        raise ReportSignatureError(f"signature header: kid expected a did:key URL 'did:key:z…#z…', got {kid!r:.80}")
    did = m.group(1)
    if content.get("verifier") != did:
        raise ReportSignatureError(f"the report names verifier {content.get('verifier')!r} but was signed by {did}")
    try:
        key = decode_multikey(m.group(2))
    except KeyFormatError as exc:
        raise ReportSignatureError(f"signature header: kid: {exc.diagnostics()}") from exc
    if key.kind != "Ed25519":
        raise ReportSignatureError(f"signature header: kid expected an Ed25519 did:key, got a {key.kind} key")
    try:
        payload = canonical_json(content)
    except ValueError as exc:
        raise ReportSignatureError(f"report content: {exc}") from exc
    signing_input = f"{header_b64}.{_b64u(payload)}".encode("ascii")
    try:
        Ed25519PublicKey.from_public_bytes(key.raw).verify(_unb64u(signature_b64, "signature"), signing_input)
    except InvalidSignature:
        raise ReportSignatureError(
            f"the signature by {did} does not match the report content: the report was changed after signing"
        ) from None
    return did
