"""The verifier stands alone: an employer installs it without the issuer (DESIGN.md, "Architecture")."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("issuer", "web3", "eth_tester", "eth", "yaml", "eth_account")
SERVICE_ONLY = ("fastapi", "starlette", "uvicorn", "jinja2", "pydantic_settings", "multipart")  # the `service` extra


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_verifier_source_imports_nothing_from_the_issuer_or_its_dependencies():
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & set(FORBIDDEN)) for p in (ROOT / "verifier").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_only_the_service_package_needs_the_service_extra():
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & set(SERVICE_ONLY))
        for p in (ROOT / "verifier").rglob("*.py")
        if "service" not in p.relative_to(ROOT / "verifier").parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


BLOCKER = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError(f"blocked for this test: {{name}}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ['anchorcred'] + {args!r}
import anchorcred_cli
anchorcred_cli.main()
"""


def _run_without_issuer(args: list[str]) -> subprocess.CompletedProcess:
    code = BLOCKER.format(blocked=set(FORBIDDEN) | set(SERVICE_ONLY), args=args)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_verify_command_runs_with_the_issuer_and_its_dependencies_absent(tmp_path):
    bogus = tmp_path / "c.json"
    bogus.write_text('{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}')
    proc = _run_without_issuer(["verify", "--json", "--data-dir", str(tmp_path), str(bogus)])
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1  # ran, and reported the credential as not verified
    assert '"verdict": "failed"' in proc.stdout


def test_issuer_commands_say_how_to_install_the_issuer_when_it_is_absent():
    proc = _run_without_issuer(["issue", "--achievement", "a.yaml"])
    assert proc.returncode == 2
    assert "pip install 'anchorcred[issuer]'" in proc.stderr
    assert "Traceback" not in proc.stderr
