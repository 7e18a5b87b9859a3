"""The in-memory ledger (test double for both sides), the router and the cache."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from verifier.errors import InvalidInputError, LedgerUnavailableError
from verifier.ledger.base import AnchorRef, LedgerReader, to_checksum_address
from verifier.ledger.errors import AlreadyAnchoredError, UnknownChainError
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.ledger.memory import MemoryLedger

ROOT = bytes.fromhex("3f" * 32)
OTHER = bytes.fromhex("9c" * 32)


def test_anchor_then_read_back_contract_mode():
    ledger = MemoryLedger(chain_id=7, start=datetime(2025, 1, 1, tzinfo=UTC), block_interval=timedelta(seconds=10))
    receipt = ledger.anchor(ROOT)
    assert receipt.chain_id == 7 and receipt.block_number == 1 and receipt.mode == "contract"
    assert receipt.block_time == datetime(2025, 1, 1, 0, 0, 10, tzinfo=UTC)
    ledger.mine(4)
    evidence = ledger.read_anchor(AnchorRef(7, receipt.tx_hash), ROOT)
    assert evidence is not None
    assert evidence.carried_root == ROOT
    assert evidence.sender == ledger.sender == receipt.sender
    assert evidence.registry_sender == ledger.sender
    assert evidence.registry_time == receipt.block_time
    assert (evidence.block_number, evidence.latest_block, evidence.confirmations) == (1, 5, 5)
    assert evidence.block_hash == receipt.block_hash
    assert isinstance(ledger, LedgerReader)


def test_registry_record_is_for_the_root_asked_not_the_one_carried():
    ledger = MemoryLedger()
    receipt = ledger.anchor(ROOT)
    evidence = ledger.read_anchor(AnchorRef(ledger.chain_id, receipt.tx_hash), OTHER)
    assert evidence.carried_root == ROOT
    assert evidence.registry_sender is None and evidence.registry_time is None


def test_calldata_mode_has_no_registry_record():
    ledger = MemoryLedger(mode="calldata", registry_address=None)
    receipt = ledger.anchor(ROOT)
    evidence = ledger.read_anchor(AnchorRef(ledger.chain_id, receipt.tx_hash), ROOT)
    assert evidence.mode == "calldata" and evidence.to == ledger.sender
    assert evidence.registry_sender is None and receipt.registry_address is None


def test_duplicate_root_is_refused_in_contract_mode():
    ledger = MemoryLedger()
    first = ledger.anchor(ROOT)
    with pytest.raises(AlreadyAnchoredError) as info:
        ledger.anchor(ROOT)
    assert info.value.root == ROOT and info.value.sender == ledger.sender and info.value.time == first.block_time


def test_unknown_transaction_reads_none():
    ledger = MemoryLedger()
    assert ledger.read_anchor(AnchorRef(ledger.chain_id, "0x" + "ab" * 32), ROOT) is None


def test_unavailable_ledger_raises_for_reads_and_writes():
    ledger = MemoryLedger()
    receipt = ledger.anchor(ROOT)
    ledger.set_available(False)
    with pytest.raises(LedgerUnavailableError):
        ledger.read_anchor(AnchorRef(ledger.chain_id, receipt.tx_hash), ROOT)
    with pytest.raises(LedgerUnavailableError):
        ledger.anchor(OTHER)
    ledger.set_available(True)
    assert ledger.read_anchor(AnchorRef(ledger.chain_id, receipt.tx_hash), ROOT) is not None


def test_reorg_drops_the_anchor_and_allows_re_anchoring():
    ledger = MemoryLedger()
    ledger.mine(2)
    receipt = ledger.anchor(ROOT)
    ledger.mine(1)
    assert ledger.reorg(2) == [receipt.tx_hash]
    assert ledger.read_anchor(AnchorRef(ledger.chain_id, receipt.tx_hash), ROOT) is None
    again = ledger.anchor(ROOT)  # the registry forgot it too
    assert again.tx_hash != receipt.tx_hash and again.block_number == receipt.block_number
    assert again.block_hash != receipt.block_hash


def test_anchor_ref_validates_its_fields():
    with pytest.raises(InvalidInputError, match="transaction hash"):
        AnchorRef(1, "0x" + "AB" * 32)
    with pytest.raises(InvalidInputError, match="chain id"):
        AnchorRef(0, "0x" + "ab" * 32)


def test_checksum_address_matches_eip55_examples():
    # EIP-55 test vectors.
    for address in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"):
        assert to_checksum_address(address.lower()) == address


def test_router_routes_by_chain_and_names_configured_chains():
    a, b = MemoryLedger(chain_id=1), MemoryLedger(chain_id=11155111)
    receipt = b.anchor(ROOT)
    router = LedgerRouter({1: a, 11155111: b})
    assert router.read_anchor(AnchorRef(11155111, receipt.tx_hash), ROOT).chain_id == 11155111
    with pytest.raises(UnknownChainError) as info:
        router.read_anchor(AnchorRef(137, receipt.tx_hash), ROOT)
    assert "137" in str(info.value) and "1, 11155111" in str(info.value)
    assert isinstance(info.value, LedgerUnavailableError)


def test_cache_reads_the_ledger_once_for_a_thousand_credentials():
    ledger = MemoryLedger()
    receipt = ledger.anchor(ROOT)
    reader = CachingReader(ledger)
    ref = AnchorRef(ledger.chain_id, receipt.tx_hash)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: reader.read_anchor(ref, ROOT), range(1000)))
    assert ledger.reads == 1 and reader.misses == 1
    assert all(r == results[0] for r in results) and results[0].carried_root == ROOT
    reader.read_anchor(ref, OTHER)  # another root is another key
    assert ledger.reads == 2


def test_cache_does_not_keep_errors_and_honours_ttl():
    now = [0.0]
    ledger = MemoryLedger()
    receipt = ledger.anchor(ROOT)
    reader = CachingReader(ledger, ttl=60, clock=lambda: now[0])
    ref = AnchorRef(ledger.chain_id, receipt.tx_hash)
    ledger.set_available(False)
    with pytest.raises(LedgerUnavailableError):
        reader.read_anchor(ref, ROOT)
    ledger.set_available(True)
    assert reader.read_anchor(ref, ROOT).confirmations == 1
    ledger.mine(3)
    assert reader.read_anchor(ref, ROOT).confirmations == 1  # cached
    now[0] = 61.0
    assert reader.read_anchor(ref, ROOT).confirmations == 4  # expired, read again
    assert ledger.reads == 2


# -- HttpTransport against httpx.MockTransport (no network) --------------------------------------------------------

import httpx  # noqa: E402

from verifier.ledger.errors import LedgerResponseError, LedgerRpcError, LedgerTimeoutError  # noqa: E402
from verifier.ledger.evm import HttpTransport  # noqa: E402


def _transport(handler, **kwargs) -> HttpTransport:
    return HttpTransport("http://node.invalid", client=httpx.Client(transport=httpx.MockTransport(handler)), **kwargs)


def test_http_transport_returns_the_result_member():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = __import__("json").loads(request.content)
        seen.append(body)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": "0x2a"})

    assert _transport(handler).request("eth_blockNumber", []) == "0x2a"
    assert seen[0]["jsonrpc"] == "2.0" and seen[0]["method"] == "eth_blockNumber" and seen[0]["params"] == []


def test_http_transport_maps_rpc_errors_timeouts_and_floods():
    def rpc_error(request):
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "nope"}})

    with pytest.raises(LedgerRpcError, match="nope") as info:
        _transport(rpc_error).request("eth_foo", [])
    assert info.value.code == -32601

    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(LedgerTimeoutError) as timed_out:
        _transport(timeout).request("eth_blockNumber", [])
    assert isinstance(timed_out.value.__cause__, httpx.ReadTimeout)

    def flood(request):
        return httpx.Response(200, content=b"[" + b"0," * 10_000 + b"0]")

    with pytest.raises(LedgerResponseError, match="exceeds 1000 bytes"):
        _transport(flood, max_response_bytes=1000).request("eth_blockNumber", [])

    def server_error(request):
        return httpx.Response(503, text="down")

    with pytest.raises(LedgerUnavailableError, match="HTTP status 503"):
        _transport(server_error).request("eth_blockNumber", [])

    def not_json(request):
        return httpx.Response(200, text="<html>")

    with pytest.raises(LedgerResponseError, match="not JSON"):
        _transport(not_json).request("eth_blockNumber", [])
