"""The README's run command (`anchorcred stack up`): devnet, registry, both services, the demo batch issued through
the issuer's API and verified at the verifier's; then `stack down` stops every process it started, by PID."""

from __future__ import annotations

import json
import os
import re
import socket
import stat

import httpx
import pytest

from tests.devnet.conftest import free_port
from tests.devnet.test_issue_verify_cli import cli

pytestmark = [pytest.mark.devnet, pytest.mark.slow]


def _alive(pid_file) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


@pytest.fixture
def stack(anvil_path, tmp_path):
    ports = {"--issuer-port": str(free_port()), "--verifier-port": str(free_port()), "--devnet-port": str(free_port())}
    args = [a for pair in ports.items() for a in pair]
    data = tmp_path / "data"
    yield args, data, ports
    cli("stack", "down", *args, data=data)
    for name in ("stack/issuer.pid", "stack/verifier.pid", "devnet/anvil.pid"):
        assert not (data / name).exists(), name


def test_stack_up_issues_verifies_and_prints_links(stack):
    args, data, ports = stack
    proc = cli("stack", "up", *args, data=data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verified 28 of 28 at the verifier service" in proc.stdout
    assert "state delivered" in proc.stdout
    links = dict(re.findall(r"^  (admin pages|a share link|its certificate|verifier page)\s+(\S+)", proc.stdout, re.M))
    assert set(links) == {"admin pages", "a share link", "its certificate", "verifier page"}, proc.stdout
    # The share link opens the verifier's page on the credential: verified, keys fetched from the tenant's did:web.
    page = httpx.get(links["a share link"], timeout=30)
    assert page.status_code == 200
    assert "Verdict: Verified" in page.text and "fetched from http://localhost:" in page.text
    pdf = httpx.get(links["its certificate"], timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert httpx.get(links["admin pages"], timeout=30, follow_redirects=True).status_code == 200
    # The issuer service publishes the chain it anchors on for a verifier sharing its data folder (docker-compose).
    published = json.loads((data / "issuer" / "networks.json").read_text())["networks"]
    assert [(n["chain_id"], n["registry_address"]) for n in published] == \
        [(31337, json.loads((data / "devnet" / "registry.json").read_text())["address"])]
    assert stat.S_IMODE((data / "issuer" / "networks.json").stat().st_mode) == 0o600
    # Secrets kept owner-only and never printed.
    for name in ("secret-key", "admin-password", "api-key"):
        path = data / "stack" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert path.read_text().strip() not in proc.stdout + proc.stderr, name

    # A second `up` finds everything running and issues one more batch on the same registry.
    again = cli("stack", "up", *args, data=data)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout and "verified 28 of 28" in again.stdout

    down = cli("stack", "down", *args, data=data)
    assert down.returncode == 0
    assert "stopped the issuer service" in down.stdout and "stopped the devnet" in down.stdout
    assert not any(_alive(data / p) for p in ("stack/issuer.pid", "stack/verifier.pid"))


def test_stack_up_refuses_a_taken_port(stack):
    args, data, ports = stack
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(ports["--verifier-port"])))
        taken.listen()
        proc = cli("stack", "up", *args, data=data)
    assert proc.returncode == 2
    assert f"port {ports['--verifier-port']}" in proc.stderr and "taken by another program" in proc.stderr
    assert "Traceback" not in proc.stderr
