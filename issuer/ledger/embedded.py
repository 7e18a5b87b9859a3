"""An Ethereum chain inside the process (eth-tester + py-evm): unit tests and the single-process demo, no setup.

py-evm signs and recovers with eth-keys, which uses its coincurve (libsecp256k1) backend when coincurve is installed
(it is a dependency of the project), so a run does not fall back to the slow pure-Python backend.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from issuer.ledger.evm import EvmWriter, deploy_registry
from issuer.ledger.provider import EvmLedger
from verifier.ledger.evm import EvmReader, ProviderTransport

__all__ = ["EmbeddedChain"]


class EmbeddedChain:
    """A fresh chain with AnchorRegistry deployed at construction. Every transaction is mined into its own block."""

    def __init__(self) -> None:
        self._tester = EthereumTester(PyEVMBackend())
        self.w3 = Web3(EthereumTesterProvider(self._tester))
        self.chain_id = int(self.w3.eth.chain_id)
        # eth-tester's pre-funded test account #0 pays for deployment and funding (test keys, never real funds).
        key = self._tester.backend.account_keys[0]
        self.funder = Account.from_key(key.to_bytes())
        self.registry_address = deploy_registry(self.w3, self.funder, idle=lambda: self.mine(1))

    def fund(self, address: str, wei: int) -> str:
        """Sends ``wei`` from the funding account; returns the transaction hash."""
        tx_hash = self.w3.eth.send_transaction({"from": self.funder.address, "to": Web3.to_checksum_address(address),
                                                "value": int(wei)})
        return tx_hash.to_0x_hex()

    def new_account(self, wei: int = 10**18) -> Any:
        """A fresh eth-account LocalAccount funded with ``wei``."""
        account = Account.create()
        if wei:
            self.fund(account.address, wei)
        return account

    def mine(self, n: int = 1) -> None:
        self._tester.mine_blocks(n)

    def transport(self) -> ProviderTransport:
        """A verifier transport over this chain's provider (the verifier side needs no web3)."""
        return ProviderTransport(self.w3.provider)

    def reader(self) -> EvmReader:
        return EvmReader(self.transport(), chain_id=self.chain_id, registry_address=self.registry_address)

    def provider(self, mode: str = "contract") -> EvmLedger:
        """The batch runner's view of this chain (``issuer.ledger.provider``): waiting mines a block, and the
        tenants' anchoring addresses are funded from the test account."""
        return EvmLedger(self.w3, registry_address=self.registry_address if mode == "contract" else None, mode=mode,
                         idle=lambda: self.mine(1), fund=self.fund, label="embedded")

    def writer(self, account: Any, mode: str = "contract", **kwargs: Any) -> EvmWriter:
        """An EvmWriter for ``account``; waiting for confirmations mines blocks, since nothing else would."""
        registry = self.registry_address if mode == "contract" else None
        return EvmWriter(self.w3, account, mode=mode, registry_address=registry, idle=lambda: self.mine(1), **kwargs)
