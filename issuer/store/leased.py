"""What the batch runner (``issuer.store.runner``) and the status publisher (``issuer.status.publisher``) share: a
worker that drives rows of a table through a persisted state machine, one row at a time, under a lease.

- a lease (``lease_owner``, ``lease_until``) gives a row to one worker at a time: it is claimed by a conditional
  UPDATE (free, ours, or expired), and every write checks and renews it (``LeaseLostError`` otherwise);
- a step claims one row and advances it by one state; a ledger error keeps the state (noted as retrying) and a
  fault of the row itself marks it failed with the reason;
- driven by ``step`` / ``run_until_idle`` (tests, CLI) or by a background thread (``start`` / ``stop``).

The table must have ``id``, ``state``, ``error``, ``lease_owner`` and ``lease_until`` columns.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import IssuerError
from issuer.ledger.errors import IssuerLedgerError
from issuer.ledger.provider import LedgerProvider
from issuer.store.errors import LeaseLostError, SecretBoxError
from issuer.store.issuance import utcnow
from issuer.store.secrets import SecretBox

__all__ = ["RETRYING", "Hook", "LeasedWorker", "aware", "lasting_note"]

RETRYING = "ledger (retrying): "
Hook = Callable[[str, str], None]  # (event, row id): called after each persisted state / side effect (tests)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive (they are stored in UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def lasting_note(note: str | None) -> str | None:
    """The row's note once it is done: a ledger hiccup that passed goes; notes about replaced transactions stay."""
    return None if note and note.startswith(RETRYING) else note


class LeasedWorker(ABC):
    """Subclasses set ``model`` (the table), ``noun`` (a row, in messages), ``name`` (the worker, in messages and
    its thread's name) and ``log``, and give ``_candidates``, ``_handlers`` and ``_fail``."""

    model: ClassVar[Any]
    noun: ClassVar[str]
    name: ClassVar[str]
    log: ClassVar[logging.Logger]

    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, ledger: LedgerProvider, *,
                 confirmations: int, worker_id: str | None, lease_seconds: float, poll_interval: float,
                 hook: Hook | None):
        self.sessions = sessions
        self.box = box
        self.ledger = ledger
        self.confirmations = confirmations
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[:64]
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.hook = hook
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ── what subclasses give ────────────────────────────────────────────────────────────────────────────────────
    @abstractmethod
    def _candidates(self, now: datetime) -> Sequence[tuple[str, Enum, str | None, datetime | None]]:
        """Rows with work, oldest first, as (id, state, lease_owner, lease_until)."""

    @abstractmethod
    def _handlers(self) -> dict[Any, Callable[[str], None]]:
        """The step that advances a row from each state that has work."""

    @abstractmethod
    def _fail(self, row_id: str, reason: str) -> None:
        """Marks the row failed with the reason (and releases its lease)."""

    # ── driving ─────────────────────────────────────────────────────────────────────────────────────────────────
    def step(self) -> bool:
        """Claims one row that has work and advances it one state. True if it did work (or waited on the ledger)."""
        row_id = self._claim()
        if row_id is None:
            return False
        try:
            self._advance(row_id)
        except LeaseLostError as exc:  # another worker has it now
            self.log.info("%s %s: %s", self.noun, row_id, exc)
        except IssuerLedgerError as exc:  # the node is down or refused: keep the state, say why, try again later
            self.log.warning("%s %s: ledger: %s", self.noun, row_id, exc)
            self._note_error(row_id, f"{RETRYING}{exc}")
            time.sleep(self.poll_interval)
        return True

    def run_until_idle(self, *, timeout: float = 120.0) -> int:
        """Steps until no row has work; returns the number of steps. ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        steps = 0
        while self.step():
            steps += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still busy after {timeout}s ({steps} steps)")
        return steps

    def start(self) -> None:
        """Runs in a background thread, polling every ``poll_interval`` seconds when idle."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"{self.name.replace(' ', '-')}-{self.worker_id}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.step()
            except Exception:  # a bug must not kill the worker; the row stays where it was and is retried
                self.log.exception("%s step failed", self.name)
                busy = False
            if not busy:
                self._stopping.wait(self.poll_interval)

    # ── leases ──────────────────────────────────────────────────────────────────────────────────────────────────
    def _claim(self) -> str | None:
        now = utcnow()
        model = self.model
        for row_id, state, owner, until in self._candidates(now):
            if owner not in (None, self.worker_id) and until is not None and aware(until) > now:
                continue
            with self.sessions.begin() as s:
                claimed = s.execute(
                    update(model)
                    .where(model.id == row_id, model.state == state,
                           model.lease_owner.is_(None) | (model.lease_owner == self.worker_id)
                           | (model.lease_until < now))
                    .values(lease_owner=self.worker_id, lease_until=now + self.lease)
                    .execution_options(synchronize_session=False)
                ).rowcount
            if claimed == 1:
                return row_id
        return None

    def _save(self, s: Session, row_id: str, **values: Any) -> None:
        """Updates the row if this worker still holds its lease (and renews it); else ``LeaseLostError``."""
        model = self.model
        done = s.execute(
            update(model).where(model.id == row_id, model.lease_owner == self.worker_id)
            .values(**{"lease_until": utcnow() + self.lease, **values}).execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            raise LeaseLostError(f"{self.noun} {row_id}: lease lost to another worker")

    def _event(self, event: str, row_id: str) -> None:
        if self.hook is not None:
            self.hook(event, row_id)

    def _transition(self, row_id: str, state: Enum, **values: Any) -> None:
        with self.sessions.begin() as s:
            self._save(s, row_id, state=state, **values)
        self.log.info("%s %s: %s", self.noun, row_id, state.value)
        self._event(f"persisted:{state.value}", row_id)

    def _note_error(self, row_id: str, reason: str) -> None:
        try:
            with self.sessions.begin() as s:
                self._save(s, row_id, error=reason[:2000])
        except LeaseLostError:
            pass

    # ── the states ──────────────────────────────────────────────────────────────────────────────────────────────
    def _advance(self, row_id: str) -> None:
        with self.sessions() as s:
            state = s.get(self.model, row_id).state
            s.rollback()
        handler = self._handlers()[state]
        try:
            handler(row_id)
        except IssuerError as exc:
            if isinstance(exc, (LeaseLostError, IssuerLedgerError, SecretBoxError)):
                raise  # not the row's fault: it stays where it is
            # The row cannot go on as it is (an achievement that no longer parses, a key that does not open).
            self._fail(row_id, f"{state.value}: {exc.diagnostics()}")
