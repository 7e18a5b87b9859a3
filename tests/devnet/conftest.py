"""Devnet fixtures: anvil from the npm registry, on a free loopback port, in a temporary data directory.

Every node started here is stopped by PID in a finalizer (DESIGN.md / STYLE.md "tests/devnet"). Without Node/npm the
tests skip with the reason; under CI (``CI`` set) they fail instead, since CI must run all of them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from issuer.ledger.devnet import Devnet, ensure_anvil
from issuer.ledger.errors import DevnetError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def anvil_path() -> Path:
    try:
        return ensure_anvil()
    except DevnetError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"anvil is required under CI: {exc}")
        pytest.skip(f"anvil unavailable (needs Node 20+ and `npm ci`): {exc}")


@pytest.fixture
def devnet_factory(anvil_path, tmp_path_factory) -> Iterator[Callable[..., Devnet]]:
    """Makes Devnets (not started); every one is stopped by PID at teardown, whatever the test did."""
    made: list[Devnet] = []

    def make(*, data_dir: Path | None = None, chain_id: int = 31337) -> Devnet:
        node = Devnet(data_dir or tmp_path_factory.mktemp("devnet"), chain_id=chain_id, port=free_port())
        made.append(node)
        return node

    yield make
    for node in made:
        node.stop()


@pytest.fixture
def devnet(devnet_factory) -> Devnet:
    """A running anvil (chain id 11155111: reads as `sepolia` to Blockcerts tools, DESIGN.md "Anchors")."""
    node = devnet_factory(chain_id=11155111)
    node.start()
    return node
