#!/usr/bin/env node
// Compiles the project's Solidity contracts with the solc-js version pinned in package.json (exact), through the
// standard JSON interface, and writes one artifact per contract to contracts/build/<Name>.json.
//
// Settings are fixed here, not taken from the environment, so a build is reproducible byte for byte
// (DESIGN.md "Anchoring": exact compiler version, EVM version pinned, artifacts committed, a test fails when a source
// changes without its artifact).
//
// Usage: node contracts/compile.mjs [--out-dir DIR]   (default DIR: contracts/build)
//
// Other contract folders (ebsi/contracts/compile.mjs) import compileContracts from here with their own folder and
// list, so every contract of the project is built by the same code with the same settings.

import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)
const solc = require('solc')

const HERE = dirname(fileURLToPath(import.meta.url))
const CONTRACTS = ['AnchorRegistry']

// "cancun" runs on both py-evm 0.12.1b1 (eth-tester's default PragueVM) and anvil 1.7.1 (default hardfork): both are
// later forks, and Cancun's opcode set (PUSH0, MCOPY, TSTORE) is a subset of theirs. Tested on both.
const EVM_VERSION = 'cancun'
const OPTIMIZER = { enabled: true, runs: 200 }

function parseArgs(argv, defaultOutDir) {
  const args = { outDir: defaultOutDir }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir') args.outDir = resolve(argv[++i])
    else throw new Error(`unknown argument ${argv[i]} (expected: --out-dir DIR)`)
  }
  return args
}

function compile(sourceDir, name) {
  const fileName = `${name}.sol`
  const source = readFileSync(join(sourceDir, fileName))
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

// Compiles <sourceDir>/<Name>.sol for each name of `contracts` and writes <outDir>/<Name>.json (outDir: --out-dir
// of argv, else <sourceDir>/build). The artifact records only the file name, not the folder, so the output does not
// depend on where the checkout is.
export function compileContracts(sourceDir, contracts, argv) {
  const { outDir } = parseArgs(argv, join(sourceDir, 'build'))
  mkdirSync(outDir, { recursive: true })
  for (const name of contracts) {
    const artifact = compile(sourceDir, name)
    const path = join(outDir, `${name}.json`)
    writeFileSync(path, JSON.stringify(artifact, null, 2) + '\n')
    const size = (artifact.deployedBytecode.length - 2) / 2
    console.log(`${name}: ${size} bytes deployed, solc ${artifact.compiler.version}, evm ${EVM_VERSION} -> ${path}`)
  }
}

// Run as a script (not imported by another folder's compile.mjs): build this folder's contracts.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  compileContracts(HERE, CONTRACTS, process.argv.slice(2))
}
