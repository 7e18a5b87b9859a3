"""One error family for the wallet, kept apart the verifier's way: bad input, unavailable evidence, misuse.

Every message names what is wrong and where (the wallet folder, the entry, the bundle part), never a key or a
passphrase.
"""

from __future__ import annotations

from verifier.errors import AnchorcredError, EvidenceUnavailableError, InvalidInputError


class WalletError(AnchorcredError):
    """Base of every error the wallet raises on purpose."""


class WalletNotFoundError(WalletError):
    """No wallet in the folder (``anchorcred wallet init`` makes one)."""


class WalletExistsError(WalletError):
    """A wallet is already in the folder; ``init`` never overwrites one."""


class WrongPassphraseError(WalletError):
    """The passphrase does not open this wallet (the key check did not decrypt)."""


class StoreFormatError(WalletError, InvalidInputError):
    """A wallet file is not in a format this version reads, or was altered (authentication failed)."""


class EntryNotFoundError(WalletError):
    """No credential in the wallet matches the id given."""


class ClaimError(WalletError, InvalidInputError):
    """A claim link, QR code or file does not yield a credential."""


class ClaimUnavailableError(WalletError, EvidenceUnavailableError):
    """The claim link could not be fetched (the issuer's site is down or slow)."""


class PresentError(WalletError, InvalidInputError):
    """A presentation cannot be made as asked (a credential about someone else, nothing chosen)."""


class ShareError(WalletError, InvalidInputError):
    """A share artefact cannot be made (no public link for a credential imported from a file)."""


class BundleError(WalletError, InvalidInputError):
    """An offline bundle is malformed, or cannot be exported from the evidence the ledger gave."""


class BundleExportUnavailableError(WalletError, EvidenceUnavailableError):
    """The ledger (or the DID document) needed to export a bundle could not be reached."""
