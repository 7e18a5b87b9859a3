"""One error family for the verifier.

Three kinds, kept apart on purpose (python-tuf does the same):
- the input is bad (a malformed credential, an unknown context, an undefined term): ``InvalidInputError`` and children;
- evidence could not be had (a ledger or a DID document out of reach): ``EvidenceUnavailableError``; a check that meets
  it reports *indeterminate*, never *pass*;
- misuse of the API by a caller: plain ``ValueError``.
"""

from __future__ import annotations


class AnchorcredError(Exception):
    """Base of every error the verifier raises on purpose."""

    def diagnostics(self) -> str:
        """A one-paragraph message for a person: what is wrong and where."""
        return str(self)


class InvalidInputError(AnchorcredError):
    """The document handed to the verifier is not what it claims to be."""


class ContextError(InvalidInputError):
    """A JSON-LD context is unknown to the project or does not match its pinned digest."""


class UnmappedTermError(InvalidInputError):
    """A property or type that no context defines; it would be silently dropped from the signed form."""

    def __init__(self, terms: list[str]):
        self.terms = sorted(set(terms))
        super().__init__("terms defined by no context: " + ", ".join(self.terms))


class ProofFormatError(InvalidInputError):
    """A proof (or its encoded value) is malformed."""


class EvidenceUnavailableError(AnchorcredError):
    """Evidence needed for a check could not be obtained (not: the evidence was bad)."""


class LedgerUnavailableError(EvidenceUnavailableError):
    """A ledger node could not be reached or did not answer in time."""


class DidResolutionError(EvidenceUnavailableError):
    """A DID document could not be obtained."""
