"""The KPI engine's building blocks (`flow`, `snapshot`, `divide`) against numbers worked out by hand.

Three deals (growth fixture style): d1 won 1000 closed 2024-01-10 (EMEA); d2 won 3000 closed
2024-01-20 (AMER); d3 open, created 2024-02-03 (EMEA), amount 500. Grid: January to February 2024.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis.engine import as_by, divide, flow, snapshot, won


@pytest.fixture(scope="module")
def ds() -> Dataset:
    df = pd.DataFrame({"deal_id": ["d1", "d2", "d3"], "region": ["EMEA", "AMER", "EMEA"],
                       "created_at": ["2024-01-02", "2024-01-05", "2024-02-03"],
                       "closed_at": ["2024-01-10", "2024-01-20", None], "status": ["won", "won", "open"],
                       "amount": [1000.0, 3000.0, 500.0]})
    return Dataset(tables={"deals": to_canonical("deals", df)})


def values(frame: pd.DataFrame) -> list[float]:
    return frame["value"].tolist()


def test_as_by() -> None:
    assert as_by(None) == [] and as_by("region, product") == ["region", "product"] and as_by(("rep",)) == ["rep"]


def test_flow_sums_counts_and_means(ds) -> None:
    d = ds.deals
    assert values(flow(ds, d, "closed_at", "M", [], "amount", where=won(d))) == [4000, 0]
    assert values(flow(ds, d, "created_at", "M", [], agg="count")) == [2, 1]
    mean = flow(ds, d, "closed_at", "M", [], "amount", agg="mean", note="no deals closed")
    assert mean["value"].iloc[0] == 2000 and math.isnan(mean["value"].iloc[1])
    assert mean["note"].iloc[1] == "no deals closed"


def test_flow_by_group(ds) -> None:
    out = flow(ds, ds.deals, "closed_at", "M", ["region"], "amount")
    got = {(str(p), r): v for p, r, v in zip(out["period"], out["region"], out["value"])}
    assert got == {("2024-01", "EMEA"): 1000, ("2024-01", "AMER"): 3000, ("2024-02", "EMEA"): 0,
                   ("2024-02", "AMER"): 0}


def test_snapshot_counts_what_is_open_at_period_end(ds) -> None:
    d = ds.deals
    frame = pd.DataFrame({"_start": d["created_at"], "_end": d["closed_at"], "amount": d["amount"]})
    # end of January: d1 and d2 closed in January, d3 not created yet -> 0; end of February: d3
    assert values(snapshot(ds, frame, "_start", "_end", "M", [])) == [0, 1]
    assert values(snapshot(ds, frame, "_start", "_end", "M", [], "amount")) == [0, 500]


def test_divide_gives_nan_with_a_reason_never_inf(ds) -> None:
    d = ds.deals
    num = flow(ds, d, "closed_at", "M", [], "amount", where=won(d))
    den = flow(ds, d, "closed_at", "M", [], agg="count", where=won(d))
    out = divide(num, den, [], "no won deals")
    assert out["value"].iloc[0] == 2000
    assert math.isnan(out["value"].iloc[1]) and out["note"].iloc[1] == "no won deals"

