"""The networks file the verifier reads (``verifier.config`` format): which chain, where its node is, which registry.

The issuer writes it beside its data whenever it anchors on a node (the CLI, the service, the local stack), so a
verifier given the same file reads the same ledger. It holds the chain id, a label, the RPC URL (which may carry a provider's API key: the file is owner-only) and the
registry address.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["publish_network", "replace_network"]


def publish_network(data_dir: Path, chain_id: int, label: str, rpc_url: str, registry: str | None) -> Path:
    """Adds or replaces the entry of ``chain_id`` in ``<data_dir>/networks.json`` (other chains kept), atomically."""
    return replace_network(data_dir, lambda n: n.get("chain_id") != chain_id or n.get("ledger") == "ebsi",  # EBSI
                           {"chain_id": chain_id, "label": label, "rpc_url": rpc_url, "registry_address": registry})


def replace_network(data_dir: Path, keep: Callable[[dict[str, Any]], bool], entry: dict[str, Any]) -> Path:
    """Writes ``<data_dir>/networks.json`` with the entries ``keep`` accepts and ``entry`` after them, atomically
    (an unreadable file is replaced). Shared by the EVM entries here and the EBSI ones (``issuer.ledger.ebsi``)."""
    path = Path(data_dir) / "networks.json"
    networks = []
    if path.exists():
        try:
            networks = [n for n in json.loads(path.read_text("utf-8")).get("networks", []) if keep(n)]
        except (ValueError, AttributeError):
            networks = []
    networks.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".networks-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"networks": networks}, indent=2) + "\n")
    # mkstemp made it 0600: an RPC URL may carry an API key in its path, so only the owner (the issuer's and the
    # verifier's user) reads it.
    os.replace(tmp, path)
    return path
