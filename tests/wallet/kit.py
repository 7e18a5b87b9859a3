"""Wallet test tools: a cheap wallet, a batch issued to its holder on the embedded chain, eth-tester's JSON-RPC quirks.

The KDF cost is lowered to scrypt N=2^10 here (the store's floor) so a test opens a wallet in milliseconds; the
store's own tests use the default cost once to show it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wallet.store import Wallet

PASSPHRASE = "correct horse battery staple"
CHEAP_KDF = {"n": 2**10}


def new_wallet(folder: Path, passphrase: str = PASSPHRASE) -> Wallet:
    return Wallet.create(folder, passphrase, kdf=CHEAP_KDF)


def holder_batch(out_dir: Path, wallet: Wallet, *, other_did: str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"):
    """Three credentials on a fresh embedded chain: [0] to the wallet's holder, [1] to a learner without a DID, [2] to
    ``other_did``. Returns (chain, batch); the example batch's issuer is did:web:www.tu-example.de."""
    from tests.holderkit import batch_to_dids

    return batch_to_dids(out_dir, wallet.holder_did, other_did)


class EthTesterTransport:
    """eth-tester's provider wants block numbers as integers where JSON-RPC sends hex quantities; everything else is
    passed through (the wallet speaks plain JSON-RPC to real nodes)."""

    def __init__(self, inner: Any):
        self._inner = inner

    def request(self, method: str, params: list) -> Any:
        if method == "eth_getBlockByNumber" and params and isinstance(params[0], str) and params[0].startswith("0x"):
            params = [int(params[0], 16), *params[1:]]
        return self._inner.request(method, params)
