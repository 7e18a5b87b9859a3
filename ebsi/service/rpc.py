"""The write endpoints (``POST /<api>/<version>/jsonrpc``: build methods and ``sendSignedTransaction``, bearer token
required) and a read-only proxy to the chain (``POST /ledger/v4/blockchains/besu``, as EBSI's Ledger API offers)
through which clients wait for their receipts and verifiers read blocks."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from ebsi.errors import InvalidParamsError
from ebsi.ledger import EbsiLedger
from ebsi.service.auth import TokenService
from ebsi.service.methods import parse_call
from ebsi.service.transactions import TransactionDesk

__all__ = ["router"]

router = APIRouter()
API_VERSIONS = {"timestamp": "v4", "trusted-issuers-registry": "v5", "did-registry": "v5"}
READ_ONLY_METHODS = frozenset({"eth_chainId", "eth_blockNumber", "eth_getTransactionReceipt", "eth_getTransactionByHash",
                               "eth_getBlockByNumber", "eth_getBlockByHash", "net_version"})


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidParamsError("the body must be a JSON-RPC 2.0 request (JSON)") from exc
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or not isinstance(body.get("method"), str):
        raise InvalidParamsError('the body must be a JSON-RPC 2.0 request: {"jsonrpc": "2.0", "method", "params", '
                                 '"id"}')
    return body


def _jsonrpc(api: str):
    def handler(request: Request, body: Annotated[dict, Depends(_body)],
                authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        tokens: TokenService = request.app.state.tokens
        desk: TransactionDesk = request.app.state.desk
        token = tokens.check(authorization)
        method, params = body["method"], body.get("params")
        if method == "sendSignedTransaction":
            result: Any = desk.send(api, params, token)
        else:
            parsed, sender, args = parse_call(api, method, params)
            result = desk.build(parsed, sender, args, token).unsigned()
        return {"jsonrpc": "2.0", "id": body.get("id"), "result": result}

    handler.__name__ = f"{api.replace('-', '_')}_jsonrpc"
    handler.__doc__ = (f"JSON-RPC of the {api} API: build methods return an unsigned transaction; "
                       "sendSignedTransaction broadcasts it once signed. Needs a bearer token.")
    return handler


for _api, _version in API_VERSIONS.items():
    router.add_api_route(f"/{_api}/{_version}/jsonrpc", _jsonrpc(_api), methods=["POST"], tags=[_api])


@router.post("/ledger/v4/blockchains/besu", tags=["ledger"])
def ledger_proxy(request: Request, body: Annotated[dict, Depends(_body)]) -> dict[str, Any]:
    """Read-only JSON-RPC to the chain: eth_chainId, eth_blockNumber, receipts, transactions and blocks."""
    ledger: EbsiLedger = request.app.state.ledger
    method, params = body["method"], body.get("params", [])
    if method not in READ_ONLY_METHODS:
        raise InvalidParamsError(f"method {method!r} is not offered here; read-only methods: {sorted(READ_ONLY_METHODS)}")
    if not isinstance(params, list) or len(params) > 2:
        raise InvalidParamsError("params must be an array of at most 2 items")
    return {"jsonrpc": "2.0", "id": body.get("id"), "result": _jsonable(ledger.rpc(method, params))}


def _jsonable(value: Any) -> Any:
    """Web3 answers (HexBytes, AttributeDict, snake_case from eth-tester) as JSON-RPC's hex strings and camelCase."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {_camel(str(k)): _jsonable(v) for k, v in dict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.capitalize() for p in rest)
