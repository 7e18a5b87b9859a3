"""How the admin pages tell a batch's progress: the stage ladder, its words, and when the page reloads itself.

Every status is written in words ("done", "in progress", "waiting", "failed"); colour only repeats it. The numbers
come from the runner's persisted ``Batch.stage/done/total`` through ``issuer.store`` (``batch_progress``), so the
page shows what is stored, never a guess. Pure functions of a ``Batch``.
"""

from __future__ import annotations

from typing import Any

from issuer.store.models import Batch, BatchState, CredentialRecord

__all__ = ["STATE_TEXT", "STATUS_WORDS", "credential_status", "ladder", "progress_text", "refresh_for"]

STATE_TEXT = {
    "open": "Open: collecting credentials issued through the API",
    "sealed": "Queued: waiting to be signed",
    "signed": "Signed",
    "tree_built": "Merkle tree built",
    "anchor_sent": "Anchor sent, waiting for confirmations",
    "confirmed": "Anchor confirmed",
    "delivered": "Delivered",
    "failed": "Failed",
}
STATUS_WORDS = {"done": "done", "current": "in progress", "waiting": "waiting", "failed": "failed"}
RUNNING = frozenset({BatchState.SEALED, BatchState.SIGNED, BatchState.TREE_BUILT, BatchState.ANCHOR_SENT,
                     BatchState.CONFIRMED})
REFRESH_SECONDS = 3

# (state reached when the step is done, label)
_STEPS = ((BatchState.SIGNED, "Credentials signed"), (BatchState.TREE_BUILT, "Merkle tree built"),
          (BatchState.ANCHOR_SENT, "Anchor transaction sent"), (BatchState.CONFIRMED, "Anchor confirmed"),
          (BatchState.DELIVERED, "Delivered (Merkle proof added to every credential)"))
_ORDER = [BatchState.OPEN, BatchState.SEALED, *(state for state, _ in _STEPS)]


def refresh_for(batch: Batch) -> int | None:
    """Seconds until the page reloads, while the batch runner is working on it; None once it has stopped."""
    return REFRESH_SECONDS if batch.state in RUNNING else None


def _progress(batch: Batch) -> dict[str, Any]:
    from issuer.store import engine as store  # the store's reading of stage/done/total ("confirming k/K")

    return store.batch_progress(batch)


def _failed_after(batch: Batch) -> BatchState:
    """The last state a failed batch reached: the runner writes the reason as '<state>: why'."""
    head = (batch.error or "").split(":", 1)[0].strip()
    for state in _ORDER:
        if state.value == head:
            return state
    return BatchState.SEALED


def ladder(batch: Batch, confirmations: int) -> tuple[list[dict[str, Any]], str]:
    """The steps (label, status, detail, progress as (done, total) or None) and a one-line summary."""
    progress = _progress(batch)
    failed = batch.state is BatchState.FAILED
    reached = _ORDER.index(_failed_after(batch) if failed else batch.state)
    steps: list[dict[str, Any]] = []
    summary = ""
    for target, label in _STEPS:
        index = _ORDER.index(target)
        if reached >= index:
            status = "done"
        elif reached == index - 1 and batch.state is not BatchState.OPEN:
            status = "failed" if failed else "current"
        else:
            status = "waiting"
        step: dict[str, Any] = {"label": label, "status": status, "detail": "", "progress": None}
        if target is BatchState.SIGNED:
            done = batch.total if status == "done" else (progress["done"] if progress["stage"] == "signing" else 0)
            step["detail"] = f"{done} of {batch.total} credentials"
            if status == "current":
                step["progress"] = (done, max(batch.total, 1))
        elif target is BatchState.ANCHOR_SENT and batch.tx_hash:
            step["detail"] = f"transaction {batch.tx_hash[:10]}…{batch.tx_hash[-6:]}"
        elif target is BatchState.CONFIRMED:
            k = (confirmations if status == "done"
                 else progress["done"] if progress["stage"] == "confirming" else 0)
            total = progress["total"] if progress["stage"] == "confirming" else confirmations
            step["detail"] = f"{k} of {total} confirmation{'s' if total != 1 else ''}"
            if status == "current":
                step["progress"] = (k, max(total, 1))
        elif target is BatchState.DELIVERED and status in ("current", "done"):
            done = batch.total if status == "done" else (progress["done"] if progress["stage"] == "delivering" else 0)
            step["detail"] = f"{done} of {batch.total} credentials"
            if status == "current":
                step["progress"] = (done, max(batch.total, 1))
        if status in ("current", "failed") and not summary:
            summary = f"{label.split(' (')[0].lower()}: {step['detail'] or STATUS_WORDS[status]}"
        steps.append(step)
    if batch.state is BatchState.DELIVERED:
        summary = f"all {batch.total} credentials anchored and ready to hand out"
    elif failed:
        summary = f"stopped while {summary}" if summary else "stopped"
    return steps, summary


def progress_text(batch: Batch, confirmations: int) -> str:
    """One line for the dashboard: 'Credentials signed: in progress, 12 of 40 credentials', '40 delivered'."""
    steps, _ = ladder(batch, confirmations)
    if batch.state is BatchState.DELIVERED:
        return f"{batch.total} delivered"
    if batch.state is BatchState.OPEN:
        return f"{batch.total} collected"
    current = next((s for s in steps if s["status"] in ("current", "failed")), None)
    if current is None:
        return STATE_TEXT[batch.state.value]
    return f"{current['label']}: {STATUS_WORDS[current['status']]}" + (f", {current['detail']}"
                                                                        if current["detail"] else "")


def credential_status(credential: CredentialRecord) -> str:
    """pending (not signed) / signed / anchored (its merkle-proof-2019 proof added)."""
    if credential.document is None:
        return "pending: not signed yet"
    proof = credential.document.get("proof")
    return "anchored" if isinstance(proof, list) and len(proof) > 1 else "signed, not anchored yet"
