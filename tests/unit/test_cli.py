"""The CLI as a registrar and an employer use it: clear one-line errors, exit codes, nothing issued on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(*args: str, cwd: Path = ROOT, env_data: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "import anchorcred_cli; anchorcred_cli.main()", *args]
    env = None
    if env_data is not None:
        import os

        env = {**os.environ, "ANCHORCRED_DATA": str(env_data)}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def issue(tmp_path: Path, roster: Path, achievement: Path = EXAMPLES / "achievement.yaml"):
    # --ledger rpc at a closed port: validation must fail first, so no ledger is ever contacted.
    return run("issue", "--achievement", str(achievement), "--roster", str(roster), "--out", str(tmp_path / "out"),
               "--ledger", "rpc", "--rpc-url", "http://127.0.0.1:9", "--mode", "calldata", env_data=tmp_path / "data")


def test_every_bad_row_is_reported_and_nothing_is_issued(tmp_path):
    lines = (EXAMPLES / "roster.csv").read_text("utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    cols = header.split(",")
    bad = list(rows)
    r = bad[12].split(",")
    r[cols.index("ects")] = "five"
    bad[12] = ",".join(r)  # row 14 in a spreadsheet (the header is row 1)
    r = bad[3].split(",")
    r[cols.index("email")] = "not-an-email"
    bad[3] = ",".join(r)  # row 5
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([header, *bad]) + "\n", "utf-8")
    proc = issue(tmp_path, roster)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "row 14: ects must be a positive number, got 'five'" in proc.stderr
    assert "row 5: email" in proc.stderr
    assert "nothing was issued" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "no such file"),
        ("given_name,family_name,email\nAna,Nowak,ana@example.eu\n".encode("latin-1") + "Zoë,Müller,z@example.eu\n".encode("latin-1"), "not UTF-8"),
        (b"given_name,family_name,email\nAna,Nowak,ana@example.eu,extra,fields\n", "row 2"),
        (b"", "empty"),
    ],
    ids=["missing", "latin-1", "ragged", "empty"],
)
def test_unreadable_roster_is_one_clear_line_with_exit_2(tmp_path, content, expected):
    roster = tmp_path / "roster.csv"
    if content is not None:
        roster.write_bytes(content)
    proc = issue(tmp_path, roster)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_invalid_achievement_lists_its_problems(tmp_path):
    text = (EXAMPLES / "achievement.yaml").read_text("utf-8").replace("eqf_level: 6", "eqf_level: 11")
    achievement = tmp_path / "a.yaml"
    achievement.write_text(text, "utf-8")
    proc = issue(tmp_path, EXAMPLES / "roster.csv", achievement)
    assert proc.returncode == 2
    assert "eqf_level" in proc.stderr and "11" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verify_missing_file_is_a_usage_error(tmp_path):
    proc = run("verify", str(tmp_path / "nope.json"), "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "nope.json" in proc.stderr and "Traceback" not in proc.stderr


def test_verify_json_reports_an_unreadable_file_as_failed(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", "utf-8")
    proc = run("verify", "--json", str(bad), "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    reports = json.loads(proc.stdout)
    assert reports[0]["verdict"] == "failed"
    assert reports[0]["checks"][0]["id"] == "format"
    assert "not valid JSON" in reports[0]["checks"][0]["reason"]


def test_demo_issues_and_verifies_the_example_batch_in_one_process(tmp_path):
    proc = run("demo", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verified 28 of 28 credentials" in proc.stdout
    assert "VERIFIED" in proc.stdout
