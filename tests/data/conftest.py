"""Fixtures shared by the data-source tests."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kpitools
from kpitools.data.sample import write_sample


@pytest.fixture(scope="session")
def csv_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, kpitools.Dataset, pd.DataFrame]:
    """The CSV sample (24 months), loaded, and its whole catalogue by month: what presets and
    event-shaped subscriptions must give. Tests add their own files to the folder, each under its own name."""
    folder = tmp_path_factory.mktemp("sample")
    config = write_sample(folder, months=24, end="2026-06")
    ds = kpitools.load(config)
    return folder, ds, kpitools.compute(ds)
