from __future__ import annotations

import pytest

from tests.batchkit import embedded_batch


@pytest.fixture(scope="session")
def embedded(tmp_path_factory):
    """(chain, batch): the example batch issued once per test session on the embedded chain."""
    return embedded_batch(tmp_path_factory.mktemp("batch") / "out")
