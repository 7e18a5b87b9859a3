"""The JSON-RPC write methods of the three APIs, as EBSI documents them: their parameters, the scope each needs, and
the contract call each becomes. Parameters are checked here, on the way in, with errors naming the parameter.

Every method takes one object, ``params[0]``, with ``from`` (the signer's address) and the method's own fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ebsi.errors import InvalidParamsError

__all__ = ["API_CONTRACTS", "METHODS", "Method", "parse_call"]

API_CONTRACTS = {"timestamp": "Timestamp", "trusted-issuers-registry": "TrustedIssuersRegistry",
                 "did-registry": "DidRegistry"}

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,240}")
MAX_ARRAY = 3
MAX_TEXT = 16_384


@dataclass(frozen=True)
class Method:
    api: str
    name: str
    function: str  # the contract function
    scopes: frozenset[str]  # any one of them will do
    parse: Callable[[dict, str], list[Any]]  # params[0], where -> the contract arguments


# ------------------------------------------------------------------------------------------------------ field readers


def _field(p: dict, name: str, where: str, *, optional: bool = False) -> Any:
    if name not in p:
        if optional:
            return None
        raise InvalidParamsError(f"{where}.{name} is required")
    return p[name]


def _did(p: dict, name: str, where: str) -> str:
    value = _field(p, name, where)
    if not isinstance(value, str) or not _DID.fullmatch(value):
        raise InvalidParamsError(f"{where}.{name} must be a DID, got {value!r:.80}")
    return value


def _text(p: dict, name: str, where: str, *, limit: int = MAX_TEXT) -> str:
    value = _field(p, name, where)
    if not isinstance(value, str) or len(value.encode()) > limit:
        raise InvalidParamsError(f"{where}.{name} must be a string of at most {limit} bytes")
    return value


def _json_text(p: dict, name: str, where: str) -> str:
    """A JSON object given as an object or as its JSON text; returned as compact JSON text."""
    value = _field(p, name, where)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidParamsError(f"{where}.{name} must be JSON text of an object: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidParamsError(f"{where}.{name} must be a JSON object")
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) > MAX_TEXT:
        raise InvalidParamsError(f"{where}.{name} is larger than {MAX_TEXT} bytes")
    return text


def _hex(p: dict, name: str, where: str, *, size: int | None = None, optional: bool = False) -> bytes:
    value = _field(p, name, where, optional=optional)
    if value is None:
        return b""
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) > 2 + 2 * MAX_TEXT:
        raise InvalidParamsError(f"{where}.{name} must be 0x-prefixed hex bytes, got {value!r:.80}")
    data = bytes.fromhex(value[2:])
    if size is not None and len(data) != size:
        raise InvalidParamsError(f"{where}.{name} must be {size} bytes, got {len(data)}")
    return data


def _id32(p: dict, name: str, where: str) -> bytes:
    """A 32-byte id, with or without 0x (the API shows them without)."""
    value = _field(p, name, where)
    if isinstance(value, str) and re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", value):
        return bytes.fromhex(value[-64:])
    raise InvalidParamsError(f"{where}.{name} must be a 32-byte hex id, got {value!r:.80}")


def _uint(p: dict, name: str, where: str, *, high: int = 2**64 - 1, default: int | None = None) -> int:
    value = _field(p, name, where, optional=default is not None)
    if value is None:
        return int(default)  # type: ignore[arg-type]
    if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]+|[0-9]+", value):
        value = int(value, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise InvalidParamsError(f"{where}.{name} must be a whole number from 0 to {high}, got {value!r:.40}")
    return value


def _bool(p: dict, name: str, where: str) -> bool:
    value = _field(p, name, where)
    if not isinstance(value, bool):
        raise InvalidParamsError(f"{where}.{name} must be true or false, got {value!r:.40}")
    return value


def _list(p: dict, name: str, where: str) -> list:
    value = _field(p, name, where)
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ARRAY:
        raise InvalidParamsError(f"{where}.{name} must be an array of 1 to {MAX_ARRAY} items")
    return value


def _public_key(p: dict, where: str, secp256k1: bool) -> bytes:
    if secp256k1:
        key = _hex(p, "publicKey", where)
        if len(key) != 65 or key[0] != 4:
            raise InvalidParamsError(f"{where}.publicKey must be an uncompressed secp256k1 key (0x04 + 64 bytes)")
        return key
    return _json_text(p, "publicKey", where).encode()  # a JWK


# ------------------------------------------------------------------------------------------------------ the methods


def _timestamp_hashes(p: dict, w: str) -> list[Any]:
    ids = _list(p, "hashAlgorithmIds", w)
    values = _list(p, "hashValues", w)
    if len(ids) != len(values):
        raise InvalidParamsError(f"{w}: {len(ids)} hashAlgorithmIds for {len(values)} hashValues")
    algorithm_ids = [_uint({"id": v}, "id", f"{w}.hashAlgorithmIds[{i}]", high=2**32) for i, v in enumerate(ids)]
    hashes = [_hex({"h": v}, "h", f"{w}.hashValues[{i}]") for i, v in enumerate(values)]
    data = _hex(p, "timestampData", w, optional=True)
    return [algorithm_ids, hashes, data]


def _hash_algorithm(p: dict, w: str) -> list[Any]:
    return [_uint(p, "outputLength", w, high=2**16 - 1), _text(p, "ianaName", w, limit=64), _text(p, "oid", w, limit=64),
            _uint(p, "status", w, high=255), _text(p, "multiHash", w, limit=64)]


def _service(p: dict, w: str) -> list[Any]:
    text = _json_text(p, "service", w)
    service_id = json.loads(text).get("id")
    if not isinstance(service_id, str) or not service_id:
        raise InvalidParamsError(f"{w}.service must have an 'id'")
    return [_did(p, "did", w), service_id, text]


_METHODS = [
    Method("timestamp", "timestampHashes", "timestampHashes", frozenset({"timestamp_write"}), _timestamp_hashes),
    Method("timestamp", "insertHashAlgorithm", "insertHashAlgorithm", frozenset({"timestamp_write"}), _hash_algorithm),
    Method("timestamp", "updateHashAlgorithm", "updateHashAlgorithm", frozenset({"timestamp_write"}),
           lambda p, w: [_uint(p, "hashAlgorithmId", w, high=2**32), *_hash_algorithm(p, w)]),
    Method("trusted-issuers-registry", "setAttributeMetadata", "setAttributeMetadata", frozenset({"tir_write"}),
           lambda p, w: [_did(p, "did", w), _id32(p, "attributeId", w), _uint(p, "issuerType", w, high=255),
                         _did(p, "taoDid", w), _id32(p, "taoAttributeId", w)]),
    Method("trusted-issuers-registry", "setAttributeData", "setAttributeData", frozenset({"tir_invite", "tir_write"}),
           lambda p, w: [_did(p, "did", w), _id32(p, "attributeId", w), _hex(p, "attributeData", w)]),
    Method("trusted-issuers-registry", "addIssuerProxy", "addIssuerProxy", frozenset({"tir_write"}),
           lambda p, w: [_did(p, "did", w), _json_text(p, "proxyData", w)]),
    Method("trusted-issuers-registry", "updateIssuerProxy", "updateIssuerProxy", frozenset({"tir_write"}),
           lambda p, w: [_did(p, "did", w), _id32(p, "proxyId", w), _json_text(p, "proxyData", w)]),
    Method("trusted-issuers-registry", "removeIssuerProxy", "removeIssuerProxy", frozenset({"tir_write"}),
           lambda p, w: [_did(p, "did", w), _id32(p, "proxyId", w)]),
    Method("did-registry", "insertDidDocument", "insertDidDocument", frozenset({"didr_invite", "didr_write"}),
           lambda p, w: [_did(p, "did", w), _json_text(p, "baseDocument", w), _text(p, "vMethodId", w, limit=128),
                         _public_key(p, w, True), _bool(p, "isSecp256k1", w), _uint(p, "notBefore", w, default=0),
                         _uint(p, "notAfter", w, default=0)]),
    Method("did-registry", "updateBaseDocument", "updateBaseDocument", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _json_text(p, "baseDocument", w)]),
    Method("did-registry", "addController", "addController", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _did(p, "controller", w)]),
    Method("did-registry", "revokeController", "revokeController", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _did(p, "controller", w)]),
    Method("did-registry", "addVerificationMethod", "addVerificationMethod", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _text(p, "vMethodId", w, limit=128),
                         _public_key(p, w, _bool(p, "isSecp256k1", w)), _bool(p, "isSecp256k1", w)]),
    Method("did-registry", "addVerificationRelationship", "addVerificationRelationship", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _text(p, "name", w, limit=64), _text(p, "vMethodId", w, limit=128),
                         _uint(p, "notBefore", w, default=0), _uint(p, "notAfter", w, default=0)]),
    Method("did-registry", "revokeVerificationMethod", "revokeVerificationMethod", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _text(p, "vMethodId", w, limit=128), _uint(p, "notAfter", w, default=0)]),
    Method("did-registry", "addService", "addService", frozenset({"didr_write"}), _service),
    Method("did-registry", "revokeService", "revokeService", frozenset({"didr_write"}),
           lambda p, w: [_did(p, "did", w), _text(p, "serviceId", w, limit=256)]),
]
METHODS: dict[tuple[str, str], Method] = {(m.api, m.name): m for m in _METHODS}


def parse_call(api: str, name: str, params: Any) -> tuple[Method, str, list[Any]]:
    """(method, from address, contract arguments) of a JSON-RPC build call."""
    method = METHODS.get((api, name))
    if method is None:
        known = sorted(n for a, n in METHODS if a == api) + ["sendSignedTransaction"]
        raise InvalidParamsError(f"unknown method {name!r} of the {api} API; known: {', '.join(known)}")
    if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
        raise InvalidParamsError(f"{name}: params must be an array holding one object")
    p, where = params[0], "params[0]"
    sender = _field(p, "from", where)
    if not isinstance(sender, str) or not _ADDRESS.fullmatch(sender):
        raise InvalidParamsError(f"{where}.from must be a 0x-prefixed 20-byte address, got {sender!r:.80}")
    return method, sender, method.parse(p, where)
