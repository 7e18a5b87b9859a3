"""Helpers of the store tests: a tenant with the example achievement, a roster, a runner on the embedded chain, a
verifier over that chain trusting the tenant's DID document (as tests/batchkit.py builds one)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuer.achievement import parse_achievement
from issuer.ledger.embedded import EmbeddedChain
from issuer.roster import Learner, load_roster
from issuer.store.engine import BatchRunner, create_roster_batch
from issuer.store.models import AchievementRecord, Batch, CredentialRecord, Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import create_tenant, did_document
from verifier.did import DidResolver
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.report import Verdict
from verifier.verify import Verifier, VerifierOptions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PUBLIC_URL = "http://localhost:8081"


def example_spec() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "achievement.yaml").read_text("utf-8"))


def learners(n: int) -> list[Learner]:
    base = load_roster(EXAMPLES / "roster.csv", parse_achievement(example_spec()))
    return [replace(base[i % len(base)], row=i + 2, email=f"learner{i}@students.tu-example.de") for i in range(n)]


def vc_api_credential(tenant_did: str, index: int = 0) -> dict[str, Any]:
    """An unsigned OB 3.0 credential as a VC-API client would send it (no id, no validFrom, no proof)."""
    from datetime import UTC, datetime

    from issuer.batch import issuer_profile
    from issuer.credential import CredentialTemplate

    achievement = parse_achievement(example_spec())
    template = CredentialTemplate(achievement, issuer_profile(achievement, tenant_did), issued=datetime.now(UTC))
    doc = template.build(learners(index + 1)[index], credential_id=f"urn:uuid:{uuid.uuid4()}", salt="5a1t")
    del doc["id"], doc["validFrom"]
    return doc


def make_tenant(sessions: sessionmaker[Session], box: SecretBox, slug: str = "tu-example") -> tuple[int, str]:
    """(tenant id, achievement id)."""
    with sessions.begin() as s:
        tenant = create_tenant(s, box, slug=slug, name="TU Example", public_url=PUBLIC_URL)
        spec = example_spec()
        spec["awarding_body"]["did"] = tenant.did
        record = AchievementRecord(id=str(uuid.uuid4()), tenant_id=tenant.id, title="Applied Data Protection",
                                   spec=spec)
        s.add(record)
        s.flush()
        return tenant.id, record.id


def roster_batch(sessions: sessionmaker[Session], tenant_id: int, achievement_id: str, n: int) -> str:
    with sessions.begin() as s:
        tenant = s.get(Tenant, tenant_id)
        batch = create_roster_batch(s, tenant, s.get(AchievementRecord, achievement_id), learners(n))
        return batch.id


class Chain:
    """One embedded chain and one provider over it (shared by every runner: eth-tester is not thread-safe)."""

    def __init__(self) -> None:
        self.chain = EmbeddedChain()
        self.provider = self.chain.provider()

    def runner(self, sessions, box, **kwargs: Any) -> BatchRunner:
        kwargs.setdefault("seal_after", 3600)
        kwargs.setdefault("seal_at", 1000)
        kwargs.setdefault("chunk", 7)
        kwargs.setdefault("poll_interval", 0.01)
        return BatchRunner(sessions, box, self.provider, **kwargs)

    def nonce(self, address: str) -> int:
        return self.chain.w3.eth.get_transaction_count(address)

    def verifier(self, sessions, box, tenant_id: int) -> Verifier:
        with sessions() as s:
            doc = did_document(s.get(Tenant, tenant_id), box, [self.chain.chain_id])
        resolver = DidResolver()
        resolver.add(doc, "tenant did.json")
        router = LedgerRouter({self.chain.chain_id: self.chain.reader()})
        return Verifier(ledger=CachingReader(router), did_resolver=resolver, options=VerifierOptions())

    def anchor_events(self) -> int:
        """How many RootAnchored events the registry emitted (one per anchoring transaction that landed)."""
        from issuer.ledger.provider import ROOT_ANCHORED_TOPIC

        logs = self.chain.w3.eth.get_logs({"address": self.chain.registry_address, "fromBlock": 0,
                                           "toBlock": "latest", "topics": ["0x" + ROOT_ANCHORED_TOPIC.hex()]})
        return len(logs)


def documents(sessions, batch_id: str) -> list[CredentialRecord]:
    with sessions() as s:
        return list(s.scalars(select(CredentialRecord).where(CredentialRecord.batch_id == batch_id)
                              .order_by(CredentialRecord.position)))


def batch_of(sessions, batch_id: str) -> Batch:
    with sessions() as s:
        return s.get(Batch, batch_id)


def assert_delivered_once(sessions, chain: Chain, box, tenant_id: int, batch_id: str, n: int, *,
                          roster: bool = True) -> None:
    """Every credential is there once, with exactly [eddsa, merkle] proofs, and verifies against the chain."""
    from issuer.store.models import BatchState

    batch = batch_of(sessions, batch_id)
    assert batch.state is BatchState.DELIVERED, (batch.state, batch.error)
    records = documents(sessions, batch_id)
    assert [r.position for r in records] == list(range(n))
    assert len({r.id for r in records}) == n and len({r.share_token for r in records}) == n
    if roster:  # one credential per learner
        assert len({r.learner["email"] for r in records}) == n
    verifier = chain.verifier(sessions, box, tenant_id)
    for r in records:
        proofs = r.document["proof"]
        assert isinstance(proofs, list) and [p["cryptosuite"] for p in proofs] == ["eddsa-rdfc-2022",
                                                                                   "merkle-proof-2019"]
        assert proofs[1]["previousProof"] == proofs[0]["id"]
        assert r.document["id"] == r.id
        report = verifier.verify(r.document)
        assert report.verdict is Verdict.VERIFIED, [c.to_json() for c in report.checks if c.status.value != "pass"]
