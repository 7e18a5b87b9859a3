#!/usr/bin/env node
// Compiles the project's Solidity contracts with the solc-js version pinned in package.json (exact), through the
// standard JSON interface, and writes one artifact per contract to ebsi/contracts/build/<Name>.json: the EBSI-like
// ledger's Timestamp, TrustedIssuersRegistry and DidRegistry (same compiler, EVM version and optimizer as
// contracts/compile.mjs, so every contract of the project is built the same way).
//
// Settings are fixed here, not taken from the environment, so a build is reproducible byte for byte
// (DESIGN.md "Anchoring": exact compiler version, EVM version pinned, artifacts committed, a test fails when a source
// changes without its artifact).
//
// Usage: node ebsi/contracts/compile.mjs [--out-dir DIR]   (default DIR: ebsi/contracts/build)

import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const solc = require('solc')

const HERE = dirname(fileURLToPath(import.meta.url))
const CONTRACTS = ['Timestamp', 'TrustedIssuersRegistry', 'DidRegistry']

// "cancun" runs on both py-evm 0.12.1b1 (eth-tester's default PragueVM) and anvil 1.7.1 (default hardfork): both are
// later forks, and Cancun's opcode set (PUSH0, MCOPY, TSTORE) is a subset of theirs. Tested on both.
const EVM_VERSION = 'cancun'
const OPTIMIZER = { enabled: true, runs: 200 }

function parseArgs(argv) {
  const args = { outDir: join(HERE, 'build') }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir') args.outDir = resolve(argv[++i])
    else throw new Error(`unknown argument ${argv[i]} (expected: --out-dir DIR)`)
  }
  return args
}

function compile(name) {
  const fileName = `${name}.sol`
  const source = readFileSync(join(HERE, fileName))
  const input = {
    language: 'Solidity',
    sources: { [fileName]: { content: source.toString('utf8') } },
    settings: {
      optimizer: OPTIMIZER,
      evmVersion: EVM_VERSION,
      outputSelection: { [fileName]: { [name]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } }
    }
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input)))
  const errors = (output.errors || []).filter((e) => e.severity === 'error')
  for (const e of output.errors || []) console.error(e.formattedMessage)
  if (errors.length > 0) throw new Error(`${fileName}: ${errors.length} compilation error(s)`)
  const contract = output.contracts[fileName][name]
  return {
    contractName: name,
    sourceName: fileName,
    sourceSha256: createHash('sha256').update(source).digest('hex'),
    compiler: { name: 'solc-js', version: solc.version() },
    evmVersion: EVM_VERSION,
    optimizer: OPTIMIZER,
    abi: contract.abi,
    bytecode: '0x' + contract.evm.bytecode.object,
    deployedBytecode: '0x' + contract.evm.deployedBytecode.object
  }
}

const { outDir } = parseArgs(process.argv.slice(2))
mkdirSync(outDir, { recursive: true })
for (const name of CONTRACTS) {
  const artifact = compile(name)
  const path = join(outDir, `${name}.json`)
  writeFileSync(path, JSON.stringify(artifact, null, 2) + '\n')
  const size = (artifact.deployedBytecode.length - 2) / 2
  console.log(`${name}: ${size} bytes deployed, solc ${artifact.compiler.version}, evm ${EVM_VERSION} -> ${path}`)
}
