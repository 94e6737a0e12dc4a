"""compare(): the KPI-card numbers, worked out by hand.

Deals: tests/fixtures/growth/deals.csv (revenue Jan 4000, Feb 6000, Mar 0, Apr 6000 2024; last date
2024-04-15) plus two won deals a year earlier: Feb 2023 5000, Mar 2023 2000.
Targets: tests/fixtures/targets/targets.csv (company Jan 5000, Feb 5000, 2024Q2 20000, 2024 40000;
region Jan EMEA 1000 / AMER 4000; won_deals Jan 3).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY
from kpitools.kpis.compare import compare, last_complete_period


@pytest.fixture(scope="module")
def ds(request) -> Dataset:
    root = request.config.rootpath / "tests" / "fixtures"
    deals = pd.read_csv(root / "growth" / "deals.csv")
    earlier = pd.DataFrame({"deal_id": ["y1", "y2"], "created_at": ["2023-02-01", "2023-03-01"],
                            "closed_at": ["2023-02-10", "2023-03-10"], "status": ["won", "won"],
                            "amount": [5000.0, 2000.0], "region": ["EMEA", "AMER"], "rep": ["ann", "bob"]})
    deals = pd.concat([deals, earlier], ignore_index=True)
    targets = pd.read_csv(root / "targets" / "targets.csv", dtype={"period": str})
    return Dataset(tables={"deals": to_canonical("deals", deals), "targets": to_canonical("targets", targets)})


def row(frame: pd.DataFrame, kpi: str, **where) -> pd.Series:
    rows = frame[frame["kpi"] == kpi]
    for c, v in where.items():
        rows = rows[rows[c].astype(object) == v]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_month_against_target(ds):
    c = compare(ds, "revenue", period="2024-02")
    r = row(c, "revenue")
    assert str(r["period"]) == "2024-02"
    assert (r["value"], r["previous"], r["change"]) == (6000, 4000, 2000)
    assert r["change_pct"] == pytest.approx(0.5)  # 2000 / 4000
    assert (r["last_year"], r["yoy_change"]) == (5000, 1000)
    assert r["yoy_pct"] == pytest.approx(0.2)  # 1000 / 5000
    assert r["target"] == 5000
    assert r["status"] == "on track"  # 6000 / 5000 = 1.2 >= 1.0
    assert bool(r["good"]) is True
    assert (r["name"], r["unit"], r["direction"]) == ("Revenue", "money", "higher")
    assert list(c.columns) == ["period", "kpi", "name", "unit", "direction", "value", "previous", "change",
                               "change_pct", "good", "last_year", "yoy_change", "yoy_pct", "target", "benchmark",
                               "status"]


def test_thresholds(ds):
    r = row(compare(ds, "revenue", period="2024-01"), "revenue")
    assert r["target"] == 5000 and r["status"] == "off track"  # 4000 / 5000 = 0.8 < 0.9
    assert math.isnan(r["change_pct"])  # Dec 2023 revenue was 0: no percentage, no inf
    assert r["change"] == 4000 and bool(r["good"]) is True
    r = row(compare(ds, "revenue", period="2024-01", thresholds=(1.0, 0.8)), "revenue")
    assert r["status"] == "at risk"  # 0.8 >= 0.8
    with pytest.raises(ValueError, match="thresholds"):
        compare(ds, "revenue", thresholds=(0.8, 1.0))


def test_default_period_is_the_last_complete_one(ds):
    assert str(last_complete_period(ds, "M")) == "2024-03"  # data ends 2024-04-15
    assert str(last_complete_period(ds, "Q")) == "2024Q1"
    r = row(compare(ds, "revenue"), "revenue")
    assert str(r["period"]) == "2024-03"
    assert (r["value"], r["previous"], r["change"], r["change_pct"]) == (0, 6000, -6000, -1.0)
    assert bool(r["good"]) is False
    assert (r["last_year"], r["yoy_change"], r["yoy_pct"]) == (2000, -2000, -1.0)
    assert math.isnan(r["target"]) and pd.isna(r["status"])  # the yearly target cannot be split


def test_quarter_inferred_from_the_period(ds):
    r = row(compare(ds, "revenue", period="2024Q1"), "revenue")
    assert str(r["period"]) == "2024Q1"
    assert (r["value"], r["previous"], r["last_year"]) == (10000, 0, 7000)  # 2023Q1: 5000 + 2000
    assert r["target"] == 10000 and r["status"] == "on track"  # Jan + Feb monthly targets
    with pytest.raises(ValueError, match="not a M period"):
        compare(ds, "revenue", period="2024Q1", freq="M")
    with pytest.raises(ValueError, match="one period"):
        compare(ds, "revenue", period="2024-01:2024-03")


def test_by_region_targets(ds):
    c = compare(ds, ["revenue", "won_deals"], period="2024-01", by="region")
    emea, amer = row(c, "revenue", region="EMEA"), row(c, "revenue", region="AMER")
    assert (emea["value"], emea["target"], emea["status"]) == (1000, 1000, "on track")
    assert (amer["value"], amer["target"], amer["status"]) == (3000, 4000, "off track")  # 0.75
    # won_deals has only a company target: none at region level
    assert math.isnan(row(c, "won_deals", region="EMEA")["target"])
    total = row(compare(ds, "won_deals", period="2024-01"), "won_deals")
    assert total["target"] == 3 and total["status"] == "off track"  # 2 / 3


def test_lower_is_better_kpi(ds):
    r = row(compare(ds, "target_gap", period="2024-02"), "target_gap")
    assert (r["value"], r["previous"], r["change"]) == (-1000, 1000, -2000)
    assert bool(r["good"]) is True  # the gap shrank
    assert r["direction"] == "lower"


def test_table_kpi_rows(ds):
    c = compare(ds, "sales_by_channel", period="2024-02")
    assert list(c.columns[:3]) == ["period", "channel", "kpi"]
    r = row(c, "sales_by_channel.win_rate", channel="call")
    assert r["value"] == 0.5 and r["previous"] == 1.0 and r["unit"] == "ratio"  # Jan call 1/1, Feb 1/2
    if "win_rate" in REGISTRY and REGISTRY["win_rate"].benchmark is not None:
        assert r["benchmark"] == REGISTRY["win_rate"].benchmark.text
        assert r["status"] == "on track"  # 50% >= 15%
    share = row(compare(ds, "product_performance", period="2024-02"), "product_performance.rank", product="A")
    assert share["direction"] == "lower" and share["value"] == 1


def test_whole_catalogue_is_nan_safe(ds):
    c = compare(ds, period="2024-02")
    numeric = c.select_dtypes("number")
    assert not np.isinf(numeric.to_numpy(dtype=float)).any()
    assert set(c["status"].dropna()) <= {"on track", "at risk", "off track"}
    assert not any(r.startswith("failed") for r in c.attrs["skipped"].values())
