"""scripts/bench_status.py runs end to end at a small size: one publication, one transaction, every credential
reported revoked, each list fetched once (its figures at 1,000 go in the issue notes)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_status_prints_its_two_figures():
    proc = subprocess.run([sys.executable, "scripts/bench_status.py", "--credentials", "40"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\(a\) revoking 40 credentials: 1 publication\(s\), 1 ledger transaction\(s\), [0-9,]+ gas",
                     proc.stdout)
    assert re.search(r"\(b\) status of 40 credentials sharing a list: \d+ ms \(first credential \d+ ms: 2 fetches "
                     r"and 2 registry reads", proc.stdout)
    assert "40 reported revoked" in proc.stdout and "40 failed on status, 2 list fetches" in proc.stdout
