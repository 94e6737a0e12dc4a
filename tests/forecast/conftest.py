from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parents[1] / "fixtures" / "forecast"


def load(name: str) -> pd.Series:
    d = pd.read_csv(DATA / f"{name}.csv")
    return pd.Series(d["value"].to_numpy(float), index=pd.PeriodIndex(d["period"], freq="M"), name=name)


def seasonal_series(n: int = 48, seed: int = 0, start: str = "2020-01") -> pd.Series:
    """Positive monthly sales: level 100, +1 a month, ±20% season, 5% noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.05, n)
    return pd.Series(y, index=pd.period_range(start, periods=n, freq="M"))


@pytest.fixture
def sales() -> pd.Series:
    return seasonal_series()


@pytest.fixture
def airline() -> pd.Series:
    return load("airpassengers")
