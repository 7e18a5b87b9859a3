"""The deployment files, checked offline: docker-compose.yml, the Dockerfile and .dockerignore.

Docker does not run here. Debian's ``docker-compose`` (1.29, apt; scripts/setup installs it) validates the compose file
(``config -q``, with and without the required secrets); the rest reads the files: every service has a healthcheck,
the commands name app factories that exist in this repo, no secret is written in the files, the Dockerfile copies
only paths that exist and that .dockerignore lets through. The image's commands and healthcheck are then run here,
outside Docker: uvicorn configured by the same ``UVICORN_*`` variables, probed by the same healthcheck one-liners.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.serving import free_port, serve
from verifier.service.settings import VerifierSettings

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SECRETS = ("ISSUER_SECRET_KEY", "ISSUER_ADMIN_PASSWORD", "POSTGRES_PASSWORD")
APP_SERVICES = {"issuer": "issuer.service.app:create_app", "verifier": "verifier.service.app:create_app",
                "ebsi": "ebsi.service.app:create_app"}
ISSUER_SERVICE = ROOT / "issuer" / "service"
# The issuer service is being written (issue 3): its factory and migrate entry point are checked once its app exists.
ISSUER_PENDING = "issuer/service/app.py is not written yet (issue 3)"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))


@pytest.fixture(scope="module")
def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        message = "docker-compose is not installed (Debian package docker-compose; ./scripts/setup installs it as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: required under CI")
        pytest.skip(message)
    return found


def run_config(docker_compose: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``docker-compose config -q`` in a clean environment: no stray .env file, no variable from this shell."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    return subprocess.run(
        [docker_compose, "--env-file", str(empty_env_file), "-f", str(COMPOSE), "config", "-q"],
        cwd=tmp_path, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        capture_output=True, text=True, timeout=60,
    )


# ── docker-compose itself ───────────────────────────────────────────────────────────────────────────────────────

def test_compose_config_is_valid(docker_compose, tmp_path):
    done = run_config(docker_compose, tmp_path, {name: "not-a-real-secret" for name in SECRETS})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("missing", SECRETS)
def test_compose_refuses_to_start_without_a_secret(docker_compose, tmp_path, missing):
    done = run_config(docker_compose, tmp_path, {name: "not-a-real-secret" for name in SECRETS if name != missing})
    assert done.returncode != 0
    assert f"set {missing}" in done.stderr  # the message names the variable to set


# ── the compose file, read ──────────────────────────────────────────────────────────────────────────────────────

def test_the_five_services_each_have_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == {"anvil", "postgres", "issuer", "verifier", "ebsi"}
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def test_services_start_in_order_of_health(compose):
    services = compose["services"]
    assert services["issuer"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                                "anvil": {"condition": "service_healthy"}}
    assert services["verifier"]["depends_on"] == {"issuer": {"condition": "service_healthy"}}
    assert services["ebsi"]["depends_on"] == {"anvil": {"condition": "service_healthy"}}


def test_images_are_pinned_and_volumes_named(compose):
    services = compose["services"]
    assert services["anvil"]["image"] == f"ghcr.io/foundry-rs/foundry:v{anvil_npm_version()}"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["issuer"]["build"] == services["verifier"]["build"] == services["ebsi"]["build"] == "."
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared, f"{name}: {volume} is not a named volume"


def anvil_npm_version() -> str:
    """The anvil the npm devnet pins: the compose chain runs the same one."""
    return json.loads((ROOT / "package.json").read_text("utf-8"))["devDependencies"]["@foundry-rs/anvil"]


def test_no_secret_is_written_in_the_file(compose):
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"SECRET|PASSWORD", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}.{key} must come from the environment"
            if key == "ISSUER_DATABASE_URL":
                assert "${POSTGRES_PASSWORD:?" in value
    assert "ISSUER_SECRET_KEY: ${ISSUER_SECRET_KEY:?set ISSUER_SECRET_KEY" in COMPOSE.read_text("utf-8")


def command_of(service: dict) -> list[str]:
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        return shlex.split(command[2].split("&&")[-1].replace("exec ", "", 1))
    return list(command)


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_run_a_factory_of_this_repo(compose, name):
    if name == "issuer" and not (ISSUER_SERVICE / "app.py").is_file():
        pytest.skip(ISSUER_PENDING)
    service = compose["services"][name]
    command = command_of(service)
    assert command[:2] == ["uvicorn", "--factory"]
    assert command[2] == APP_SERVICES[name]
    module, attr = command[2].split(":")
    assert callable(getattr(importlib.import_module(module), attr))
    port = service["environment"]["UVICORN_PORT"]
    assert service["ports"] == [f"127.0.0.1:${{{name.upper()}_PORT:-{port}}}:{port}"]
    assert f"http://127.0.0.1:{port}/health" in service["healthcheck"]["test"][-1]


def test_the_issuer_migrates_before_serving(compose):
    if not (ISSUER_SERVICE / "app.py").is_file():
        pytest.skip(ISSUER_PENDING)
    command = compose["services"]["issuer"]["command"]
    assert command[:2] == ["sh", "-c"] and command[2].startswith("python -m issuer.service migrate && exec uvicorn")
    assert (ISSUER_SERVICE / "__main__.py").is_file(), "python -m issuer.service needs issuer/service/__main__.py"


def test_verifier_environment_names_real_settings(compose):
    env = compose["services"]["verifier"]["environment"]
    fields = {f"VERIFIER_{name.upper()}" for name in VerifierSettings.model_fields}
    unknown = {key for key in env if key.startswith("VERIFIER_")} - fields
    assert not unknown, f"not settings of verifier/service/settings.py: {sorted(unknown)}"


def test_ebsi_environment_names_real_settings(compose):
    from ebsi.service.settings import EbsiSettings

    env = compose["services"]["ebsi"]["environment"]
    fields = {f"EBSI_{name.upper()}" for name in EbsiSettings.model_fields}
    unknown = {key for key in env if key.startswith("EBSI_")} - fields
    assert not unknown, f"not settings of ebsi/service/settings.py: {sorted(unknown)}"


def test_issuer_environment_names_real_settings(compose):
    if not (ISSUER_SERVICE / "settings.py").is_file():
        pytest.skip("issuer/service/settings.py is not written yet (issue 3)")
    from pydantic_settings import BaseSettings

    module = importlib.import_module("issuer.service.settings")
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, BaseSettings) and c is not BaseSettings
               and c.model_config.get("env_prefix") == "ISSUER_"]
    assert len(classes) == 1, f"expected one ISSUER_ settings class, found {classes}"
    fields = {f"ISSUER_{name.upper()}" for name in classes[0].model_fields}
    env = compose["services"]["issuer"]["environment"]
    unknown = {key for key in env if key.startswith("ISSUER_")} - fields
    assert not unknown, f"not settings of issuer/service/settings.py: {sorted(unknown)}"


# ── the Dockerfile ──────────────────────────────────────────────────────────────────────────────────────────────

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerignore_allows(path: str) -> bool:
    """.dockerignore semantics for one path: the last matching pattern wins, ``!`` re-includes; a pattern matching a
    parent folder matches everything under it."""
    import fnmatch

    allowed = True
    parts = path.strip("/").split("/")
    for raw in DOCKERIGNORE.read_text("utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            allowed = negate
    return allowed


def test_dockerfile_copies_only_existing_allowed_paths():
    copies = [args for word, args in dockerfile_instructions() if word == "COPY" and not args.startswith("--from")]
    assert copies
    for args in copies:
        *sources, _dest = args.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repo"
            assert dockerignore_allows(source), f"COPY {source}: excluded by .dockerignore"
    # ...and the context leaves out what must never enter an image.
    for private in (".venv/bin/python", ".git/config", "node_modules/solc/package.json", ".anchorcred/keys",
                    "out/x.json", "tests/conftest.py"):
        assert not dockerignore_allows(private), private


def test_dockerfile_runs_unprivileged_without_test_tools():
    instructions = dockerfile_instructions()
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms and all(args.split()[0] == "python:3.11-slim" for args in froms)
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    install = " ".join(args for word, args in instructions if word == "RUN" and "pip install" in args)
    assert "'.[issuer,service]'" in install and "test" not in install
    assert not [args for word, args in instructions if word in ("ENV", "ARG") and re.search(r"SECRET|PASSWORD", args)]


# Sources the package build reads but the installed package does not need.
BUILD_ONLY = {"contracts/AnchorRegistry.sol", "contracts/compile.mjs", "ebsi/contracts/compile.mjs"}


def project_packages() -> list[str]:
    """The top-level packages pyproject.toml installs (``[tool.setuptools.packages.find] include``)."""
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]["find"]
    return sorted(pattern.rstrip("*") for pattern in include["include"])


def test_the_dockerfile_copies_every_package_the_project_installs():
    copied = {source.rstrip("/") for word, args in dockerfile_instructions()
              if word == "COPY" and not args.startswith("--from") for source in args.split()[:-1]}
    assert set(project_packages()) <= copied, sorted(set(project_packages()) - copied)


def test_the_image_package_holds_every_file_of_the_packages(tmp_path):
    """The build stage, outside Docker: the package built from exactly what the Dockerfile copies holds every file
    under verifier/, issuer/ and contracts/ (templates, stylesheets, contexts, migrations, fonts, artifacts), since
    the running image reads only the installed package."""
    context = tmp_path / "context"
    copies = [args for word, args in dockerfile_instructions()
              if word == "COPY" and not args.startswith("--from") and "/app/" not in args]
    for args in copies:
        for source in args.split()[:-1]:
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, context / source,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))
            else:
                (context / source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, context / source)
    # setuptools' build_py decides what an install copies (packages and package data): run it alone, offline,
    # without the wheel tooling, into a build folder that stands for the image's site-packages.
    build = tmp_path / "site-packages"
    done = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "--quiet", "build_py",
                           "--build-lib", str(build)], cwd=context, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    packaged = {path.relative_to(build).as_posix() for path in build.rglob("*") if path.is_file()}
    expected = {path.relative_to(context).as_posix()
                for top in project_packages() for path in (context / top).rglob("*")
                if path.is_file()} - BUILD_ONLY
    assert "verifier/service/templates/results.html" in expected
    missing = sorted(expected - packaged)
    assert not missing, f"not in the package the image installs (pyproject package-data?): {missing}"


def dockerfile_healthcheck() -> list[str]:
    (args,) = [args for word, args in dockerfile_instructions() if word == "HEALTHCHECK"]
    return json.loads(args[args.index("CMD") + 3:].strip())


def dockerfile_cmd() -> list[str]:
    (args,) = [args for word, args in dockerfile_instructions() if word == "CMD"]
    return json.loads(args)


def probe(command: list[str], env: dict[str, str] | None = None) -> int:
    """Runs a healthcheck command as the container would (``python`` is this interpreter)."""
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    return subprocess.run(argv, env={**os.environ, **(env or {})}, capture_output=True, timeout=30).returncode


def test_the_image_command_and_healthchecks_work_outside_docker(compose, tmp_path):
    """The Dockerfile's CMD, configured only by UVICORN_* as in the image, serves /health; the Dockerfile's and the
    compose file's healthchecks pass against it and fail against a closed port."""
    port = free_port()
    command = dockerfile_cmd()
    assert command[:3] == ["uvicorn", "--factory", "verifier.service.app:create_app"]
    env = {"UVICORN_HOST": "127.0.0.1", "UVICORN_PORT": str(port)}
    with serve([sys.executable, "-m", *command], env=env, port=port, log=tmp_path / "uvicorn.log"):
        assert probe(dockerfile_healthcheck(), {"UVICORN_PORT": str(port)}) == 0
        verifier_check = compose["services"]["verifier"]["healthcheck"]["test"][1:]
        assert probe([part.replace(":8080/", f":{port}/") for part in verifier_check]) == 0
    assert probe(dockerfile_healthcheck(), {"UVICORN_PORT": str(port)}) == 1
    assert probe([part.replace(":8080/", f":{port}/") for part in verifier_check]) == 1
