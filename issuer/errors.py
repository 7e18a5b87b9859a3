"""One error family for the issuer.

- the registrar's input is unreadable (missing file, bad YAML, not UTF-8): ``InputFileError``, one line;
- the input is readable but wrong: ``AchievementError`` / ``RosterError``, carrying *every* problem found, one line
  each, so the registrar fixes the whole file in one go; nothing is issued while any remain;
- a bad option (``--did``) or output folder: ``OptionError`` / ``OutputFolderError``, one line, before anything is
  signed;
- a batch that failed while signing or writing: ``BatchError`` (after anchoring, it names the transaction and the
  batch record, so the registrar can find what was paid for);
- misuse of the API by a caller: plain ``ValueError``.
"""

from __future__ import annotations

from pathlib import Path


class IssuerError(Exception):
    """Base of every error the issuer raises on purpose."""

    def diagnostics(self) -> str:
        """A message for a person: what is wrong and where."""
        return str(self)


class InputFileError(IssuerError):
    """An input file could not be read at all (missing, unreadable, not UTF-8, not YAML/CSV)."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class InputValidationError(IssuerError):
    """A readable input with one or more problems; ``problems`` lists them all, in file order."""

    what = "input"

    def __init__(self, problems: list[str]):
        if not problems:
            raise ValueError("an InputValidationError needs at least one problem")
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the {self.what}:\n" + "\n".join(self.problems))

    def diagnostics(self) -> str:
        return "\n".join(self.problems)


class AchievementError(InputValidationError):
    """The achievement (micro-credential specification) is invalid."""

    what = "achievement"


class RosterError(InputValidationError):
    """The roster CSV has invalid rows (or is malformed as a whole)."""

    what = "roster"


class OptionError(IssuerError):
    """A command-line option has a value the issuer cannot use (e.g. ``--did`` that is no did:web)."""


class OutputFolderError(IssuerError):
    """The output folder cannot take the batch (not a folder, not writable, a file name already taken)."""


class BatchError(IssuerError):
    """Signing or writing a batch failed; the message names the failure (and, once anchored, the transaction)."""


def read_input_file(path: Path) -> bytes:
    """The bytes of a registrar's input file, or an InputFileError that says why not (one line, no traceback)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
