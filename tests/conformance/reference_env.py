"""The Blockcerts reference codecs for merkle-proof-2019, as test oracles.

- Python: PyPI ``lds-merkle-proof-2019`` 0.1.0 (what cert-issuer uses); pinned in the ``test`` extra and imported.
- JavaScript: npm ``@blockcerts/lds-merkle-proof-2019`` 1.0.2 (what cert-verifier-js uses); installed once into
  ``~/.cache/anchorcred/reference-js`` with npm and driven through one ``node`` process per batch of requests.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

JS_PACKAGE = "@blockcerts/lds-merkle-proof-2019"
JS_VERSION = "1.0.2"
JS_DIR = Path(os.environ.get("ANCHORCRED_CACHE", Path.home() / ".cache" / "anchorcred")) / "reference-js"

# Reads [{"op": "decode", "value": proofValue} | {"op": "encode", "value": json}, ...] on stdin, writes results.
_JS_DRIVER = """
import { Encoder, Decoder } from '@blockcerts/lds-merkle-proof-2019';
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(({ op, value }) => {
    try {
      return op === 'decode' ? { ok: new Decoder(value).decode() } : { ok: new Encoder(value).encode() };
    } catch (err) {
      return { error: String(err && err.message || err) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def python_reference():
    """The reference ``MerkleProof2019`` class, or None when the test extra is not installed."""
    try:
        from lds_merkle_proof_2019.merkle_proof_2019 import MerkleProof2019
    except ImportError:
        return None
    return MerkleProof2019


@lru_cache(maxsize=1)
def js_reference() -> tuple[Path | None, str]:
    """(directory with the driver, "") when usable, else (None, reason)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None, "node and npm are needed for the JavaScript reference codec"
    JS_DIR.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers may get here together: one installs, the others wait on the lock.
    with open(JS_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        package_json = JS_DIR / "node_modules" / JS_PACKAGE / "package.json"
        installed = package_json.exists() and json.loads(package_json.read_text()).get("version") == JS_VERSION
        if not installed:
            (JS_DIR / "package.json").write_text('{"private": true}\n')
            proc = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--save-exact", f"{JS_PACKAGE}@{JS_VERSION}"],
                cwd=JS_DIR,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if proc.returncode != 0:
                return None, f"npm install {JS_PACKAGE}@{JS_VERSION} failed: {proc.stderr.strip()[-300:]}"
        (JS_DIR / "driver.mjs").write_text(_JS_DRIVER)
    return JS_DIR, ""


def run_js(requests: list[dict]) -> list[dict]:
    directory, reason = js_reference()
    if directory is None:
        raise RuntimeError(reason)
    proc = subprocess.run(
        ["node", "driver.mjs"], cwd=directory, input=json.dumps(requests), capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"node driver failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)
