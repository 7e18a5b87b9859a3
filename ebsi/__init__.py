"""anchorcred's local EBSI-like ledger: Timestamp, Trusted Issuers Registry and DID Registry contracts on an EVM chain,
behind a REST / JSON-RPC facade with EBSI's paths and shapes (``ebsi.service``), and a Python client (``ebsi.client``).

The real EBSI needs an onboarding this project cannot do; this package is a faithful local stand-in (DESIGN.md
"Ledgers": ebsi). Reading it needs only HTTP (``verifier.ledger.ebsi``); writing it needs a secp256k1 key, a bearer
token from the facade's token service, and a transaction the facade built and the writer signed.
"""
