#!/usr/bin/env python3
"""Write verifier/contexts/manifest.json: {"<context url>": {"file": "...", "sha256": "<hex>"}}.

Run after scripts/fetch_contexts.sh (or after the project's own extension context changes). The document loader
serves only the URLs listed here, and only when the file still matches its digest (DESIGN.md "Canonical hashing").
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

CONTEXTS_DIR = Path(__file__).resolve().parents[1] / "verifier" / "contexts"

# URL -> file name in verifier/contexts/. Files from npm come from scripts/fetch_contexts.sh.
CONTEXT_FILES: dict[str, str] = {
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": "credentials-undefined-terms-v2.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://www.w3.org/ns/credentials/status/v1": "bitstring-status-list-v1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.json",
}
# The project's own extension context (EU micro-credential elements); pinned only once its file exists.
OPTIONAL_CONTEXT_FILES: dict[str, str] = {
    "https://anchorcred.org/contexts/eu-microcredential/v1.jsonld": "anchorcred-eu-v1.jsonld",
}


def build_manifest(directory: Path = CONTEXTS_DIR) -> dict[str, dict[str, str]]:
    manifest: dict[str, dict[str, str]] = {}
    for url, name in CONTEXT_FILES.items():
        path = directory / name
        if not path.is_file():
            raise SystemExit(f"missing context file {path} for {url}: run scripts/fetch_contexts.sh first")
        manifest[url] = _entry(path)
    for url, name in OPTIONAL_CONTEXT_FILES.items():
        path = directory / name
        if path.is_file():
            manifest[url] = _entry(path)
        else:
            print(f"note: {name} not present yet, {url} not pinned", file=sys.stderr)
    return manifest


def _entry(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    json.loads(data)  # refuse to pin a file that is not JSON
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest()}


def main() -> None:
    manifest = build_manifest()
    out = CONTEXTS_DIR / "manifest.json"
    out.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"pinned {len(manifest)} contexts in {out}")


if __name__ == "__main__":
    main()
