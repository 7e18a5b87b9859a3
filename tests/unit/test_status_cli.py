"""`anchorcred verify --status-list FILE`: snapshots only (the CLI never fetches); a bad file is a usage error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "import anchorcred_cli; anchorcred_cli.main()", "verify", *args,
           "--data-dir", str(tmp_path)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_status_list_that_is_not_json_or_has_no_id_is_a_usage_error(tmp_path):
    cred = tmp_path / "c.json"
    cred.write_text("{}", "utf-8")
    bad = tmp_path / "list.json"
    bad.write_text("{not json", "utf-8")
    proc = run("--status-list", str(bad), str(cred), tmp_path=tmp_path)
    assert proc.returncode == 2 and f"status list {bad}" in proc.stderr and "Traceback" not in proc.stderr
    bad.write_text(json.dumps({"type": ["BitstringStatusListCredential"]}), "utf-8")
    proc = run("--status-list", str(bad), str(cred), tmp_path=tmp_path)
    assert proc.returncode == 2 and "needs its URL as 'id'" in proc.stderr


def test_the_status_check_is_listed_in_the_report(tmp_path):
    cred = tmp_path / "c.json"
    cred.write_text("{}", "utf-8")
    proc = run("--json", str(cred), tmp_path=tmp_path)
    (report,) = json.loads(proc.stdout)
    ids = [c["id"] for c in report["checks"]]
    assert ids.index("anchor") < ids.index("status") < ids.index("validity")
