#!/usr/bin/env python3
"""Benchmarks of issue #2, printed in one run on this machine:

  1. issuance rate: N credentials (default 10,000) signed, anchored on the embedded chain, proofs written;
  2. verification rate: M credentials (default 1,000) of one batch verified against anvil;
  3. gas per credential at N.

Floors on a 2-core machine: 10,000 issued in <= 10 s, 1,000 verified in <= 2 s, <= 5 gas per credential.
Usage: .venv/bin/python scripts/bench.py [--issue N] [--verify M] [--workers W]
Exit status 1 when a floor is missed (with the default sizes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import socket
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402

from issuer.achievement import load_achievement  # noqa: E402
from issuer.batch import build_documents, issue_batch  # noqa: E402
from issuer.keys import new_identity  # noqa: E402
from issuer.ledger.embedded import EmbeddedChain  # noqa: E402
from issuer.roster import load_roster  # noqa: E402
from verifier.did import DidResolver  # noqa: E402
from verifier.ledger.evm import CachingReader, EvmReader, HttpTransport, LedgerRouter  # noqa: E402
from verifier.report import Verdict  # noqa: E402
from verifier.verify import Verifier  # noqa: E402

FLOOR_ISSUE_S, FLOOR_VERIFY_S, FLOOR_GAS = 10.0, 2.0, 5.0


def learners(n: int):
    achievement = load_achievement(ROOT / "examples" / "achievement.yaml")
    base = load_roster(ROOT / "examples" / "roster.csv", achievement)
    out = []
    for i in range(n):
        b = base[i % len(base)]
        # Unique emails and DIDs dropped on copies: same shape as a real roster, no duplicate identities.
        out.append(dataclasses.replace(b, row=i + 2, email=f"learner{i}@students.tu-example.de",
                                       learner_did=b.learner_did if i < len(base) else None))
    return achievement, out


def issue(n: int, writer_factory, identity, out_dir: Path, workers: int, label: str):
    achievement, people = learners(n)
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    start = time.perf_counter()
    docs = build_documents(achievement, people, issuer_did=identity.did, issued=issued)
    result = issue_batch(
        docs, identity=identity, writer=writer_factory(), ledger_label=label, out_dir=out_dir,
        created=issued.strftime("%Y-%m-%dT%H:%M:%SZ"), workers=workers,
    )
    return result, time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--issue", type=int, default=10_000)
    ap.add_argument("--verify", type=int, default=1_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="anchorcred-bench-"))
    try:
        identity = new_identity("did:web:www.tu-example.de")
        account = Account.from_key(identity.secp256k1_secret)

        # 1 + 3: issuance on the embedded chain
        chain = EmbeddedChain()
        chain.fund(account.address, 10**18)
        result, seconds = issue(args.issue, lambda: chain.writer(account, mode="contract"), identity, tmp / "issued",
                                args.workers, "embedded")
        print(f"issuance: {result.count} credentials signed, anchored (embedded chain) and written in {seconds:.2f} s "
              f"= {result.count / seconds:,.0f} credentials/s  (floor: 10,000 in {FLOOR_ISSUE_S:.0f} s)")
        print(f"gas: {result.receipt.gas_used:,} for the batch = {result.gas_per_credential:.2f} gas per credential "
              f"at {result.count:,}  (floor: <= {FLOOR_GAS:.0f})")

        # 2: verification against anvil
        from web3 import Web3

        from issuer.ledger.devnet import Devnet, fund_from_dev_account
        from issuer.ledger.evm import EvmWriter, ensure_registry

        devnet = Devnet(tmp / "devnet", chain_id=31337, port=free_port())
        status = devnet.start()
        try:
            w3 = Web3(Web3.HTTPProvider(status.rpc_url))
            fund_from_dev_account(w3, account.address, 10**18)
            registry = ensure_registry(w3, account, tmp / "devnet" / "registry.json")
            batch, _ = issue(args.verify, lambda: EvmWriter(w3, account, registry_address=registry), identity,
                             tmp / "verify", args.workers, "devnet")
            resolver = DidResolver()
            resolver.add(json.loads(batch.did_document.read_text("utf-8")), "file did.json")
            verifier = Verifier(
                ledger=CachingReader(LedgerRouter({31337: EvmReader(HttpTransport(status.rpc_url), chain_id=31337,
                                                                     registry_address=registry)})),
                did_resolver=resolver,
            )
            start = time.perf_counter()  # from the files on disk, as `anchorcred verify out/*.json` does
            docs = [(p.name, json.loads(p.read_text("utf-8"))) for p in batch.files]
            reports = verifier.verify_many(docs, workers=args.workers)
            vseconds = time.perf_counter() - start
        finally:
            devnet.stop()
        ok = sum(r.verdict is Verdict.VERIFIED for r in reports)
        print(f"verification: {len(reports)} credentials of one batch verified against anvil in {vseconds:.2f} s "
              f"= {len(reports) / vseconds:,.0f} credentials/s, {ok} verified  (floor: 1,000 in {FLOOR_VERIFY_S:.0f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the credentials, keys and anvil state of this run only

    missed = []
    if args.issue == 10_000 and seconds > FLOOR_ISSUE_S:
        missed.append("issuance")
    if args.verify == 1_000 and vseconds > FLOOR_VERIFY_S:
        missed.append("verification")
    if result.count == 10_000 and result.gas_per_credential > FLOOR_GAS:
        missed.append("gas")
    if ok != len(reports):
        missed.append("not every credential verified")
    print("floors: " + ("all met" if not missed else "MISSED: " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
