"""Rebuilding committed contract artifacts for the drift tests (tests/unit/test_contract_artifact.py and
tests/ebsi/test_contract_artifacts.py): both run one of the project's compile scripts into a scratch folder the
same way, and compare what it wrote with what is committed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def recompile(script: Path, out_dir: Path, timeout: float) -> None:
    """Run ``node <script> --out-dir <out_dir>`` with the pinned solc-js; skip when node or solc-js is not installed
    (the test is marked ``node``; under CI, where every test must run, that is a failure), fail when the script fails
    or runs longer than ``timeout`` seconds."""
    missing = pytest.fail if os.environ.get("CI") == "true" else pytest.skip
    node = shutil.which("node")
    if node is None:
        missing("node is not on PATH")
    if not (REPO / "node_modules" / "solc").is_dir():
        missing("solc-js is not installed: run `npm ci` at the repository root")
    subprocess.run([node, str(script), "--out-dir", str(out_dir)], check=True, capture_output=True, timeout=timeout)
