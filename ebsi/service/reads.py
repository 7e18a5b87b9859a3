"""The GET endpoints, with EBSI's paths and answer shapes: Timestamp API v4, Trusted Issuers Registry API v5, DID
Registry API v5. Every read goes to the contracts (nothing cached here): what the facade answers is the chain's state.

Answers keep EBSI's field names. Where anchorcred adds a field it says so here: TIR attribute objects also carry
``taoAttributeId`` (the accreditation that placed them), and each revision its ``blockNumber`` and ``timestamp`` (when
it was set), so a verifier can tell what the registry said at a given time; ``GET /timestamp/v4/timestamps/{id}``
takes ``timestampedBy`` to read one account's record of a hash.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ebsi.errors import ContractRevertError, InvalidParamsError, NotFoundError
from ebsi.ledger import AttributeRecord, EbsiLedger, TimestampRecord
from ebsi.service.pagination import page
from verifier import keys
from verifier.errors import AnchorcredError
from verifier.ledger.ebsi import ISSUER_TYPES, hash_to_multibase, timestamp_id_digest

__all__ = ["attribute_json", "render_did_document", "router"]

router = APIRouter()
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,240}")
RELATIONSHIPS = ("authentication", "assertionMethod", "keyAgreement", "capabilityInvocation", "capabilityDelegation")
MAX_FILTER_SCAN = 5000


def _ledger(request: Request) -> EbsiLedger:
    return request.app.state.ledger


LedgerDep = Annotated[EbsiLedger, Depends(_ledger)]


def _base(request: Request) -> str:
    return request.app.state.public_url(request)


def _did(value: str) -> str:
    if not _DID.fullmatch(value):
        raise InvalidParamsError(f"not a DID: {value!r:.80}")
    return value


def _id32(value: str, what: str) -> bytes:
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", value):
        raise InvalidParamsError(f"{what} must be a 32-byte hex id, got {value!r:.80}")
    return bytes.fromhex(value[-64:])


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# ------------------------------------------------------------------------------------------------ Timestamp API v4


def _timestamp_json(ledger: EbsiLedger, record: TimestampRecord) -> dict[str, Any]:
    algorithm = ledger.hash_algorithm(record.hash_algorithm_id)
    try:
        shown = hash_to_multibase(record.hash_value, algorithm["multihash"])
    except ValueError:  # an algorithm multihash does not know: show the raw hash
        shown = "0x" + record.hash_value.hex()
    return {
        "hash": shown,
        "timestampedBy": record.timestamped_by,
        "blockNumber": record.block_number,
        "timestamp": _iso(record.time),
        "data": "0x" + record.data.hex(),
        "transactionHash": ledger.timestamp_transaction(record),
    }


@router.get("/timestamp/v4/timestamps", tags=["timestamp"])
def list_timestamps(request: Request, ledger: LedgerDep) -> dict[str, Any]:
    base = _base(request)

    def fetch(start: int, count: int) -> list[dict]:
        out = []
        for i in range(start, start + count):
            digest = ledger.timestamp_id_at(i)
            tid = "u" + base64.urlsafe_b64encode(b"\x12\x20" + digest).rstrip(b"=").decode()
            out.append({"timestampId": tid, "href": f"{base}/timestamp/v4/timestamps/{tid}"})
        return out

    return page(request, base, "/timestamp/v4/timestamps", ledger.timestamps_count(), fetch)


@router.get("/timestamp/v4/timestamps/{timestamp_id}", tags=["timestamp"])
def get_timestamp(timestamp_id: str, ledger: LedgerDep,
                  timestamped_by: Annotated[str | None, Query(alias="timestampedBy", pattern=r"^0x[0-9a-fA-F]{40}$")]
                  = None) -> dict[str, Any]:
    try:
        digest = timestamp_id_digest(timestamp_id)
    except AnchorcredError as exc:
        raise InvalidParamsError(f"Invalid timestampId: {exc}") from exc
    record = ledger.timestamp_by(digest, timestamped_by) if timestamped_by else ledger.timestamp(digest)
    if record is None:
        who = f" by {timestamped_by}" if timestamped_by else ""
        raise NotFoundError(f"no timestamp {timestamp_id}{who}")
    return _timestamp_json(ledger, record)


@router.get("/timestamp/v4/hash-algorithms", tags=["timestamp"])
def list_hash_algorithms(request: Request, ledger: LedgerDep) -> dict[str, Any]:
    base = _base(request)
    return page(request, base, "/timestamp/v4/hash-algorithms", ledger.hash_algorithms_count(),
                lambda start, count: [{"hashAlgorithmId": i, "href": f"{base}/timestamp/v4/hash-algorithms/{i}"}
                                      for i in range(start, start + count)])


@router.get("/timestamp/v4/hash-algorithms/{algorithm_id}", tags=["timestamp"])
def get_hash_algorithm(algorithm_id: int, ledger: LedgerDep) -> dict[str, Any]:
    if not 0 <= algorithm_id < ledger.hash_algorithms_count():
        raise NotFoundError(f"no hash algorithm {algorithm_id}")
    return ledger.hash_algorithm(algorithm_id)


# ---------------------------------------------------------------------------------- Trusted Issuers Registry API v5

TIR = "/trusted-issuers-registry/v5"


def attribute_json(record: AttributeRecord) -> dict[str, Any]:
    """An attribute (or one revision) as EBSI shows it, plus anchorcred's taoAttributeId, blockNumber, timestamp."""
    if record.body:
        try:
            body: str | None = record.body.decode("utf-8")
        except UnicodeDecodeError:
            body = base64.b64encode(record.body).decode("ascii")
    else:
        body = None
    return {
        "hash": record.hash.hex() if any(record.hash) else None,
        "body": body,
        "issuerType": ISSUER_TYPES.get(record.issuer_type, "Undefined"),
        "tao": record.tao,
        "rootTao": record.root_tao,
        "taoAttributeId": record.tao_attribute_id.hex(),
        "blockNumber": record.block_number,
        "timestamp": _iso(record.time),
    }


def _existing_issuer(ledger: EbsiLedger, did: str) -> str:
    did = _did(did)
    if not ledger.is_issuer(did):
        raise NotFoundError(f"{did} is not in the Trusted Issuers Registry")
    return did


def _attribute(ledger: EbsiLedger, did: str, attribute_id: str) -> tuple[bytes, AttributeRecord]:
    aid = _id32(attribute_id, "attributeId")
    try:
        return aid, ledger.attribute(did, aid)
    except ContractRevertError as exc:
        if exc.error == "TrustedIssuersRegistry__UnknownAttribute":
            raise NotFoundError(f"{did} has no attribute {aid.hex()}") from exc
        raise


@router.get(f"{TIR}/issuers", tags=["trusted-issuers-registry"])
def list_issuers(request: Request, ledger: LedgerDep) -> dict[str, Any]:
    base = _base(request)
    return page(request, base, f"{TIR}/issuers", ledger.issuers_count(),
                lambda start, count: [{"did": d, "href": f"{base}{TIR}/issuers/{d}"}
                                      for d in (ledger.issuer_at(i) for i in range(start, start + count))])


@router.get(f"{TIR}/issuers/{{did}}", tags=["trusted-issuers-registry"])
def get_issuer(did: str, request: Request, ledger: LedgerDep,
               version: Annotated[str, Query(pattern="^(latest|deprecated)$")] = "latest") -> dict[str, Any]:
    did = _existing_issuer(ledger, did)
    ids = ledger.attribute_ids(did)
    if version == "deprecated":
        return {"did": did, "attributes": [attribute_json(ledger.attribute(did, a)) for a in ids]}
    return {"did": did, "attributes": f"{_base(request)}{TIR}/issuers/{did}/attributes",
            "hasAttributes": any(any(ledger.attribute(did, a).hash) for a in ids)}


@router.get(f"{TIR}/issuers/{{did}}/attributes", tags=["trusted-issuers-registry"])
def list_attributes(did: str, request: Request, ledger: LedgerDep) -> dict[str, Any]:
    did = _existing_issuer(ledger, did)
    ids = ledger.attribute_ids(did)
    base = _base(request)
    path = f"{TIR}/issuers/{did}/attributes"
    return page(request, base, path, len(ids),
                lambda start, count: [{"id": a.hex(), "href": f"{base}{path}/{a.hex()}"} for a in ids[start:start + count]])


@router.get(f"{TIR}/issuers/{{did}}/attributes/{{attribute_id}}", tags=["trusted-issuers-registry"])
def get_attribute(did: str, attribute_id: str, ledger: LedgerDep) -> dict[str, Any]:
    did = _existing_issuer(ledger, did)
    _, record = _attribute(ledger, did, attribute_id)
    return {"did": did, "attribute": attribute_json(record)}


@router.get(f"{TIR}/issuers/{{did}}/attributes/{{attribute_id}}/revisions", tags=["trusted-issuers-registry"])
def list_revisions(did: str, attribute_id: str, request: Request, ledger: LedgerDep) -> dict[str, Any]:
    did = _existing_issuer(ledger, did)
    aid, _ = _attribute(ledger, did, attribute_id)
    base = _base(request)
    return page(request, base, f"{TIR}/issuers/{did}/attributes/{aid.hex()}/revisions", ledger.revisions_count(did, aid),
                lambda start, count: [attribute_json(ledger.revision(did, aid, i)) for i in range(start, start + count)])


@router.get(f"{TIR}/issuers/{{did}}/proxies", tags=["trusted-issuers-registry"])
def list_proxies(did: str, request: Request, ledger: LedgerDep) -> dict[str, Any]:
    did = _existing_issuer(ledger, did)
    ids = ledger.proxy_ids(did)
    base = _base(request)
    path = f"{TIR}/issuers/{did}/proxies"
    return page(request, base, path, len(ids),
                lambda start, count: [{"proxyId": "0x" + p.hex(), "href": f"{base}{path}/0x{p.hex()}"}
                                      for p in ids[start:start + count]])


@router.get(f"{TIR}/issuers/{{did}}/proxies/{{proxy_id}}", tags=["trusted-issuers-registry"])
def get_proxy(did: str, proxy_id: str, ledger: LedgerDep) -> dict[str, Any]:
    did = _existing_issuer(ledger, did)
    pid = _id32(proxy_id, "proxyId")
    try:
        return json.loads(ledger.proxy(did, pid))
    except ContractRevertError as exc:
        if exc.error == "TrustedIssuersRegistry__UnknownProxy":
            raise NotFoundError(f"{did} has no proxy 0x{pid.hex()}") from exc
        raise


# -------------------------------------------------------------------------------------------- DID Registry API v5

DIDR = "/did-registry/v5"


def render_did_document(parts: dict[str, Any], at: int) -> dict[str, Any]:
    """The W3C DID document of the stored parts, with the relationships valid at ``at`` (seconds since the epoch)."""
    did = parts["did"]
    try:
        base = json.loads(parts["baseDocument"]) if parts["baseDocument"] else {}
    except ValueError:
        base = {}
    context = base.get("@context") if isinstance(base, dict) else None
    doc: dict[str, Any] = {"@context": context or ["https://www.w3.org/ns/did/v1",
                                                   "https://w3id.org/security/suites/jws-2020/v1"],
                           "id": did, "controller": parts["controllers"], "verificationMethod": []}
    for m in parts["methods"]:
        if m["isSecp256k1"]:
            jwk: Any = keys.public_key_to_jwk(keys.PublicKey("secp256k1", keys.compress_secp256k1(m["publicKey"])))
        else:
            try:
                jwk = json.loads(m["publicKey"].decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue  # the contract only stores JSON text, but a bad entry never breaks the whole document
        doc["verificationMethod"].append({"id": f"{did}#{m['id']}", "type": "JsonWebKey2020", "controller": did,
                                          "publicKeyJwk": jwk})
    for name in RELATIONSHIPS:
        valid = [f"{did}#{r['vMethodId']}" for r in parts["relationships"]
                 if r["name"] == name and r["notBefore"] <= at and (r["notAfter"] == 0 or at < r["notAfter"])]
        if valid:
            doc[name] = list(dict.fromkeys(valid))
    services = []
    for s in parts["services"]:
        try:
            services.append(json.loads(s["service"]))
        except ValueError:
            continue
    if services:
        doc["service"] = services
    return doc


@router.get(f"{DIDR}/identifiers", tags=["did-registry"])
def list_identifiers(request: Request, ledger: LedgerDep,
                     controller: Annotated[str | None, Query(max_length=256)] = None) -> dict[str, Any]:
    base = _base(request)
    total = ledger.dids_count()
    if controller is None:
        return page(request, base, f"{DIDR}/identifiers", total,
                    lambda start, count: [{"did": d, "href": f"{base}{DIDR}/identifiers/{d}"}
                                          for d in (ledger.did_at(i) for i in range(start, start + count))])
    controller = _did(controller)
    if total > MAX_FILTER_SCAN:
        raise InvalidParamsError(f"the controller filter scans at most {MAX_FILTER_SCAN} DIDs; this registry has {total}")
    matching = [d for d in (ledger.did_at(i) for i in range(total))
                if controller in ledger.did_document_parts(d)["controllers"]]
    return page(request, base, f"{DIDR}/identifiers", len(matching),
                lambda start, count: [{"did": d, "href": f"{base}{DIDR}/identifiers/{d}"}
                                      for d in matching[start:start + count]], extra_query={"controller": controller})


@router.get(f"{DIDR}/identifiers/{{did}}", tags=["did-registry"])
def get_identifier(did: str, ledger: LedgerDep,
                   valid_at: Annotated[str | None, Query(alias="valid-at", max_length=40)] = None) -> JSONResponse:
    did = _did(did)
    if not ledger.did_exists(did):
        raise NotFoundError(f"{did} is not in the DID Registry")
    if valid_at is None:
        at = int(ledger.block_time().timestamp())
    else:
        try:
            when = datetime.fromisoformat(valid_at.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidParamsError(f"valid-at must be an ISO 8601 time, got {valid_at!r}") from exc
        if when.tzinfo is None:
            raise InvalidParamsError(f"valid-at {valid_at!r} needs a time zone (e.g. Z)")
        at = int(when.timestamp())
    document = render_did_document(ledger.did_document_parts(did), at)
    return JSONResponse(document, media_type="application/did+ld+json")
