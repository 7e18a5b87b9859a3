"""What EBSI-profile credentials point at, served by the ledger's facade: status lists and the credential schema.

- ``/trusted-issuers-registry/v5/issuers/{did}/proxies/{proxyId}/credentials/status/{listId}``: a StatusList2021
  credential (a JWT, ``application/jwt``). On EBSI this path is the registry's proxy to the issuer's own server; here
  the facade keeps the lists itself. ``PUT`` publishes one: the body is the signed list, and the signature is the
  authentication (a key in the issuer DID's ``assertionMethod`` in the DID Registry signed it; the proxy must be one
  the issuer registered in the TIR; the list's ``id`` is this URL; a list older than the one held is refused, so a
  revocation cannot be rolled back by replaying an old list).
- ``/trusted-schemas-registry/v3/schemas/{schemaId}``: the JSON Schema of anchorcred's EBSI-profile micro-credential
  (ebsi/schemas.py), so a verifier that validates ``credentialSchema`` (the EBSI library does) finds it here.

Lists are kept in memory, and in ``settings.data_dir``/status-lists beside the ledger's deployment record.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ebsi.errors import ContractRevertError, ForbiddenError, InvalidParamsError, NotFoundError
from ebsi.schemas import SCHEMAS
from ebsi.service.reads import render_did_document
from verifier.did import has_relationship, verification_method
from verifier.jwtvc import JwtFormatError, decode_credential_jwt, verify_jwt_signature

__all__ = ["StatusListStore", "router"]

router = APIRouter()
MAX_LIST_BYTES = 64 * 1024  # a 131,072-entry list gzips to well under 1 kB while sparse; 64 kB is far above
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,240}")
_ID32 = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_LIST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
STATUS_PATH = "/trusted-issuers-registry/v5/issuers/{did}/proxies/{proxy_id}/credentials/status/{list_id}"


class StatusListStore:
    """Status list JWTs by (DID, proxy id, list id), newest only; thread-safe; optionally kept in a folder."""

    def __init__(self, folder: Path | None = None):
        self._lists: dict[tuple[str, str, str], tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for path in folder.glob("*.json"):
                entry = json.loads(path.read_text("utf-8"))
                self._lists[(entry["did"], entry["proxyId"], entry["listId"])] = (entry["iat"], entry["jwt"])

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            held = self._lists.get(key)
            return held[1] if held else None

    def put(self, key: tuple[str, str, str], iat: int, jwt: str) -> None:
        with self._lock:
            held = self._lists.get(key)
            if held is not None and iat <= held[0]:
                raise InvalidParamsError(f"a status list issued at {held[0]} is held; this one (iat {iat}) is not newer")
            self._lists[key] = (iat, jwt)
            if self._folder is not None:
                name = hashlib.sha256("\n".join(key).encode()).hexdigest() + ".json"
                entry = {"did": key[0], "proxyId": key[1], "listId": key[2], "iat": iat, "jwt": jwt}
                tmp = self._folder / (name + ".tmp")
                tmp.write_text(json.dumps(entry), "utf-8")
                tmp.replace(self._folder / name)


def _store(request: Request) -> StatusListStore:
    state = request.app.state
    if not hasattr(state, "status_lists"):
        # Kept on disk beside the ledger's own deployment record (a service on a devnet); a ledger handed in without
        # one (tests, the embedded chain) keeps its lists in memory only.
        folder = Path(state.settings.data_dir)
        persistent = (folder / f"deployment-{state.ledger.chain_id}.json").is_file()
        state.status_lists = StatusListStore(folder / "status-lists" if persistent else None)
    return state.status_lists


StoreDep = Annotated[StatusListStore, Depends(_store)]


def _key(did: str, proxy_id: str, list_id: str) -> tuple[str, str, str]:
    if not _DID.fullmatch(did):
        raise InvalidParamsError(f"not a DID: {did!r:.80}")
    if not _ID32.fullmatch(proxy_id):
        raise InvalidParamsError(f"proxyId must be a 32-byte hex id, got {proxy_id!r:.80}")
    if not _LIST_ID.fullmatch(list_id):
        raise InvalidParamsError(f"listId must be 1-64 letters, digits, '.', '_' or '-', got {list_id!r:.80}")
    return did, "0x" + proxy_id[-64:].lower(), list_id


@router.get(STATUS_PATH, tags=["trusted-issuers-registry"], response_class=Response,
            responses={200: {"content": {"application/jwt": {}}, "description": "the StatusList2021 credential"}})
def get_status_list(did: str, proxy_id: str, list_id: str, store: StoreDep) -> Response:
    jwt = store.get(_key(did, proxy_id, list_id))
    if jwt is None:
        raise NotFoundError(f"no status list {list_id} under proxy {proxy_id} of {did}")
    return Response(jwt, media_type="application/jwt", headers={"Cache-Control": "no-cache"})


@router.put(STATUS_PATH, tags=["trusted-issuers-registry"], status_code=204, response_class=Response)
async def put_status_list(did: str, proxy_id: str, list_id: str, request: Request, store: StoreDep) -> Response:
    key = _key(did, proxy_id, list_id)
    body = await request.body()
    if len(body) > MAX_LIST_BYTES:
        raise InvalidParamsError(f"a status list JWT is limited to {MAX_LIST_BYTES} bytes")
    try:
        jwt = decode_credential_jwt(body.decode("utf-8"))
    except (JwtFormatError, UnicodeDecodeError) as exc:
        raise InvalidParamsError(f"the body must be a status list credential JWT: {exc}") from exc
    vc = jwt.vc
    url = f"{request.app.state.public_url(request)}{request.url.path}"
    if jwt.issuer != did or jwt.claims.get("iss") != did:
        raise ForbiddenError(f"the list is issued by {jwt.issuer!r}, not {did}")
    if vc.get("id") != url or "StatusList2021Credential" not in (vc.get("type") or []):
        raise InvalidParamsError(f"the credential must be a StatusList2021Credential whose id is {url}")
    if not isinstance(jwt.claims.get("iat"), int):
        raise InvalidParamsError("the JWT needs an integer iat (the list's issuance time)")
    ledger = request.app.state.ledger
    try:
        ledger.proxy(did, bytes.fromhex(key[1][2:]))
    except ContractRevertError as exc:
        raise NotFoundError(f"{did} has no proxy {key[1]} in the Trusted Issuers Registry") from exc
    if not ledger.did_exists(did):
        raise ForbiddenError(f"{did} is not in the DID Registry: its signature cannot be checked")
    document = render_did_document(ledger.did_document_parts(did), int(ledger.block_time().timestamp()))
    method = verification_method(document, jwt.kid)
    if method is None or not has_relationship(document, jwt.kid, "assertionMethod"):
        raise ForbiddenError(f"{jwt.kid} is not an assertionMethod of {did} in the DID Registry")
    try:
        valid = verify_jwt_signature(jwt, method.get("publicKeyJwk") or {})
    except JwtFormatError as exc:
        raise ForbiddenError(str(exc)) from exc
    if not valid:
        raise ForbiddenError(f"the list's signature does not verify with {jwt.kid}")
    store.put(key, jwt.claims["iat"], jwt.token)
    return Response(status_code=204)


@router.get("/trusted-schemas-registry/v3/schemas/{schema_id}", tags=["trusted-schemas-registry"])
def get_schema(schema_id: str) -> JSONResponse:
    schema = SCHEMAS.get(schema_id)
    if schema is None:
        raise NotFoundError(f"no schema {schema_id!r:.80} (this registry serves {', '.join(sorted(SCHEMAS))})")
    return JSONResponse(schema, media_type="application/schema+json")

