"""The local stack behind the README's run command: devnet, registry, verifier service, issuer service, a demo batch.

``anchorcred stack up`` starts (or finds running) the anvil devnet, deploys the AnchorRegistry once, starts the
verifier service and the issuer service under uvicorn (each by PID, log and PID file in ``<data>/stack/``), creates
the demo university on first start, issues the example batch through the issuer's API, verifies every credential
through the verifier's API, and prints the links to open. ``anchorcred stack down`` stops what it started.

Development only: the devnet's funded account is public knowledge (issuer.ledger.devnet.DEV_KEY_0), the services
listen on loopback, the verifier may fetch over http from localhost (the issuer's did:web documents and share links).
The generated master secret and admin password are kept in ``<data>/stack/`` readable only by their owner, and the
password is never printed: the summary says which file holds it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
import httpx

from issuer.errors import IssuerError

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
DEMO_TENANT = "demo-university"
HOST = "127.0.0.1"


class StackError(IssuerError):
    """The stack could not be brought up; the message says which part and where its log is."""


@dataclass(frozen=True)
class Ports:
    issuer: int = 8081
    verifier: int = 8080
    devnet: int = 8545
    ebsi: int = 8090


def _secret_file(path: Path, make) -> str:
    """The secret stored in ``path`` (0600), created with ``make()`` on first use."""
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Service:
    """One uvicorn process started by PID, with its log; stopped only if the PID still runs our factory."""

    name: str
    factory: str
    port: int
    folder: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.folder / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self.factory in _cmdline(pid) else None

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://{HOST}:{self.port}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, *, timeout: float = 60.0) -> bool:
        """Starts the service unless ours already runs and answers; True if it was started now."""
        if self.pid() is not None and self.healthy():
            return False
        self.stop()
        if _port_taken(self.port):
            raise StackError(f"the {self.name} service cannot start: port {self.port} on {HOST} is taken by another "
                             "program (choose another port with the stack's port options)")
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "uvicorn", "--factory", self.factory, "--host", HOST, "--port", str(self.port),
                "--no-access-log"]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(argv, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, cwd=REPO_ROOT)
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise StackError(f"the {self.name} service exited with code {proc.returncode} at start; "
                                 f"log: {self.log_file}\n{_tail(self.log_file)}")
            if self.healthy():
                return True
            time.sleep(0.2)
        self.stop()
        raise StackError(f"the {self.name} service did not answer /health within {timeout:.0f}s (stopped); "
                         f"log: {self.log_file}\n{_tail(self.log_file)}")

    def stop(self, *, grace: float = 10.0) -> bool:
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _cmdline(pid):
            time.sleep(0.1)
        if _cmdline(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return True


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


@dataclass
class Stack:
    data_dir: Path
    ports: Ports = Ports()
    ebsi: bool = False  # also run the EBSI-like ledger's facade on the devnet (``stack up --ebsi``)

    @property
    def folder(self) -> Path:
        return self.data_dir / "stack"

    def services(self, rpc_url: str = "", registry: str = "") -> tuple[Service, Service]:
        local = json.dumps(["localhost", HOST])
        verifier = Service("verifier", "verifier.service.app:create_app", self.ports.verifier, self.folder, {
            "VERIFIER_NETWORKS_FILE": str(self.data_dir / "networks.json"),
            "VERIFIER_DID_WEB_FETCH": "true",
            "VERIFIER_FETCH_ALLOW_HTTP_HOSTS": local,
            "VERIFIER_FETCH_ALLOW_HOSTS": local,
            **self._trust_env(),
        })
        issuer = Service("issuer", "issuer.service.app:create_app", self.ports.issuer, self.folder, {
            "ISSUER_DATA_DIR": str(self.data_dir / "issuer"),
            "ISSUER_PUBLIC_URL": f"http://localhost:{self.ports.issuer}",
            "ISSUER_VERIFIER_URL": f"http://localhost:{self.ports.verifier}",
            "ISSUER_LEDGER": "rpc",
            "ISSUER_RPC_URL": rpc_url,
            "ISSUER_REGISTRY_ADDRESS": registry,
            "ISSUER_CONFIRMATIONS": "1",
            # The devnet: the service funds its tenants' anchoring addresses from anvil's public dev account.
            "ISSUER_DEV_CHAIN": "true",
            "ISSUER_SECRET_KEY": _secret_file(self.folder / "secret-key", lambda: secrets.token_urlsafe(32)),
            "ISSUER_BOOTSTRAP_TENANT": DEMO_TENANT,
            "ISSUER_ADMIN_PASSWORD": _secret_file(self.folder / "admin-password", lambda: secrets.token_urlsafe(12)),
        })
        return verifier, issuer

    def _trust_env(self) -> dict[str, str]:
        """With the EBSI-like ledger, the verifier trusts the demo ministry's accreditation chains (ebsi/trustdemo.py)."""
        if not self.ebsi:
            return {}
        from ebsi.trustdemo import demo_root

        return {"VERIFIER_TRUST_ROOTS": json.dumps([demo_root(self.data_dir / "trust")]),
                "VERIFIER_TRUST_REGISTRY": f"http://localhost:{self.ports.ebsi}"}

    def ebsi_service(self, rpc_url: str = "") -> Service:
        """The EBSI-like ledger's facade on the devnet: contracts deployed once (``<data>/ebsi``), anvil's public dev
        key as their admin, writers funded, onboarding open (a devnet: anyone may register a DID and timestamp)."""
        env = {}
        if rpc_url:  # starting it (stopping needs only the PID)
            env = {
                "EBSI_LEDGER": "rpc",
                "EBSI_RPC_URL": rpc_url,
                "EBSI_DEV": "true",
                "EBSI_ONBOARDING": "open",
                "EBSI_DATA_DIR": str(self.data_dir / "ebsi"),
                "EBSI_PUBLIC_URL": f"http://localhost:{self.ports.ebsi}",
                "EBSI_TOKEN_SECRET": _secret_file(self.folder / "ebsi-token-secret", lambda: secrets.token_urlsafe(32)),
            }
        return Service("ebsi", "ebsi.service.app:create_app", self.ports.ebsi, self.folder, env)

    # -- up / down -------------------------------------------------------------------------------------------------

    def up(self, say=print) -> dict[str, str]:
        from eth_account import Account

        from issuer.cli import DEVNET_CHAIN_ID
        from issuer.ledger.networks import publish_network
        from issuer.ledger.devnet import DEV_KEY_0, Devnet
        from issuer.ledger.evm import ensure_registry

        devnet = Devnet(self.data_dir / "devnet", chain_id=DEVNET_CHAIN_ID, port=self.ports.devnet)
        if not devnet.status().running:
            say(f"starting the devnet (anvil) on {HOST}:{self.ports.devnet} …")
            devnet.start()
        w3 = devnet.web3(timeout=30)
        registry = ensure_registry(w3, Account.from_key(DEV_KEY_0), self.data_dir / "devnet" / "registry.json")
        publish_network(self.data_dir, DEVNET_CHAIN_ID, "devnet", devnet.rpc_url, registry)
        say(f"AnchorRegistry at {registry} (chain {DEVNET_CHAIN_ID})")
        urls: dict[str, str] = {}
        if self.ebsi:  # before the verifier starts, so its networks file names the EBSI-like ledger too
            from issuer.ledger.ebsi import publish_ebsi_network

            ebsi = self.ebsi_service(devnet.rpc_url)
            started = ebsi.start(timeout=120.0)
            publish_ebsi_network(self.data_dir, DEVNET_CHAIN_ID, "ebsi-devnet", ebsi.url)
            say(f"EBSI-like ledger {'started' if started else 'already running'} at {ebsi.url} (log {ebsi.log_file}); "
                f"issue on it with: anchorcred issue --ledger ebsi --ebsi-url {ebsi.url} …")
            urls["ebsi"] = ebsi.url
        verifier, issuer = self.services(devnet.rpc_url, registry)
        for service in (verifier, issuer):
            started = service.start()
            say(f"{service.name} service {'started' if started else 'already running'} at {service.url} "
                f"(log {service.log_file})")
        if self.ebsi:  # trust marks: ministry (RootTAO) -> QA agency (TAO) -> the demo university (TI)
            from ebsi.service.app import DEV_ADMIN_KEY
            from ebsi.trustdemo import ensure_demo_trust

            did = _ok(httpx.get(f"{issuer.url}/tenants/{DEMO_TENANT}/did.json", timeout=30), "the demo DID document")["id"]
            trust = ensure_demo_trust(urls["ebsi"], admin_secret=bytes.fromhex(DEV_ADMIN_KEY[2:]),
                                      folder=self.data_dir / "trust", university_did=did)
            say(f"trust marks: {did} accredited (TI) by {trust['tao']} (TAO) under {trust['root']} (RootTAO, "
                f"trusted by the verifier)")
        return {"devnet": devnet.rpc_url, "registry": registry, "verifier": verifier.url, "issuer": issuer.url, **urls}

    def down(self, say=print) -> None:
        from issuer.cli import DEVNET_CHAIN_ID
        from issuer.ledger.devnet import Devnet

        for service in (*self.services(), self.ebsi_service()):
            if service.stop():
                say(f"stopped the {service.name} service")
        if Devnet(self.data_dir / "devnet", chain_id=DEVNET_CHAIN_ID, port=self.ports.devnet).stop():
            say("stopped the devnet")

    # -- the demo batch ----------------------------------------------------------------------------------------------

    def api_key(self) -> str:
        """An admin API key of the demo tenant, made once with the service's own command and kept in a 0600 file."""
        def make() -> str:
            _, issuer = self.services()
            done = subprocess.run([sys.executable, "-m", "issuer.service", "create-key", DEMO_TENANT, "--scope", "admin",
                                   "--name", "anchorcred stack"], env={**os.environ, **issuer.env}, cwd=REPO_ROOT,
                                  capture_output=True, text=True, timeout=120, check=False)
            key = next((w for w in done.stdout.split() if w.startswith("ac_")), None)  # printed once, kept here
            if done.returncode != 0 or key is None:
                raise StackError(f"could not create an API key for {DEMO_TENANT}: {done.stderr.strip()[-500:]}")
            return key
        return _secret_file(self.folder / "api-key", make)

    def issue_example(self, urls: dict[str, str], say=print, *, timeout: float = 300.0) -> dict[str, object]:
        """Issues examples/ through the issuer's API, waits for delivery, verifies each credential at the verifier."""
        import yaml

        issuer, verifier = urls["issuer"], urls["verifier"]
        headers = {"Authorization": f"Bearer {self.api_key()}"}
        with httpx.Client(base_url=issuer, headers=headers, timeout=60) as client:
            did_doc = _ok(client.get(f"/tenants/{DEMO_TENANT}/did.json"), "the demo tenant's DID document")
            spec = yaml.safe_load((EXAMPLES / "achievement.yaml").read_text("utf-8"))
            spec["awarding_body"]["did"] = did_doc["id"]
            achievement = _ok(client.post("/achievements", json=spec), "creating the example achievement")
            roster = _ok(client.post(f"/achievements/{achievement['id']}/rosters",
                                     files={"file": ("roster.csv", (EXAMPLES / "roster.csv").read_bytes(), "text/csv")}),
                         "uploading the example roster")
            if roster.get("problems"):
                raise StackError("the example roster has problems: " + "; ".join(roster["problems"][:5]))
            batch = _ok(client.post(f"/rosters/{roster['id']}/issue"), "issuing the example batch")
            batch_id = batch.get("id") or batch.get("batch", {}).get("id")
            say(f"issuing {roster.get('rows', '?')} credentials as batch {batch_id} …")
            deadline = time.monotonic() + timeout
            while True:
                state = _ok(client.get(f"/batches/{batch_id}"), "reading the batch")
                if state["state"] in ("delivered", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise StackError(f"batch {batch_id} still {state['state']} after {timeout:.0f}s")
                time.sleep(0.5)
            if state["state"] == "failed":
                raise StackError(f"batch {batch_id} failed: {state.get('error')}")
            while not all(sl["version"] > 0 and not sl["pending"]  # the status lists, anchored and served
                          for sl in _ok(client.get("/status/lists"), "reading the status lists")):
                if time.monotonic() > deadline:
                    raise StackError(f"the demo tenant's status lists are not published after {timeout:.0f}s")
                time.sleep(0.5)
            items: list[dict] = []
            while True:
                page = _ok(client.get(f"/batches/{batch_id}/credentials", params={"offset": len(items), "limit": 100}),
                           "listing the batch")
                items += page["items"]
                if not page["items"] or len(items) >= page["total"]:
                    break
        verified = 0
        with httpx.Client(timeout=60) as plain:
            for item in items:
                document = _ok(plain.get(item["share_url"]), "fetching a shared credential")
                result = _ok(plain.post(f"{verifier}/credentials/verify", json={"verifiableCredential": document}),
                             "verifying at the verifier service")
                verified += bool(result.get("verified"))
        first = items[0]
        return {"batch": state, "count": len(items), "verified": verified, "share_link": first["verify_url"],
                "admin": f"{issuer}/admin", "verifier": f"{verifier}/", "pdf": f"{first['share_url']}/certificate.pdf"}


def _ok(response: httpx.Response, what: str):
    if response.status_code >= 400:
        raise StackError(f"{what}: {response.request.method} {response.request.url} answered "
                         f"{response.status_code}: {response.text[:500]}")
    return response.json()

