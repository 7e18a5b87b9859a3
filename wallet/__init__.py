"""The learner's wallet: keep credentials and their proofs, present, share, and verify offline (DESIGN.md, "wallet/").

Imports the verifier, never the issuer: a learner installs the wallet without the university's software.
"""
