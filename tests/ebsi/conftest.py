from __future__ import annotations

import pytest

from tests.ebsi.kit import EbsiKit


@pytest.fixture
def kit() -> EbsiKit:
    """A fresh EBSI-like ledger (embedded chain, facade in process, open onboarding) per test."""
    return EbsiKit()
