"""C. Pipeline KPIs against numbers worked out by hand.

Fixture tests/fixtures/pipeline/deals.csv (data Jan 1 – Apr 20 2024; the first
date is D1's first contact on Jan 1, the last D10's close on Apr 20):

    deal  created  closed   status  amount  region  stage        prob  score  first contact
    D1    01-05    02-14    won     1000    EU      -            1.0   3      01-01
    D2    01-10    -        open    2000    US      Proposal     -     4
    D3    01-20    01-25    lost     500    EU      -            -     -      (joins and leaves in Jan)
    D4    02-01    03-02    won     3000    US      negotiation  -     5
    D5    02-10    02-20    won      400    (none)  -            -     -
    D6    02-15    -        open     800    EU      negotiation  0.9   2
    D7    03-05    -        open    1500    US      discovery    -     4
    D8    03-10    03-25    lost     700    EU      -            -     -
    D9    03-12    -        open     600    (none)  mystery      -     -
    D10   04-02    04-20    won     1200    EU      -            -     -      03-01

Open at month end: Jan D1 D2 · Feb D2 D4 D6 · Mar D2 D6 D7 D9 · Apr D2 D6 D7 D9.
stages.csv: proposal 0.4, negotiation 0.7 (no discovery); the config adds discovery 0.1.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY
from kpitools.kpis.pipeline import (
    avg_sales_cycle_days,
    open_deals,
    opportunities_created,
    opportunity_score,
    pipeline_coverage,
    pipeline_value,
    sales_velocity,
    weighted_pipeline,
    win_rate,
)

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline"
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]


def load(name: str) -> pd.DataFrame:
    return to_canonical(name, pd.read_csv(HERE / f"{name}.csv"))


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(tables={n: load(n) for n in ("deals", "stages", "targets")},
                   stage_probabilities={"discovery": 0.1, "proposal": 0.99})


def values(df: pd.DataFrame, **where) -> list[float]:
    for k, v in where.items():
        df = df[df[k].astype("string").fillna("<none>") == v]
    return df.sort_values("period")["value"].tolist()


def by_period(df: pd.DataFrame) -> dict[str, float]:
    return {str(p): v for p, v in zip(df["period"], df["value"])}


def notes(df: pd.DataFrame) -> dict[str, str]:
    return {str(p): n for p, n in zip(df["period"], df["note"]) if not pd.isna(n)}


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in zip(a, b))


def check_contract(df: pd.DataFrame, by: list[str], info_notes: bool = False) -> None:
    assert list(df.columns)[: 1 + len(by)] == ["period", *by]
    assert {"value", "note"} <= set(df.columns)
    assert not np.isinf(df["value"].to_numpy(dtype=float)).any()
    assert df.loc[df["value"].isna(), "note"].notna().all()  # every NaN says why
    if not info_notes:
        assert df.loc[df["value"].notna(), "note"].isna().all()


# ---------------------------------------------------------------- registry

def test_registered_metadata():
    ids = ["opportunities_created", "open_deals", "pipeline_value", "weighted_pipeline", "pipeline_coverage",
           "win_rate", "avg_sales_cycle_days", "sales_velocity", "opportunity_score"]
    for i in ids:
        k = REGISTRY[i]
        assert k.family == "pipeline" and k.formula and k.needs[0] == "deals"
    assert [REGISTRY[i].kind for i in ("open_deals", "pipeline_value", "weighted_pipeline", "pipeline_coverage")] \
        == ["snapshot"] * 4
    assert REGISTRY["opportunity_score"].kind == "table" and REGISTRY["opportunity_score"].dimensions == ("score",)
    assert REGISTRY["win_rate"].benchmark.low == 0.15 and REGISTRY["win_rate"].benchmark.contains(0.2)
    assert REGISTRY["win_rate"].options["basis"].default == "period"
    assert REGISTRY["win_rate"].options["cohort_days"].default == 90
    assert REGISTRY["avg_sales_cycle_days"].options["statistic"].choices == ("mean", "median")
    assert REGISTRY["sales_velocity"].unit == "money_per_day"
    assert all(REGISTRY[i].additive for i in ("opportunities_created", "open_deals", "pipeline_value"))
    assert not REGISTRY["win_rate"].additive
    assert "targets" in REGISTRY["pipeline_coverage"].needs and "deals.score" in REGISTRY["opportunity_score"].needs


# ---------------------------------------------------------------- counts and snapshots

def test_opportunities_created(ds):
    out = opportunities_created(ds)
    check_contract(out, [])
    assert by_period(out) == {"2024-01": 3, "2024-02": 3, "2024-03": 3, "2024-04": 1}  # D1-3 | D4-6 | D7-9 | D10


def test_open_deals_at_period_end(ds):
    out = open_deals(ds)
    check_contract(out, [])
    # D3 joins and leaves inside January: never open at a month end; D10 likewise in April
    assert by_period(out) == {"2024-01": 2, "2024-02": 3, "2024-03": 4, "2024-04": 4}


def test_open_deals_by_region_adds_up(ds):
    out = open_deals(ds, by=["region"])
    check_contract(out, ["region"])
    assert values(out, region="EU") == [1, 1, 1, 1]        # D1 | D6 | D6 | D6
    assert values(out, region="US") == [1, 2, 2, 2]        # D2 | D2 D4 | D2 D7 | D2 D7
    assert values(out, region="<none>") == [0, 0, 1, 1]    # D9 from March
    total = out.groupby("period")["value"].sum()
    assert total.tolist() == open_deals(ds)["value"].tolist()


def test_open_deals_by_stage(ds):
    out = open_deals(ds, by=["stage"])
    # end of March: D2 Proposal, D6 negotiation, D7 discovery, D9 mystery
    march = out[out["period"].astype(str) == "2024-03"]
    got = {str(s): v for s, v in zip(march["stage"], march["value"]) if v}
    assert got == {"Proposal": 1, "negotiation": 1, "discovery": 1, "mystery": 1}


def test_pipeline_value(ds):
    out = pipeline_value(ds)
    check_contract(out, [])
    # Jan 1000+2000; Feb 2000+3000+800; Mar and Apr 2000+800+1500+600
    assert by_period(out) == {"2024-01": 3000, "2024-02": 5800, "2024-03": 4900, "2024-04": 4900}
    by = pipeline_value(ds, by=["region"])
    assert by.groupby("period")["value"].sum().tolist() == out["value"].tolist()
    assert values(by, region="US") == [2000, 5000, 3500, 3500]


def test_weighted_pipeline(ds):
    out = weighted_pipeline(ds)
    check_contract(out, [], info_notes=True)
    # Jan: D1 1000×1.0 (own) + D2 2000×0.4 (stage "Proposal" from the stages table, matched ignoring case;
    #      the table beats the config's 0.99)                                   = 1800
    # Feb: D2 800 + D4 3000×0.7 (stage) + D6 800×0.9 (own beats stage's 0.7)    = 3620
    # Mar: D2 800 + D6 720 + D7 1500×0.1 (config) ; D9 "mystery" has none: left out = 1670
    assert by_period(out) == pytest.approx({"2024-01": 1800, "2024-02": 3620, "2024-03": 1670, "2024-04": 1670})
    assert notes(out) == {"2024-03": "excludes 1 open deal(s) with no probability",
                          "2024-04": "excludes 1 open deal(s) with no probability"}
    by = weighted_pipeline(ds, by=["region"])
    none = by[by["region"].isna()]
    # the only open deal without a region is D9, which has no probability: NaN with a reason, not 0
    assert values(none) == pytest.approx([0, 0, math.nan, math.nan], nan_ok=True)
    assert notes(none)["2024-03"].startswith("no probability for any open deal")


def test_weighted_pipeline_without_any_probability_source():
    deals = load("deals").drop(columns=["probability", "stage"])
    out = weighted_pipeline(Dataset(tables={"deals": deals}))
    assert out["value"].isna().all() and out["note"].str.startswith("no probability").all()


# ---------------------------------------------------------------- coverage

def test_pipeline_coverage_company(ds):
    out = pipeline_coverage(ds)
    check_contract(out, [])
    apr_target = 9000 * 30 / 91  # the 2024Q2 target pro-rated by days (Apr has 30 of Q2's 91)
    may_target = 9000 * 31 / 91
    assert by_period(out) == pytest.approx({
        "2024-01": 3000 / (5000 - 1400),         # Feb target 5000 − Feb revenue D1 1000 + D5 400
        "2024-02": 5800 / (4000 - 3000),         # Mar target − D4
        "2024-03": 4900 / (apr_target - 1200),   # Apr: D10
        "2024-04": 4900 / may_target,            # nothing booked in May yet
    })
    # the won_deals target of February is ignored (metric is not revenue)


def test_pipeline_coverage_denominator_target(ds):
    out = pipeline_coverage(ds, denominator="target")
    assert by_period(out)["2024-01"] == pytest.approx(3000 / 5000)


def test_pipeline_coverage_by_region(ds):
    out = pipeline_coverage(ds, by=["region"])
    check_contract(out, ["region"])
    eu = out[out["region"].astype("string") == "EU"]
    # Jan: EU Feb target 1000 − EU Feb revenue (D1) 1000 = 0 → target already met
    # Feb: 800 (D6) / (1000 − 0) = 0.8;  Mar, Apr: no EU target for Apr / May
    assert same(values(eu), [math.nan, 0.8, math.nan, math.nan])
    assert notes(eu) == {"2024-01": "revenue target for the next period already met",
                         "2024-03": "no revenue target for the next period",
                         "2024-04": "no revenue target for the next period"}
    us = out[out["region"].astype("string") == "US"]
    assert us["value"].isna().all()


def test_pipeline_coverage_quarterly_uses_one_granularity(ds):
    out = pipeline_coverage(ds, freq="Q")
    # Q1: pipeline 4900 / (Q2 target 9000 − Q2 revenue 1200); Q2: no Q3 target
    assert same(values(out), [4900 / 7800, math.nan])


def test_pipeline_coverage_fiscal_quarter():
    # fiscal year from April: Jan–Mar 2024 is FY2024 Q4, "2025Q1" is Apr–Jun 2024
    targets = to_canonical("targets", pd.DataFrame({"period": ["2025Q1"], "metric": ["revenue"], "value": [9000.0]}))
    ds = Dataset(tables={"deals": load("deals"), "targets": targets}, fiscal_year_start=4)
    out = pipeline_coverage(ds, freq="Q")
    assert [str(p) for p in out["period"]] == ["2024Q4", "2025Q1"]
    assert same(values(out), [4900 / (9000 - 1200), math.nan])


def test_pipeline_coverage_without_targets_table():
    out = pipeline_coverage(Dataset(tables={"deals": load("deals")}))
    assert out["value"].isna().all() and (out["note"] == "needs targets").all()


def test_pipeline_coverage_level_without_targets(ds):
    out = pipeline_coverage(ds, by=["rep"])
    assert out["value"].isna().all() and (out["note"] == "no revenue target at this level").all()


# ---------------------------------------------------------------- win rate, cycle, velocity

def test_win_rate_period_basis(ds):
    out = win_rate(ds)
    check_contract(out, [])
    # Jan: D3 lost 0/1; Feb: D1 D5 won 2/2; Mar: D4 won, D8 lost 1/2; Apr: D10 1/1
    assert by_period(out) == {"2024-01": 0.0, "2024-02": 1.0, "2024-03": 0.5, "2024-04": 1.0}


def test_win_rate_by_region_zero_denominator(ds):
    out = win_rate(ds, by=["region"])
    check_contract(out, ["region"])
    us = out[out["region"].astype("string") == "US"]
    assert same(values(us), [math.nan, math.nan, 1.0, math.nan])  # only D4 closes (Mar)
    assert set(notes(us).values()) == {"no deals closed in the period"}


def test_win_rate_cohort_basis(ds):
    out = win_rate(ds, basis="cohort", cohort_days=30)
    check_contract(out, [])
    # Jan cohort D1 D2 D3: D1 won after 40 days (> 30) → 0/3
    # Feb cohort D4 D5 D6: D4 won after 30 days, D5 after 10 → 2/3
    # Mar, Apr: the window (Apr 1 + 29 days = Apr 30) ends after the data (Apr 20)
    assert same(values(out), [0.0, 2 / 3, math.nan, math.nan])
    assert notes(out)["2024-03"] == "cohort still maturing: its 30-day window ends after the data"
    # with the default 90 days no cohort of this four-month sample is complete
    assert win_rate(ds, basis="cohort")["value"].isna().all()


def test_avg_sales_cycle_days(ds):
    out = avg_sales_cycle_days(ds)
    check_contract(out, [])
    # D1 Feb 14 − first contact Jan 1 = 44; D5 Feb 20 − created Feb 10 = 10 (no first contact);
    # D4 Mar 2 − Feb 1 = 30; D10 Apr 20 − first contact Mar 1 = 50
    assert same(values(out), [math.nan, 27.0, 30.0, 50.0])
    assert notes(out) == {"2024-01": "no won deals in the period"}
    q = avg_sales_cycle_days(ds, freq="Q", statistic="median")
    assert values(q) == [30.0, 50.0]                          # median(44, 10, 30) ; 50
    assert values(avg_sales_cycle_days(ds, freq="Q")) == [28.0, 50.0]  # (44+10+30)/3


def test_avg_sales_cycle_without_first_contact_column():
    deals = load("deals").drop(columns=["first_contact_at"])
    out = avg_sales_cycle_days(Dataset(tables={"deals": deals}))
    assert values(out)[1] == pytest.approx((40 + 10) / 2)  # D1 from created_at: Jan 5 → Feb 14


def test_sales_velocity(ds):
    out = sales_velocity(ds)
    check_contract(out, [])
    # open at end × win rate × avg won amount / cycle days
    # Feb: 3 × 1.0 × (1400/2) / 27 ; Mar: 4 × 0.5 × 3000 / 30 ; Apr: 4 × 1.0 × 1200 / 50
    assert same(values(out), [math.nan, 3 * 700 / 27, 200.0, 96.0])
    assert notes(out) == {"2024-01": "no won deals in the period"}


def test_bad_option_values(ds):
    with pytest.raises(ValueError):
        win_rate(ds, basis="rolling")
    with pytest.raises(ValueError):
        avg_sales_cycle_days(ds, statistic="mode")


# ---------------------------------------------------------------- opportunity score

def test_opportunity_score(ds):
    out = opportunity_score(ds)
    assert list(out.columns) == ["period", "score", "measure", "value", "note"]
    counts = out[out["measure"] == "count"]
    # one row per period × score 1..5 + unscored, zero where no open deal has it
    assert len(counts) == 4 * 6
    march = counts[counts["period"].astype(str) == "2024-03"]
    assert dict(zip(march["score"].astype(str), march["value"])) == \
        {"1": 0, "2": 1, "3": 0, "4": 2, "5": 0, "unscored": 1}  # D6 2, D2 D7 4, D9 unscored
    mean = out[out["measure"] == "mean"]
    assert (mean["score"] == "all").all()
    # Jan (3+4)/2; Feb (4+5+2)/3; Mar, Apr (4+2+4)/3 — D9 has no score
    assert values(mean) == pytest.approx([3.5, 11 / 3, 10 / 3, 10 / 3])


def test_opportunity_score_by_region(ds):
    out = opportunity_score(ds, by=["region"])
    assert list(out.columns) == ["period", "region", "score", "measure", "value", "note"]
    mean = out[(out["measure"] == "mean") & out["region"].isna()]
    assert same(values(mean), [math.nan, math.nan, math.nan, math.nan])  # D9 is unscored
    assert set(mean["note"]) == {"no scored open deals at the end of the period"}
    counts = out[out["measure"] == "count"].groupby("period")["value"].sum()
    assert counts.tolist() == open_deals(ds)["value"].tolist()  # every open deal counted once


# ---------------------------------------------------------------- empty period

def test_empty_period_gives_zero_counts_and_nan_ratios():
    deals = to_canonical("deals", pd.DataFrame({
        "deal_id": ["a", "b"], "created_at": ["2024-01-03", "2024-03-04"],
        "closed_at": ["2024-01-20", "2024-03-30"], "status": ["won", "lost"], "amount": [100.0, 50.0]}))
    ds = Dataset(tables={"deals": deals})
    assert values(opportunities_created(ds)) == [1, 0, 1]
    assert values(open_deals(ds)) == [0, 0, 0]
    assert values(pipeline_value(ds)) == [0, 0, 0]
    wr = win_rate(ds)
    assert same(values(wr), [1.0, math.nan, 0.0])
    assert notes(wr) == {"2024-02": "no deals closed in the period"}
    assert notes(avg_sales_cycle_days(ds)) == {"2024-02": "no won deals in the period",
                                                "2024-03": "no won deals in the period"}


# ---------------------------------------------------------------- invariants

REGIONS = ["EU", "US", None]
deal_rows = st.lists(st.tuples(
    st.integers(0, 120),                      # created: days after Jan 1 2024
    st.one_of(st.none(), st.integers(0, 90)),  # days to close; None = open
    st.booleans(),                            # won (when closed)
    st.floats(0, 10_000, allow_nan=False),
    st.sampled_from(REGIONS),
), min_size=1, max_size=30)


def make_deals(rows) -> Dataset:
    start = pd.Timestamp("2024-01-01")
    df = pd.DataFrame({
        "deal_id": [f"d{i}" for i in range(len(rows))],
        "created_at": [start + pd.Timedelta(days=c) for c, *_ in rows],
        "closed_at": [pd.NaT if d is None else start + pd.Timedelta(days=c + d) for c, d, *_ in rows],
        "status": ["open" if d is None else ("won" if w else "lost") for _, d, w, *_ in rows],
        "amount": [a for *_, a, _ in rows],
        "region": [r for *_, r in rows],
    })
    return Dataset(tables={"deals": to_canonical("deals", df)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deal_rows, st.sampled_from(["M", "Q", "W"]))
def test_invariants(rows, freq):
    ds = make_deals(rows)
    for basis in ("period", "cohort"):
        v = win_rate(ds, freq, basis=basis, cohort_days=30)["value"].dropna()
        assert ((v >= 0) & (v <= 1)).all()
        vr = win_rate(ds, freq, ["region"], basis=basis, cohort_days=30)["value"].dropna()
        assert ((vr >= 0) & (vr <= 1)).all()
    for fn in (open_deals, pipeline_value):
        total = fn(ds, freq)
        parts = fn(ds, freq, ["region"]).groupby("period")["value"].sum()
        assert np.allclose(parts.reindex(total["period"]).to_numpy(), total["value"].to_numpy())
    # open deals never exceed the deals created so far
    assert (open_deals(ds, freq)["value"].to_numpy()
            <= opportunities_created(ds, freq)["value"].cumsum().to_numpy()).all()
