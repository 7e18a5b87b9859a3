"""`anchorcred issue` / `demo` as a registrar meets them going wrong: one clean error line and exit 2, never a
traceback, never an RPC credential; the demo leaves no temporary folder behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from issuer.cli import open_devnet_ledger, open_rpc_ledger
from issuer.keys import new_identity
from issuer.ledger.devnet import DevnetStatus, fund_from_dev_account
from issuer.ledger.errors import LedgerConnectionError, redact_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# Port 9 (discard) on the loopback: nothing listens, the connection is refused at once; no network is used.
DOWN = "http://registrar:s3cr3t-pw@127.0.0.1:9/v3/APIKEY0123456789?token=QUERYSECRET"
SECRETS = ("s3cr3t-pw", "APIKEY0123456789", "QUERYSECRET", "registrar:")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "import anchorcred_cli; anchorcred_cli.main()", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def issue(tmp_path: Path, *extra: str, rpc_url: str = "http://127.0.0.1:9") -> subprocess.CompletedProcess:
    return run("issue", "--achievement", str(EXAMPLES / "achievement.yaml"), "--roster", str(EXAMPLES / "roster.csv"),
               "--out", str(tmp_path / "out"), "--ledger", "rpc", "--rpc-url", rpc_url, "--mode", "calldata",
               "--data-dir", str(tmp_path / "data"), *extra)


def one_clean_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_a_corrupt_key_file_is_one_error_line(tmp_path):
    keys = tmp_path / "data" / "issuer" / "keys.json"
    keys.parent.mkdir(parents=True)
    keys.write_text('{"did": "did:web:www.tu-example.de", "ed25519_seed": "zz"', "utf-8")
    line = one_clean_error(issue(tmp_path))
    assert "keys.json: unreadable issuer key file" in line
    assert not (tmp_path / "out").exists()


def test_a_key_file_of_another_did_is_one_error_line(tmp_path):
    keys = tmp_path / "data" / "issuer" / "keys.json"
    keys.parent.mkdir(parents=True)
    other = new_identity("did:web:other.example")
    keys.write_text(json.dumps({"did": other.did, "ed25519_seed": other.ed25519_seed.hex(),
                                "secp256k1_secret": other.secp256k1_secret.hex()}), "utf-8")
    line = one_clean_error(issue(tmp_path, "--did", "did:web:www.tu-example.de"))
    assert "holds the keys of did:web:other.example, not of did:web:www.tu-example.de" in line


def test_a_did_that_is_not_did_web_is_refused_before_any_key_file_is_created(tmp_path):
    line = one_clean_error(issue(tmp_path, "--did", "did:ebsi:zvHWX359A3CvfJnCYaAiAde"))
    assert line.startswith("error: --did: issuer DID 'did:ebsi:zvHWX359A3CvfJnCYaAiAde': expected a did:web DID")
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


def test_a_down_rpc_node_is_one_error_line_without_the_urls_secrets(tmp_path):
    proc = issue(tmp_path, rpc_url=DOWN)
    line = one_clean_error(proc)
    assert "ledger at http://127.0.0.1:9: chain id: node at http://127.0.0.1:9 unreachable" in line
    for secret in SECRETS:
        assert secret not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_opening_an_rpc_ledger_maps_the_connection_error(tmp_path):
    with pytest.raises(LedgerConnectionError) as info:
        open_rpc_ledger(tmp_path, new_identity("did:web:www.tu-example.de"), "calldata", DOWN, None)
    assert isinstance(info.value.__cause__, OSError)
    assert not any(secret in str(info.value) for secret in SECRETS), str(info.value)


def test_opening_a_devnet_that_stopped_answering_maps_the_connection_error(tmp_path, monkeypatch):
    # The pid file says anvil runs, but its RPC port is closed (anvil died, or hangs): no requests traceback.
    from issuer.ledger import devnet

    monkeypatch.setattr(devnet.Devnet, "status", lambda self: DevnetStatus(True, 1, "http://127.0.0.1:9", 31337, 1))
    with pytest.raises(LedgerConnectionError, match=r"devnet at http://127\.0\.0\.1:9: balance: node at"):
        open_devnet_ledger(tmp_path, new_identity("did:web:www.tu-example.de"), "contract")


def test_funding_from_the_dev_account_maps_the_connection_error():
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(DOWN, request_kwargs={"timeout": 5}))
    with pytest.raises(LedgerConnectionError) as info:
        fund_from_dev_account(w3, "0x" + "11" * 20, 1)
    assert info.value.args[0].startswith("funding from the dev account: node at http://127.0.0.1:9 unreachable")
    assert not any(secret in str(info.value) for secret in SECRETS), str(info.value)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://user:pw@mainnet.example.io/v3/KEY?x=1#f", "https://mainnet.example.io"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://[::1]:8545/key", "http://[::1]:8545"),
        ("wss://node.example:8546/ws/KEY", "wss://node.example:8546"),
        ("not a url", "<unparsable URL>"),
        ("http://host:notaport/", "<unparsable URL>"),
    ],
)
def test_redact_url_keeps_only_scheme_host_and_port(url, expected):
    assert redact_url(url) == expected


def test_redact_url_cuts_every_secret_of_the_url_out_of_an_exception_text():
    text = ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /v3/APIKEY0123456789"
            "?token=QUERYSECRET (Caused by ...) while calling " + DOWN + " as registrar with s3cr3t-pw")
    redacted = redact_url(DOWN, text=text)
    assert not any(secret in redacted for secret in SECRETS), redacted
    assert "host='127.0.0.1', port=9" in redacted and "http://127.0.0.1:9" in redacted


def _demo_folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("anchorcred-demo-"))


def test_the_demo_deletes_its_temporary_folder_and_keeps_only_the_output_asked_for(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    proc = run("demo", "--out", str(out), env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert _demo_folders(tmp) == []  # the keys' data folder went with it
    assert len(list(out.glob("*.json"))) == 28 and (out / ".well-known" / "did.json").is_file()
    proc = run("demo", env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert _demo_folders(tmp) == []
