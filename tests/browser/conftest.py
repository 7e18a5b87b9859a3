"""Browser fixtures: the system Chromium (Debian package) driven by Playwright, over services run for real.

- ``browser``: headless Chromium at /usr/bin/chromium through Playwright (never ``playwright install``);
- ``anchored``: the example batch issued on an anvil devnet (started here, stopped by PID), with the networks file and
  the DID document the verifier service reads;
- ``credential_site``: a tiny local HTTP server holding one good and one tampered credential (what a share link
  points at);
- ``verifier_url``: the verifier service under uvicorn in its own process, allowed to fetch http from 127.0.0.1;
- ``run_service(factory, env)``: starts any service the same way (the issuer's registrar flow will use it:
  ``run_service("issuer.service.app:create_app", {"ISSUER_DATA_DIR": ..., ...})``), stopped at the end of the session.

A missing browser, anvil or axe-core skips with the reason; under CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.serving import HOST, ROOT, free_port, start_service

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHAIN_ID = 31337
VERIFIER = "verifier.service.app:create_app"


def missing(reason: str) -> None:
    """Skip with the reason; under CI, where every test must run, fail with it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


# ── the browser ────────────────────────────────────────────────────────────────────────────────────────────────

@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        missing(f"{CHROMIUM} not found: install the Debian packages chromium and chromium-driver (./scripts/setup does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing(f"playwright is not installed (test extra): {exc}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    """A fresh page; the service's Content-Security-Policy applies (the pages need no script)."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    if not AXE.is_file():
        missing(f"{AXE.relative_to(ROOT)} not found: run `npm ci` at the repository root (./scripts/setup does)")
    return AXE


# ── a real anchored batch ──────────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Anchored:
    batch: Any  # tests.batchkit.IssuedBatch
    networks_file: Path
    did_document: Path
    rpc_url: str
    registry: str


@pytest.fixture(scope="session")
def anchored(tmp_path_factory) -> Iterator[Anchored]:
    """The example batch (28 credentials) issued through the real issuer path on anvil, one transaction."""
    from eth_account import Account

    from issuer.ledger.devnet import Devnet, ensure_anvil, fund_from_dev_account
    from issuer.ledger.errors import DevnetError
    from issuer.ledger.evm import EvmWriter, ensure_registry
    from tests.batchkit import issue_example_batch
    from verifier.ledger.evm import EvmReader, HttpTransport

    try:
        ensure_anvil()
    except DevnetError as exc:
        missing(f"anvil unavailable (needs Node 20+ and `npm ci`): {exc}")
    tmp = tmp_path_factory.mktemp("browser-batch")
    node = Devnet(tmp / "devnet", chain_id=CHAIN_ID, port=free_port())
    node.start()
    transport = None
    try:
        w3 = node.web3()
        registry: dict[str, str] = {}

        def writer(identity):
            account = Account.from_key(identity.secp256k1_secret)
            fund_from_dev_account(w3, account.address, 10**18)
            registry["address"] = ensure_registry(w3, account, node.data_dir / "registry.json")
            return EvmWriter(w3, account, registry_address=registry["address"], poll_interval=0.05)

        transport = HttpTransport(node.rpc_url)
        batch = issue_example_batch(tmp / "out", writer, chain_id=CHAIN_ID,
                                    reader=EvmReader(transport, chain_id=CHAIN_ID, registry_address=None))
        networks_file = tmp / "networks.json"
        networks_file.write_text(json.dumps({"networks": [{
            "chain_id": CHAIN_ID, "label": "devnet", "rpc_url": node.rpc_url, "registry_address": registry["address"],
        }]}), "utf-8")
        yield Anchored(batch, networks_file, batch.result.did_document, node.rpc_url, registry["address"])
    finally:
        if transport is not None:
            transport.close()
        node.stop()


def tampered(credential: dict) -> dict:
    """The credential with one word of its achievement result changed after signing: the signature must fail."""
    doc = json.loads(json.dumps(credential))
    doc["credentialSubject"]["result"][0]["value"] += " (edited)"
    return doc


# ── where share links point ────────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class CredentialSite:
    base: str
    good: str
    tampered: str
    good_document: dict


@pytest.fixture(scope="session")
def credential_site(anchored) -> Iterator[CredentialSite]:
    """A tiny HTTP server on 127.0.0.1 (a thread of this process): GET /good.json and /tampered.json."""
    good = anchored.batch.credential(0)
    files = {"/good.json": json.dumps(good).encode(), "/tampered.json": json.dumps(tampered(anchored.batch.credential(1))).encode()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: the tests assert what matters
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="credential-site", daemon=True)
    thread.start()
    base = f"http://{HOST}:{server.server_address[1]}"
    try:
        yield CredentialSite(base, f"{base}/good.json", f"{base}/tampered.json", good)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ── services ───────────────────────────────────────────────────────────────────────────────────────────────────

@pytest.fixture(scope="session")
def run_service(tmp_path_factory) -> Iterator[Callable[[str, Mapping[str, str]], str]]:
    """``run_service(factory, env) -> base URL``: uvicorn on a free loopback port; every one stopped by PID at the
    end of the session. Logs go to the session's temporary folder and are quoted when a service does not start."""
    logs = tmp_path_factory.mktemp("service-logs")
    with ExitStack() as stack:

        def run(factory: str, env: Mapping[str, str]) -> str:
            port = free_port()
            log = logs / f"{factory.split('.')[0]}-{port}.log"
            return stack.enter_context(start_service(factory, env, port, log=log))

        yield run


@pytest.fixture(scope="session")
def verifier_url(run_service, anchored) -> str:
    return run_service(VERIFIER, {
        "VERIFIER_NETWORKS_FILE": str(anchored.networks_file),
        "VERIFIER_DID_DOCUMENTS": json.dumps([str(anchored.did_document)]),
        # Share links in these tests point at the local credential site: http, on a loopback address.
        "VERIFIER_FETCH_ALLOW_HTTP_HOSTS": json.dumps([HOST]),
        "VERIFIER_FETCH_ALLOW_HOSTS": json.dumps([HOST]),
    })
