// Verifies a credential signed by anchorcred with Digital Bazaar's libraries (@digitalbazaar/vc 7.3.0 +
// eddsa-rdfc-2022-cryptosuite), fully offline: JSON-LD contexts come from verifier/contexts/ through its pinned
// manifest, DID documents from the input file or from files given on the command line. Usage:
//   node verify.mjs <input.json>                                   input = {"credential": {...}, "didDocuments": {...}}
//   node verify.mjs [--did-document did.json]... <credential.json>  a bare credential; each DID document (e.g. the
//                                                                   issuer's did:web one) is keyed by its "id"
// Prints one JSON object on stdout.
//
// Only the eddsa-rdfc-2022 proofs are checked: anchorcred credentials also carry a merkle-proof-2019 proof
// (chained after the signature), a cryptosuite these libraries do not know, so it is filtered out here. Removing
// a proof chained *after* the signature does not change what the signature covers (VC DI §4.x previousProof).
import {readFileSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', 'verifier', 'contexts');
const manifest = JSON.parse(readFileSync(join(contextsDir, 'manifest.json'), 'utf8'));

function parseArgs(argv) {
  const didDocumentFiles = [];
  const positional = [];
  for(let i = 0; i < argv.length; i++) {
    if(argv[i] === '--did-document') {
      if(i + 1 >= argv.length) {
        throw new Error('--did-document needs a file');
      }
      didDocumentFiles.push(argv[++i]);
    } else {
      positional.push(argv[i]);
    }
  }
  if(positional.length !== 1) {
    throw new Error('usage: node verify.mjs [--did-document FILE]... <input.json | credential.json>');
  }
  return {inputFile: positional[0], didDocumentFiles};
}

const args = parseArgs(process.argv.slice(2));
const raw = JSON.parse(readFileSync(args.inputFile, 'utf8'));
// The wrapped form {"credential", "didDocuments"} or a bare credential (it has an @context, the wrapper has not).
const input = raw['@context'] === undefined && raw.credential ? raw : {credential: raw, didDocuments: {}};
const didDocuments = {...(input.didDocuments || {})};
for(const file of args.didDocumentFiles) {
  const didDocument = JSON.parse(readFileSync(file, 'utf8'));
  if(typeof didDocument.id !== 'string' || !didDocument.id.startsWith('did:')) {
    throw new Error(`${file}: a DID document needs an "id" that is a DID`);
  }
  didDocuments[didDocument.id] = didDocument;
}

function loadContext(url) {
  const entry = manifest[url];
  if(!entry) {
    throw new Error(`unknown JSON-LD context ${url}: not in verifier/contexts/manifest.json (offline loader)`);
  }
  const data = readFileSync(join(contextsDir, entry.file));
  const digest = createHash('sha256').update(data).digest('hex');
  if(digest !== entry.sha256) {
    throw new Error(`context ${url}: sha256 ${digest} does not match pinned ${entry.sha256}`);
  }
  return JSON.parse(data.toString('utf8'));
}

async function documentLoader(url) {
  if(manifest[url]) {
    return {contextUrl: null, documentUrl: url, document: loadContext(url)};
  }
  const [did, fragment] = url.split('#');
  const didDocument = didDocuments[did];
  if(didDocument) {
    if(!fragment) {
      return {contextUrl: null, documentUrl: url, document: didDocument};
    }
    const vm = (didDocument.verificationMethod || []).find(m => m.id === url || m.id === `#${fragment}`);
    if(vm) {
      return {
        contextUrl: null,
        documentUrl: url,
        document: {'@context': 'https://w3id.org/security/multikey/v1', ...vm}
      };
    }
  }
  throw new Error(`offline document loader: ${url} is neither a pinned context nor in the given DID documents`);
}

const credential = structuredClone(input.credential);
const proofs = Array.isArray(credential.proof) ? credential.proof : [credential.proof].filter(Boolean);
const eddsaProofs = proofs.filter(p => p && p.cryptosuite === 'eddsa-rdfc-2022');
const ignored = proofs.length - eddsaProofs.length;
credential.proof = eddsaProofs.length === 1 ? eddsaProofs[0] : eddsaProofs;

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
let out;
try {
  const result = await vc.verifyCredential({
    credential,
    suite,
    documentLoader,
    // Status is anchorcred's own check (bitstring status list); not part of this signature cross-check.
    checkStatus: async () => ({verified: true})
  });
  out = {
    verified: result.verified === true && eddsaProofs.length > 0,
    checked: 'eddsa-rdfc-2022 proofs only',
    eddsaProofs: eddsaProofs.length,
    ignoredProofs: ignored,
    errors: (result.error ? [result.error] : [])
      .concat((result.results || []).filter(r => !r.verified).map(r => r.error))
      .flatMap(e => (e && e.errors) ? e.errors : [e])
      .filter(Boolean)
      .map(e => String(e.message || e))
  };
} catch(e) {
  out = {verified: false, checked: 'eddsa-rdfc-2022 proofs only', errors: [String(e && e.message || e)]};
}
process.stdout.write(JSON.stringify(out) + '\n');
