"""Offline bundles on the embedded chain: exported, verified with no network, and every part tampered with caught
with its reason (credential, Merkle path, transaction, receipt, header, descendants, DID document); a forged but
self-consistent block is caught by the ledger node when one is configured."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from tests.wallet.kit import EthTesterTransport, holder_batch, new_wallet
from verifier.keys import did_key_from_ed25519
from wallet import evmproof as ep
from wallet.bundle import FORMAT, export_bundle, read_bundle, write_bundle
from wallet.errors import BundleError
from wallet.offline import NodeConfirmer, verify_bundle


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bundle")
    wallet = new_wallet(tmp / "w")
    chain, batch = holder_batch(tmp / "out", wallet)
    chain.mine(3)
    transport = EthTesterTransport(chain.transport())
    bundle = export_bundle(batch.credential(0), transport=transport, chain_id=chain.chain_id, registry=None,
                           did_document=(batch.did_document, "fetched from https://www.tu-example.de/.well-known/"
                                                             "did.json", "2026-06-01T00:00:00Z"))
    node = NodeConfirmer(transport, chain_id=chain.chain_id, where="the embedded chain")
    return bundle, node, batch, chain


def statuses(report) -> dict[str, str]:
    return {c.id: c.status.value for c in report.checks}


def reason(report, check_id: str) -> str:
    return next(c.reason for c in report.checks if c.id == check_id)


def test_the_bundle_is_whole_and_round_trips(exported):
    bundle, _node, batch, chain = exported
    assert read_bundle(write_bundle(bundle), "b.json") == bundle
    assert bundle["format"] == FORMAT and bundle["credential"] == batch.credential(0)
    [(block_hash, block)] = bundle["ledger"]["blocks"].items()
    assert bundle["anchor"]["block"] == block_hash and len(bundle["ledger"]["descendants"]) == 3
    header = ep.parse_header(bytes.fromhex(block["header"][2:]))
    assert "0x" + header.hash.hex() == block_hash
    tx = ep.parse_transaction(bytes.fromhex(block["transactions"][bundle["anchor"]["index"]][2:]))
    assert tx.hash == bundle["anchor"]["tx_hash"] and tx.to == bundle["ledger"]["registry"]
    for change, message in (({"format": "x"}, "not an anchorcred offline bundle"), ({"version": 9}, "version 9")):
        with pytest.raises(BundleError, match=message):
            read_bundle(json.dumps({**bundle, **change}).encode(), "b.json")


def test_offline_everything_passes_but_the_node_check_which_says_why_it_is_skipped(exported):
    bundle, node, batch, _chain = exported
    report = verify_bundle(bundle, now=datetime.now(timezone.utc))
    got = statuses(report)
    for check in ("bundle_ledger", "bundle_merkle", "format", "signature", "integrity",
                  "merkle_inclusion", "anchor", "validity"):
        assert got[check] == "pass", (check, reason(report, check))
    assert got["ledger_confirmation"] == "skipped" and report.verdict.value == "partially_verified"
    # Nothing offline shows the DID document the bundle carries is the issuer's: grey until one is given to compare.
    assert got["bundle_issuer"] == "indeterminate" and "--did-document" in reason(report, "bundle_issuer")
    assert "no ledger node configured" in reason(report, "ledger_confirmation")
    assert "4 confirmation(s)" in reason(report, "anchor")  # the anchor's block and the 3 carried after it
    assert "the bundle's DID document, fetched from https://www.tu-example.de" in reason(report, "signature")
    evidence = dict(report.evidence)
    assert "as of 2026-06-01 00:00:00 UTC" in evidence["signature"] and "3 later block(s)" in evidence["anchor"]
    assert verify_bundle(bundle, node=node).verdict.value == "partially_verified"
    trusted = {batch.did_document["id"]: (batch.did_document, "file did.json")}
    confirmed = verify_bundle(bundle, node=node, trusted_documents=trusted)
    assert confirmed.verdict.value == "verified", confirmed.to_json()
    assert "has the same block" in reason(confirmed, "ledger_confirmation")
    assert "agrees with file did.json" in reason(confirmed, "bundle_issuer")


def test_a_bundle_with_a_forged_did_document_is_never_verified(exported):
    """Someone writes their own did:web document for the university (their keys, their anchoring address), signs
    and anchors a credential on the real chain, and bundles it: offline it is grey, and an employer holding the
    university's real document sees it fail."""
    bundle, node, batch, _chain = exported
    forged = json.loads(json.dumps(bundle))
    doc = forged["issuer"]["document"]
    method = next(vm for vm in doc["verificationMethod"] if "publicKeyMultibase" in vm)
    method["publicKeyMultibase"] = "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"  # another Ed25519 key
    alone = verify_bundle(forged, node=node)
    assert statuses(alone)["bundle_issuer"] == "indeterminate" and alone.verdict.value != "verified"
    trusted = {batch.did_document["id"]: (batch.did_document, "file did.json")}
    compared = verify_bundle(forged, node=node, trusted_documents=trusted)
    assert statuses(compared)["bundle_issuer"] == "fail", compared.to_json()
    assert method["id"] in reason(compared, "bundle_issuer") and compared.verdict.value == "failed"


def _block(bundle):
    return next(iter(bundle["ledger"]["blocks"].values()))


def _flip(hex_text: str, at: int) -> str:
    data = bytearray(bytes.fromhex(hex_text[2:]))
    data[at] ^= 0x01
    return "0x" + data.hex()


def _tamper_credential(b):
    b["credential"]["credentialSubject"]["result"][0]["value"] = "1.0"


def _tamper_path(b):
    step = b["merkle"]["path"][0]
    side = next(iter(step))
    step[side] = "00" * 32


def _tamper_transaction(b):
    block, i = _block(b), b["anchor"]["index"]
    block["transactions"][i] = _flip(block["transactions"][i], -40)  # a byte of the anchored root


def _tamper_receipt(b):
    block, i = _block(b), b["anchor"]["index"]
    block["receipts"][i] = _flip(block["receipts"][i], -1)  # the registry event's time


def _tamper_header(b):
    block = _block(b)
    block["header"] = _flip(block["header"], len(bytes.fromhex(block["header"][2:])) // 2)


def _tamper_descendant(b):
    b["ledger"]["descendants"][1] = _flip(b["ledger"]["descendants"][1], 10)  # inside its parentHash


def _tamper_did_document(b):
    other = did_key_from_ed25519(bytes(range(32))).removeprefix("did:key:")
    b["issuer"]["document"]["verificationMethod"][0]["publicKeyMultibase"] = other


def _tamper_issuer_of_document(b):
    b["issuer"]["document"]["id"] = "did:web:attacker.example"


TAMPERING = [
    ("credential", _tamper_credential, {"signature": "fail", "integrity": "fail"}, "signature",
     "signature does not verify"),
    ("Merkle path", _tamper_path, {"bundle_merkle": "fail"}, "bundle_merkle", "path differs from the credential's proof"),
    ("transaction", _tamper_transaction, {"bundle_ledger": "fail", "anchor": "fail"}, "bundle_ledger",
     "transactions do not give the header's transactionsRoot"),
    ("receipt (registry event)", _tamper_receipt, {"bundle_ledger": "fail"}, "bundle_ledger",
     "receipts do not give the header's receiptsRoot"),
    ("header", _tamper_header, {"bundle_ledger": "fail", "anchor": "fail"}, "bundle_ledger",
     "not to the hash it is filed under"),
    ("descendant header", _tamper_descendant, {"bundle_ledger": "fail"}, "bundle_ledger",
     "does not follow the block before it"),
    ("DID document key", _tamper_did_document, {"signature": "fail"}, "signature", "signature does not verify"),
    ("DID document subject", _tamper_issuer_of_document, {"bundle_issuer": "fail"}, "bundle_issuer",
     "not for the issuer"),
]


@pytest.mark.parametrize("part, tamper, expected, check, message", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_with_any_part_is_caught_with_its_reason(exported, part, tamper, expected, check, message):
    bundle = copy.deepcopy(exported[0])
    tamper(bundle)
    report = verify_bundle(bundle)
    got = statuses(report)
    assert report.verdict.value == "failed", (part, report.to_json())
    for check_id, status in expected.items():
        assert got[check_id] == status, (part, check_id, reason(report, check_id))
    assert message in reason(report, check, ), (part, reason(report, check))


def _forge(bundle, index: int, value: bytes) -> str:
    """The anchor's block rewritten whole: header field ``index`` set, filed under its new hash, descendants dropped
    (they name the old hash). Returns the old hash."""
    old_hash, block = next(iter(bundle["ledger"]["blocks"].items()))
    fields = ep.rlp_decode(bytes.fromhex(block["header"][2:]))
    fields[index] = value
    forged = ep.rlp_encode(fields)
    new_hash = "0x" + ep.keccak256(forged).hex()
    block["header"] = "0x" + forged.hex()
    bundle["ledger"]["blocks"] = {new_hash: block}
    bundle["anchor"]["block"] = new_hash
    bundle["ledger"]["descendants"] = []
    return old_hash


def test_a_forged_self_consistent_block_passes_offline_but_not_the_node(exported):
    """Whoever rewrites a block whole makes a bundle that is consistent in itself: only a ledger node can tell, and
    the report says so."""
    bundle = copy.deepcopy(exported[0])
    _forge(bundle, 12, b"forged")  # extraData
    offline = verify_bundle(bundle)
    assert statuses(offline)["bundle_ledger"] == "pass" and offline.verdict.value == "partially_verified"
    assert "nothing offline shows it is on the chain" in reason(offline, "ledger_confirmation")
    caught = verify_bundle(bundle, node=exported[1])
    assert statuses(caught)["ledger_confirmation"] == "fail" and caught.verdict.value == "failed"
    assert "not on its chain" in reason(caught, "ledger_confirmation")


def test_a_backdated_block_contradicts_the_anchor_proof_even_offline(exported):
    bundle = copy.deepcopy(exported[0])
    header = ep.parse_header(bytes.fromhex(_block(bundle)["header"][2:]))
    _forge(bundle, 11, ep.int_bytes(header.timestamp - 86_400 * 365))  # "anchored a year earlier"
    report = verify_bundle(bundle)
    assert statuses(report)["anchor"] == "fail" and "after its block time" in reason(report, "anchor")


def test_export_refuses_what_it_cannot_prove(exported, tmp_path):
    bundle, _node, batch, chain = exported
    unanchored = copy.deepcopy(batch.credential(0))
    unanchored["proof"] = unanchored["proof"][:1]
    transport = EthTesterTransport(chain.transport())
    with pytest.raises(BundleError, match="no anchor"):
        export_bundle(unanchored, transport=transport, chain_id=chain.chain_id, registry=None, did_document=None)
    with pytest.raises(BundleError, match="anchored on chain"):
        export_bundle(batch.credential(0), transport=transport, chain_id=1, registry=None, did_document=None)

    class LyingNode:
        """Answers like the chain, but with a header field changed: its block hash no longer follows."""

        def request(self, method, params):
            answer = transport.request(method, params)
            if method == "eth_getBlockByHash" and isinstance(answer, dict):
                answer = {**answer, "gasUsed": answer["gasUsed"] + 1}
            return answer

    with pytest.raises(BundleError, match="do not hash to its block hash"):
        export_bundle(batch.credential(0), transport=LyingNode(), chain_id=chain.chain_id, registry=None,
                      did_document=None)


def test_the_issuers_key_events_travel_in_the_bundle_and_are_judged_offline(exported):
    """The issuer revokes its signing key after the anchor (recorded on the registry by its anchoring address): the
    bundle carries that transaction's block, and offline the credential stays valid (anchored before), saying so."""
    from eth_account import Account

    from verifier.ledger.base import KEY_REVOKED, key_id_of

    _bundle, _node, batch, chain = exported
    account = Account.from_key(batch.identity.secp256k1_secret)
    writer = chain.writer(account)
    signing_key = f"{batch.identity.did}#key-1"
    writer.record_key_event(key_id_of(signing_key), KEY_REVOKED, bytes(32))
    chain.mine(1)
    transport = EthTesterTransport(chain.transport())
    bundle = export_bundle(batch.credential(0), transport=transport, chain_id=chain.chain_id, registry=None,
                           did_document=(batch.did_document, "file did.json", "2026-06-01T00:00:00Z"))
    assert len(bundle["issuer"]["key_events"]) == 1 and len(bundle["ledger"]["blocks"]) == 2
    report = verify_bundle(bundle, node=NodeConfirmer(transport, chain_id=chain.chain_id, where="the chain"))
    signature = reason(report, "signature")
    assert statuses(report)["signature"] == "pass", signature
    assert "revoked" in signature and "ledger" in signature, signature
    assert "1 key event(s)" in dict(report.evidence)["key_history"]
