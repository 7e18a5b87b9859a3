"""Issue -> verify end to end with the ``ebsi`` ledger: the batch root is timestamped on the EBSI-like ledger, the
credentials' anchor names the timestamp id, and the verifier reads it back over HTTP and ties the timestamping
address to the issuer (its did:web document, or its did:ebsi document in the DID Registry)."""

from __future__ import annotations

import re
import secrets

import pytest

from issuer.keys import IssuerIdentity, new_identity
from issuer.ledger.ebsi import EbsiWriter
from tests.batchkit import issue_example_batch
from tests.ebsi.kit import BASE, new_did
from verifier import keys
from verifier.did import DidResolver
from verifier.ledger.ebsi import EbsiDidResolver, EbsiLedgerRouter, EbsiReadClient, EbsiReader, timestamp_id
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.merkleproof import decode_proof_value
from verifier.report import Status
from verifier.verify import Verifier


def _verifier(kit, resolver: DidResolver) -> Verifier:
    reader = EbsiReader(EbsiReadClient(BASE, client=kit.http), chain_id=kit.ledger.chain_id)
    return Verifier(ledger=CachingReader(EbsiLedgerRouter(LedgerRouter({}), {kit.ledger.chain_id: reader})),
                    did_resolver=resolver)


def _issue(kit, tmp_path, identity, *, anchoring_secret: bytes | None = None):
    def writer(ident):
        return EbsiWriter(kit.client(secret=anchoring_secret or ident.secp256k1_secret))

    return issue_example_batch(tmp_path / "out", writer, chain_id=kit.ledger.chain_id, reader=None,
                               identity=identity)


def _check(report, check_id):
    return next(c for c in report.checks if c.id == check_id)


def test_did_web_issuer_issues_on_ebsi_and_the_verifier_reads_it_back(kit, tmp_path):
    batch = _issue(kit, tmp_path, new_identity("did:web:www.tu-example.de"))
    credential = batch.credential(0)
    proof = next(p for p in credential["proof"] if p.get("cryptosuite") == "merkle-proof-2019")
    decoded = decode_proof_value(proof["proofValue"])
    anchor = decoded.anchors[0]
    assert (anchor.chain, anchor.network) == ("ebsi", kit.ledger.chain_id)
    assert anchor.tx_hash == timestamp_id(decoded.merkle_root)
    assert anchor.uri() == f"blink:ebsi:{kit.ledger.chain_id}:{timestamp_id(decoded.merkle_root)}"
    record = kit.http.get(f"/timestamp/v4/timestamps/{anchor.tx_hash}").json()
    assert record["timestampedBy"] == batch.identity.anchoring_address
    resolver = DidResolver()
    resolver.add(batch.did_document, "file did.json")
    report = _verifier(kit, resolver).verify(credential)
    anchor_check = _check(report, "anchor")
    assert anchor_check.status is Status.PASS, anchor_check.reason
    assert "EBSI-like ledger timestamp record" in anchor_check.reason
    assert record["transactionHash"][:12] in anchor_check.reason
    assert report.verdict.value in ("verified", "partially verified")
    assert all(c.status in (Status.PASS, Status.SKIPPED) for c in report.checks if c.id != "issuer_trust"), \
        [(c.id, c.status, c.reason) for c in report.checks]
    # The whole batch: one timestamp, one transaction.
    roots = {decode_proof_value(next(p for p in batch.credential(i)["proof"]
                                     if p.get("cryptosuite") == "merkle-proof-2019")["proofValue"]).merkle_root
             for i in range(len(batch.result.files))}
    assert len(roots) == 1 and kit.http.get("/timestamp/v4/timestamps").json()["total"] == 1


def test_a_root_timestamped_by_another_account_fails(kit, tmp_path):
    batch = _issue(kit, tmp_path, new_identity("did:web:www.tu-example.de"), anchoring_secret=secrets.token_bytes(32))
    resolver = DidResolver()
    resolver.add(batch.did_document, "file did.json")
    report = _verifier(kit, resolver).verify(batch.credential(0))
    anchor_check = _check(report, "anchor")
    assert anchor_check.status is Status.FAIL
    assert "is not the issuer's anchoring address" in anchor_check.reason
    assert report.verdict.value == "failed"


def test_an_unknown_timestamp_or_an_unreachable_ledger(kit, tmp_path):
    batch = _issue(kit, tmp_path, new_identity("did:web:www.tu-example.de"))
    resolver = DidResolver()
    resolver.add(batch.did_document, "file did.json")
    other = type(kit)()  # another ledger, same code, which never saw this timestamp
    other_chain = other.ledger.chain_id
    assert other_chain == kit.ledger.chain_id  # eth-tester chains share an id: the record is what differs
    missing = _check(_verifier(other, resolver).verify(batch.credential(0)), "anchor")
    assert missing.status is Status.FAIL and "not found" in missing.reason
    down = EbsiReader(EbsiReadClient("http://127.0.0.1:9", timeout=0.5), chain_id=kit.ledger.chain_id)
    verifier = Verifier(ledger=EbsiLedgerRouter(None, {kit.ledger.chain_id: down}), did_resolver=resolver)
    unreachable = _check(verifier.verify(batch.credential(0)), "anchor")
    assert unreachable.status is Status.INDETERMINATE


def test_did_ebsi_issuer_bound_through_the_did_registry(kit, tmp_path, monkeypatch):
    """A did:ebsi issuer: its signing key (Ed25519, assertionMethod) and its anchoring key (secp256k1,
    capabilityInvocation) are in the DID Registry; the verifier resolves the DID there.

    The issuer itself issues as did:web (or did:key) only; the verifier's did:ebsi path is exercised by letting the
    test's issuer profile take a did:ebsi id."""
    import issuer.credential

    monkeypatch.setattr(issuer.credential, "_DID_RE", re.compile(r"^did:(web|key|ebsi):[A-Za-z0-9._:%-]+$"))
    did = new_did()
    identity = IssuerIdentity(did, secrets.token_bytes(32), secrets.token_bytes(32))
    controller = kit.client(did, secret=identity.secp256k1_secret)
    controller.insert_did_document(did)
    controller.transact("did-registry", "addVerificationMethod", {
        "did": did, "vMethodId": "key-1", "isSecp256k1": False,
        "publicKey": keys.public_key_to_jwk(keys.PublicKey("Ed25519", identity.ed25519_public))})
    controller.transact("did-registry", "addVerificationRelationship",
                        {"did": did, "name": "assertionMethod", "vMethodId": "key-1"})
    batch = _issue(kit, tmp_path, identity)
    resolver = EbsiDidResolver(EbsiReadClient(BASE, client=kit.http), DidResolver())
    report = _verifier(kit, resolver).verify(batch.credential(0))
    assert _check(report, "signature").status is Status.PASS, _check(report, "signature").reason
    anchor_check = _check(report, "anchor")
    assert anchor_check.status is Status.PASS, anchor_check.reason
    assert f"{did}#{controller.jwk_thumbprint()}" in anchor_check.reason
    # A stranger's timestamp of the same kind of batch is not bound to the did:ebsi issuer.
    stranger = _issue(kit, tmp_path / "2", identity, anchoring_secret=secrets.token_bytes(32))
    failed = _check(_verifier(kit, resolver).verify(stranger.credential(0)), "anchor")
    assert failed.status is Status.FAIL, failed.reason
    with pytest.raises(Exception):
        resolver.resolve("did:ebsi:znotregistered00")
