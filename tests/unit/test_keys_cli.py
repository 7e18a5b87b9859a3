"""`anchorcred keys`: clean errors before any ledger is contacted, and `keys show` listing the history."""

from __future__ import annotations

from datetime import datetime, timezone

from typer.testing import CliRunner

from anchorcred_cli import app
from issuer.keyrotation import rotate_key
from issuer.keys import SIGNING, KeyFile, new_identity, write_key_file

DID = "did:web:www.tu-example.de"


def _run(*args: str, data) -> object:
    return CliRunner().invoke(app, [*args, "--data-dir", str(data)], env={"COLUMNS": "200"})


def test_no_key_file_and_a_bad_role_are_one_line_errors(tmp_path):
    result = _run("keys", "show", data=tmp_path)
    assert result.exit_code == 2 and "no issuer keys here yet" in result.output
    write_key_file(tmp_path / "issuer" / "keys.json", KeyFile(new_identity(DID)), create=True)
    result = _run("keys", "rotate", "admin", data=tmp_path)
    assert result.exit_code == 2 and "ROLE must be one of signing, anchoring" in result.output
    assert "Traceback" not in result.output


def test_show_lists_every_key_and_the_events_still_pending(tmp_path):
    path = tmp_path / "issuer" / "keys.json"
    update = rotate_key(new_identity(DID), SIGNING, now=datetime(2026, 3, 1, tzinfo=timezone.utc))
    write_key_file(path, KeyFile(update.identity, None, update.changes), create=True)
    result = _run("keys", "show", data=tmp_path)
    assert result.exit_code == 0, result.output
    assert "2026-03-01T00:00:00Z" in result.output and "signing key 2 (current): created 2026-03-01T00:00:00Z" in result.output
    assert "pending: signing key 2 added" in result.output and "pending: signing key 1 retired" in result.output
    # Issuing (and any other change) waits until they are recorded.
    result = _run("keys", "rotate", "signing", data=tmp_path)
    assert result.exit_code == 2 and "keys record" in result.output
