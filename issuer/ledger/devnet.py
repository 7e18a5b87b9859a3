"""The local anvil devnet: installed from the npm registry (``@foundry-rs/anvil``, pinned in package.json), started
and stopped by PID, state persisted in ``<data_dir>/state.json`` (DESIGN.md "Ledgers": devnet).

The PID recorded is anvil's own: the platform package's binary is run directly rather than the ``.bin/anvil`` node
wrapper, which would spawn anvil as a child and leave it orphaned if the wrapper were ever killed with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from web3 import Web3

from issuer.ledger.errors import DevnetError
from issuer.ledger.evm import send_transaction, wait_for_receipt

__all__ = ["DEV_KEY_0", "Devnet", "DevnetStatus", "anvil_binary", "ensure_anvil", "fund_from_dev_account"]

REPO_ROOT = Path(__file__).resolve().parents[2]

# Anvil's well-known development key #0 (from the public "test test ... junk" mnemonic). DEV ONLY: every anvil user
# knows it, so it must never hold real funds or be configured for a real network.
DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

_PLATFORM_PACKAGES = {("linux", "x86_64"): "anvil-linux-amd64", ("linux", "aarch64"): "anvil-linux-arm64",
                      ("darwin", "x86_64"): "anvil-darwin-amd64", ("darwin", "arm64"): "anvil-darwin-arm64"}


def anvil_binary(repo: Path = REPO_ROOT) -> Path | None:
    """The anvil executable installed under ``<repo>/node_modules``, or None."""
    uname = os.uname()
    package = _PLATFORM_PACKAGES.get((uname.sysname.lower(), uname.machine))
    candidates = []
    if package:
        candidates.append(repo / "node_modules" / "@foundry-rs" / package / "bin" / "anvil")
    candidates.append(repo / "node_modules" / ".bin" / "anvil")  # the node wrapper: last resort
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def ensure_anvil(repo: Path = REPO_ROOT, *, timeout: float = 300.0) -> Path:
    """The anvil executable, running ``npm ci`` at the repository root first if it is not installed."""
    found = anvil_binary(repo)
    if found:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise DevnetError("anvil is not installed and npm is not on PATH: install Node 20+ and run `npm ci`")
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=repo, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DevnetError(f"`npm ci` in {repo} did not finish in {timeout}s") from exc
    found = anvil_binary(repo)
    if done.returncode != 0 or found is None:
        raise DevnetError(f"`npm ci` in {repo} exited {done.returncode} and anvil is {'present' if found else 'missing'}:"
                          f"\n{done.stderr[-2000:]}")
    return found


@dataclass(frozen=True)
class DevnetStatus:
    running: bool
    pid: int | None
    rpc_url: str
    chain_id: int | None  # as reported by the node (None when not running)
    block_number: int | None


def _alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): trust kill(0)


def _is_anvil(pid: int) -> bool:
    """Guards against a stale pid file whose PID the OS gave to another program."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc").is_dir()  # no /proc: cannot tell; assume the pid file is right
    names = [os.path.basename(a.decode(errors="replace")) for a in argv[:2]]
    # The binary itself, or the npm wrapper run by node; never a program that merely mentions anvil in its arguments.
    return names[0] == "anvil" or (names[0].startswith("node") and len(names) > 1 and names[1] in ("anvil", "bin.mjs"))


class Devnet:
    """One anvil node with its data directory (state.json, anvil.pid, anvil.log)."""

    def __init__(self, data_dir: Path, *, chain_id: int = 31337, port: int = 8545, host: str = "127.0.0.1",
                 block_time: float | None = None, repo: Path = REPO_ROOT):
        self.data_dir = Path(data_dir)
        self.chain_id = chain_id
        self.port = port
        self.host = host
        self.block_time = block_time  # None: automine, one block per transaction
        self.repo = repo
        self._proc: subprocess.Popen | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "anvil.pid"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "state.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "anvil.log"

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self, *, timeout: float = 30.0) -> DevnetStatus:
        """Starts anvil unless it already runs (then reports it); returns once the RPC answers."""
        current = self.status()
        if current.running:
            return current
        binary = ensure_anvil(self.repo)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(binary), "--chain-id", str(self.chain_id), "--port", str(self.port), "--host", self.host,
                "--state", str(self.state_file), "--state-interval", "5", "--prune-history"]
        if self.block_time is not None:
            args += ["--block-time", str(self.block_time)]
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        self.pid_file.write_text(f"{self._proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise DevnetError(f"anvil exited with code {self._proc.returncode} at start; log tail:\n{self._log_tail()}")
            status = self.status()
            if status.running and status.chain_id is not None:
                if status.chain_id != self.chain_id:
                    self.stop()
                    raise DevnetError(f"anvil on {self.rpc_url} reports chain id {status.chain_id}, expected {self.chain_id}")
                return status
            time.sleep(0.1)
        self._kill(self._proc.pid, grace=2.0)
        self.pid_file.unlink(missing_ok=True)
        raise DevnetError(f"anvil did not answer on {self.rpc_url} within {timeout}s (killed); log tail:\n{self._log_tail()}")

    def stop(self, *, timeout: float = 10.0) -> bool:
        """Stops anvil by PID (SIGTERM, then SIGKILL after ``timeout``): True if a node was stopped.

        SIGTERM lets anvil dump its state to state.json; a stale pid file (no such process, or not anvil) is removed.
        """
        pid = self._read_pid()
        if pid is None:
            return False
        stopped = False
        if _alive(pid) and _is_anvil(pid):
            self._kill(pid, grace=timeout)
            stopped = True
        self.pid_file.unlink(missing_ok=True)
        self._proc = None
        return stopped

    def status(self) -> DevnetStatus:
        pid = self._read_pid()
        if pid is None or not _alive(pid) or not _is_anvil(pid):
            return DevnetStatus(False, None, self.rpc_url, None, None)
        chain_id = block = None
        try:
            chain_id = int(self._rpc("eth_chainId"), 16)
            block = int(self._rpc("eth_blockNumber"), 16)
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass  # process is up, RPC not (yet): running, but no figures
        return DevnetStatus(True, pid, self.rpc_url, chain_id, block)

    # -- clients ---------------------------------------------------------------------------------------------------

    def web3(self, *, timeout: float = 10.0) -> Web3:
        return Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": timeout}))

    # -- internals -------------------------------------------------------------------------------------------------

    def _kill(self, pid: int, *, grace: float) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if not self._wait_exit(pid, grace):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            self._wait_exit(pid, 5.0)

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:  # reaps our own child so it does not linger as a zombie
                    return True
            elif not _alive(pid):
                return True
            time.sleep(0.05)
        return False

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _rpc(self, method: str) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
        return httpx.post(self.rpc_url, json=body, timeout=1.0).json()["result"]

    def _log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def fund_from_dev_account(w3: Web3, address: str, wei: int, *, timeout: float = 30.0) -> str:
    """Sends ``wei`` to ``address`` from anvil's dev account #0 (DEV ONLY, see DEV_KEY_0); returns the tx hash once
    it is mined."""
    what = "funding from the dev account"
    sent = send_transaction(w3, Account.from_key(DEV_KEY_0), to=address, value=int(wei), gas=21_000, what=what)
    wait_for_receipt(w3, sent.tx_hash, timeout=timeout, idle=lambda: time.sleep(0.1), what=what)
    return sent.tx_hash
