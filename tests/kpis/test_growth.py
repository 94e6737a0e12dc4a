"""Family A (revenue and growth), every number worked out by hand.

Fixture tests/fixtures/growth/deals.csv (see its README):
  revenue   Jan 4000 (d1 1000 + d2 3000), Feb 6000 (d4 2000 + d5 4000), Mar 0, Apr 6000 (d8)
  won deals Jan 2, Feb 2, Mar 0, Apr 1
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY
from kpitools.kpis.compute import compute
from kpitools.kpis.growth import (
    avg_profit_margin,
    avg_purchase_value,
    cmgr,
    cross_sell_rate,
    deal_type_rate,
    incremental_sales,
    product_performance,
    revenue,
    revenue_per_rep,
    sales_by_channel,
    sales_by_region,
    sales_growth,
    upsell_rate,
    won_deals,
)


@pytest.fixture(scope="module")
def ds(request) -> Dataset:
    path = request.config.rootpath / "tests" / "fixtures" / "growth" / "deals.csv"
    return Dataset(tables={"deals": to_canonical("deals", pd.read_csv(path))})


def deals(rows: list[dict]) -> Dataset:
    df = pd.DataFrame(rows)
    df["deal_id"] = [f"x{i}" for i in range(len(df))]
    if "created_at" not in df:
        df["created_at"] = df["closed_at"]
    if "status" not in df:
        df["status"] = "won"
    return Dataset(tables={"deals": to_canonical("deals", df)})


def at(frame: pd.DataFrame, period: str, **where) -> pd.Series:
    rows = frame[frame["period"].astype(str) == period]
    for c, v in where.items():
        rows = rows[rows[c].astype(object) == v]
    return rows


def val(frame: pd.DataFrame, period: str, **where) -> float:
    rows = at(frame, period, **where)
    assert len(rows) == 1, rows
    return float(rows["value"].iloc[0])


def note(frame: pd.DataFrame, period: str, **where) -> str:
    rows = at(frame, period, **where)
    assert len(rows) == 1
    return str(rows["note"].iloc[0])


def test_registered_in_growth_family():
    ids = {"revenue", "won_deals", "sales_growth", "cmgr", "avg_purchase_value", "avg_profit_margin",
           "revenue_per_rep", "product_performance", "sales_by_region", "sales_by_channel", "upsell_rate",
           "cross_sell_rate", "incremental_sales"}
    for i in ids:
        assert REGISTRY[i].family == "growth"
        assert REGISTRY[i].formula  # the docstring's first paragraph
    assert "arpu" not in {k for k, v in REGISTRY.items() if v.family == "growth"}  # the recurring family's


def test_revenue_and_won_deals(ds):
    r, w = revenue(ds), won_deals(ds)
    assert [val(r, p) for p in ("2024-01", "2024-02", "2024-03", "2024-04")] == [4000, 6000, 0, 6000]
    assert [val(w, p) for p in ("2024-01", "2024-02", "2024-03", "2024-04")] == [2, 2, 0, 1]
    assert r["note"].isna().all()  # sums of an empty period are 0, not NaN


def test_sales_growth_previous(ds):
    g = sales_growth(ds)
    assert math.isnan(val(g, "2024-01")) and "previous" in note(g, "2024-01")
    assert val(g, "2024-02") == pytest.approx(0.5)  # (6000 - 4000) / 4000
    assert val(g, "2024-03") == pytest.approx(-1.0)  # (0 - 6000) / 6000
    assert math.isnan(val(g, "2024-04"))  # base is 0: NaN, not inf
    assert note(g, "2024-04") == "revenue was 0 in the previous period"
    assert not np.isinf(g["value"]).any()


def test_sales_growth_yoy_and_quarterly():
    d = deals([{"closed_at": "2023-02-10", "amount": 5000.0}, {"closed_at": "2023-03-01", "amount": 1000.0},
               {"closed_at": "2024-02-11", "amount": 6000.0}, {"closed_at": "2024-03-15", "amount": 1500.0}])
    g = sales_growth(d, compare="yoy")
    assert val(g, "2024-02") == pytest.approx(0.2)  # (6000 - 5000) / 5000
    assert val(g, "2024-03") == pytest.approx(0.5)  # (1500 - 1000) / 1000
    assert math.isnan(val(g, "2024-01"))  # Jan 2023 revenue was 0
    assert math.isnan(val(g, "2023-02")) and "year earlier" in note(g, "2023-02")
    q = sales_growth(d, freq="Q", compare="yoy")
    assert val(q, "2024Q1") == pytest.approx((7500 - 6000) / 6000)
    qp = sales_growth(d, freq="Q")
    assert val(qp, "2023Q2") == pytest.approx(-1.0)  # 0 after 6000


def test_cmgr():
    # 1000 in Jan 2023, 2000 in Jan 2024: (2000 / 1000)^(1/12) - 1 = 0.05946
    d = deals([{"closed_at": "2023-01-15", "amount": 1000.0}, {"closed_at": "2024-01-20", "amount": 2000.0},
               {"closed_at": "2024-02-20", "amount": 10.0}])
    c = cmgr(d)
    assert val(c, "2024-01") == pytest.approx(2 ** (1 / 12) - 1)
    assert math.isnan(val(c, "2023-06")) and "12 months earlier" in note(c, "2023-06")
    assert math.isnan(val(c, "2024-02"))  # Feb 2023 revenue was 0
    # yearly frequency, 12-month window: 2010 in 2024 vs 1000 in 2023
    assert val(cmgr(d, freq="Y"), "2024") == pytest.approx((2010 / 1000) ** (1 / 12) - 1)
    # quarterly with months=3: Q1 2024 vs Q4 2023 (0) -> NaN
    assert math.isnan(val(cmgr(d, freq="Q", months=3), "2024Q1"))
    with pytest.raises(ValueError, match="quarters"):
        cmgr(d, freq="Q", months=4)


def test_avg_purchase_value(ds):
    a = avg_purchase_value(ds)
    assert val(a, "2024-01") == 2000  # 4000 / 2
    assert val(a, "2024-02") == 3000  # 6000 / 2
    assert math.isnan(val(a, "2024-03")) and note(a, "2024-03") == "no won deals in the period"
    assert val(a, "2024-04") == 6000


def test_avg_profit_margin_revenue_weighted(ds):
    m = avg_profit_margin(ds)
    # Jan: only d1 has a cost: (1000 - 600) / 1000; d2 (no cost) is left out and counted in the note
    assert val(m, "2024-01") == pytest.approx(0.4)
    assert note(m, "2024-01") == "1 won deal(s) without cost excluded"
    # Feb: (2000 + 4000 - 1500 - 1000) / 6000 = 3500 / 6000
    assert val(m, "2024-02") == pytest.approx(3500 / 6000)
    assert math.isnan(val(m, "2024-03"))
    assert val(m, "2024-04") == pytest.approx(0.5)  # (6000 - 3000) / 6000


def test_avg_profit_margin_mean_of_deals(ds):
    m = avg_profit_margin(ds, weighting="mean_of_deals")
    assert val(m, "2024-02") == pytest.approx(0.5)  # mean(500/2000, 3000/4000) = mean(0.25, 0.75)
    assert val(m, "2024-01") == pytest.approx(0.4)
    assert math.isnan(val(m, "2024-03")) and "no won deals with a cost" in note(m, "2024-03")


def test_avg_profit_margin_only_deals_without_cost():
    d = deals([{"closed_at": "2024-01-05", "amount": 100.0, "cost": np.nan},
               {"closed_at": "2024-02-05", "amount": 100.0, "cost": 40.0}])
    m = avg_profit_margin(d)
    assert math.isnan(val(m, "2024-01"))
    assert "1 won deal(s) without cost excluded" in note(m, "2024-01")
    assert val(m, "2024-02") == pytest.approx(0.6)


def test_revenue_per_rep(ds):
    r = revenue_per_rep(ds)
    assert val(r, "2024-01") == 2000  # 4000 / {ann, bob}
    assert val(r, "2024-02") == 3000  # 6000 / {bob, cy}
    # active reps: an activity, or a deal created or closed (won or lost), in the month
    assert val(r, "2024-03") == 0  # 0 revenue / {ann (d7 created), bob (d9 created)}
    assert val(r, "2024-04") == 3000  # 6000 / {ann (d8 won), bob (d9 lost): a lost deal counts}


def test_revenue_per_rep_counts_reps_with_activity(ds):
    acts = pd.DataFrame({"activity_id": ["a1", "a2", "a3"], "at": ["2024-01-15", "2024-03-02", "2024-03-09"],
                         "rep": ["cy", "ann", "ann"], "type": ["call", "call", "email"],
                         "region": ["AMER", "EMEA", "EMEA"]})
    d = Dataset(tables={"deals": ds.deals, "activities": to_canonical("activities", acts)})
    r = revenue_per_rep(d)
    assert val(r, "2024-01") == pytest.approx(4000 / 3)  # ann, bob won; cy only called
    assert val(r, "2024-03") == 0  # 0 revenue / ann (a rep with activity and no sale)
    by = revenue_per_rep(d, by=["region"])
    assert val(by, "2024-01", region="AMER") == pytest.approx(3000 / 2)  # bob won, cy called
    assert val(by, "2024-01", region="EMEA") == 1000  # ann
    assert val(by, "2024-03", region="AMER") == 0  # bob created d9: active, no revenue


def test_product_performance(ds):
    p = product_performance(ds)
    assert set(p["measure"]) == {"revenue", "won_deals", "quantity", "share", "rank"}
    jan = lambda m, prod: val(p, "2024-01", product=prod, measure=m)  # noqa: E731
    assert (jan("revenue", "A"), jan("revenue", "B")) == (1000, 3000)
    assert (jan("won_deals", "A"), jan("won_deals", "B")) == (1, 1)
    assert (jan("quantity", "A"), jan("quantity", "B")) == (2, 1)  # cheap A sold more units
    assert jan("share", "A") == pytest.approx(0.25) and jan("share", "B") == pytest.approx(0.75)
    assert (jan("rank", "A"), jan("rank", "B")) == (2, 1)
    # Feb: A 4000 (share 2/3, rank 1), B 2000
    assert val(p, "2024-02", product="A", measure="share") == pytest.approx(2 / 3)
    # March: no revenue: share NaN with a note, both products tie at rank 1
    assert math.isnan(val(p, "2024-03", product="A", measure="share"))
    assert note(p, "2024-03", product="A", measure="share") == "no revenue in the period"
    assert val(p, "2024-03", product="B", measure="rank") == 1
    # share within each region: Jan EMEA has only A
    pr = product_performance(ds, by=["region"])
    assert val(pr, "2024-01", region="EMEA", product="A", measure="share") == 1.0
    assert val(pr, "2024-01", region="AMER", product="B", measure="share") == 1.0


def test_sales_by_region(ds):
    s = sales_by_region(ds)
    assert val(s, "2024-01", region="EMEA", measure="revenue") == 1000
    assert val(s, "2024-01", region="AMER", measure="share") == pytest.approx(0.75)
    assert val(s, "2024-04", region="EMEA", measure="share") == 1.0
    shares = s[(s["measure"] == "share") & s["value"].notna()].groupby("period")["value"].sum()
    assert np.allclose(shares, 1.0)


def test_sales_by_channel(ds):
    s = sales_by_channel(ds)
    # Jan web: d1 won 1000, d3 lost -> win rate 1/2; call: d2 won 3000 -> 1/1
    assert val(s, "2024-01", channel="web", measure="revenue") == 1000
    assert val(s, "2024-01", channel="web", measure="win_rate") == 0.5
    assert val(s, "2024-01", channel="call", measure="win_rate") == 1.0
    assert val(s, "2024-01", channel="call", measure="avg_purchase_value") == 3000
    # Feb call: d4 won 2000, d6 lost
    assert val(s, "2024-02", channel="call", measure="win_rate") == 0.5
    assert val(s, "2024-02", channel="web", measure="won_deals") == 1
    # March: nothing closed: win rate NaN with a note, revenue 0
    assert math.isnan(val(s, "2024-03", channel="web", measure="win_rate"))
    assert note(s, "2024-03", channel="web", measure="win_rate") == "no deals closed in the period"
    assert val(s, "2024-03", channel="web", measure="revenue") == 0
    # April call: only d9 lost -> 0 / 1, no purchase value
    assert val(s, "2024-04", channel="call", measure="win_rate") == 0.0
    assert math.isnan(val(s, "2024-04", channel="call", measure="avg_purchase_value"))


def test_upsell_and_cross_sell(ds):
    u, c = upsell_rate(ds), cross_sell_rate(ds)
    # existing-customer wins: Jan d2 (upsell); Feb d4 (cross_sell), d5 (upsell); Apr d8 (renewal)
    assert (val(u, "2024-01"), val(c, "2024-01")) == (1.0, 0.0)
    assert (val(u, "2024-02"), val(c, "2024-02")) == (0.5, 0.5)
    assert (val(u, "2024-04"), val(c, "2024-04")) == (0.0, 0.0)
    assert math.isnan(val(u, "2024-03"))
    assert note(u, "2024-03") == "no won deals to existing customers in the period"
    ur, cr = upsell_rate(ds, basis="revenue"), cross_sell_rate(ds, basis="revenue")
    assert val(ur, "2024-02") == pytest.approx(4000 / 6000)
    assert val(cr, "2024-02") == pytest.approx(2000 / 6000)


def test_deal_type_rate_declares_the_share_of_a_deal_type(ds, declared):
    fn = deal_type_rate("t_renewal_rate", name="T", unit="ratio", direction="higher", deal_type="renewal",
                        doc="Won renewal deals / won deals to existing customers, closed in the period.")
    # existing-customer wins: Jan d2 (upsell); Feb d4 (cross_sell), d5 (upsell); Apr d8 (renewal)
    out = fn(ds)
    assert [val(out, m) for m in ("2024-01", "2024-02", "2024-04")] == [0.0, 0.0, 1.0]
    assert note(out, "2024-03") == "no won deals to existing customers in the period"
    rev = fn(ds, basis="revenue")
    assert val(rev, "2024-04") == 1.0  # 6000 / 6000
    assert note(rev, "2024-03") == "no revenue from won deals to existing customers in the period"
    by = fn(ds, by=["region"])
    assert val(by, "2024-04", region="EMEA") == 1.0  # d8
    assert math.isnan(val(by, "2024-04", region="AMER"))  # d9 lost
    k = REGISTRY["t_renewal_rate"]
    assert k.needs == ("deals", "deals.deal_type") and k.options["basis"].default == "count"
    assert fn.declared == "deal_type_rate"


def test_missing_deal_type_counts_as_new():
    d = deals([{"closed_at": "2024-01-05", "amount": 100.0, "deal_type": None},
               {"closed_at": "2024-01-06", "amount": 100.0, "deal_type": "upsell"}])
    assert val(upsell_rate(d), "2024-01") == 1.0  # 1 upsell / 1 existing-customer win


def test_incremental_sales_catalogue_example():
    # 004 #17: baseline = mean of the 3 months before = (70,000 + 75,000 + 80,000) / 3 = 75,000;
    # campaign month 95,000 -> 95,000 - 75,000 = 20,000
    d = deals([{"closed_at": "2024-01-10", "amount": 70_000.0}, {"closed_at": "2024-02-10", "amount": 75_000.0},
               {"closed_at": "2024-03-10", "amount": 80_000.0}, {"closed_at": "2024-04-10", "amount": 95_000.0}])
    inc = incremental_sales(d)
    assert val(inc, "2024-04") == pytest.approx(20_000)
    for p in ("2024-01", "2024-02", "2024-03"):
        assert math.isnan(val(inc, p)) and "fewer than 3 periods" in note(inc, p)
    assert val(incremental_sales(d, k=2), "2024-04") == pytest.approx(95_000 - 77_500)
    assert val(incremental_sales(d, k=1), "2024-02") == pytest.approx(5_000)


def test_incremental_sales_by_group_adds_up(ds):
    total = incremental_sales(ds, k=1)
    by = incremental_sales(ds, k=1, by=["region"])
    # Feb: 6000 - 4000 = 2000 = EMEA (2000 - 1000) + AMER (4000 - 3000)
    assert val(total, "2024-02") == 2000
    assert val(by, "2024-02", region="EMEA") == 1000 and val(by, "2024-02", region="AMER") == 1000
    sums = by.groupby("period")["value"].sum(min_count=1)
    assert np.allclose(sums.to_numpy(), total.set_index("period")["value"].to_numpy(), equal_nan=True)


def test_by_region_sums_to_total(ds):
    for fn in (revenue, won_deals):
        total = fn(ds).set_index("period")["value"]
        by = fn(ds, by=["region"]).groupby("period")["value"].sum()
        assert (by == total).all()


# ----------------------------------------------------------------------------- hypothesis

_deal = st.fixed_dictionaries({
    "day": st.integers(0, 400),
    "status": st.sampled_from(["won", "lost", "open"]),
    "amount": st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    "region": st.sampled_from(["EMEA", "AMER", "APAC", None]),
    "product": st.sampled_from(["A", "B", None]),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_deal, min_size=1, max_size=30), st.sampled_from(["M", "Q", "W"]))
def test_sum_over_regions_equals_total(rows, freq):
    df = pd.DataFrame(rows)
    start = pd.Timestamp("2023-01-01")
    df["created_at"] = start + pd.to_timedelta(df["day"], "D")
    df["closed_at"] = df["created_at"].where(df["status"] != "open")
    df["deal_id"] = [f"d{i}" for i in range(len(df))]
    ds = Dataset(tables={"deals": to_canonical("deals", df)})
    res = compute(ds, ["revenue", "won_deals", "incremental_sales"], freq=freq)
    for by in ("region", ["region", "product"]):
        grouped = compute(ds, ["revenue", "won_deals", "incremental_sales"], freq=freq, by=by)
        if grouped.attrs["skipped"]:  # no deal has a region (or product): that grouping is not available
            assert all(r.startswith("needs deals.") for r in grouped.attrs["skipped"].values())
            continue
        sums = grouped.groupby(["kpi", "period"], observed=True)["value"].sum(min_count=1)
        totals = res.set_index(["kpi", "period"])["value"]
        sums = sums.reindex(totals.index)
        assert np.allclose(sums.to_numpy(), totals.to_numpy(), rtol=1e-9, atol=1e-6, equal_nan=True)
