"""A. Revenue and growth."""
from __future__ import annotations

import pandas as pd

from ..data import Dataset
from ._common import flow
from .registry import kpi

FAMILY = "growth"


def _won(ds: Dataset) -> pd.Series:
    return ds.deals["status"].eq("won")


@kpi("revenue", name="Revenue", unit="money", direction="higher", needs=["deals"], family=FAMILY,
     additive=True, source="all seeds")
def revenue(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Σ amount of won deals with closed_at in the period."""
    return flow(ds, ds.deals, "closed_at", freq, list(by), "amount", where=_won(ds))


@kpi("won_deals", name="Won deals", unit="count", direction="higher", needs=["deals"], family=FAMILY,
     additive=True)
def won_deals(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Count of won deals with closed_at in the period."""
    return flow(ds, ds.deals, "closed_at", freq, list(by), agg="count", where=_won(ds))
