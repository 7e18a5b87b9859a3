"""The EBSI-like ledger's HTTP facade: EBSI's read paths and JSON-RPC write paths over the three contracts."""
