#!/usr/bin/env python3
"""Load test of the verifier service (issue #3, "Measured"), printed in one run on this machine:

  1. setup: anvil on a free loopback port (temporary directory), ONE batch of N credentials (default 1,000) issued on
     it, a networks file (verifier.config format) and the batch's did.json;
  2. in-process rate: the verifier built exactly as the service's lifespan builds it (verifier.setup.build_verifier +
     load_did_documents, default settings, the same caches), the N credentials taken one at a time along the path a
     request runs, HTTP apart: decode the same request body (verifier.service.jsontext), Verifier.verify, build and
     encode the same answer (verification_result, JsonBody). Measured before the load and again after it; the
     baseline is the mean (the machine is shared: both are printed with the load average). Verifier.verify alone
     is printed too, with the ratio against it;
  3. service rate: the service under uvicorn in a second process (--workers, default 1: one thread in process against
     one worker is like for like), loaded from this process for --duration seconds over --concurrency keep-alive
     connections on ``POST /credentials/verify``, cycling through the N credentials; responses counted by status,
     errors (non-200, ``verified`` not true, exceptions), latencies, CPU per request of both processes.

The load generator writes prepared HTTP/1.1 requests on raw asyncio streams (uvloop): 0.07 ms of CPU per request.
httpx clients cost 2.9 ms per request (7.6 ms with one 64-connection client) on the same 2 shared cores, more than
the service itself, and so measured the generator rather than the service.

Where the service's time went (cProfile of uvicorn in process, and a stub verifier that answers at once to isolate
the HTTP path), and what changed:
  - three threadpool hops per request (a sync dependency, the sync endpoint, the response validation FastAPI runs
    in a thread for a sync endpoint): the checks are pure CPU, so a credential whose evidence is cached is now judged
    on the event loop; only I/O (a ledger read, a did:web fetch) or a body over VERIFIER_INLINE_MAX_BYTES goes to a
    thread (verifier.service.api.verify_on_loop);
  - the response: a pydantic model built, then validated and serialized again by FastAPI, then json.dumps: now a
    dict encoded once with orjson (verifier.service.jsontext.JsonBody);
  - FastAPI's routing, dependency solving and body validation: 0.11 ms per request; a well-formed request now takes
    verifier.service.fastlane (the route's own answer function), everything else still goes to the route;
  - what is left per request: uvicorn/httptools and two socket writes (about 0.06 ms with the stub), the JSON decode.
  Access logging is off (--no-access-log, as in the README's run command; --access-log turns it on). Verification
  results are never cached: every request verifies its credential (only the issuer's DID document and the batch's
  anchor read are cached, as in process).
  With this generator, 8 s runs, 1 worker, load average ~3 on 2 shared cores: service CPU per request 1.51 ms
  before these changes (ratio 0.52), 0.85 ms after (request path in process 0.73 ms; ratio 0.86).

Floor (issue #3): service throughput >= 0.8 x the in-process rate, with no error.
Usage: .venv/bin/python scripts/loadtest.py [--credentials N] [--duration S] [--concurrency C] [--workers W]
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
from verifier.setup import build_verifier, load_did_documents

FLOOR_RATIO = 0.8
DEFAULTS = {"credentials": 1_000, "duration": 60.0, "concurrency": 64}
CHAIN_ID = 31337
HOST = "127.0.0.1"  # loopback only: the only target this script may load
JSON = {"content-type": "application/json"}


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

def in_process_rates(setup: Setup, bodies: list[bytes]) -> tuple[float, float, int, float]:
    """(request-path rate, verification-only rate, verified, CPU seconds per request on the request path):
    credentials/s, one at a time, in this process.

    The verifier is built exactly as the service's lifespan builds it (default settings: build_verifier +
    load_did_documents, the same caches). The request path is what one ``POST /credentials/verify`` does apart from
    HTTP: decode the same request body, ``Verifier.verify`` the credential, build and encode the same JSON answer
    (``verification_result`` and the endpoint's response class). The verification-only rate is ``Verifier.verify``
    alone, on documents decoded beforehand. One credential is verified first, untimed, as the service is warmed by its
    first requests: the anchor read is then cached for both, so the figures are the steady-state rates.
    """
    from verifier.service import jsontext
    from verifier.service.api import JsonBody, verification_result
    from verifier.service.settings import VerifierSettings

    settings = VerifierSettings(networks_file=setup.networks_file, did_documents=[setup.did_document])
    resolver = load_did_documents(settings.did_documents, max_bytes=settings.max_body_bytes)
    built = build_verifier(load_networks(settings.networks_file), resolver,
                           min_confirmations=settings.min_confirmations, cache_ttl=settings.anchor_cache_ttl)
    verifier = built.verifier
    try:
        verifier.verify(json.loads(bodies[0])["verifiableCredential"], now=datetime.now(UTC), source="warm-up")
        start, cpu = time.perf_counter(), time.process_time()
        verified = 0
        for body in bodies:
            report = verifier.verify(jsontext.loads(body)["verifiableCredential"], now=datetime.now(UTC),
                                     source="request body")
            answer = JsonBody(verification_result(report)).body
            verified += answer.startswith(b'{"verified":true,')
        request_path = len(bodies) / (time.perf_counter() - start)
        cpu = (time.process_time() - cpu) / len(bodies)
        documents = [json.loads(body)["verifiableCredential"] for body in bodies]
        start = time.perf_counter()
        for doc in documents:
            verifier.verify(doc, now=datetime.now(UTC), source="request body")
        alone = len(documents) / (time.perf_counter() - start)
    finally:
        built.close()
    return request_path, alone, verified, cpu


# ── 3. the service under load ───────────────────────────────────────────────────────────────────────────────────

def service_command(port: int, *, workers: int, access_log: bool) -> list[str]:
    return ([sys.executable, "-m", "uvicorn", "--factory", "verifier.service.app:create_app", "--host", HOST,
             "--port", str(port), "--workers", str(workers)] + ([] if access_log else ["--no-access-log"]))


def start_service(setup: Setup, command: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "VERIFIER_NETWORKS_FILE": str(setup.networks_file),
           "VERIFIER_DID_DOCUMENTS": json.dumps([str(setup.did_document)])}
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


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
    """User + system CPU time of a process and its descendants (uvicorn's workers), from Linux /proc."""
    def own(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    try:
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        tree, frontier = {pid}, [pid]
        while frontier:
            parent = frontier.pop()
            children = [child for child, ppid in parents.items() if ppid == parent and child not in tree]
            tree.update(children)
            frontier.extend(children)
        total = 0.0
        for p in tree:
            try:
                total += own(p)
            except (OSError, ValueError, IndexError):
                continue  # a process that ended meanwhile
        return total
    except (OSError, ValueError, IndexError):
        return None


def tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def is_verified(body: bytes) -> bool:
    # The endpoint writes ``verified`` first, so a verified result starts so; anything else is parsed.
    if body.startswith(b'{"verified":true,'):
        return True
    try:
        return json.loads(body).get("verified") is True
    except (ValueError, AttributeError):
        return False


class ProtocolError(Exception):
    """The service answered something that is not a well-formed HTTP/1.1 response."""


def request_bytes(port: int, body: bytes) -> bytes:
    """One complete ``POST /credentials/verify`` as it goes on the wire (HTTP/1.1, keep-alive)."""
    return (b"POST /credentials/verify HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (HOST.encode(), port, len(body))) + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep the connection) of one HTTP/1.1 response: Content-Length or chunked framing."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"status line {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(c[:-2] for c in chunks)
    elif headers.get(b"content-length", b"").isdigit():
        body = await reader.readexactly(int(headers[b"content-length"]))
    else:
        raise ProtocolError("a response without Content-Length or chunked framing")
    return int(parts[1]), body, headers.get(b"connection", b"").lower() != b"close"


class Connection:
    """One keep-alive connection to the service, reopened when the service closes it."""

    def __init__(self, port: int):
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, request: bytes, result: LoadResult) -> None:
        sent = time.perf_counter()
        try:
            if self.streams is None:
                self.streams = await asyncio.open_connection(HOST, self.port)
            reader, writer = self.streams
            writer.write(request)
            status, body, keep = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError, ValueError) as exc:
            result.exceptions[type(exc).__name__] += 1
            await self.close()
            return
        result.latencies.append(time.perf_counter() - sent)
        result.statuses[status] += 1
        if status == 200 and not is_verified(body):
            result.not_verified += 1
        if not keep:
            await self.close()

    async def close(self) -> None:
        if self.streams is not None:
            writer = self.streams[1]
            self.streams = None
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def load(port: int, requests: list[bytes], *, duration: float, concurrency: int
               ) -> tuple[LoadResult, LoadResult]:
    """``concurrency`` connections post back to back for ``duration`` seconds, cycling through the requests.

    Returns (warm-up, timed load). The warm-up is untimed but judged like the rest: one request alone first (the
    service learns the batch's shape and reads the anchor once), then one per connection to open them all.
    """
    warm, result = LoadResult(), LoadResult()
    counter = iter(range(1 << 62))
    connections = [Connection(port) for _ in range(concurrency)]
    try:
        await connections[0].post(requests[0], warm)
        await asyncio.gather(*(c.post(requests[i % len(requests)], warm) for i, c in enumerate(connections)))
        start = time.perf_counter()
        deadline = start + duration

        async def connection_loop(connection: Connection) -> None:
            while time.perf_counter() < deadline:
                await connection.post(requests[next(counter) % len(requests)], result)

        await asyncio.gather(*(connection_loop(c) for c in connections))
        result.seconds = time.perf_counter() - start
    finally:
        for c in connections:
            await c.close()
    return warm, result


def run_load(port: int, requests: list[bytes], *, duration: float, concurrency: int) -> tuple[LoadResult, LoadResult]:
    """``load`` on uvloop when it is installed (uvicorn[standard] brings it): the generator should cost little."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load(port, requests, duration=duration, concurrency=concurrency))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load(port, requests, duration=duration, concurrency=concurrency))


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
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn workers (1: the comparison with one in-process thread is like for like)")
    ap.add_argument("--access-log", action="store_true", help="keep uvicorn's access log on (off, as in the README)")
    args = ap.parse_args()
    if args.credentials < 1 or args.duration <= 0 or args.concurrency < 1 or args.workers < 1:
        ap.error("--credentials, --concurrency and --workers must be >= 1, --duration > 0")

    from issuer.ledger.devnet import Devnet

    print(f"load average before: {load_average()}", flush=True)
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

        # The request bodies are built once: the load generator shares the cores with the service, so it does little.
        bodies = [b'{"verifiableCredential":' + p.read_bytes().strip() + b"}" for p in setup.files]
        before = in_process_rates(setup, bodies)
        print(f"in-process (before the load): {len(bodies):,} credentials verified one by one in "
              f"{len(bodies) / before[0]:.2f} s = {before[0]:,.0f} credentials/s, {before[2]:,} verified (request "
              f"path: decode the body, verify, encode the answer; Verifier.verify alone: {before[1]:,.0f}/s); load "
              f"average {load_average()}", flush=True)

        port = free_port()
        log = tmp / "service.log"
        command = service_command(port, workers=args.workers, access_log=args.access_log)
        service = start_service(setup, command, log)
        wait_healthy(service, f"http://{HOST}:{port}", log)
        requests = [request_bytes(port, body) for body in bodies]
        service_cpu, own_cpu = cpu_seconds(service.pid), time.process_time()
        warm, result = run_load(port, requests, duration=args.duration, concurrency=args.concurrency)
        own_cpu = time.process_time() - own_cpu
        service_cpu = None if service_cpu is None else (cpu_seconds(service.pid) or service_cpu) - service_cpu
        during = load_average()
        if service.poll() is not None:
            print(f"the service exited during the load (code {service.returncode}); log:\n{tail(log)}")
        stop_service(service)
        # Measured again once the service is gone: the machine is shared, so the baseline is the mean of the two.
        after = in_process_rates(setup, bodies)
        print(f"in-process (after the load): {after[0]:,.0f} credentials/s (Verifier.verify alone: "
              f"{after[1]:,.0f}/s), {after[2]:,} verified; load average {load_average()}", flush=True)
    finally:
        if service is not None:
            stop_service(service)
        devnet.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the credentials, keys, anvil state and service log of this run only

    rate, alone = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
    verified = min(before[2], after[2])
    own_path_cpu = (before[3] + after[3]) / 2
    throughput = result.ok / result.seconds
    ratio = throughput / rate
    lat = sorted(result.latencies)
    statuses = ", ".join(f"{code}: {count:,}" for code, count in sorted(result.statuses.items())) or "none"
    excs = ", ".join(f"{name}: {count:,}" for name, count in sorted(result.exceptions.items()))
    workers = f"{args.workers} worker{'' if args.workers == 1 else 's'}"
    print(f"service: {result.requests:,} requests in {result.seconds:.1f} s at concurrency {args.concurrency} "
          f"(uvicorn, {workers}) = {throughput:,.0f} verified credentials/s; statuses {statuses}"
          + (f"; exceptions {excs}" if excs else ""))
    print(f"service command: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}")
    print(f"warm-up: {warm.requests:,} requests (1 alone, then {args.concurrency} at once), {warm.errors:,} errors")
    print(f"latency: p50 {percentile(lat, 0.50) * 1000:.1f} ms, p95 {percentile(lat, 0.95) * 1000:.1f} ms, "
          f"p99 {percentile(lat, 0.99) * 1000:.1f} ms")
    total = max(1, warm.requests + result.requests)
    busy = f"{service_cpu * 1000 / total:.2f} ms" if service_cpu is not None else "n/a"
    cpu_ratio = f" (in process / service: {own_path_cpu / (service_cpu / total):.2f})" if service_cpu else ""
    print(f"cpu per request: service {busy}, request path in process {own_path_cpu * 1000:.2f} ms{cpu_ratio}, "
          f"load generator {own_cpu * 1000 / total:.2f} ms ({os.cpu_count()} cores shared); load average at the "
          f"end of the load {during}")
    non_200 = result.requests - result.statuses.get(200, 0)
    print(f"errors: {result.errors + warm.errors:,} (warm-up: {warm.errors:,}; load: non-200 {non_200:,}, "
          f"verified not true {result.not_verified:,})")
    print(f"ratio: service / in-process = {throughput:,.0f} / {rate:,.0f} = {ratio:.2f}  (floor: {FLOOR_RATIO}; "
          f"in-process rate: mean of before and after; against Verifier.verify alone: {throughput / alone:.2f})")

    missed = []
    if result.errors or warm.errors:
        missed.append(f"{result.errors + warm.errors} errors")
    if verified != len(bodies):
        missed.append(f"{len(bodies) - verified} credentials not verified in process")
    defaults = (args.credentials, args.duration, args.concurrency) == tuple(DEFAULTS.values())
    if defaults and ratio < FLOOR_RATIO:
        missed.append(f"ratio {ratio:.2f} < {FLOOR_RATIO}")
    print("floors: " + ("all met" if not missed else "MISSED: " + ", ".join(missed)))
    return 1 if missed else 0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (/proc/loadavg): the machine is shared, figures need their context."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


if __name__ == "__main__":
    sys.exit(main())
