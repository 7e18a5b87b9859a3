"""A Python client of the EBSI-like ledger: reads (``verifier.ledger.ebsi.EbsiReadClient``) and writes, the EBSI way.

A write is four steps, each visible here: get a bearer token for the scope (a request signed with the writer's
secp256k1 key, ``ebsi.service.auth``), ask the API's JSON-RPC to build the unsigned transaction, sign it locally (the
key never leaves this process), submit it with ``sendSignedTransaction``; then wait for its receipt through the
ledger proxy. The issuer's ``ebsi`` ledger backend (``issuer.ledger.ebsi``) anchors with it; tests and the trust-mark
tools register DIDs and accreditations with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account

from ebsi.errors import EbsiError, EbsiUnavailableError
from verifier import keys
from verifier.ledger.ebsi import EbsiReadClient, timestamp_id

__all__ = ["EbsiClient", "EbsiWriteError", "SentTransaction"]

SCOPE_OF_API = {"timestamp": "timestamp_write", "trusted-issuers-registry": "tir_write", "did-registry": "didr_write"}
API_VERSIONS = {"timestamp": "v4", "trusted-issuers-registry": "v5", "did-registry": "v5"}
TOKEN_MARGIN = 30  # seconds: a token this close to expiry is renewed first


class EbsiWriteError(EbsiError):
    """The facade refused a request; ``status`` and ``problem`` are its HTTP status and problem details."""

    def __init__(self, message: str, *, status: int, problem: dict | None = None):
        self.status = status
        self.problem = problem or {}
        super().__init__(message)


@dataclass(frozen=True)
class SentTransaction:
    tx_hash: str
    block_number: int
    status_ok: bool
    receipt: dict


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class EbsiClient:
    """Reads and writes for one writer: ``secret`` is its 32-byte secp256k1 key; ``subject`` the DID it acts for
    (None: its own account, ``eip155:<chainId>:<address>``, for timestamping without a registered DID)."""

    def __init__(self, base_url: str, secret: bytes | None = None, *, subject: str | None = None,
                 http: httpx.Client | None = None, timeout: float = 30.0, poll_interval: float = 0.2):
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        self._owns_http = http is None
        self.read = EbsiReadClient(self.base_url, client=self._http)
        self._secret = bytes(secret) if secret is not None else None
        self.account = Account.from_key(self._secret) if self._secret is not None else None
        self._subject = subject
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._tokens: dict[frozenset[str], tuple[str, float]] = {}
        self._chain_id: int | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> EbsiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- identity
    @property
    def address(self) -> str:
        if self.account is None:
            raise ValueError("this client has no key: it can read, not write")
        return self.account.address

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.read.chain_id()
        return self._chain_id

    @property
    def subject(self) -> str:
        return self._subject or f"eip155:{self.chain_id}:{self.address}"

    def public_key_uncompressed(self) -> bytes:
        """The 65-byte uncompressed secp256k1 public key (what insertDidDocument takes)."""
        return self._private().public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def public_jwk(self) -> dict[str, str]:
        return keys.public_key_to_jwk(keys.PublicKey("secp256k1", keys.compress_secp256k1(self.public_key_uncompressed())))

    def _private(self) -> ec.EllipticCurvePrivateKey:
        if self._secret is None:
            raise ValueError("this client has no key: it can read, not write")
        return ec.derive_private_key(int.from_bytes(self._secret, "big"), ec.SECP256K1())

    # ---- tokens
    def token_request(self, *, audience: str | None = None, lifetime: int = 120) -> str:
        """The signed token request (a compact ES256K JWS, see ``ebsi.service.auth``)."""
        now = int(time.time())
        header = {"alg": "ES256K", "typ": "JWT", "jwk": self.public_jwk()}
        payload = {"iss": self.subject, "aud": audience or f"{self.base_url}/authorisation/v4/token", "iat": now,
                   "exp": now + lifetime, "jti": secrets.token_hex(16)}
        signing_input = f"{_b64u(json.dumps(header).encode())}.{_b64u(json.dumps(payload).encode())}"
        r, s = decode_dss_signature(self._private().sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + _b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def token(self, scopes: Iterable[str]) -> str:
        wanted = frozenset(scopes)
        with self._lock:
            cached = self._tokens.get(wanted)
            if cached and cached[1] - TOKEN_MARGIN > time.time():
                return cached[0]
        answer = self._post_form("/authorisation/v4/token", {"grant_type": "vp_token",
                                                             "scope": " ".join(["openid", *sorted(wanted)]),
                                                             "vp_token": self.token_request()})
        with self._lock:
            self._tokens[wanted] = (answer["access_token"], time.time() + int(answer["expires_in"]))
        return answer["access_token"]

    # ---- writes
    def build(self, api: str, method: str, params: dict[str, Any], *, scope: str | None = None) -> dict[str, Any]:
        """The unsigned transaction the API builds for ``method`` (``from`` is this client's address)."""
        token = self.token([scope or SCOPE_OF_API[api]])
        return self._rpc(api, method, [{"from": self.address, **params}], token)

    def sign(self, unsigned: dict[str, Any]) -> dict[str, Any]:
        """``sendSignedTransaction``'s params: the unsigned transaction, its signature and the signed raw bytes."""
        tx = {"nonce": int(unsigned["nonce"], 16), "gasPrice": int(unsigned["gasPrice"], 16),
              "gas": int(unsigned["gasLimit"], 16), "to": unsigned["to"], "value": int(unsigned["value"], 16),
              "data": unsigned["data"], "chainId": int(unsigned["chainId"], 16)}
        signed = Account.sign_transaction(tx, self._secret)
        return {"protocol": "eth", "unsignedTransaction": unsigned, "r": hex(signed.r), "s": hex(signed.s),
                "v": hex(signed.v), "signedRawTransaction": "0x" + bytes(signed.raw_transaction).hex()}

    def send(self, api: str, signed: dict[str, Any], *, scope: str | None = None) -> str:
        token = self.token([scope or SCOPE_OF_API[api]])
        return self._rpc(api, "sendSignedTransaction", [signed], token)

    def transact(self, api: str, method: str, params: dict[str, Any], *, scope: str | None = None) -> SentTransaction:
        """Build, sign, send, and wait for the receipt; a reverted transaction is an ``EbsiWriteError``."""
        unsigned = self.build(api, method, params, scope=scope)
        tx_hash = self.send(api, self.sign(unsigned), scope=scope)
        sent = self.wait(tx_hash)
        if not sent.status_ok:
            raise EbsiWriteError(f"{method}: transaction {tx_hash} was mined but reverted", status=200)
        return sent

    def wait(self, tx_hash: str) -> SentTransaction:
        deadline = time.monotonic() + self.timeout
        while True:
            receipt = self.read.rpc("eth_getTransactionReceipt", [tx_hash])
            if isinstance(receipt, dict):
                return SentTransaction(tx_hash, int(receipt["blockNumber"], 16), int(receipt["status"], 16) == 1,
                                       receipt)
            if time.monotonic() > deadline:
                raise EbsiUnavailableError(f"transaction {tx_hash} not mined within {self.timeout}s (it may still be)")
            time.sleep(self.poll_interval)

    # ---- the operations, by name
    def timestamp_hashes(self, hashes: list[bytes], *, data: bytes = b"", algorithm_id: int = 0
                         ) -> tuple[list[str], SentTransaction]:
        """Timestamps up to 3 hashes; returns their API-level timestamp ids and the mined transaction."""
        params: dict[str, Any] = {"hashAlgorithmIds": [algorithm_id] * len(hashes),
                                  "hashValues": ["0x" + bytes(h).hex() for h in hashes]}
        if data:
            params["timestampData"] = "0x" + data.hex()
        sent = self.transact("timestamp", "timestampHashes", params)
        return [timestamp_id(h) for h in hashes], sent

    def insert_did_document(self, did: str, *, v_method_id: str | None = None, not_before: int = 0,
                            not_after: int = 0, context: list[str] | None = None) -> SentTransaction:
        """Registers ``did`` with this client's key as its capabilityInvocation method (the client's subject must be
        ``did``: the token is a didr_invite token for it)."""
        base = {"@context": context or ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]}
        return self.transact("did-registry", "insertDidDocument", {
            "did": did, "baseDocument": json.dumps(base), "vMethodId": v_method_id or self.jwk_thumbprint(),
            "publicKey": "0x" + self.public_key_uncompressed().hex(), "isSecp256k1": True,
            "notBefore": not_before, "notAfter": not_after}, scope="didr_invite")

    def jwk_thumbprint(self) -> str:
        """RFC 7638 thumbprint of this client's public JWK (EBSI's recommended verification method id)."""
        jwk = self.public_jwk()
        canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
        return _b64u(hashlib.sha256(canonical.encode()).digest())

    # ---- HTTP
    def _rpc(self, api: str, method: str, params: list, token: str) -> Any:
        path = f"/{api}/{API_VERSIONS[api]}/jsonrpc"
        body = {"jsonrpc": "2.0", "id": secrets.randbelow(2**31), "method": method, "params": params}
        answer = self._post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        if "result" not in answer:
            raise EbsiWriteError(f"{method}: JSON-RPC answer without result", status=200)
        return answer["result"]

    def _post_form(self, path: str, form: dict[str, str]) -> dict:
        return self._post(path, data=form)

    def _post(self, path: str, **kwargs: Any) -> dict:
        try:
            response = self._http.post(self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise EbsiUnavailableError(f"POST {path} on {self.read.where}: {type(exc).__name__}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200:
            problem = answer if isinstance(answer, dict) else {}
            raise EbsiWriteError(f"POST {path}: {response.status_code} {problem.get('title', '')}: "
                                 f"{problem.get('detail', response.text[:200])}", status=response.status_code,
                                 problem=problem)
        if not isinstance(answer, dict):
            raise EbsiWriteError(f"POST {path}: answer is not a JSON object", status=response.status_code)
        return answer
