"""Which ledgers the verifier may ask, and how. Nothing outside this configuration is ever contacted.

A networks file is JSON: {"networks": [{"chain_id": 31337, "label": "devnet", "rpc_url": "http://127.0.0.1:8545",
"registry_address": "0x…", "min_confirmations": 1}]}. The issuer's devnet writes one for the local chain. An EBSI-like
ledger is an entry {"chain_id": 31337, "label": "ebsi-devnet", "ledger": "ebsi", "ebsi_url": "http://127.0.0.1:8090"}:
read over its REST API at that URL only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.errors import InvalidInputError

MAX_CONFIG_BYTES = 1 << 20


class ConfigError(InvalidInputError):
    """The verifier's configuration is unusable."""


@dataclass(frozen=True)
class NetworkConfig:
    chain_id: int
    label: str
    rpc_url: str
    registry_address: str | None = None
    min_confirmations: int = 1
    # "evm" (a JSON-RPC node) or "ebsi" (the EBSI-like ledger's REST API at ebsi_url, the one URL it is read from)
    ledger: str = "evm"
    ebsi_url: str | None = None


def parse_networks(data: Any, *, where: str) -> list[NetworkConfig]:
    items = data.get("networks") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{where}: expected an object with a 'networks' list")
    out: list[NetworkConfig] = []
    for i, item in enumerate(items):
        at = f"{where}: networks[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected an object")
        chain_id, rpc_url = item.get("chain_id"), item.get("rpc_url")
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise ConfigError(f"{at}.chain_id: expected a positive integer, got {chain_id!r}")
        kind = item.get("ledger", "evm")
        if kind not in ("evm", "ebsi"):
            raise ConfigError(f"{at}.ledger: expected 'evm' or 'ebsi', got {kind!r}")
        if kind == "ebsi":  # {"chain_id", "label", "ledger": "ebsi", "ebsi_url": "http://127.0.0.1:8090"}
            url = item.get("ebsi_url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ConfigError(f"{at}.ebsi_url: expected the http(s) URL of the EBSI-like ledger, got {url!r}")
            label = str(item.get("label") or f"ebsi-{chain_id}")
            # rpc_url: the facade's read-only JSON-RPC proxy, so a reader of blocks and receipts works here too.
            rpc = url.rstrip("/") + "/ledger/v4/blockchains/besu"
            out.append(NetworkConfig(chain_id, label, rpc, None, _confirmations(item, at), "ebsi", url.rstrip("/")))
            continue
        if not isinstance(rpc_url, str) or not rpc_url.startswith(("http://", "https://")):
            raise ConfigError(f"{at}.rpc_url: expected an http(s) URL, got {rpc_url!r}")
        registry = item.get("registry_address")
        if registry is not None and (not isinstance(registry, str) or len(registry) != 42 or not registry.startswith("0x")):
            raise ConfigError(f"{at}.registry_address: expected a 0x-prefixed 20-byte address, got {registry!r}")
        confirmations = _confirmations(item, at)
        label = str(item.get("label") or f"chain-{chain_id}")
        out.append(NetworkConfig(chain_id, label, rpc_url, registry, confirmations))
    return out


def _confirmations(item: dict, at: str) -> int:
    confirmations = item.get("min_confirmations", 1)
    if not isinstance(confirmations, int) or isinstance(confirmations, bool) or not 1 <= confirmations <= 10_000:
        raise ConfigError(f"{at}.min_confirmations: expected a whole number from 1 to 10000, got {confirmations!r}")
    return confirmations


def load_networks(path: Path) -> list[NetworkConfig]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read networks file ({exc.strerror})") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    return parse_networks(data, where=str(path))
