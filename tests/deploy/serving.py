"""Run a service as it is deployed: ``uvicorn --factory <module:factory>`` in its own process, on a loopback port.

Shared by the deployment checks (the image's command, outside Docker) and the browser tests (the pages served for
real). The process is started in its own session, waited for on ``GET /health``, and stopped by its PID (terminate,
then kill) whatever the test did.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def serve(argv: Sequence[str], *, env: Mapping[str, str], port: int, log: Path,
          timeout: float = 60.0) -> Iterator[str]:
    """Starts ``argv`` (with ``env`` over this environment), yields its base URL once ``/health`` answers 200."""
    base = f"http://{HOST}:{port}"
    with open(log, "ab") as out:
        proc = subprocess.Popen(list(argv), cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_healthy(proc, base, log, timeout)
        yield base
    finally:
        stop(proc)


def start_service(factory: str, env: Mapping[str, str], port: int, *, log: Path, workers: int = 1):
    """``uvicorn --factory <factory>`` on ``127.0.0.1:<port>`` with ``env`` (e.g. VERIFIER_* or ISSUER_* settings):
    a context manager yielding the base URL. The verifier is ``verifier.service.app:create_app``; the issuer,
    ``issuer.service.app:create_app``."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", HOST, "--port", str(port),
            "--workers", str(workers), "--no-access-log"]
    return serve(argv, env=env, port=port, log=log)


def wait_healthy(proc: subprocess.Popen, base: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:5]} exited with code {proc.returncode}; log:\n{tail(log)}")
        try:
            if httpx.get(f"{base}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base}/health did not answer 200 within {timeout:.0f} s; log:\n{tail(log)}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
