"""Recording key changes on the ledger for the CLI's key file: one ``recordKeyEvent`` transaction per event, sent by
the anchoring key the change names (``issuer.keyrotation``), the key file rewritten after each.

The key file is written with the new keys and the pending events *before* anything is sent, so a run stopped at any
point (ledger down, address not funded, a crash) leaves the events pending; ``anchorcred keys record`` sends the rest.
An event sent but not yet noted as recorded when the process died is sent again by the next run: a repeated event
changes nothing for a verifier (the first one of a kind counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from issuer.errors import OptionError
from issuer.keys import ANCHORING, KeyFile, anchoring_address_of, write_key_file
from verifier.ledger.base import KEY_EVENT_KINDS

__all__ = ["KeyEventWriter", "record_pending"]


class KeyEventWriter(Protocol):
    """What sends one event from one account and waits for it (``EvmWriter``; ``MemoryLedger`` with a sender)."""

    def record_key_event(self, key_id: bytes, kind: int, detail: bytes) -> Any: ...


def _secret_of(keyfile: KeyFile, number: int) -> bytes:
    """The secret of anchoring key ``number``: the current one, or the one being rotated out (until it has recorded
    its retirement)."""
    identity = keyfile.identity
    record = identity.record(ANCHORING, number)
    if record == identity.current(ANCHORING):
        return identity.secp256k1_secret
    if keyfile.retiring_secret is not None and anchoring_address_of(keyfile.retiring_secret) == record.address:
        return keyfile.retiring_secret
    raise OptionError(f"the key file no longer holds the secret of anchoring key {number} ({record.address}), which "
                      "should send a pending key event; it cannot be recorded")


def record_pending(path: Path, keyfile: KeyFile, *, chain_id: int, writer_for: Callable[[bytes], KeyEventWriter],
                   fund: Callable[[str], None] | None = None,
                   say: Callable[[str], None] = lambda _line: None) -> KeyFile:
    """Sends the pending events of ``keyfile`` in order on ``chain_id``; returns the key file as last written.

    ``writer_for(secret)`` gives a writer sending from that key; ``fund(address)`` tops the sender up first (a dev
    chain). The secret of an anchoring key rotated out is dropped once nothing pending needs it."""
    while keyfile.pending:
        change = keyfile.pending[0]
        identity = keyfile.identity
        secret = _secret_of(keyfile, change.sender)
        sender = identity.record(ANCHORING, change.sender).address
        if fund is not None:
            fund(sender)
        key_id, kind, detail, method = identity.key_event(change, chain_id)
        receipt = writer_for(secret).record_key_event(key_id, kind, detail)
        entry = {"method": method, "kind": KEY_EVENT_KINDS[kind], "chain_id": chain_id, "sender": sender,
                 "tx": receipt.tx_hash, "block": receipt.block_number, "time": receipt.block_time.isoformat()}
        keyfile = replace(keyfile, pending=keyfile.pending[1:], recorded=keyfile.recorded + (entry,))
        if not keyfile.pending:
            keyfile = replace(keyfile, retiring_secret=None)  # dropped: nothing left for it to send
        write_key_file(path, keyfile)
        say(f"recorded: {method} {KEY_EVENT_KINDS[kind]} (tx {receipt.tx_hash}, block {receipt.block_number}, "
            f"sent by {sender})")
    if keyfile.retiring_secret is not None:
        keyfile = replace(keyfile, retiring_secret=None)
        write_key_file(path, keyfile)
    return keyfile
