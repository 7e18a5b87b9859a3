"""Unsigned transactions built by the facade, and the checks a signed one passes before it is broadcast.

EBSI's write flow: a JSON-RPC build method returns an unsigned transaction; the client signs it with its secp256k1
key and submits it with ``sendSignedTransaction``. The facade remembers what it built (bounded, for a while) and
broadcasts a signed transaction only if it is exactly that: signed by ``from``, for this chain, to the same contract,
calling the same method with the same arguments, with the same nonce, gas, price and value. Each difference is
refused with a problem that names the field, expected vs actual. A transaction is broadcast at most once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import rlp
from eth_account import Account
from web3 import Web3

from ebsi.errors import ForbiddenError, InvalidParamsError, TransactionMismatchError
from ebsi.ledger import EbsiLedger
from ebsi.service.auth import Token
from ebsi.service.methods import API_CONTRACTS, Method
from verifier.ledger.base import keccak256

__all__ = ["Built", "TransactionDesk"]


@dataclass(frozen=True)
class Built:
    api: str
    method: str
    sender: str  # EIP-55
    to: str  # EIP-55
    data: bytes
    nonce: int
    chain_id: int
    gas: int
    gas_price: int
    value: int
    created: float

    def unsigned(self) -> dict[str, Any]:
        """The unsigned transaction as EBSI's build methods return it (quantities as 0x hex)."""
        return {"from": self.sender, "to": self.to, "data": "0x" + self.data.hex(), "value": hex(self.value),
                "nonce": hex(self.nonce), "chainId": hex(self.chain_id), "gasLimit": hex(self.gas),
                "gasPrice": hex(self.gas_price)}


def unsigned_key(unsigned: Any) -> str:
    """A digest of an unsigned transaction's fields (case and key order do not matter)."""
    if not isinstance(unsigned, dict):
        raise InvalidParamsError("params[0].unsignedTransaction must be the object the build method returned")
    fields = {}
    for name in ("from", "to", "data", "value", "nonce", "chainId", "gasLimit", "gasPrice"):
        value = unsigned.get(name)
        if not isinstance(value, str):
            raise InvalidParamsError(f"params[0].unsignedTransaction.{name} must be a 0x hex string")
        fields[name] = value.lower()
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _abi_type(param: dict) -> str:
    """The canonical ABI type of a parameter (tuples spelled out, as selectors need)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + kind[len("tuple"):]
    return kind


def _hex_int(value: Any) -> int | None:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            return None
    return None


class TransactionDesk:
    def __init__(self, ledger: EbsiLedger, *, max_pending: int, ttl: float):
        self._ledger = ledger
        self._max = max_pending
        self._ttl = ttl
        self._pending: OrderedDict[str, Built] = OrderedDict()
        self._lock = threading.Lock()
        self._selectors = {}
        for contract_name, contract in ledger.contracts.items():
            for entry in contract.abi:
                if entry.get("type") == "function":
                    signature = f"{entry['name']}({','.join(_abi_type(i) for i in entry['inputs'])})"
                    self._selectors[keccak256(signature.encode())[:4]] = f"{contract_name}.{entry['name']}"

    # ---- build
    def build(self, method: Method, sender: str, args: list[Any], token: Token) -> Built:
        if not method.scopes & token.scopes:
            raise ForbiddenError(f"{method.name} needs an access token with scope {' or '.join(sorted(method.scopes))}"
                                 f"; this token has {' '.join(sorted(token.scopes)) or 'none'}")
        if sender.lower() != token.address.lower():
            raise ForbiddenError(f"the access token is for {token.address} ({token.subject}), the transaction would "
                                 f"be from {Web3.to_checksum_address(sender)}")
        contract = API_CONTRACTS[method.api]
        try:
            data = self._ledger.encode(contract, method.function, args)
        except (TypeError, ValueError) as exc:  # web3 refuses arguments of the wrong ABI type
            raise InvalidParamsError(f"{method.name}: arguments do not fit the contract: {exc}") from exc
        sender = Web3.to_checksum_address(sender)
        to = self._ledger.address_of(contract)
        self._ledger.ensure_funds(sender)
        call = {"from": sender, "to": to, "data": "0x" + data.hex(), "value": 0, "chainId": self._ledger.chain_id}
        gas = self._ledger.estimate_gas(call)  # a call that would revert is refused here, naming the contract error
        built = Built(method.api, method.name, sender, to, data, self._ledger.pending_nonce(sender),
                      self._ledger.chain_id, gas, self._ledger.gas_price(), 0, time.monotonic())
        with self._lock:
            self._expire()
            if len(self._pending) >= self._max:
                self._pending.popitem(last=False)  # the oldest unsigned one goes: it can be built again
            self._pending[unsigned_key(built.unsigned())] = built
        return built

    def _expire(self) -> None:
        cutoff = time.monotonic() - self._ttl
        while self._pending and next(iter(self._pending.values())).created < cutoff:
            self._pending.popitem(last=False)

    # ---- send
    def send(self, api: str, params: Any, token: Token) -> str:
        if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
            raise InvalidParamsError("sendSignedTransaction: params must be an array holding one object")
        p = params[0]
        if p.get("protocol", "eth") != "eth":
            raise InvalidParamsError(f"params[0].protocol must be 'eth', got {p.get('protocol')!r}")
        key = unsigned_key(p.get("unsignedTransaction"))
        with self._lock:
            self._expire()
            built = self._pending.get(key)
        if built is None or built.api != api:
            raise InvalidParamsError("params[0].unsignedTransaction is not one this API built (or it expired after "
                                     f"{int(self._ttl)}s): build it again with the method, then sign it")
        raw = p.get("signedRawTransaction")
        if not isinstance(raw, str) or not raw.startswith("0x") or len(raw) > 2 + 2 * 64 * 1024:
            raise InvalidParamsError("params[0].signedRawTransaction must be the 0x hex of the signed transaction")
        try:
            raw_bytes = bytes.fromhex(raw[2:])
        except ValueError as exc:
            raise InvalidParamsError("params[0].signedRawTransaction is not hex") from exc
        self._check(built, raw_bytes, p, token)
        with self._lock:
            if self._pending.pop(key, None) is None:  # a second submission of the same transaction
                raise InvalidParamsError("this transaction was already submitted")
        return self._ledger.broadcast(raw_bytes)

    def _check(self, built: Built, raw: bytes, p: dict, token: Token) -> None:
        if built.sender.lower() != token.address.lower():
            raise ForbiddenError(f"the access token is for {token.address}, the transaction is from {built.sender}")
        if raw[:1] and raw[0] < 0x7F:
            raise TransactionMismatchError(f"the signed transaction is of type {raw[0]}; the facade built a legacy "
                                           "(type 0) transaction: sign exactly the unsigned transaction",
                                           field="type")
        try:
            fields = rlp.decode(raw)
        except Exception as exc:  # rlp raises its own DecodingError family
            raise InvalidParamsError(f"params[0].signedRawTransaction is not an RLP transaction: {exc}") from exc
        if not isinstance(fields, list) or len(fields) != 9 or not all(isinstance(f, bytes) for f in fields):
            raise InvalidParamsError("params[0].signedRawTransaction is not a signed legacy transaction (9 fields)")
        nonce, gas_price, gas, to, value, data, v, r, s = fields
        v_int = _int(v)
        if v_int in (27, 28):
            raise TransactionMismatchError("the signature is not replay-protected (EIP-155): it names no chain; "
                                           f"sign for chain {built.chain_id}", field="chainId")
        chain_id = (v_int - 35) // 2
        if chain_id != built.chain_id:
            raise TransactionMismatchError(f"signed for chain {chain_id}, this ledger is chain {built.chain_id}",
                                           field="chainId")
        try:
            signer = Account.recover_transaction(raw)
        except Exception as exc:  # eth-account raises several kinds for a bad signature
            raise TransactionMismatchError(f"the signature does not verify: {exc}", field="signature") from exc
        if signer.lower() != built.sender.lower():
            raise TransactionMismatchError(f"signed by {signer}, but the transaction was built for {built.sender}",
                                           field="from")
        if len(to) != 20 or to.hex() != built.to[2:].lower():
            shown = "0x" + to.hex() if to else "no address (a contract creation)"
            raise TransactionMismatchError(f"sent to {shown}, but built for the {built.api} contract {built.to}",
                                           field="to")
        if data[:4] != built.data[:4]:
            called = self._selectors.get(data[:4], "0x" + data[:4].hex())
            raise TransactionMismatchError(f"calls {called}, but was built for {built.method}", field="method")
        if data != built.data:
            raise TransactionMismatchError(f"calls {built.method} with other arguments than were built "
                                           f"({len(data)} vs {len(built.data)} bytes of calldata)", field="data")
        for name, actual, expected in (("nonce", _int(nonce), built.nonce), ("gasLimit", _int(gas), built.gas),
                                       ("gasPrice", _int(gas_price), built.gas_price),
                                       ("value", _int(value), built.value)):
            if actual != expected:
                raise TransactionMismatchError(f"{name} is {actual}, the built transaction has {expected}",
                                               field=name)
        for name, actual in (("r", r), ("s", s), ("v", v)):
            given = p.get(name)
            if given is not None and _hex_int(given) != _int(actual):
                raise TransactionMismatchError(f"params[0].{name} differs from the signature in signedRawTransaction",
                                               field=name)
