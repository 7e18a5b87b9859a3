"""Status lists of the issuer service (W3C Bitstring Status List v1.0): encoding, index allocation, the signed list
credential, status changes and their publication (one ledger transaction per publication of a list).

The verifier's counterpart (decoding, the status check) is ``verifier.status``; nothing here is imported by it.
"""
