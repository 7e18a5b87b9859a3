"""The EBSI-like ledger on an in-process chain (eth-tester + py-evm): tests and the single-process demo, no setup."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from ebsi.ledger import EbsiLedger, deploy

__all__ = ["EmbeddedEbsiChain"]


class EmbeddedEbsiChain:
    """A fresh chain with the three contracts deployed; eth-tester's test account #0 is their admin and the faucet."""

    def __init__(self) -> None:
        self._tester = EthereumTester(PyEVMBackend())
        self.w3 = Web3(EthereumTesterProvider(self._tester))
        self.chain_id = int(self.w3.eth.chain_id)
        # Test keys only (eth-tester's well-known accounts): never real funds.
        self.admin = Account.from_key(self._tester.backend.account_keys[0].to_bytes())
        self.deployment = deploy(self.w3, self.admin, idle=lambda: self.mine(1))

    def mine(self, n: int = 1) -> None:
        self._tester.mine_blocks(n)

    def fund(self, address: str, wei: int) -> str:
        tx_hash = self.w3.eth.send_transaction({"from": self.admin.address, "to": Web3.to_checksum_address(address),
                                                "value": int(wei)})
        return tx_hash.to_0x_hex()

    def ledger(self) -> EbsiLedger:
        """The facade's view of this chain: waiting mines a block, writers are funded from the test account."""
        return EbsiLedger(self.w3, self.deployment, idle=lambda: self.mine(1), fund=self.fund,
                          revert_probe=self.revert_data)

    def revert_data(self, tx: dict) -> bytes | None:
        """The raw revert data of ``tx`` run as a call. eth-tester reports a revert as text and decodes any revert
        data that happens to parse as a string (a custom error starting with a string argument does), losing the
        error's selector; py-evm's computation still has the bytes."""
        from eth_tester.backends.pyevm.main import EVMSpoofTransaction, _execute_and_revert_transaction

        raw = self._tester.normalizer.normalize_inbound_transaction(
            {"from": tx["from"], "to": tx["to"], "data": tx["data"], "gas": 10_000_000, "value": 0})
        backend = self._tester.backend
        unsigned = backend._get_normalized_and_unsigned_evm_transaction(raw, "latest")
        computation = _execute_and_revert_transaction(backend.chain, EVMSpoofTransaction(unsigned, from_=raw["from"]))
        if not computation.is_error or not computation._error.args:
            return None
        data = computation._error.args[0]
        return bytes(data) if isinstance(data, (bytes, bytearray)) else None

    def new_account(self) -> Any:
        return Account.create()
