"""Fixtures shared by the KPI tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from kpitools.kpis import REGISTRY


@pytest.fixture
def declared() -> Iterator[None]:
    """KPIs declared in a test are taken out of the registry afterwards."""
    before = set(REGISTRY)
    yield
    for k in set(REGISTRY) - before:
        del REGISTRY[k]
