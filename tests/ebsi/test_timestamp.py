"""Timestamp API v4 on the embedded chain: timestamp a Merkle root and read it back in EBSI's shapes."""

from __future__ import annotations

import hashlib

import pytest

from ebsi.client import EbsiWriteError
from verifier.ledger.ebsi import hash_from_multibase, timestamp_id, timestamp_id_digest


def test_timestamp_id_follows_ebsis_documented_example():
    # EBSI Timestamp API v4 "Get a timestamp": the sha3-224 hash 0xb2a8... has the id uEiCPQS4...
    original = bytes.fromhex("b2a8e000d1f25778cecf6b29fc0e7f811fb5f4a3a8230585e9056921")
    assert timestamp_id(original) == "uEiCPQS4deZG8y1FXlG9sW1vDfMbpulXYTkn0HWj2OWd61A"
    assert timestamp_id_digest(timestamp_id(original)) == hashlib.sha256(original).digest()


def test_a_root_is_timestamped_and_read_back(kit):
    root = hashlib.sha256(b"merkle root of batch 1").digest()
    writer = kit.client()
    ids, sent = writer.timestamp_hashes([root], data=b'{"batch":1}')
    assert ids == [timestamp_id(root)] and sent.status_ok
    record = kit.http.get(f"/timestamp/v4/timestamps/{ids[0]}").json()
    assert set(record) == {"hash", "timestampedBy", "blockNumber", "timestamp", "data", "transactionHash"}
    assert hash_from_multibase(record["hash"]) == ("sha2-256", root)
    assert record["timestampedBy"] == writer.address
    assert record["blockNumber"] == sent.block_number
    assert record["transactionHash"] == sent.tx_hash
    assert record["data"] == "0x" + b'{"batch":1}'.hex()
    assert record["timestamp"].endswith(".000Z")


def test_the_same_account_cannot_timestamp_a_hash_twice_but_another_can(kit):
    root = hashlib.sha256(b"root").digest()
    first, second = kit.client(), kit.client()
    first.timestamp_hashes([root])
    with pytest.raises(EbsiWriteError) as refused:
        first.timestamp_hashes([root])
    assert refused.value.status == 400
    assert refused.value.problem["error"] == "Timestamp__AlreadyTimestamped"
    second.timestamp_hashes([root])
    tid = timestamp_id(root)
    # EBSI's GET shows the first record; anchorcred's timestampedBy query reads one account's own.
    assert kit.http.get(f"/timestamp/v4/timestamps/{tid}").json()["timestampedBy"] == first.address
    own = kit.http.get(f"/timestamp/v4/timestamps/{tid}", params={"timestampedBy": second.address}).json()
    assert own["timestampedBy"] == second.address
    stranger = "0x" + "11" * 20
    assert kit.http.get(f"/timestamp/v4/timestamps/{tid}", params={"timestampedBy": stranger}).status_code == 404


def test_a_hash_of_the_wrong_length_for_its_algorithm_is_refused_before_signing(kit):
    with pytest.raises(EbsiWriteError) as refused:
        kit.client().timestamp_hashes([b"\x01" * 31])
    assert refused.value.problem["error"] == "Timestamp__HashLengthMismatch"
    assert "256" in refused.value.problem["detail"] and "248" in refused.value.problem["detail"]


def test_up_to_three_hashes_per_transaction(kit):
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(3)]
    ids, sent = kit.client().timestamp_hashes(hashes)
    records = [kit.http.get(f"/timestamp/v4/timestamps/{t}").json() for t in ids]
    assert {r["transactionHash"] for r in records} == {sent.tx_hash}
    with pytest.raises(EbsiWriteError) as refused:
        kit.client().timestamp_hashes([hashlib.sha256(bytes([i])).digest() for i in range(4)])
    assert "1 to 3" in refused.value.problem["detail"]


def test_unknown_and_malformed_timestamp_ids(kit):
    missing = kit.http.get(f"/timestamp/v4/timestamps/{timestamp_id(b'never')}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    bad = kit.http.get("/timestamp/v4/timestamps/not-an-id")
    assert bad.status_code == 400 and "timestampId" in bad.json()["detail"]


def test_hash_algorithm_table_is_read_and_only_the_admin_extends_it(kit):
    assert kit.http.get("/timestamp/v4/hash-algorithms/0").json() == {
        "outputLength": 256, "status": 1, "ianaName": "sha-256", "oid": "2.16.840.1.101.3.4.2.1", "multihash": "sha2-256"}
    params = {"outputLength": 512, "ianaName": "sha-512", "oid": "2.16.840.1.101.3.4.2.3", "status": 1,
              "multiHash": "sha2-512"}
    with pytest.raises(EbsiWriteError) as refused:
        kit.client().transact("timestamp", "insertHashAlgorithm", params)
    assert refused.value.problem["error"] == "Timestamp__NotAdmin"
    kit.admin.transact("timestamp", "insertHashAlgorithm", params)
    assert kit.http.get("/timestamp/v4/hash-algorithms").json()["total"] == 2
    digest = hashlib.sha512(b"x").digest()
    ids, _ = kit.client().timestamp_hashes([digest], algorithm_id=1)
    assert hash_from_multibase(kit.http.get(f"/timestamp/v4/timestamps/{ids[0]}").json()["hash"]) == ("sha2-512", digest)
