"""The EBSI-like ledger's three contracts on one EVM chain, as the facade reads and writes them (web3).

``EbsiLedger`` serializes every call (eth-tester is not thread-safe, and request handlers share it), maps web3 and
eth-tester errors to ``ebsi.errors`` at this boundary (a revert becomes ``ContractRevertError`` naming the contract's
custom error and its arguments), and turns the contracts' tuples into small frozen records. Deployment is once per
chain: ``ensure_deployment`` reuses the contracts recorded in a state file while their code is there.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception, Web3RPCError

from ebsi.contracts import load_artifact
from ebsi.errors import ContractRevertError, EbsiError, EbsiUnavailableError
from issuer.ledger.evm import revert_data
from issuer.ledger.provider import wait_once
from verifier.ledger.base import keccak256

__all__ = ["CONTRACTS", "Deployment", "EbsiLedger", "deploy", "ensure_deployment"]

CONTRACTS = ("Timestamp", "TrustedIssuersRegistry", "DidRegistry")
DEV_FUNDING_WEI = 10**18
LOG_LOOKBACK_BLOCKS = 100_000


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    timestamp: str
    trusted_issuers_registry: str
    did_registry: str
    admin: str

    def address_of(self, contract: str) -> str:
        return {"Timestamp": self.timestamp, "TrustedIssuersRegistry": self.trusted_issuers_registry,
                "DidRegistry": self.did_registry}[contract]


@dataclass(frozen=True)
class TimestampRecord:
    timestamp_id: bytes  # sha256 of the hash (the contract's key)
    timestamped_by: str
    block_number: int
    time: datetime
    hash_algorithm_id: int
    hash_value: bytes
    data: bytes


@dataclass(frozen=True)
class AttributeRecord:
    attribute_id: bytes
    hash: bytes  # sha256 of the body, zero while there is none
    body: bytes
    issuer_type: int
    tao: str
    root_tao: str
    tao_attribute_id: bytes
    time: datetime
    block_number: int
    set_by: str


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


def _error_table() -> dict[bytes, tuple[str, str, list[str]]]:
    """selector -> (contract, error name, argument types) for every custom error of the three contracts."""
    table: dict[bytes, tuple[str, str, list[str]]] = {}
    for contract in CONTRACTS:
        for entry in load_artifact(contract)["abi"]:
            if entry["type"] == "error":
                types = [i["type"] for i in entry["inputs"]]
                signature = f"{entry['name']}({','.join(types)})"
                table[keccak256(signature.encode())[:4]] = (contract, entry["name"], types)
    return table


_ERRORS = _error_table()


def describe_revert(data: bytes | None) -> tuple[str, str | None, tuple[Any, ...]]:
    """(message, error name, args) for revert ``data``: ``TrustedIssuersRegistry__NotAccreditor(did:ebsi:…, 0x…, 3)``."""
    if not data or len(data) < 4 or data[:4] not in _ERRORS:
        return ("the contract reverted" + (f" with data 0x{data.hex()[:80]}" if data else " without a reason"), None, ())
    _, name, types = _ERRORS[data[:4]]
    try:
        args = tuple(abi_decode(types, data[4:]))
    except Exception:  # malformed error data: name it without its arguments
        return (f"{name}(…)", name, ())
    shown = ", ".join("0x" + a.hex() if isinstance(a, bytes) else str(a) for a in args)
    return f"{name}({shown})", name, args


@contextmanager
def map_errors(what: str) -> Iterator[None]:
    try:
        yield
    except EbsiError:
        raise
    except ContractLogicError as exc:
        message, name, args = describe_revert(revert_data(exc))
        raise ContractRevertError(f"{what}: {message}", error=name, args=args) from exc
    except (TimeoutError, OSError) as exc:
        raise EbsiUnavailableError(f"{what}: the chain did not answer ({type(exc).__name__})") from exc
    except Web3RPCError as exc:
        raise EbsiError(f"{what}: the node refused: {exc}") from exc
    except Web3Exception as exc:
        raise EbsiError(f"{what}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # eth-tester raises its own (TransactionFailed, ValidationError)
        if not type(exc).__module__.startswith(("eth_tester", "eth.", "eth_utils")):
            raise
        if type(exc).__name__ == "TransactionFailed":
            message, name, args = describe_revert(revert_data(exc))
            raise ContractRevertError(f"{what}: {message}", error=name, args=args) from exc
        raise EbsiError(f"{what}: the node refused: {type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------------------------------------------- deployment


def _send_and_wait(w3: Web3, account: Any, tx: dict, *, idle: Callable[[], None], timeout: float, what: str) -> Any:
    with map_errors(what):
        tx = {"chainId": int(w3.eth.chain_id), "from": account.address, "value": 0, **tx}
        tx["gas"] = int(w3.eth.estimate_gas(tx) * 12 // 10)
        tx["gasPrice"] = int(w3.eth.gas_price)
        tx["nonce"] = int(w3.eth.get_transaction_count(account.address, "pending"))
        signed = account.sign_transaction({k: v for k, v in tx.items() if k != "from"})
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    deadline = time.monotonic() + timeout
    while True:
        with map_errors(what):
            try:
                receipt = w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                receipt = None
        if receipt is not None:
            if int(receipt["status"]) != 1:
                raise EbsiError(f"{what}: transaction {tx_hash.to_0x_hex()} reverted")
            return receipt
        if time.monotonic() > deadline:
            raise EbsiUnavailableError(f"{what}: not mined within {timeout}s")
        idle()


def deploy(w3: Web3, account: Any, *, idle: Callable[[], None] | None = None, timeout: float = 60.0) -> Deployment:
    """Deploys DidRegistry, Timestamp and TrustedIssuersRegistry (which reads control from the DidRegistry) from
    ``account``, which becomes the admin of Timestamp (hash algorithms) and of the TIR (RootTAOs)."""
    idle = idle or (lambda: time.sleep(0.2))
    addresses = {}
    for name in ("DidRegistry", "Timestamp", "TrustedIssuersRegistry"):
        bytecode = load_artifact(name)["bytecode"]
        if name == "TrustedIssuersRegistry":
            bytecode += bytes(12).hex() + addresses["DidRegistry"][2:].lower()  # constructor(address didRegistry_)
        receipt = _send_and_wait(w3, account, {"data": bytecode}, idle=idle, timeout=timeout, what=f"deploy {name}")
        addresses[name] = Web3.to_checksum_address(receipt["contractAddress"])
    deployment = Deployment(int(w3.eth.chain_id), addresses["Timestamp"], addresses["TrustedIssuersRegistry"],
                            addresses["DidRegistry"], Web3.to_checksum_address(account.address))
    if not code_matches(w3, deployment):
        raise EbsiError("the code at the deployed addresses differs from the committed artifacts")
    return deployment


def code_matches(w3: Web3, deployment: Deployment) -> bool:
    """True if every contract of ``deployment`` has exactly its artifact's deployed code (immutables aside)."""
    with map_errors("get code"):
        for name in CONTRACTS:
            code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.address_of(name))))
            expected = bytes.fromhex(load_artifact(name)["deployedBytecode"][2:])
            # Immutables (admin, DID registry address) are written into the code at deployment: compare lengths and
            # everything outside 32-byte words that differ only where an immutable sits.
            if len(code) != len(expected) or not _same_but_immutables(code, expected):
                return False
    return True


def _same_but_immutables(code: bytes, expected: bytes) -> bool:
    differing = [i for i in range(len(code)) if code[i] != expected[i]]
    # Each immutable is a 32-byte word that the artifact holds as zeros.
    return all(expected[i] == 0 for i in differing)


def ensure_deployment(w3: Web3, account: Any, state_file: Path, *, idle: Callable[[], None] | None = None) -> Deployment:
    """The deployment recorded in ``state_file`` if it is on this chain with the expected code; else a new one."""
    with map_errors("eth_chainId"):
        chain_id = int(w3.eth.chain_id)
    try:
        recorded = json.loads(Path(state_file).read_text("utf-8"))
        deployment = Deployment(**{k: recorded[k] for k in Deployment.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        deployment = None
    if deployment is not None and deployment.chain_id == chain_id and code_matches(w3, deployment):
        return deployment
    deployment = deploy(w3, account, idle=idle)
    path = Path(state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**asdict(deployment), "deployed_at": datetime.now(UTC).isoformat(timespec="seconds")}, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
    return deployment


# -------------------------------------------------------------------------------------------------------- ledger


class EbsiLedger:
    """Reads and writes of the three contracts on one chain; every call under one lock."""

    def __init__(self, w3: Web3, deployment: Deployment, *, idle: Callable[[], None] | None = None,
                 fund: Callable[[str, int], Any] | None = None, poll_interval: float = 0.2,
                 revert_probe: Callable[[dict], bytes | None] | None = None):
        self.w3 = w3
        self._revert_probe = revert_probe  # the embedded chain's way to the raw revert data (see EmbeddedEbsiChain)
        self.deployment = deployment
        self.chain_id = deployment.chain_id
        self._idle = idle
        self._fund = fund
        self.poll_interval = poll_interval
        self._lock = threading.RLock()
        self.contracts = {
            name: w3.eth.contract(address=Web3.to_checksum_address(deployment.address_of(name)),
                                  abi=load_artifact(name)["abi"])
            for name in CONTRACTS
        }
        with map_errors("eth_chainId"):
            actual = int(w3.eth.chain_id)
        if actual != deployment.chain_id:
            raise EbsiError(f"the node serves chain {actual}, the deployment is on chain {deployment.chain_id}")

    # ---- generic
    def call(self, contract: str, function: str, *args: Any) -> Any:
        with self._lock, map_errors(f"{contract}.{function}"):
            return getattr(self.contracts[contract].functions, function)(*args).call()

    def encode(self, contract: str, function: str, args: list[Any]) -> bytes:
        """The calldata of ``contract.function(*args)`` (ABI-encoded by web3; bad argument types are errors)."""
        fn = getattr(self.contracts[contract].functions, function)(*args)
        return bytes.fromhex(fn._encode_transaction_data()[2:])

    def address_of(self, contract: str) -> str:
        return Web3.to_checksum_address(self.deployment.address_of(contract))

    def rpc(self, method: str, params: list) -> Any:
        """A raw JSON-RPC request to the node (the facade's read-only proxy)."""
        with self._lock, map_errors(method):
            answer = self.w3.provider.make_request(method, params)
        if "error" in answer:
            error = answer["error"]
            raise EbsiError(f"{method}: {error.get('message') if isinstance(error, dict) else error}")
        return answer.get("result")

    # ---- transactions
    def pending_nonce(self, address: str) -> int:
        with self._lock, map_errors("nonce"):
            return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "pending"))

    def gas_price(self) -> int:
        with self._lock, map_errors("gas price"):
            return int(self.w3.eth.gas_price)

    def estimate_gas(self, tx: dict) -> int:
        """Gas for ``tx`` (+20%); a transaction that would revert raises ``ContractRevertError`` naming why."""
        try:
            with self._lock, map_errors("estimate gas"):
                return int(self.w3.eth.estimate_gas(tx) * 12 // 10)
        except ContractRevertError as exc:
            if exc.error is not None or self._revert_probe is None:
                raise
            with self._lock:
                data = self._revert_probe(tx)
            message, name, args = describe_revert(data)
            raise ContractRevertError(f"estimate gas: {message}", error=name, args=args) from exc

    def broadcast(self, raw: bytes) -> str:
        with self._lock, map_errors("send transaction"):
            return self.w3.eth.send_raw_transaction(bytes(raw)).to_0x_hex()

    def receipt(self, tx_hash: str) -> Any | None:
        with self._lock, map_errors("receipt"):
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None

    def wait_for_receipt(self, tx_hash: str, *, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while (found := self.receipt(tx_hash)) is None:
            if time.monotonic() > deadline:
                raise EbsiUnavailableError(f"transaction {tx_hash} not mined within {timeout}s")
            self.wait()
        return found

    def wait(self) -> None:
        wait_once(self._idle, self._lock, self.poll_interval)

    def ensure_funds(self, address: str) -> None:
        """On a dev chain (a funding callable given), tops up ``address`` so it can pay for gas: EBSI's own chain
        charges nothing, a devnet does."""
        if self._fund is None:
            return
        with self._lock:
            with map_errors("balance"):
                balance = int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))
            if balance < DEV_FUNDING_WEI // 10:
                self._fund(address, DEV_FUNDING_WEI)

    # ---- Timestamp
    def timestamps_count(self) -> int:
        return int(self.call("Timestamp", "timestampsCount"))

    def timestamp_id_at(self, index: int) -> bytes:
        return bytes(self.call("Timestamp", "timestampIdAt", index))

    def timestamp(self, timestamp_id: bytes) -> TimestampRecord | None:
        if int(self.call("Timestamp", "timestampRecordsCount", timestamp_id)) == 0:
            return None
        return self._timestamp_record(timestamp_id, self.call("Timestamp", "getTimestamp", timestamp_id))

    def timestamp_by(self, timestamp_id: bytes, address: str) -> TimestampRecord | None:
        found, record = self.call("Timestamp", "getTimestampBy", timestamp_id, Web3.to_checksum_address(address))
        return self._timestamp_record(timestamp_id, record) if found else None

    @staticmethod
    def _timestamp_record(timestamp_id: bytes, r: tuple) -> TimestampRecord:
        return TimestampRecord(bytes(timestamp_id), Web3.to_checksum_address(r[0]), int(r[1]), _utc(r[2]), int(r[3]),
                               bytes(r[4]), bytes(r[5]))

    def timestamp_transaction(self, record: TimestampRecord) -> str | None:
        """The hash of the transaction that made ``record`` (from the contract's HashTimestamped event)."""
        with self._lock, map_errors("timestamp events"):
            logs = self.w3.eth.get_logs({
                "address": self.address_of("Timestamp"),
                "fromBlock": record.block_number, "toBlock": record.block_number,
                "topics": ["0x" + keccak256(b"HashTimestamped(bytes32,address,uint256,uint256)").hex(),
                           "0x" + record.timestamp_id.hex(),
                           "0x" + bytes(12).hex() + record.timestamped_by[2:].lower()],
            })
        for log in logs:
            return "0x" + bytes(log["transactionHash"]).hex()
        return None

    def hash_algorithms_count(self) -> int:
        return int(self.call("Timestamp", "hashAlgorithmsCount"))

    def hash_algorithm(self, algorithm_id: int) -> dict[str, Any]:
        r = self.call("Timestamp", "getHashAlgorithm", algorithm_id)
        return {"outputLength": int(r[0]), "status": int(r[1]), "ianaName": r[2], "oid": r[3], "multihash": r[4]}

    # ---- Trusted Issuers Registry
    def issuers_count(self) -> int:
        return int(self.call("TrustedIssuersRegistry", "issuersCount"))

    def issuer_at(self, index: int) -> str:
        return str(self.call("TrustedIssuersRegistry", "issuerAt", index))

    def is_issuer(self, did: str) -> bool:
        return bool(self.call("TrustedIssuersRegistry", "isIssuer", did))

    def attribute_ids(self, did: str) -> list[bytes]:
        return [bytes(a) for a in self.call("TrustedIssuersRegistry", "getAttributeIds", did)]

    def attribute(self, did: str, attribute_id: bytes) -> AttributeRecord:
        return self._attribute(self.call("TrustedIssuersRegistry", "getAttribute", did, attribute_id))

    def revisions_count(self, did: str, attribute_id: bytes) -> int:
        return int(self.call("TrustedIssuersRegistry", "revisionsCount", did, attribute_id))

    def revision(self, did: str, attribute_id: bytes, index: int) -> AttributeRecord:
        return self._attribute(self.call("TrustedIssuersRegistry", "getRevision", did, attribute_id, index))

    @staticmethod
    def _attribute(r: tuple) -> AttributeRecord:
        return AttributeRecord(bytes(r[0]), bytes(r[1]), bytes(r[2]), int(r[3]), r[4], r[5], bytes(r[6]), _utc(r[7]),
                               int(r[8]), Web3.to_checksum_address(r[9]))

    def proxy_ids(self, did: str) -> list[bytes]:
        return [bytes(p) for p in self.call("TrustedIssuersRegistry", "getProxyIds", did)]

    def proxy(self, did: str, proxy_id: bytes) -> str:
        return str(self.call("TrustedIssuersRegistry", "getProxy", did, proxy_id))

    # ---- DID Registry
    def dids_count(self) -> int:
        return int(self.call("DidRegistry", "didsCount"))

    def did_at(self, index: int) -> str:
        return str(self.call("DidRegistry", "didAt", index))

    def did_exists(self, did: str) -> bool:
        return bool(self.call("DidRegistry", "exists", did))

    def is_controller(self, did: str, address: str) -> bool:
        return bool(self.call("DidRegistry", "isController", did, Web3.to_checksum_address(address)))

    def did_document_parts(self, did: str) -> dict[str, Any]:
        """The stored parts of a DID document (rendered as a W3C DID document by the facade)."""
        info = self.call("DidRegistry", "getDocument", did)
        methods = self.call("DidRegistry", "getVerificationMethods", did)
        relationships = self.call("DidRegistry", "getVerificationRelationships", did)
        services = self.call("DidRegistry", "getServices", did)
        return {
            "did": info[0], "baseDocument": info[1], "controllers": list(info[2]),
            "created": _utc(info[3]), "updated": _utc(info[4]),
            "methods": [{"id": m[0], "publicKey": bytes(m[1]), "isSecp256k1": bool(m[2]), "account": m[3]}
                        for m in methods],
            "relationships": [{"name": r[0], "vMethodId": r[1], "notBefore": int(r[2]), "notAfter": int(r[3])}
                              for r in relationships],
            "services": [{"id": s[0], "service": s[1]} for s in services],
        }

    def block_time(self) -> datetime:
        with self._lock, map_errors("latest block"):
            return _utc(self.w3.eth.get_block("latest")["timestamp"])
