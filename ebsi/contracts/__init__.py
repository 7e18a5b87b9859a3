"""Compiled artifacts of the EBSI-like ledger's contracts (built by ``ebsi/contracts/compile.mjs``, committed under
``build/``): Timestamp, TrustedIssuersRegistry, DidRegistry.

The facade (``ebsi.service``) deploys and calls them; the drift test (tests/ebsi/test_contract_artifacts.py) checks them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["load_artifact", "artifact_text"]


def artifact_text(name: str) -> str:
    """The raw JSON text of ``build/<name>.json``."""
    if not name.isidentifier():
        raise ValueError(f"contract name must be an identifier, got {name!r}")
    path = resources.files(__name__).joinpath("build", f"{name}.json")
    if not path.is_file():
        raise FileNotFoundError(f"no compiled artifact for contract {name!r}: expected {path}; run `npm run compile`")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _load(name: str) -> str:
    return artifact_text(name)


def load_artifact(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (abi, bytecode, deployedBytecode, compiler, evmVersion, optimizer, sourceSha256).

    A fresh dict every call, so callers may not corrupt the cached copy.
    """
    return json.loads(_load(name))
