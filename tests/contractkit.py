"""Rebuilding committed contract artifacts for the drift tests (tests/unit/test_contract_artifact.py and
tests/ebsi/test_contract_artifacts.py): both run one of the project's compile scripts into a scratch folder the
same way, and compare what it wrote with what is committed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def recompile(script: Path, out_dir: Path, timeout: float) -> None:
    """Run ``node <script> --out-dir <out_dir>`` with the pinned solc-js; skip when node or solc-js is not installed
    (the test is marked ``node``), fail when the script fails or runs longer than ``timeout`` seconds."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    if not (REPO / "node_modules" / "solc").is_dir():
        pytest.skip("solc-js is not installed: run `npm ci` at the repository root")
    subprocess.run([node, str(script), "--out-dir", str(out_dir)], check=True, capture_output=True, timeout=timeout)
