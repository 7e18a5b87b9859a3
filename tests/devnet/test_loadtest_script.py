"""The load-test script runs end to end (tiny sizes, so CI stays quick); the ratio is judged only at the default sizes."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.devnet
@pytest.mark.slow
def test_loadtest_prints_its_figures_with_no_error(anvil_path):
    proc = subprocess.run([sys.executable, "scripts/loadtest.py", "--credentials", "30", "--duration", "3",
                           "--concurrency", "4"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"setup: anvil on http://127\.0\.0\.1:\d+, 30 credentials issued in one batch", out), out
    assert re.search(r"in-process \(before the load\): 30 credentials verified one by one in [0-9.]+ s = [0-9,]+ "
                     r"credentials/s, 30 verified \(request path: ", out), out
    assert re.search(r"in-process \(after the load\): [0-9,]+ credentials/s .*, 30 verified; load average", out), out
    assert re.search(r"^load average before: [0-9.]+ [0-9.]+ [0-9.]+$", out, re.M), out
    service = re.search(r"service: ([0-9,]+) requests in [0-9.]+ s at concurrency 4 .* = ([0-9,]+) verified "
                        r"credentials/s; statuses 200: ([0-9,]+)\n", out)
    assert service, out
    requests, ok = int(service[1].replace(",", "")), int(service[3].replace(",", ""))
    assert requests > 0 and requests == ok, out  # every request answered 200, and only 200s
    assert re.search(r"latency: p50 [0-9.]+ ms, p95 [0-9.]+ ms, p99 [0-9.]+ ms", out), out
    assert "errors: 0 (warm-up: 0; load: non-200 0, verified not true 0)" in out, out
    assert re.search(r"warm-up: 5 requests \(1 alone, then 4 at once\), 0 errors", out), out
    assert re.search(r"ratio: service / in-process = [0-9,]+ / [0-9,]+ = [0-9.]+", out), out
    assert re.search(r"cpu per request: service [0-9.]+ ms, request path in process [0-9.]+ ms", out), out
    assert "--no-access-log" in out and "--workers 1" in out, out
