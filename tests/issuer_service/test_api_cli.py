"""``python -m issuer.service``: migrate, create-tenant (admin password from a named variable, key printed once),
create-key, and one-line errors. In process (``main(argv)``) with ISSUER_* from the environment."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from issuer.service.__main__ import main
from issuer.service.auth import authenticate_admin, find_api_key
from issuer.store.db import default_url, make_engine, make_sessionmaker
from tests.issuer_service.servicekit import ADMIN_PASSWORD, ROOT, SECRET

KEY_RE = re.compile(r"ac_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name, value in {"ISSUER_SECRET_KEY": SECRET, "ISSUER_DATA_DIR": str(tmp_path / "data"),
                        "ISSUER_PUBLIC_URL": "https://issuer.example"}.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "data"


def sessions(data_dir):
    engine = make_engine(default_url(data_dir))
    return engine, make_sessionmaker(engine)


def test_migrate_create_tenant_and_keys(env, capsys, monkeypatch):
    assert main(["migrate"]) == 0
    assert "migrated" in capsys.readouterr().out
    monkeypatch.setenv("REGISTRAR_PW", ADMIN_PASSWORD)
    assert main(["create-tenant", "tu-example", "--name", "TU Example", "--admin-password-env", "REGISTRAR_PW"]) == 0
    out = capsys.readouterr().out
    assert "did:web:issuer.example:tenants:tu-example" in out
    admin_keys = KEY_RE.findall(out)
    assert len(admin_keys) == 1 and ADMIN_PASSWORD not in out
    assert main(["create-key", "tu-example", "--scope", "issue", "--scope", "revoke"]) == 0
    issue_keys = KEY_RE.findall(capsys.readouterr().out)
    assert len(issue_keys) == 1
    engine, maker = sessions(env)
    with maker() as session:
        assert find_api_key(session, admin_keys[0]).scopes == ["admin"]
        assert find_api_key(session, issue_keys[0]).scopes == ["issue", "revoke"]
        assert authenticate_admin(session, tenant_slug="tu-example", username="admin", password=ADMIN_PASSWORD)
    engine.dispose()


def test_errors_are_one_line_and_exit_2(env, capsys, monkeypatch):
    assert main(["create-key", "nobody", "--scope", "issue"]) == 2
    assert capsys.readouterr().err.startswith("error: no tenant 'nobody'")
    assert main(["create-tenant", "Bad Slug", "--name", "x"]) == 2
    assert "slug" in capsys.readouterr().err
    assert main(["create-tenant", "ok", "--name", "x", "--admin-password-env", "UNSET_VAR_X"]) == 2
    assert "UNSET_VAR_X" in capsys.readouterr().err
    monkeypatch.setenv("ISSUER_SECRET_KEY", "changeme")
    assert main(["create-tenant", "ok", "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "ISSUER_SECRET_KEY" in err and "Traceback" not in err
    main(["migrate"])
    monkeypatch.setenv("ISSUER_CONFIRMATIONS", "zero")
    assert main(["migrate"]) == 2
    assert "ISSUER_CONFIRMATIONS" in capsys.readouterr().err


def test_the_module_runs_as_a_program(env):
    done = subprocess.run([sys.executable, "-m", "issuer.service", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "create-tenant" in done.stdout and "serve" in done.stdout
