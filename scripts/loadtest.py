#!/usr/bin/env python3
"""Load test of the verifier service (issue #3, "Measured"), printed in one run on this machine:

  1. setup: anvil on a free loopback port (temporary directory), ONE batch of N credentials (default 1,000) issued on
     it, a networks file (verifier.config format) and the batch's did.json;
  2. in-process rate: the verifier built as the service builds it (verifier.setup.build_verifier +
     load_did_documents), every credential verified one by one in this process;
  3. service rate: the service under uvicorn in a second process (one worker), loaded from this process for
     --duration seconds at --concurrency concurrent requests on ``POST /credentials/verify``, cycling through the N
     credentials; responses counted by status, errors (non-200, ``verified`` not true, exceptions), latencies.

Floor (issue #3): service throughput >= 0.8 x the in-process rate, with no error.
Usage: .venv/bin/python scripts/loadtest.py [--credentials N] [--duration S] [--concurrency C]
Exit status 1 when a request errs, or (with the default sizes) when the ratio is under the floor.
Only loopback addresses are contacted (anvil and the service, both started here and stopped by PID at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import httpx
from bench import free_port, issue

from verifier.config import load_networks
from verifier.report import Verdict
from verifier.setup import build_verifier, load_did_documents

FLOOR_RATIO = 0.8
DEFAULTS = {"credentials": 1_000, "duration": 60.0, "concurrency": 64}
CHAIN_ID = 31337
HOST = "127.0.0.1"  # loopback only: the only target this script may load
JSON = {"content-type": "application/json"}
CONNECTIONS_PER_CLIENT = 8


@dataclass(frozen=True)
class Setup:
    files: tuple[Path, ...]
    did_document: Path
    networks_file: Path


@dataclass
class LoadResult:
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    not_verified: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.exceptions.values())

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0) - self.not_verified

    @property
    def errors(self) -> int:
        return self.requests - self.ok


# ── 1. setup ────────────────────────────────────────────────────────────────────────────────────────────────────

def issue_on_devnet(n: int, tmp: Path, rpc_url: str) -> Setup:
    from eth_account import Account
    from web3 import Web3

    from issuer.keys import new_identity
    from issuer.ledger.devnet import fund_from_dev_account
    from issuer.ledger.evm import EvmWriter, ensure_registry

    identity = new_identity("did:web:www.tu-example.de")
    account = Account.from_key(identity.secp256k1_secret)
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    fund_from_dev_account(w3, account.address, 10**18)
    registry = ensure_registry(w3, account, tmp / "devnet" / "registry.json")
    batch, _ = issue(n, lambda: EvmWriter(w3, account, registry_address=registry), identity, tmp / "issued",
                     min(2, os.cpu_count() or 1), "devnet")
    networks_file = tmp / "networks.json"
    networks_file.write_text(json.dumps({"networks": [
        {"chain_id": CHAIN_ID, "label": "devnet", "rpc_url": rpc_url, "registry_address": registry},
    ]}), "utf-8")
    return Setup(batch.files, batch.did_document, networks_file)


# ── 2. in-process rate ──────────────────────────────────────────────────────────────────────────────────────────

def in_process_rate(setup: Setup, documents: list[dict]) -> tuple[float, int]:
    """Credentials/s of ``Verifier.verify`` one by one, built as the service's lifespan builds it (default settings).

    One credential is verified first, untimed, as the service is warmed by /health and its first requests: the
    anchor read is cached for both (CachingReader), so the figure is the steady-state rate.
    """
    from verifier.service.settings import VerifierSettings

    settings = VerifierSettings(networks_file=setup.networks_file, did_documents=[setup.did_document])
    resolver = load_did_documents(settings.did_documents, max_bytes=settings.max_body_bytes)
    built = build_verifier(load_networks(settings.networks_file), resolver,
                           min_confirmations=settings.min_confirmations, cache_ttl=settings.anchor_cache_ttl)
    try:
        built.verifier.verify(documents[0], now=datetime.now(UTC), source="warm-up")
        start = time.perf_counter()
        verified = sum(
            built.verifier.verify(doc, now=datetime.now(UTC), source="request body").verdict
            is Verdict.VERIFIED
            for doc in documents
        )
        seconds = time.perf_counter() - start
    finally:
        built.close()
    return len(documents) / seconds, verified


# ── 3. the service under load ───────────────────────────────────────────────────────────────────────────────────

def start_service(setup: Setup, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "VERIFIER_NETWORKS_FILE": str(setup.networks_file),
           "VERIFIER_DID_DOCUMENTS": json.dumps([str(setup.did_document)])}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "verifier.service.app:create_app",
             "--host", HOST, "--port", str(port), "--workers", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_service(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_healthy(proc: subprocess.Popen, base: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with code {proc.returncode}; log:\n{tail(log)}")
        try:
            if httpx.get(f"{base}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the service did not answer /health within {timeout:.0f} s; log:\n{tail(log)}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), to tell which side of the load is the bottleneck."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def is_verified(body: bytes) -> bool:
    # FastAPI writes the response model's fields in order, so a verified result starts so; anything else is parsed.
    if body.startswith(b'{"verified":true,'):
        return True
    try:
        return json.loads(body).get("verified") is True
    except (ValueError, AttributeError):
        return False


async def post(client: httpx.AsyncClient, body: bytes, result: LoadResult) -> None:
    sent = time.perf_counter()
    try:
        response = await client.post("/credentials/verify", content=body, headers=JSON)
    except httpx.HTTPError as exc:
        result.exceptions[type(exc).__name__] += 1
        return
    result.latencies.append(time.perf_counter() - sent)
    result.statuses[response.status_code] += 1
    if response.status_code == 200 and not is_verified(response.content):
        result.not_verified += 1


def shard_sizes(concurrency: int, per_client: int) -> list[int]:
    """Connections per client: ``concurrency`` in all, at most ``per_client`` each."""
    full, rest = divmod(concurrency, per_client)
    return [per_client] * full + ([rest] if rest else [])


async def load(base: str, bodies: list[bytes], *, duration: float, concurrency: int) -> tuple[LoadResult, LoadResult]:
    """``concurrency`` loops post back to back for ``duration`` seconds, cycling through the request bodies.

    Returns (warm-up, timed load). The warm-up is untimed but judged like the rest: one request alone first (the
    service learns the batch's shape and reads the anchor once), then one per connection to open the pool.
    """
    warm, result = LoadResult(), LoadResult()
    counter = iter(range(1 << 62))
    # Measured on this machine: one AsyncClient holding 64 connections costs the load generator ~7.6 ms of CPU per
    # request (its pool's bookkeeping grows with the connections) and left the service 35% busy; clients of at most
    # CONNECTIONS_PER_CLIENT connections cost ~2.9 ms. Same number of connections in all, loopback only.
    clients = [
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(60.0),
                          limits=httpx.Limits(max_connections=size, max_keepalive_connections=size))
        for size in shard_sizes(concurrency, CONNECTIONS_PER_CLIENT)
    ]
    try:
        await post(clients[0], bodies[0], warm)
        await asyncio.gather(*(post(clients[i % len(clients)], bodies[i % len(bodies)], warm)
                               for i in range(concurrency)))
        start = time.perf_counter()
        deadline = start + duration

        async def client_loop(client: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                await post(client, bodies[next(counter) % len(bodies)], result)

        await asyncio.gather(*(client_loop(clients[i % len(clients)]) for i in range(concurrency)))
        result.seconds = time.perf_counter() - start
    finally:
        for client in clients:
            await client.aclose()
    return warm, result


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# ── 4. report ───────────────────────────────────────────────────────────────────────────────────────────────────

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--credentials", type=int, default=DEFAULTS["credentials"], help="credentials in the batch")
    ap.add_argument("--duration", type=float, default=DEFAULTS["duration"], help="seconds of load on the service")
    ap.add_argument("--concurrency", type=int, default=DEFAULTS["concurrency"], help="requests in flight")
    args = ap.parse_args()
    if args.credentials < 1 or args.duration <= 0 or args.concurrency < 1:
        ap.error("--credentials and --concurrency must be >= 1, --duration > 0")

    from issuer.ledger.devnet import Devnet

    tmp = Path(tempfile.mkdtemp(prefix="anchorcred-loadtest-"))
    devnet = Devnet(tmp / "devnet", chain_id=CHAIN_ID, port=free_port())
    service: subprocess.Popen | None = None
    try:
        status = devnet.start()
        start = time.perf_counter()
        setup = issue_on_devnet(args.credentials, tmp, status.rpc_url)
        print(f"setup: anvil on {status.rpc_url}, {len(setup.files):,} credentials issued in one batch in "
              f"{time.perf_counter() - start:.1f} s; networks file {setup.networks_file}, DID document "
              f"{setup.did_document}", flush=True)

        raw = [p.read_bytes() for p in setup.files]
        documents = [json.loads(r) for r in raw]
        rate, verified = in_process_rate(setup, documents)
        print(f"in-process: {len(documents):,} credentials verified one by one in "
              f"{len(documents) / rate:.2f} s = {rate:,.0f} credentials/s, {verified:,} verified", flush=True)

        port = free_port()
        base = f"http://{HOST}:{port}"
        log = tmp / "service.log"
        service = start_service(setup, port, log)
        wait_healthy(service, base, log)
        # The bodies are built once: the load generator shares the cores with the service, so it does little.
        bodies = [b'{"verifiableCredential":' + r.strip() + b"}" for r in raw]
        service_cpu, own_cpu = cpu_seconds(service.pid), time.process_time()
        warm, result = asyncio.run(load(base, bodies, duration=args.duration, concurrency=args.concurrency))
        own_cpu = time.process_time() - own_cpu
        service_cpu = None if service_cpu is None else (cpu_seconds(service.pid) or service_cpu) - service_cpu
        if service.poll() is not None:
            print(f"the service exited during the load (code {service.returncode}); log:\n{tail(log)}")
    finally:
        if service is not None:
            stop_service(service)
        devnet.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the credentials, keys, anvil state and service log of this run only

    throughput = result.ok / result.seconds
    ratio = throughput / rate
    lat = sorted(result.latencies)
    statuses = ", ".join(f"{code}: {count:,}" for code, count in sorted(result.statuses.items())) or "none"
    excs = ", ".join(f"{name}: {count:,}" for name, count in sorted(result.exceptions.items()))
    print(f"service: {result.requests:,} requests in {result.seconds:.1f} s at concurrency {args.concurrency} "
          f"(uvicorn, 1 worker) = {throughput:,.0f} verified credentials/s; statuses {statuses}"
          + (f"; exceptions {excs}" if excs else ""))
    print(f"warm-up: {warm.requests:,} requests (1 alone, then {args.concurrency} at once), {warm.errors:,} errors")
    print(f"latency: p50 {percentile(lat, 0.50) * 1000:.1f} ms, p95 {percentile(lat, 0.95) * 1000:.1f} ms, "
          f"p99 {percentile(lat, 0.99) * 1000:.1f} ms")
    total = max(1, warm.requests + result.requests)
    busy = f"{service_cpu * 1000 / total:.2f} ms" if service_cpu is not None else "n/a"
    print(f"cpu per request: service {busy}, load generator {own_cpu * 1000 / total:.2f} ms "
          f"(verification alone: {1000 / rate:.2f} ms; {os.cpu_count()} cores shared)")
    non_200 = result.requests - result.statuses.get(200, 0)
    print(f"errors: {result.errors + warm.errors:,} (warm-up: {warm.errors:,}; load: non-200 {non_200:,}, "
          f"verified not true {result.not_verified:,})")
    print(f"ratio: service / in-process = {throughput:,.0f} / {rate:,.0f} = {ratio:.2f}  (floor: {FLOOR_RATIO})")

    missed = []
    if result.errors or warm.errors:
        missed.append(f"{result.errors + warm.errors} errors")
    if verified != len(documents):
        missed.append(f"{len(documents) - verified} credentials not verified in process")
    defaults = (args.credentials, args.duration, args.concurrency) == tuple(DEFAULTS.values())
    if defaults and ratio < FLOOR_RATIO:
        missed.append(f"ratio {ratio:.2f} < {FLOOR_RATIO}")
    print("floors: " + ("all met" if not missed else "MISSED: " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
