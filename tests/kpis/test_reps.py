"""Family G (Reps): the rep leaderboard against numbers worked out by hand.

Fixture tests/fixtures/reps/ (9 deals, 6 activities), January to March 2024; reps ann and bob
in EU, cy and dan in US:

    deal  rep  created     closed      status  amount
    r1    ann  2024-01-03  2024-01-20  won     1000   (17 days)
    r2    ann  2024-01-10  2024-02-05  won      500   (26 days)
    r3    bob  2024-01-04  2024-01-25  won     1000   (21 days)
    r4    bob  2024-01-15  2024-01-30  lost     300
    r5    cy   2024-01-08  2024-01-28  won      400   (20 days)
    r6    dan  2024-02-01  -           open     800
    r7    dan  2024-02-02  2024-03-10  lost     200
    r8    -    2024-01-05  2024-01-06  won     9999   (no rep: not on the leaderboard)
    r9    cy   2024-03-01  2024-03-15  won      600   (14 days)

    activities: ann Jan 2 (x1, x2), bob Jan 1 (x3), cy Feb 1 (x4), ann Mar 2 (x5, x6); dan none.

Active reps (an activity, or a deal created or closed, in the month):
    Jan ann, bob, cy (dan's first deal is in Feb) | Feb ann (r2 closed), cy (x4), dan | Mar ann, cy, dan.

Other families' KPIs are looked up in the registry when the leaderboard runs, so the
measures from them are checked only when they are registered.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY
from kpitools.kpis.reps import rep_leaderboard

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reps"
JAN, FEB, MAR = (pd.Period(m, "M") for m in ("2024-01", "2024-02", "2024-03"))
REPS = ["ann", "bob", "cy", "dan"]


def read(name: str) -> pd.DataFrame:
    df = pd.read_csv(FIXTURES / f"{name}.csv", dtype=str, keep_default_na=False).replace({"": None})
    if "amount" in df:
        df["amount"] = df["amount"].astype("float64")
    return to_canonical(name, df)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(tables={"deals": read("deals"), "activities": read("activities")})


@pytest.fixture(scope="module")
def board(ds) -> pd.DataFrame:
    return rep_leaderboard(ds)


def values(df: pd.DataFrame, measure: str, period: pd.Period, **by: str) -> dict[str, float]:
    """{rep: value} of one measure in one period (and group)."""
    mask = (df["measure"] == measure) & (df["period"] == period)
    for col, val in by.items():
        mask &= df[col].eq(val).fillna(False)
    rows = df[mask]
    assert rows["rep"].is_unique
    return {str(r): v for r, v in zip(rows["rep"], rows["value"])}


def same(got: dict[str, float], want: dict[str, float]) -> bool:
    return got.keys() == want.keys() and all(
        (math.isnan(got[k]) and math.isnan(want[k])) or got[k] == pytest.approx(want[k]) for k in want)


NAN = float("nan")


def test_metadata():
    k = REGISTRY["rep_leaderboard"]
    assert k.family == "reps" and k.kind == "table" and k.dimensions == ("rep",)
    assert k.needs[0] == "deals"


def test_shape(board):
    assert list(board.columns) == ["period", "rep", "measure", "value", "note"]
    assert not np.isinf(board["value"]).any()
    assert board.loc[board["value"].isna(), "note"].notna().all()
    # every period x every rep; the deal without a rep (r8) is left out
    assert set(board["rep"].astype(str)) == set(REPS)
    assert board["rep"].notna().all()
    per_measure = board.groupby("measure").size()
    assert (per_measure == 3 * 4).all()
    assert {"revenue", "revenue_team_median", "won_deals", "won_deals_team_median", "rank",
            "activities", "activities_team_median"} <= set(board["measure"])


def test_revenue_and_won_deals(board):
    # sums and counts are 0 (not missing) for a rep with nothing in the month
    assert same(values(board, "revenue", JAN), {"ann": 1000, "bob": 1000, "cy": 400, "dan": 0})
    assert same(values(board, "revenue", FEB), {"ann": 500, "bob": 0, "cy": 0, "dan": 0})
    assert same(values(board, "revenue", MAR), {"ann": 0, "bob": 0, "cy": 600, "dan": 0})
    assert same(values(board, "won_deals", JAN), {"ann": 1, "bob": 1, "cy": 1, "dan": 0})
    assert same(values(board, "won_deals", MAR), {"ann": 0, "bob": 0, "cy": 1, "dan": 0})


def test_rank_among_active_reps(board):
    # Jan, active ann 1000, bob 1000, cy 400: ann and bob tie for 1, cy 3; dan not active -> no rank
    assert same(values(board, "rank", JAN), {"ann": 1, "bob": 1, "cy": 3, "dan": NAN})
    # Feb, active ann 500, cy 0, dan 0 -> 1, 2, 2; bob has nothing in Feb
    assert same(values(board, "rank", FEB), {"ann": 1, "bob": NAN, "cy": 2, "dan": 2})
    # Mar, active ann 0, cy 600, dan 0 (r7 closed lost) -> 2, 1, 2
    assert same(values(board, "rank", MAR), {"ann": 2, "bob": NAN, "cy": 1, "dan": 2})
    inactive = board[(board["measure"] == "rank") & board["value"].isna()]
    assert (inactive["note"] == "rep not active in the period").all()


def test_team_medians(board):
    # revenue over active reps: Jan median(1000, 1000, 400) = 1000; Feb median(500, 0, 0) = 0;
    # Mar median(0, 600, 0) = 0; the same value on every rep's row
    assert set(values(board, "revenue_team_median", JAN).values()) == {1000}
    assert set(values(board, "revenue_team_median", FEB).values()) == {0}
    assert set(values(board, "revenue_team_median", MAR).values()) == {0}
    # activities over active reps: Jan median(2, 1, 0) = 1; Feb (0, 1, 0) = 0; Mar (2, 0, 0) = 0
    assert set(values(board, "activities_team_median", JAN).values()) == {1}
    assert set(values(board, "activities_team_median", FEB).values()) == {0}


def test_rep_without_activity_shows_zero(board):
    # dan never logs an activity: 0 in every month, not missing
    # Jan: ann x1, x2; bob x3; cy none in Jan. Feb: cy x4. Mar: ann x5, x6.
    assert same(values(board, "activities", JAN), {"ann": 2, "bob": 1, "cy": 0, "dan": 0})
    assert same(values(board, "activities", FEB), {"ann": 0, "bob": 0, "cy": 1, "dan": 0})
    assert same(values(board, "activities", MAR), {"ann": 2, "bob": 0, "cy": 0, "dan": 0})


def test_measures_from_other_families(board):
    """Checked only when the KPI is registered (its family may be written later)."""
    measures = set(board["measure"])
    if "win_rate" in REGISTRY:
        # Jan ann 1/1, bob 1/2 (r3 won, r4 lost), cy 1/1; dan closed nothing -> NaN with a reason
        assert same(values(board, "win_rate", JAN), {"ann": 1, "bob": 0.5, "cy": 1, "dan": NAN})
        # Mar cy 1/1, dan 0/1 (r7 lost): a real 0
        assert same(values(board, "win_rate", MAR), {"ann": NAN, "bob": NAN, "cy": 1, "dan": 0})
        # team median over the active reps with a value: Jan (1, 0.5, 1) = 1; Mar (1, 0) = 0.5
        assert set(values(board, "win_rate_team_median", JAN).values()) == {1}
        assert set(values(board, "win_rate_team_median", MAR).values()) == {0.5}
    else:
        assert "win_rate" not in measures
    if "opportunities_created" in REGISTRY:
        assert same(values(board, "opportunities_created", JAN), {"ann": 2, "bob": 2, "cy": 1, "dan": 0})
        assert same(values(board, "opportunities_created", FEB), {"ann": 0, "bob": 0, "cy": 0, "dan": 2})
        # Feb active ann 0, cy 0, dan 2 -> median 0
        assert set(values(board, "opportunities_created_team_median", FEB).values()) == {0}
    if "avg_sales_cycle_days" in REGISTRY:
        # won deals: r1 17 days, r3 21, r5 20 (Jan); r2 26 (Feb); r9 14 (Mar)
        assert same(values(board, "avg_sales_cycle_days", JAN), {"ann": 17, "bob": 21, "cy": 20, "dan": NAN})
        assert same(values(board, "avg_sales_cycle_days", FEB), {"ann": 26, "bob": NAN, "cy": NAN, "dan": NAN})
    # the fixture has no cost column and no targets: those measures are left out, not NaN rows
    assert "avg_profit_margin" not in measures
    assert "quota_attainment" not in measures


def test_unregistered_measure_is_skipped(ds, monkeypatch):
    monkeypatch.delitem(REGISTRY, "won_deals")
    out = rep_leaderboard(ds)
    assert "won_deals" not in set(out["measure"]) and "won_deals_team_median" not in set(out["measure"])
    assert "revenue" in set(out["measure"])


def test_by_region(ds):
    out = rep_leaderboard(ds, by=["region"])
    assert list(out.columns) == ["period", "region", "rep", "measure", "value", "note"]
    # ranks within each region: Jan EU ann 1000 / bob 1000 tie; US cy 1 (dan inactive)
    assert same(values(out, "rank", JAN, region="EU"), {"ann": 1, "bob": 1})
    assert same(values(out, "rank", JAN, region="US"), {"cy": 1, "dan": NAN})
    # Feb US: cy 0 and dan 0 are both active -> tie for 1
    assert same(values(out, "rank", FEB, region="US"), {"cy": 1, "dan": 1})
    assert same(values(out, "rank", MAR, region="US"), {"cy": 1, "dan": 2})
    # team medians per region: Jan EU median(1000, 1000) = 1000, US median(400) = 400
    assert set(values(out, "revenue_team_median", JAN, region="EU").values()) == {1000}
    assert set(values(out, "revenue_team_median", JAN, region="US").values()) == {400}
    assert same(values(out, "activities", JAN, region="US"), {"cy": 0, "dan": 0})
    # "rep" in `by` is ignored: the leaderboard adds the rep column itself
    assert list(rep_leaderboard(ds, by=["rep"]).columns) == ["period", "rep", "measure", "value", "note"]


def test_quarterly(ds):
    out = rep_leaderboard(ds, freq="Q")
    q1 = pd.Period("2024Q1", "Q")
    # Q1: ann 1000 + 500, bob 1000, cy 400 + 600, dan 0; all four active
    assert same(values(out, "revenue", q1), {"ann": 1500, "bob": 1000, "cy": 1000, "dan": 0})
    assert same(values(out, "rank", q1), {"ann": 1, "bob": 2, "cy": 2, "dan": 4})
    assert set(values(out, "revenue_team_median", q1).values()) == {1000}  # median(1500, 1000, 1000, 0)
    assert same(values(out, "activities", q1), {"ann": 4, "bob": 1, "cy": 1, "dan": 0})


def test_without_activities_table():
    ds = Dataset(tables={"deals": read("deals")})
    out = rep_leaderboard(ds)
    assert "activities" not in set(out["measure"])
    # active from deals alone: cy has no deal event in Feb -> no rank
    assert same(values(out, "rank", FEB), {"ann": 1, "bob": NAN, "cy": NAN, "dan": 2})


def test_quota_attainment_when_registered():
    if "quota_attainment" not in REGISTRY:
        pytest.skip("quota_attainment is not registered")
    targets = pd.DataFrame({"period": ["2024-01", "2024-01"], "metric": ["revenue", "revenue"],
                            "value": [2000.0, 1000.0], "rep": ["ann", "bob"]})
    ds = Dataset(tables={"deals": read("deals"), "targets": to_canonical("targets", targets)})
    out = rep_leaderboard(ds)
    # Jan: ann 1000 / 2000 = 0.5, bob 1000 / 1000 = 1; cy and dan have no target -> NaN
    jan = values(out, "quota_attainment", JAN)
    assert jan["ann"] == 0.5 and jan["bob"] == 1.0
    assert math.isnan(jan["cy"]) and math.isnan(jan["dan"])
    assert set(values(out, "quota_attainment_team_median", JAN).values()) == {0.75}  # median(0.5, 1)



def test_one_active_rep_rule(ds, board):
    """One rule for "active rep", wherever reps are counted: a rep is active in a month when they have an
    activity, or a deal created or closed (won or lost), in it. In March dan's only event is r7, closed
    lost on 10 Mar: the leaderboard ranks him, and revenue per rep counts him too."""
    from kpitools.kpis.activity import active_reps
    from kpitools.kpis.growth import revenue_per_rep

    reps = active_reps(ds, "M", [])
    assert sorted(reps.loc[reps["period"] == MAR, "rep"]) == ["ann", "cy", "dan"]
    ranks = values(board, "rank", MAR)
    assert math.isnan(ranks.pop("bob"))  # bob has nothing in March
    assert ranks == {"ann": 2, "cy": 1, "dan": 2}  # cy 600; ann and dan 0
    per_rep = revenue_per_rep(ds)
    # 600 (cy's r9) / 3 active reps (ann x5 x6, cy r9, dan r7 lost) = 200
    assert per_rep.loc[per_rep["period"] == MAR, "value"].item() == pytest.approx(200)
