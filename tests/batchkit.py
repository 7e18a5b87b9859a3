"""Issue a real batch (example achievement and roster) on a ledger and build verifiers for it; shared by tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eth_account import Account

from issuer.achievement import load_achievement
from issuer.batch import BatchResult, build_documents, issue_batch
from issuer.keys import IssuerIdentity, new_identity
from issuer.roster import load_roster
from verifier.did import DidResolver
from verifier.ledger.base import LedgerReader
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.verify import Verifier, VerifierOptions

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@dataclass
class IssuedBatch:
    identity: IssuerIdentity
    result: BatchResult
    chain_id: int
    reader: LedgerReader
    issued: datetime

    @property
    def did_document(self) -> dict[str, Any]:
        return json.loads(self.result.did_document.read_text("utf-8"))

    def credential(self, i: int = 0) -> dict[str, Any]:
        return json.loads(self.result.files[i].read_text("utf-8"))

    def verifier(self, *, did_document: dict | None = None, readers: dict[int, LedgerReader] | None = None, **options) -> Verifier:
        resolver = DidResolver()
        resolver.add(did_document or self.did_document, "file did.json")
        router = LedgerRouter(readers if readers is not None else {self.chain_id: self.reader})
        return Verifier(ledger=CachingReader(router), did_resolver=resolver, options=VerifierOptions(**options))


def issue_example_batch(out_dir: Path, writer, *, chain_id: int, reader: LedgerReader, identity: IssuerIdentity | None = None,
                        roster: Path = EXAMPLES / "roster.csv", workers: int = 1) -> IssuedBatch:
    identity = identity or new_identity("did:web:www.tu-example.de")
    achievement = load_achievement(EXAMPLES / "achievement.yaml")
    learners = load_roster(roster, achievement)
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    docs = build_documents(achievement, learners, issuer_did=identity.did, issued=issued)
    result = issue_batch(
        docs, identity=identity, writer=writer(identity), ledger_label="test", out_dir=out_dir,
        created=issued.strftime("%Y-%m-%dT%H:%M:%SZ"), workers=workers,
    )
    return IssuedBatch(identity, result, chain_id, reader, issued)


def embedded_batch(out_dir: Path, *, mode: str = "contract", did: str | None = "did:web:www.tu-example.de", workers: int = 1):
    from issuer.ledger.embedded import EmbeddedChain

    chain = EmbeddedChain()

    def writer(identity: IssuerIdentity):
        account = Account.from_key(identity.secp256k1_secret)
        chain.fund(account.address, 10**18)
        return chain.writer(account, mode=mode)

    batch = issue_example_batch(out_dir, writer, chain_id=chain.chain_id, reader=chain.reader(),
                                identity=new_identity(did), workers=workers)
    return chain, batch
