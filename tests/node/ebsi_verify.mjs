// Verifies EBSI-profile JWT credentials with the EBSI reference library @cef-ebsi/verifiable-credential, offline:
// every request the library makes must go to the local EBSI-like ledger (the facade); anything else is refused
// before it leaves the process, and reported.
//
// usage: node ebsi_verify.mjs INPUT.json
//   INPUT: {"base": "http://127.0.0.1:PORT", "jwts": {"name": "<jwt>", ...}}
// prints: {"results": {"name": {"verified": bool, "error": str|null}}, "refused": [url, ...]}
import { readFileSync } from "node:fs";
import axios from "axios";
import { verifyCredentialJwt } from "@cef-ebsi/verifiable-credential";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = input.base.replace(/\/$/, "");
const refused = [];

// No network but the facade: a request interceptor on the global axios instance (the library and its DID resolver
// use it) refuses any other URL.
axios.interceptors.request.use((config) => {
  const url = new URL(config.url, config.baseURL);
  if (!url.href.startsWith(base + "/")) {
    refused.push(url.href);
    throw new Error(`offline: refused ${url.href}`);
  }
  return config;
});

const host = new URL(base).host;
const options = {
  ebsiAuthority: host,
  ebsiEnvConfig: {
    didRegistry: `${base}/did-registry/v5/identifiers`,
    trustedIssuersRegistry: `${base}/trusted-issuers-registry/v5/issuers`,
    trustedPoliciesRegistry: `${base}/trusted-policies-registry/v3/users`,
  },
  trustedHostnames: [new URL(base).hostname],
  timeout: 20000,
};

const results = {};
for (const [name, jwt] of Object.entries(input.jwts)) {
  try {
    await verifyCredentialJwt(jwt, options);
    results[name] = { verified: true, error: null };
  } catch (e) {
    results[name] = { verified: false, error: e instanceof Error ? e.message : String(e) };
  }
}
process.stdout.write(JSON.stringify({ results, refused }));
