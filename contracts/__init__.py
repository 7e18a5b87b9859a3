"""Compiled Solidity artifacts of the project (built by ``contracts/compile.mjs``, committed under ``build/``).

Both the issuer (to deploy and call) and the verifier (to check selectors) read them through :func:`load_artifact`.
Other contract folders (``ebsi.contracts``) read their own ``build/`` through :class:`ArtifactFolder`, so every
artifact of the project is found, checked and cached the same way.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["ArtifactFolder", "load_artifact", "artifact_text"]


class ArtifactFolder:
    """The committed artifacts ``build/<name>.json`` of one package, and the command that rebuilds them (for the
    error message when one is missing)."""

    def __init__(self, package: str, build_command: str) -> None:
        self.package = package
        self.build_command = build_command
        self._cached_text = lru_cache(maxsize=None)(self.artifact_text)

    def artifact_text(self, name: str) -> str:
        """The raw JSON text of ``build/<name>.json``."""
        if not name.isidentifier():
            raise ValueError(f"contract name must be an identifier, got {name!r}")
        path = resources.files(self.package).joinpath("build", f"{name}.json")
        if not path.is_file():
            raise FileNotFoundError(
                f"no compiled artifact for contract {name!r}: expected {path}; run `{self.build_command}`")
        return path.read_text(encoding="utf-8")

    def load_artifact(self, name: str) -> dict[str, Any]:
        """The artifact of contract ``name`` (abi, bytecode, deployedBytecode, compiler, evmVersion, optimizer,
        sourceSha256).

        A fresh dict every call, so callers may not corrupt the cached copy.
        """
        return json.loads(self._cached_text(name))


_FOLDER = ArtifactFolder(__name__, "npm run compile")
artifact_text = _FOLDER.artifact_text
load_artifact = _FOLDER.load_artifact
