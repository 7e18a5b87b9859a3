"""AnchorRegistry's status lists and key events (issue 4) on the embedded chain: written by the issuer's EvmWriter and
EvmLedger, read back by the verifier's EvmReader (no web3), and the same reads on the in-memory ledger."""

from __future__ import annotations

import hashlib

import pytest

from issuer.ledger.embedded import EmbeddedChain
from issuer.ledger.errors import AnchorRevertedError
from issuer.ledger.evm import key_event_call, registry_contract, revert_data, status_call
from verifier.ledger.base import (
    KEY_ADDED,
    KEY_RETIRED,
    KEY_REVOKED,
    KeyEvent,
    RegistryReader,
    StatusPublication,
    StatusRecord,
    key_id_of,
    keccak256,
    list_id_of,
)
from verifier.ledger.errors import LedgerResponseError, RegistryNotConfiguredError, UnknownChainError
from verifier.ledger.evm import CachingReader, EvmReader, LedgerRouter
from verifier.ledger.memory import MemoryLedger
from verifier.ledger.registry import (
    KEY_EVENT_RECORDED_TOPIC,
    STATUS_PUBLISHED_TOPIC,
    address_topic,
    block_windows,
    decode_status_of,
    publish_status_data,
    record_key_event_data,
)

LIST_URL = "https://uni.example/tenants/tu/status/4f1c"
LIST = list_id_of(LIST_URL)


def _digest(n: int) -> bytes:
    return hashlib.sha256(b"status list v%d" % n).digest()


@pytest.fixture(scope="module")
def chain() -> EmbeddedChain:
    return EmbeddedChain()


@pytest.fixture(scope="module")
def alice(chain):
    return chain.new_account(10**18)


@pytest.fixture(scope="module")
def bob(chain):
    return chain.new_account(10**18)


def test_ids_are_keccak_of_the_utf8_url_and_method_id():
    assert LIST == keccak256(LIST_URL.encode())
    assert key_id_of("did:web:uni.example:tenants:tu#key-2") == keccak256(b"did:web:uni.example:tenants:tu#key-2")
    with pytest.raises(ValueError):
        list_id_of("")


def test_unpublished_list_reads_as_none(chain, alice):
    assert chain.reader().status_of(chain.chain_id, None, alice.address, list_id_of("https://never")) is None
    assert chain.reader().status_history(chain.chain_id, None, alice.address, list_id_of("https://never")) == []


def test_publish_increments_version_and_emits_event(chain, alice):
    writer = chain.writer(alice)
    reader = chain.reader()
    first = writer.publish_status(LIST, _digest(1))
    record = reader.status_of(chain.chain_id, None, alice.address, LIST)
    assert record == StatusRecord(_digest(1), 1, first.block_time)
    second = writer.publish_status(LIST, _digest(2))
    record = reader.status_of(chain.chain_id, None, alice.address, LIST)
    assert (record.digest, record.version, record.time) == (_digest(2), 2, second.block_time)
    assert writer.status_of(LIST) == record  # the issuer's read decodes the same answer

    logs = chain.w3.eth.get_transaction_receipt(second.tx_hash)["logs"]
    assert len(logs) == 1
    topics = [bytes(t) for t in logs[0]["topics"]]
    assert topics == [STATUS_PUBLISHED_TOPIC, address_topic(alice.address), LIST]
    data = bytes(logs[0]["data"])
    assert data[:32] == _digest(2) and int.from_bytes(data[32:64], "big") == 2
    assert int.from_bytes(data[64:96], "big") == int(second.block_time.timestamp())

    history = reader.status_history(chain.chain_id, None, alice.address, LIST)
    assert history == [
        StatusPublication(_digest(1), 1, first.block_time, first.tx_hash, first.block_number),
        StatusPublication(_digest(2), 2, second.block_time, second.tx_hash, second.block_number),
    ]


def test_publishers_are_kept_apart(chain, alice, bob):
    shared = list_id_of("https://shared.example/status/1")
    chain.writer(alice).publish_status(shared, _digest(10))
    chain.writer(bob).publish_status(shared, _digest(20))
    chain.writer(bob).publish_status(shared, _digest(21))
    reader = chain.reader()
    assert reader.status_of(chain.chain_id, None, alice.address, shared)[:2] == (_digest(10), 1)
    assert reader.status_of(chain.chain_id, None, bob.address, shared)[:2] == (_digest(21), 2)
    assert [p.digest for p in reader.status_history(chain.chain_id, None, alice.address, shared)] == [_digest(10)]
    assert [p.version for p in reader.status_history(chain.chain_id, None, bob.address, shared)] == [1, 2]


def test_zero_digest_is_refused_by_the_contract_and_the_encoder(chain, alice):
    with pytest.raises(ValueError, match="zero digest"):
        publish_status_data(LIST, bytes(32))
    registry = registry_contract(chain.w3, chain.registry_address)
    error = keccak256(b"AnchorRegistry__ZeroDigest()")[:4]
    with pytest.raises(Exception) as info:
        registry.functions.publishStatus(LIST, bytes(32)).call({"from": alice.address})
    assert revert_data(info.value) == error


def test_key_events_are_logged_in_order_with_kind_and_detail(chain, alice):
    writer = chain.writer(alice)
    k1, k2 = key_id_of("did:web:uni.example#key-1"), key_id_of("did:web:uni.example#key-2")
    detail1, detail2 = hashlib.sha256(b"vm1").digest(), hashlib.sha256(b"vm2").digest()
    r1 = writer.record_key_event(k1, KEY_ADDED, detail1)
    r2 = writer.record_key_event(k2, KEY_ADDED, detail2)
    r3 = writer.record_key_event(k1, KEY_RETIRED, detail1)
    r4 = writer.record_key_event(k2, KEY_REVOKED, bytes(32))
    assert r1.gas_used < 30_000, f"recordKeyEvent used {r1.gas_used} gas"
    events = chain.reader().key_events(chain.chain_id, None, alice.address)
    assert events == [
        KeyEvent(k1, KEY_ADDED, detail1, r1.block_time, r1.tx_hash, r1.block_number),
        KeyEvent(k2, KEY_ADDED, detail2, r2.block_time, r2.tx_hash, r2.block_number),
        KeyEvent(k1, KEY_RETIRED, detail1, r3.block_time, r3.tx_hash, r3.block_number),
        KeyEvent(k2, KEY_REVOKED, bytes(32), r4.block_time, r4.tx_hash, r4.block_number),
    ]
    logs = chain.w3.eth.get_transaction_receipt(r4.tx_hash)["logs"]
    assert [bytes(t) for t in logs[0]["topics"]] == [KEY_EVENT_RECORDED_TOPIC, address_topic(alice.address), k2]


def test_key_events_of_another_controller_are_not_mixed_in(chain, alice, bob):
    chain.writer(bob).record_key_event(key_id_of("did:web:other#k"), KEY_ADDED, hashlib.sha256(b"x").digest())
    assert all(e.key_id != key_id_of("did:web:other#k")
               for e in chain.reader().key_events(chain.chain_id, None, alice.address))
    assert len(chain.reader().key_events(chain.chain_id, None, bob.address)) == 1


def test_unknown_key_event_kind_is_refused_by_the_contract_and_the_encoder(chain, alice):
    with pytest.raises(ValueError, match="kind"):
        record_key_event_data(key_id_of("did:web:x#k"), 4, bytes(32))
    registry = registry_contract(chain.w3, chain.registry_address)
    for kind in (0, 4, 255):
        with pytest.raises(Exception) as info:
            registry.functions.recordKeyEvent(key_id_of("did:web:x#k"), kind, bytes(32)).call({"from": alice.address})
        selector = keccak256(b"AnchorRegistry__UnknownKeyEventKind(uint8)")[:4]
        assert revert_data(info.value) == selector + kind.to_bytes(32, "big")


def test_writer_helpers_need_the_registry():
    with pytest.raises(ValueError, match="registry"):
        status_call(LIST, _digest(1), registry_address=None)
    with pytest.raises(ValueError, match="registry"):
        key_event_call(LIST, KEY_ADDED, _digest(1), registry_address=None)


def test_provider_prepares_status_and_key_event_through_the_one_send_sequence(chain):
    account = chain.new_account(10**18)
    ledger = chain.provider()
    list_id = list_id_of("https://uni.example/status/provider")
    prepared = ledger.prepare_status(account.key, list_id, _digest(7), nonce=ledger.pending_nonce(account.address))
    assert ledger.status_of(account.address, list_id) is None
    assert ledger.find_status_transaction(account.address, list_id, _digest(7)) is None
    assert ledger.broadcast(prepared.raw) == prepared.tx_hash
    ledger.wait()
    mined = ledger.receipt(prepared.tx_hash)
    assert mined is not None and mined.succeeded and mined.sender == account.address
    assert ledger.status_of(account.address, list_id) == StatusRecord(_digest(7), 1, mined.block_time)
    assert ledger.find_status_transaction(account.address, list_id, _digest(7)) == prepared.tx_hash
    assert ledger.find_status_transaction(account.address, list_id, _digest(8)) is None

    key_id = key_id_of("did:web:uni.example#key-9")
    prepared = ledger.prepare_key_event(account.key, key_id, KEY_ADDED, _digest(9),
                                        nonce=ledger.pending_nonce(account.address))
    ledger.broadcast(prepared.raw)
    ledger.wait()
    assert ledger.receipt(prepared.tx_hash).succeeded
    assert [e.key_id for e in chain.reader().key_events(chain.chain_id, None, account.address)] == [key_id]


def test_provider_refuses_a_zero_digest_before_sending(chain):
    account = chain.new_account(10**18)
    with pytest.raises(ValueError, match="zero digest"):
        chain.provider().prepare_status(account.key, LIST, bytes(32), nonce=0)


def test_reverted_status_publication_is_a_ledger_error(chain, alice):
    writer = chain.writer(alice)
    to, _data = status_call(LIST, _digest(1), registry_address=chain.registry_address)
    bad = bytes.fromhex(publish_status_data(LIST, _digest(1))[:36].hex()) + bytes(32)  # digest word zeroed
    with pytest.raises(AnchorRevertedError):
        writer._send(to, bad, what="publish status")


def test_anchor_gas_barely_moved():
    """anchor() stays one cold SSTORE + the event: ≤ 5 gas per credential at 10,000 (it was 46,298 before issue 4)."""
    chain = EmbeddedChain()
    receipt = chain.writer(chain.new_account()).anchor(keccak256(b"gas"))
    assert receipt.gas_used <= 46_298 + 300, receipt.gas_used
    assert receipt.gas_used / 10_000 <= 5


# ----------------------------------------------------------------------------------------------- reader plumbing


def test_status_of_answer_is_validated():
    assert decode_status_of(bytes(96)) is None
    with pytest.raises(LedgerResponseError, match="96 bytes"):
        decode_status_of(bytes(64))
    with pytest.raises(LedgerResponseError, match="version 0"):
        decode_status_of(b"\x01" * 32 + bytes(64))
    with pytest.raises(LedgerResponseError, match="does not fit"):
        decode_status_of(b"\x01" * 32 + (2**64).to_bytes(32, "big") + bytes(32))


def test_block_windows_cover_the_range_in_chunks_and_refuse_an_overlong_history():
    assert list(block_windows(0, 25, chunk=10, max_blocks=100)) == [(0, 9), (10, 19), (20, 25)]
    assert list(block_windows(5, 4, chunk=10, max_blocks=100)) == []
    with pytest.raises(LedgerResponseError, match="101 blocks"):
        list(block_windows(0, 100, chunk=10, max_blocks=100))


def test_evm_reader_reads_logs_in_windows(chain, alice):
    reader = EvmReader(chain.transport(), chain_id=chain.chain_id, registry_address=chain.registry_address,
                       log_chunk_blocks=3)
    full = chain.reader().status_history(chain.chain_id, None, alice.address, LIST)
    assert reader.status_history(chain.chain_id, None, alice.address, LIST) == full
    short = EvmReader(chain.transport(), chain_id=chain.chain_id, registry_address=chain.registry_address,
                      max_log_blocks=2)
    with pytest.raises(LedgerResponseError, match="more than the 2"):
        short.key_events(chain.chain_id, None, alice.address)


def test_evm_reader_refuses_another_chain_and_a_missing_registry(chain, alice):
    with pytest.raises(UnknownChainError):
        chain.reader().status_of(chain.chain_id + 1, None, alice.address, LIST)
    bare = EvmReader(chain.transport(), chain_id=chain.chain_id)
    with pytest.raises(RegistryNotConfiguredError):
        bare.status_of(chain.chain_id, None, alice.address, LIST)
    assert bare.status_of(chain.chain_id, chain.registry_address, alice.address, LIST) is not None


def test_caching_reader_reads_the_registry_once_per_list():
    ledger = MemoryLedger(chain_id=5)
    ledger.publish_status(LIST, _digest(1))
    cached = CachingReader(LedgerRouter({5: ledger}))
    assert isinstance(cached, RegistryReader)
    assert cached.peek_status(5, None, ledger.sender, LIST) == (False, None)
    before = ledger.reads
    for _ in range(1000):
        assert cached.status_of(5, None, ledger.sender, LIST).version == 1
    assert ledger.reads - before == 1
    assert cached.peek_status(5, None, ledger.sender, LIST)[0] is True
    assert len(cached.status_history(5, None, ledger.sender, LIST)) == 1
    assert cached.key_events(5, None, ledger.sender) == []
    with pytest.raises(UnknownChainError):
        cached.status_of(6, None, ledger.sender, LIST)


def test_memory_ledger_status_and_key_events_follow_the_contract():
    ledger = MemoryLedger(chain_id=9)
    other = "0x" + "33" * 20
    assert isinstance(ledger, RegistryReader)
    r1 = ledger.publish_status(LIST, _digest(1))
    ledger.publish_status(LIST, _digest(2))
    ledger.publish_status(LIST, _digest(5), sender=other)
    assert ledger.status_of(9, None, ledger.sender, LIST)[:2] == (_digest(2), 2)
    assert ledger.status_of(9, None, other, LIST)[:2] == (_digest(5), 1)
    assert ledger.status_history(9, None, ledger.sender, LIST)[0] == StatusPublication(
        _digest(1), 1, r1.block_time, r1.tx_hash, r1.block_number)
    assert ledger.status_of(9, "0x" + "44" * 20, ledger.sender, LIST) is None  # another registry: nothing there
    ledger.record_key_event(key_id_of("did:web:a#1"), KEY_ADDED, _digest(3))
    assert [e.kind for e in ledger.key_events(9, None, ledger.sender)] == [KEY_ADDED]
    with pytest.raises(ValueError):
        ledger.publish_status(LIST, bytes(32))
    with pytest.raises(ValueError):
        ledger.record_key_event(LIST, 7, bytes(32))
    assert len(ledger.reorg(2)) == 2  # drops the other publisher's list and the key event
    assert ledger.status_of(9, None, other, LIST) is None
    assert ledger.key_events(9, None, ledger.sender) == []
    assert ledger.status_of(9, None, ledger.sender, LIST)[:2] == (_digest(2), 2)
    ledger.reorg(1)  # and now v2: the registry answers v1 again
    assert ledger.status_of(9, None, ledger.sender, LIST)[:2] == (_digest(1), 1)
    ledger.set_available(False)
    with pytest.raises(Exception, match="unavailable"):
        ledger.status_of(9, None, ledger.sender, LIST)
