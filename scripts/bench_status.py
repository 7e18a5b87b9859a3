#!/usr/bin/env python3
"""Figures of issue 4 (status lists), printed in one run on the embedded chain:

  (a) gas for revoking N credentials (default 1,000) in ONE publication, through the issuer's own path: a tenant in
      an SQLite store, status entries allocated at random, ``change_status(revoke)`` for all of them, then the
      ``StatusPublisher`` signs the list and sends one ``publishStatus(listId, digest)`` transaction;
  (b) the time for a verifier to check the status of those N credentials, which share a list: one fetch and one
      registry read per list (cached), one digest and one signature check per list, then a bit read per credential.
      The credentials are real (signed and anchored in one batch by the tenant's keys, with the store's entries);
      the full verification time of the N is printed beside it for scale.

Usage: .venv/bin/python scripts/bench_status.py [--credentials N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from sqlalchemy import select  # noqa: E402

from issuer.achievement import load_achievement  # noqa: E402
from issuer.batch import build_documents, issue_batch  # noqa: E402
from issuer.ledger.embedded import EmbeddedChain  # noqa: E402
from issuer.roster import load_roster  # noqa: E402
from issuer.status.allocation import allocate, status_entries_of  # noqa: E402
from issuer.status.changes import change_status  # noqa: E402
from issuer.status.publisher import StatusPublisher  # noqa: E402
from issuer.store.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from issuer.store.models import StatusList, StatusPublication, Tenant  # noqa: E402
from issuer.store.secrets import SecretBox  # noqa: E402
from issuer.store.tenants import create_tenant, identity_of  # noqa: E402
from verifier.checks import Evidence  # noqa: E402
from verifier.did import DidResolver  # noqa: E402
from verifier.document import parse_credential  # noqa: E402
from verifier.fetch import FetchUnavailableError  # noqa: E402
from verifier.ledger.evm import CachingReader, LedgerRouter  # noqa: E402
from verifier.report import Status  # noqa: E402
from verifier.statuscheck import check_status  # noqa: E402
from verifier.statuslists import StatusListSource  # noqa: E402
from verifier.verify import Verifier  # noqa: E402

PUBLIC_URL = "http://localhost:8081"


class Site:
    """The tenant's public status list URLs, answered from the store (what the issuer service serves)."""

    def __init__(self, sessions, tenant_id: int):
        self.sessions, self.tenant_id, self.fetches = sessions, tenant_id, 0

    def fetch_json(self, url: str):
        self.fetches += 1
        with self.sessions() as s:
            found = s.scalar(select(StatusList).where(StatusList.tenant_id == self.tenant_id, StatusList.url == url))
            if found is None or found.document is None:
                raise FetchUnavailableError(f"{url}: HTTP 404")
            return url, found.document


def learners(n: int):
    achievement = load_achievement(ROOT / "examples" / "achievement.yaml")
    base = load_roster(ROOT / "examples" / "roster.csv", achievement)
    return achievement, [dataclasses.replace(base[i % len(base)], row=i + 2, email=f"learner{i}@students.example",
                                             learner_did=base[i].learner_did if i < len(base) else None)
                         for i in range(n)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--credentials", type=int, default=1_000)
    n = ap.parse_args().credentials
    tmp = Path(tempfile.mkdtemp(prefix="anchorcred-bench-status-"))
    try:
        url = f"sqlite:///{tmp / 'issuer.db'}"
        migrate(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        box = SecretBox("bench-status-master-secret-not-for-production")
        chain = EmbeddedChain()
        provider = chain.provider()
        with sessions.begin() as s:
            tenant = create_tenant(s, box, slug="tu-example", name="TU Example", public_url=PUBLIC_URL)
            tenant_id = tenant.id
            identity = identity_of(tenant, box)
        provider.ensure_funds(identity.anchoring_address)

        # The credentials: entries allocated by the store, then signed and anchored in one batch.
        achievement, people = learners(n)
        issued = datetime.now(timezone.utc).replace(microsecond=0)
        docs = list(build_documents(achievement, people, issuer_did=identity.did, issued=issued))
        ids = [d["id"] for d in docs]
        with sessions.begin() as s:
            allocate(s, s.get(Tenant, tenant_id), ids, public_url=PUBLIC_URL)
            entries = status_entries_of(s, ids)
        docs = [{**d, "credentialStatus": entries[d["id"]]} for d in docs]
        publisher = StatusPublisher(sessions, box, provider, poll_interval=0.01)
        publisher.run_until_idle()  # version 1 of each list: all clear
        writer = chain.writer(Account.from_key(identity.secp256k1_secret))
        batch = issue_batch(docs, identity=identity, writer=writer, ledger_label="embedded", out_dir=tmp / "out",
                            created=issued.strftime("%Y-%m-%dT%H:%M:%SZ"), workers=1)

        # (a) revoke all N, one publication
        with sessions.begin() as s:
            before = set(s.scalars(select(StatusPublication.id).where(StatusPublication.tenant_id == tenant_id)))
            change_status(s, tenant_id, ids, "revoke", reason="benchmark", actor="scripts/bench_status.py")
        start = time.perf_counter()
        publisher.run_until_idle()
        publish_s = time.perf_counter() - start
        with sessions() as s:
            new = [p for p in s.scalars(select(StatusPublication).where(StatusPublication.tenant_id == tenant_id))
                   if p.id not in before]
        txs = {p.tx_hash for p in new}
        gas = sum(p.gas_used or 0 for p in new)
        print(f"(a) revoking {n:,} credentials: {len(new)} publication(s), {len(txs)} ledger transaction(s), "
              f"{gas:,} gas = {gas / n:.1f} gas per credential (list signed and published in {publish_s:.2f} s)")

        # (b) the verifier: status of the N credentials sharing the lists
        resolver = DidResolver()
        resolver.add(json.loads(batch.did_document.read_text("utf-8")), "file did.json")
        site = Site(sessions, tenant_id)
        ledger = CachingReader(LedgerRouter({chain.chain_id: chain.reader()}))
        verifier = Verifier(ledger=ledger, did_resolver=resolver, status_source=StatusListSource(fetcher=site))
        creds = [parse_credential(json.loads(p.read_text("utf-8"))) for p in batch.files]
        now = datetime.now(timezone.utc)
        issuer = resolver.resolve(identity.did)
        start = time.perf_counter()
        first_s = None
        results = []
        for cred in creds:
            lists = verifier._gather_status(cred, issuer, local_only=False, snapshots=None)
            results.append(check_status(cred, Evidence(issuer=issuer, status_lists=lists), verifier.canonicalizer,
                                        now=now))
            if first_s is None:
                first_s = time.perf_counter() - start
        status_s = time.perf_counter() - start
        revoked = sum(r.status is Status.FAIL and r.reason.startswith("revoked") for r in results)
        rest_ms = (status_s - first_s) / max(1, n - 1) * 1000
        print(f"(b) status of {n:,} credentials sharing a list: {status_s * 1000:.0f} ms "
              f"(first credential {first_s * 1000:.0f} ms: {site.fetches} fetches and "
              f"{ledger.misses} registry reads for 2 lists, digest and signature once each; then {rest_ms:.3f} ms "
              f"each); {revoked:,} reported revoked")

        site.fetches = 0
        verifier = Verifier(ledger=CachingReader(LedgerRouter({chain.chain_id: chain.reader()})),
                            did_resolver=resolver, status_source=StatusListSource(fetcher=site))
        items = [(p.name, json.loads(p.read_text("utf-8"))) for p in batch.files]
        start = time.perf_counter()
        reports = verifier.verify_many(items, now=now, workers=2)
        full_s = time.perf_counter() - start
        failed = sum(r.check("status").status is Status.FAIL for r in reports)
        print(f"    full verification of the {n:,} (every check, 2 workers): {full_s:.2f} s, "
              f"{failed:,} failed on status, {site.fetches} list fetches")
        engine.dispose()
        return 0 if revoked == n and failed == n and len(txs) == 1 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
