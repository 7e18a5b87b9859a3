"""The status publisher on the embedded chain, SQLite and PostgreSQL: many changes -> one publication -> ONE
``publishStatus`` transaction; the served list is what the registry anchors; a publisher killed at every state
boundary is resumed by another without publishing anything twice (issuer.status.publisher)."""

from __future__ import annotations

import base64
import gzip
import time
import uuid

import pytest
from eth_account import Account
from sqlalchemy import select

from issuer.ledger.evm import broadcast_raw, prepare_transaction, status_call
from issuer.status.allocation import allocate
from issuer.status.changes import change_status
from issuer.status.publisher import StatusPublisher
from issuer.store.models import PublicationState, StatusEntry, StatusList, StatusPublication, StatusPurpose, Tenant
from issuer.store.tenants import identity_of
from tests.store.kit import PUBLIC_URL, Chain, make_tenant
from verifier.ledger.base import list_id_of
from verifier.ledger.registry import STATUS_PUBLISHED_TOPIC

LEASE = 0.2


class Crash(Exception):
    """The simulated kill."""


@pytest.fixture(scope="module")
def chain() -> Chain:
    return Chain()


def publisher(chain: Chain, sessions, box, **kwargs) -> StatusPublisher:
    kwargs.setdefault("poll_interval", 0.01)
    return StatusPublisher(sessions, box, chain.provider, **kwargs)


def published_events(chain: Chain, list_url: str) -> int:
    logs = chain.chain.w3.eth.get_logs({"address": chain.chain.registry_address, "fromBlock": 0, "toBlock": "latest",
                                        "topics": ["0x" + STATUS_PUBLISHED_TOPIC.hex(), None,
                                                   "0x" + list_id_of(list_url).hex()]})
    return len(logs)


def bits_of(document: dict) -> bytes:
    encoded = document["credentialSubject"]["encodedList"]
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))


def bit(bits: bytes, index: int) -> bool:
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def setup_tenant(sessions, box, n: int) -> tuple[int, str, list[str]]:
    """A tenant with ``n`` credential ids holding entries (no credential rows: entries need none), and its address."""
    tenant_id, _ = make_tenant(sessions, box)
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(n)]
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        allocate(s, tenant, ids, public_url=PUBLIC_URL)
        address = identity_of(tenant, box).anchoring_address
    return tenant_id, address, ids


def lists(sessions, tenant_id: int) -> dict[str, StatusList]:
    with sessions() as s:
        return {sl.purpose.value: sl for sl in s.scalars(select(StatusList).where(StatusList.tenant_id == tenant_id))}


def indices(sessions, ids: list[str], purpose: StatusPurpose) -> list[int]:
    with sessions() as s:
        found = dict(s.execute(select(StatusEntry.credential_id, StatusEntry.list_index)
                               .where(StatusEntry.credential_id.in_(ids), StatusEntry.purpose == purpose)).all())
    return [found[cid] for cid in ids]


def assert_served_is_anchored(chain: Chain, sessions, tenant_id: int, address: str) -> None:
    for sl in lists(sessions, tenant_id).values():
        record = chain.provider.status_of(address, list_id_of(sl.url))
        assert record is not None and record.digest.hex() == sl.digest and record.version == sl.version
        assert sl.published_revision == sl.revision and sl.document["id"] == sl.url


def test_new_lists_are_published_empty_and_signed(sessions, box, chain):
    tenant_id, address, _ = setup_tenant(sessions, box, 3)
    publisher(chain, sessions, box).run_until_idle()
    served = lists(sessions, tenant_id)
    assert set(served) == {"revocation", "suspension"}
    for purpose, sl in served.items():
        doc = sl.document
        assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        assert doc["credentialSubject"]["statusPurpose"] == purpose and doc["issuer"].startswith("did:web:")
        assert doc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        assert len(bits_of(doc)) * 8 == sl.size >= 131_072 and not any(bits_of(doc))
        assert sl.version == 1 and published_events(chain, sl.url) == 1
    assert_served_is_anchored(chain, sessions, tenant_id, address)
    # The list's signature verifies with the tenant's key, and its digest is the canonical hash with the proof.
    import hashlib

    from verifier.canonical import canonicalize
    from verifier.dataintegrity import verify_eddsa_proof

    with sessions() as s:
        public = identity_of(s.get(Tenant, tenant_id), box).ed25519_public
    doc = served["revocation"].document
    assert verify_eddsa_proof(doc, doc["proof"], public)
    # The full algorithm (not the signer's fast path) gives the anchored digest: SHA-256 of the canonical N-Quads.
    assert hashlib.sha256(canonicalize(doc).encode("utf-8")).hexdigest() == served["revocation"].digest


def test_many_changes_make_one_publication_and_one_transaction(sessions, box, chain):
    tenant_id, address, ids = setup_tenant(sessions, box, 40)
    pub = publisher(chain, sessions, box)
    pub.run_until_idle()
    nonce = chain.nonce(address)
    revocation = lists(sessions, tenant_id)["revocation"]
    # Five requests (API calls, CLI runs...) before the publisher's next turn: one publication carries them all.
    for k in range(5):
        with sessions.begin() as s:
            change_status(s, tenant_id, ids[k * 6:(k + 1) * 6], "revoke", reason=f"request {k}", actor="test")
    pub.run_until_idle()
    assert chain.nonce(address) == nonce + 1  # one transaction
    assert published_events(chain, revocation.url) == 2  # the empty list, then this one
    served = lists(sessions, tenant_id)["revocation"]
    assert served.version == 2 and served.published_revision == 6
    bits = bits_of(served.document)
    revoked = indices(sessions, ids[:30], StatusPurpose.REVOCATION)
    kept = indices(sessions, ids[30:], StatusPurpose.REVOCATION)
    assert all(bit(bits, i) for i in revoked) and not any(bit(bits, i) for i in kept)
    assert sum(bin(b).count("1") for b in bits) == 30
    with sessions() as s:
        pubs = s.scalars(select(StatusPublication).where(StatusPublication.list_id == revocation.id)
                         .order_by(StatusPublication.created_at)).all()
    assert [(p.state, p.ones) for p in pubs] == [(PublicationState.PUBLISHED, 0), (PublicationState.PUBLISHED, 30)]
    assert_served_is_anchored(chain, sessions, tenant_id, address)


def test_gas_of_a_publication_does_not_grow_with_the_changes_it_carries(sessions, box, chain, capsys):
    tenant_id, address, ids = setup_tenant(sessions, box, 1001)
    pub = publisher(chain, sessions, box)
    pub.run_until_idle()
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[:1], "revoke", reason="one", actor="test")
    pub.run_until_idle()
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[1:], "revoke", reason="a thousand", actor="test")
    pub.run_until_idle()
    with sessions() as s:
        pubs = [(p.gas_used, p.tx_hash) for p in s.scalars(select(StatusPublication).where(
            StatusPublication.tenant_id == tenant_id, StatusPublication.ones > 0).order_by(StatusPublication.ones))]
    assert len(pubs) == 2
    (one, _), (thousand, _) = pubs

    def calldata_gas(tx_hash: str) -> int:  # EIP-2028: 4 per zero byte, 16 per other byte (the digest is random)
        data = bytes(chain.chain.w3.eth.get_transaction(tx_hash)["input"])
        return sum(4 if b == 0 else 16 for b in data)

    # One storage update and one event, whatever the list holds: the same gas but for the digest's zero bytes.
    assert one - calldata_gas(pubs[0][1]) == thousand - calldata_gas(pubs[1][1]), pubs
    assert thousand < 50_000
    with capsys.disabled():
        print(f"\n[figure] gas of one publication revoking 1,000 credentials: {thousand} (1 credential: {one})")
    assert_served_is_anchored(chain, sessions, tenant_id, address)


def test_a_change_during_a_publication_goes_to_the_next_one(sessions, box, chain):
    tenant_id, address, ids = setup_tenant(sessions, box, 4)
    publisher(chain, sessions, box).run_until_idle()

    def change_while_signed(event: str, pub_id: str) -> None:
        if event == "persisted:signed" and not seen:
            seen.append(pub_id)
            with sessions.begin() as s:
                change_status(s, tenant_id, [ids[1]], "revoke", reason="late", actor="test")

    seen: list[str] = []
    with sessions.begin() as s:
        change_status(s, tenant_id, [ids[0]], "revoke", reason="early", actor="test")
    publisher(chain, sessions, box, hook=change_while_signed).run_until_idle()
    served = lists(sessions, tenant_id)["revocation"]
    assert served.version == 3 and served.published_revision == served.revision == 3
    assert [bit(bits_of(served.document), i) for i in indices(sessions, ids[:3], StatusPurpose.REVOCATION)] == \
        [True, True, False]
    assert_served_is_anchored(chain, sessions, tenant_id, address)


def test_min_interval_holds_changes_back_and_sends_them_together(sessions, box, chain):
    tenant_id, address, ids = setup_tenant(sessions, box, 3)
    pub = publisher(chain, sessions, box, min_interval=0.5)
    pub.run_until_idle()
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[:1], "suspend", reason="a", actor="test")
    assert pub.run_until_idle() == 0  # the last publication landed less than 0.5 s ago
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[1:2], "suspend", reason="b", actor="test")
    time.sleep(0.6)
    pub.run_until_idle()
    served = lists(sessions, tenant_id)["suspension"]
    assert served.version == 2 and published_events(chain, served.url) == 2


@pytest.mark.parametrize("event", [
    "persisted:pending",
    "persisted:signed",      # list signed and stored, no transaction yet
    "persisted:sent",        # transaction stored, never broadcast
    "broadcast",             # broadcast (and mined), nothing recorded since
    "persisted:published",
])
def test_a_crash_at_any_point_publishes_once(sessions, box, chain, event):
    tenant_id, address, ids = setup_tenant(sessions, box, 5)
    publisher(chain, sessions, box).run_until_idle()
    nonce = chain.nonce(address)
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[:3], "revoke", reason="crash test", actor="test")
    signed: dict[str, str] = {}

    def crash(name: str, pub_id: str) -> None:
        if name == event:
            with sessions() as s:
                signed["digest"] = s.get(StatusPublication, pub_id).digest
            raise Crash(name)

    with pytest.raises(Crash):
        publisher(chain, sessions, box, worker_id="first", lease_seconds=LEASE, hook=crash).run_until_idle()
    time.sleep(LEASE + 0.05)
    resumed: list[str] = []
    publisher(chain, sessions, box, worker_id="second", hook=lambda e, p: resumed.append(e)).run_until_idle()
    revocation = lists(sessions, tenant_id)["revocation"]
    assert chain.nonce(address) == nonce + 1  # one transaction for the publication, crash or not
    assert published_events(chain, revocation.url) == 2 and revocation.version == 2
    assert sum(bin(b).count("1") for b in bits_of(revocation.document)) == 3
    assert_served_is_anchored(chain, sessions, tenant_id, address)
    if event in ("persisted:signed", "persisted:sent", "broadcast"):
        assert revocation.digest == signed["digest"]  # the list signed before the crash is the one published
    if event == "persisted:sent":
        assert "rebroadcast" in resumed  # the stored bytes, not a new transaction
    if event in ("broadcast", "persisted:published"):
        assert "persisted:sent" not in resumed


def test_a_transaction_whose_nonce_was_taken_is_replaced_once(sessions, box, chain):
    tenant_id, address, ids = setup_tenant(sessions, box, 2)
    publisher(chain, sessions, box).run_until_idle()
    with sessions.begin() as s:
        change_status(s, tenant_id, ids, "revoke", reason="r", actor="test")
        account = Account.from_key(identity_of(s.get(Tenant, tenant_id), box).secp256k1_secret)
    nonce = chain.nonce(address)

    def crash(name: str, pub_id: str) -> None:
        if name == "persisted:sent":
            raise Crash(name)

    with pytest.raises(Crash):
        publisher(chain, sessions, box, worker_id="first", lease_seconds=LEASE, hook=crash).run_until_idle()
    other = prepare_transaction(chain.chain.w3, account, to=account.address, value=1, nonce=nonce)
    broadcast_raw(chain.chain.w3, other.raw)  # the stored transaction's nonce is used by another
    time.sleep(LEASE + 0.05)
    resumed: list[str] = []
    publisher(chain, sessions, box, worker_id="second", hook=lambda e, p: resumed.append(e)).run_until_idle()
    assert "persisted:sent" in resumed and "rebroadcast" not in resumed
    with sessions() as s:
        last = s.scalars(select(StatusPublication).where(StatusPublication.tenant_id == tenant_id)
                         .order_by(StatusPublication.created_at.desc())).first()
    assert last.state is PublicationState.PUBLISHED and last.nonce == nonce + 1 and last.error.startswith("replaced")
    assert chain.nonce(address) == nonce + 2
    assert_served_is_anchored(chain, sessions, tenant_id, address)


def test_a_digest_published_by_another_transaction_is_followed_not_sent_again(sessions, box, chain):
    tenant_id, address, ids = setup_tenant(sessions, box, 2)
    publisher(chain, sessions, box).run_until_idle()
    with sessions.begin() as s:
        change_status(s, tenant_id, ids[:1], "suspend", reason="r", actor="test")
        account = Account.from_key(identity_of(s.get(Tenant, tenant_id), box).secp256k1_secret)
    stored: dict[str, str] = {}

    def crash(name: str, pub_id: str) -> None:
        if name == "persisted:sent":
            with sessions() as s:
                pub = s.get(StatusPublication, pub_id)
                url = s.get(StatusList, pub.list_id).url
                stored.update(tx=pub.tx_hash, nonce=pub.nonce, digest=pub.digest, url=url)
            raise Crash(name)

    with pytest.raises(Crash):
        publisher(chain, sessions, box, worker_id="first", lease_seconds=LEASE, hook=crash).run_until_idle()
    to, data = status_call(list_id_of(stored["url"]), bytes.fromhex(stored["digest"]),
                           registry_address=chain.chain.registry_address)
    other = prepare_transaction(chain.chain.w3, account, to=to, data=data, nonce=stored["nonce"], gas=300_000)
    assert other.tx_hash != stored["tx"]
    broadcast_raw(chain.chain.w3, other.raw)  # the same publication, other fees: another transaction hash
    time.sleep(LEASE + 0.05)
    resumed: list[str] = []
    publisher(chain, sessions, box, worker_id="second", hook=lambda e, p: resumed.append(e)).run_until_idle()
    assert "adopted" in resumed and "rebroadcast" not in resumed and "persisted:sent" not in resumed
    assert published_events(chain, stored["url"]) == 2
    assert_served_is_anchored(chain, sessions, tenant_id, address)


def test_two_publishers_never_drive_one_publication(sessions, box, chain):
    tenant_id, address, _ = setup_tenant(sessions, box, 1)
    first = publisher(chain, sessions, box, worker_id="first", lease_seconds=30)
    second = publisher(chain, sessions, box, worker_id="second", lease_seconds=30)
    opened = first.open_publications()
    assert len(opened) == 2 and second.open_publications() == []  # one publication per list at a time
    a, b = first._claim(), second._claim()
    assert {a, b} == set(opened)  # the second passes over the publication the first holds
    assert first._claim() == a and second._claim() == b
