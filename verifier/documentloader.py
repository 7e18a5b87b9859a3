"""The only JSON-LD document loader the project uses: pinned contexts shipped in ``verifier/contexts/``, nothing else.

DESIGN.md "Canonical hashing": no context is ever fetched from the network, at issuance or verification. Each
context file is checked against the sha256 pinned in ``manifest.json`` (written by ``scripts/pin_contexts.py``)
the first time it is used, then parsed once per process.

``load_document(url, options=None)`` has pyld's loader signature and result format. ``DocumentLoader`` also keeps
its own resolved-context cache for pyld (``jsonld_options()``), so contexts are processed once per process and a
loader with extra (test-only) contexts never leaks them into the default loader through pyld's global cache.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyld.context_resolver import ContextResolver
from pyld.jsonld import LRUCache

from verifier.errors import ContextError

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
MANIFEST_PATH = CONTEXTS_DIR / "manifest.json"


def _read_manifest() -> dict[str, dict[str, str]]:
    try:
        return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContextError(f"cannot read the pinned context manifest {MANIFEST_PATH}: {exc}") from exc


MANIFEST: Mapping[str, Mapping[str, str]] = _read_manifest()
KNOWN_CONTEXTS: frozenset[str] = frozenset(MANIFEST)


class DocumentLoader:
    """Serves pinned contexts (and, for tests, explicitly given extra documents) and refuses every other URL."""

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None):
        self._extra = {url: copy.deepcopy(dict(doc)) for url, doc in (extra or {}).items()}
        self._parsed: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # pyld caches resolved contexts per URL; ours is per loader so extras stay with the loader that has them.
        self._resolved_cache = LRUCache(maxsize=100)

    @property
    def known(self) -> frozenset[str]:
        return KNOWN_CONTEXTS | frozenset(self._extra)

    def document(self, url: str) -> dict[str, Any]:
        """The parsed context document for ``url`` (shared: callers must not mutate it)."""
        parsed = self._parsed.get(url)
        if parsed is not None:
            return parsed
        with self._lock:
            if url in self._extra:
                parsed = self._extra[url]
            else:
                parsed = _load_pinned(url)
            self._parsed[url] = parsed
        return parsed

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": self.document(url), "tag": "static"}

    def jsonld_options(self, **more: Any) -> dict[str, Any]:
        """Options for pyld calls: this loader plus a context resolver bound to this loader's cache."""
        options = {"documentLoader": self, "contextResolver": ContextResolver(self._resolved_cache, self)}
        options.update(more)
        return options


def _load_pinned(url: str) -> dict[str, Any]:
    entry = MANIFEST.get(url)
    if entry is None:
        raise ContextError(
            f"unknown JSON-LD context {url}: only pinned contexts are served (expected one of "
            f"{', '.join(sorted(KNOWN_CONTEXTS))}); contexts are never fetched from the network"
        )
    path = CONTEXTS_DIR / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContextError(f"unknown JSON-LD context {url}: pinned file {path} cannot be read: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry["sha256"]:
        raise ContextError(
            f"JSON-LD context {url}: file {entry['file']} has sha256 {actual}, pinned {entry['sha256']}"
        )
    return json.loads(data)


DEFAULT_LOADER = DocumentLoader()


def load_document(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader over the pinned contexts; raises ``ContextError`` for any other URL."""
    return DEFAULT_LOADER(url, options)
