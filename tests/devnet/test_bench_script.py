"""The benchmark script runs end to end (small sizes, so CI stays quick); its figures go in the issue notes."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.devnet
@pytest.mark.slow
def test_bench_prints_its_three_figures(anvil_path):
    proc = subprocess.run([sys.executable, "scripts/bench.py", "--issue", "300", "--verify", "100"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"issuance: 300 credentials .* in [0-9.]+ s", proc.stdout)
    assert re.search(r"gas: [0-9,]+ for the batch = [0-9.]+ gas per credential at 300", proc.stdout)
    assert re.search(r"verification: 100 credentials .* 100 verified", proc.stdout)
