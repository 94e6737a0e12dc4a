"""Reporting periods through compute(): D, W, M, Q, Y, fiscal years, and the period selection forms.

Deals: tests/fixtures/growth/deals.csv — won d1 1000 (2024-01-10, a Wednesday), d2 3000 (2024-01-20),
d4 2000 (2024-02-14), d5 4000 (2024-02-20), d8 6000 (2024-04-02); last date 2024-04-15.
"""
from __future__ import annotations

import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis.compute import compute, period_spans, select_periods


@pytest.fixture(scope="module")
def ds(request) -> Dataset:
    path = request.config.rootpath / "tests" / "fixtures" / "growth" / "deals.csv"
    return Dataset(tables={"deals": to_canonical("deals", pd.read_csv(path))})


def revenue(ds, **kw) -> dict[str, float]:
    res = compute(ds, "revenue", **kw)
    return dict(zip(res["period"].astype(str), res["value"]))


def test_daily(ds):
    r = revenue(ds, freq="D")
    assert len(r) == (pd.Timestamp("2024-04-15") - pd.Timestamp("2024-01-03")).days + 1
    assert r["2024-01-10"] == 1000 and r["2024-01-11"] == 0 and r["2024-04-02"] == 6000


def test_weekly_monday_to_sunday(ds):
    res = compute(ds, "revenue", freq="W")
    week = res[res["period"] == pd.Period("2024-01-10", "W-SUN")]
    assert week["period"].iloc[0].start_time == pd.Timestamp("2024-01-08")  # Monday
    assert week["value"].iloc[0] == 1000
    assert sum(res["value"]) == 16000


def test_monthly_quarterly_yearly(ds):
    assert revenue(ds, freq="M") == {"2024-01": 4000, "2024-02": 6000, "2024-03": 0, "2024-04": 6000}
    assert revenue(ds, freq="Q") == {"2024Q1": 10000, "2024Q2": 6000}
    assert revenue(ds, freq="Y") == {"2024": 16000}
    assert revenue(ds, freq="q") == {"2024Q1": 10000, "2024Q2": 6000}  # case-insensitive
    with pytest.raises(ValueError, match="unknown frequency"):
        compute(ds, "revenue", freq="H")


def test_fiscal_year_starting_in_april(ds):
    # fiscal 2025 runs April 2024 - March 2025: the deal closed 2024-04-02 is in 2025Q1 and fiscal 2025
    q = revenue(ds, freq="Q", fiscal_year_start=4)
    assert q == {"2024Q4": 10000, "2025Q1": 6000}
    assert revenue(ds, freq="Y", fiscal_year_start=4) == {"2024": 10000, "2025": 6000}
    fy = Dataset(tables=ds.tables, fiscal_year_start=4)
    assert revenue(fy, freq="Y") == {"2024": 10000, "2025": 6000}
    assert revenue(fy, freq="Y", fiscal_year_start=1) == {"2024": 16000}  # the keyword overrides
    # selection in fiscal terms: "2025Q1" is April-June 2024
    assert revenue(fy, freq="M", period="2025Q1") == {"2024-04": 6000}
    with pytest.raises(ValueError, match="fiscal_year_start"):
        compute(ds, "revenue", fiscal_year_start=13)


def test_period_selection_forms(ds):
    assert revenue(ds, period="2024-02") == {"2024-02": 6000}
    assert revenue(ds, period=["2024-01", "2024-04"]) == {"2024-01": 4000, "2024-04": 6000}
    assert revenue(ds, period="2024-01,2024-04") == {"2024-01": 4000, "2024-04": 6000}
    assert revenue(ds, period="2024-02:2024-03") == {"2024-02": 6000, "2024-03": 0}
    assert revenue(ds, period=pd.Period("2024-02", "M")) == {"2024-02": 6000}
    # a coarser period selects the periods inside it, a finer one the period holding it
    assert revenue(ds, period="2024Q1") == {"2024-01": 4000, "2024-02": 6000, "2024-03": 0}
    assert revenue(ds, period="2024") == {"2024-01": 4000, "2024-02": 6000, "2024-03": 0, "2024-04": 6000}
    assert revenue(ds, freq="Q", period="2024-05") == {"2024Q2": 6000}
    assert revenue(ds, freq="Q", period="2024-01:2024-04") == {"2024Q1": 10000, "2024Q2": 6000}
    assert revenue(ds, period="2023-12") == {}  # outside the data: nothing, no error


def test_bad_period_selection(ds):
    with pytest.raises(ValueError, match="cannot read period"):
        compute(ds, "revenue", period="March")
    with pytest.raises(ValueError, match="ends before it starts"):
        compute(ds, "revenue", period="2024-03:2024-01")


def test_select_periods_helper():
    months = pd.Series(pd.period_range("2024-01", "2024-06", freq="M"))
    mask = select_periods(months, period_spans("2024Q2"))
    assert list(months[mask].astype(str)) == ["2024-04", "2024-05", "2024-06"]
    assert select_periods(months, None).all()
