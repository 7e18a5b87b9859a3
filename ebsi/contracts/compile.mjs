#!/usr/bin/env node
// Compiles the EBSI-like ledger's contracts (Timestamp, TrustedIssuersRegistry, DidRegistry) and writes one artifact
// per contract to ebsi/contracts/build/<Name>.json, with the compiling code of contracts/compile.mjs: same pinned
// solc-js, EVM version and optimizer, so every contract of the project is built the same way, reproducibly byte for
// byte (DESIGN.md "Anchoring": artifacts committed, a test fails when a source changes without its artifact).
//
// Usage: node ebsi/contracts/compile.mjs [--out-dir DIR]   (default DIR: ebsi/contracts/build)

import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

import { compileContracts } from '../../contracts/compile.mjs'

compileContracts(dirname(fileURLToPath(import.meta.url)), ['Timestamp', 'TrustedIssuersRegistry', 'DidRegistry'],
  process.argv.slice(2))
