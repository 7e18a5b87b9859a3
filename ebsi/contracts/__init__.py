"""Compiled artifacts of the EBSI-like ledger's contracts (built by ``ebsi/contracts/compile.mjs``, committed under
``build/``): Timestamp, TrustedIssuersRegistry, DidRegistry.

The facade (``ebsi.service``) deploys and calls them; the drift test (tests/ebsi/test_contract_artifacts.py) checks them.
They are read the way the project's other artifacts are (:class:`contracts.ArtifactFolder`).
"""

from __future__ import annotations

from contracts import ArtifactFolder

__all__ = ["load_artifact", "artifact_text"]

_FOLDER = ArtifactFolder(__name__, "node ebsi/contracts/compile.mjs")
artifact_text = _FOLDER.artifact_text
load_artifact = _FOLDER.load_artifact
