"""D. Funnel and lead KPIs against numbers worked out by hand.

Fixture tests/fixtures/funnel/leads.csv (data Jan 3 – Mar 15 2024):

    lead  created  mql    sql    opp    converted  region
    L1    01-03    01-05  01-20  02-02  02-20      EU
    L2    01-10    01-15  -      -      -          EU
    L3    01-12    -      -      -      -          US
    L4    01-25    02-01  -      02-10  03-15      US      skips SQL
    L5    02-05    -      -      -      02-25      (none)  skips MQL, SQL and opportunity
    L6    02-10    02-12  03-01  -      -          EU
    L7    02-20    -      -      -      -          US
    L8    03-03    03-10  -      -      -          EU

Skipped stages are passed on the date of the next stage reached, so the
effective dates are: L4 SQL 02-10; L5 MQL = SQL = opportunity = 02-25.

Period basis, events per month (effective dates):
    leads  Jan 4  Feb 3  Mar 1
    MQL    Jan 2 (L1 L2)   Feb 3 (L4 L5 L6)   Mar 1 (L8)
    SQL    Jan 1 (L1)      Feb 2 (L4 L5)      Mar 1 (L6)
    opp    Jan 0           Feb 3 (L1 L4 L5)   Mar 0
    won    Jan 0           Feb 2 (L1 L5)      Mar 1 (L4)
Cohort basis, leads of the month that ever reached the stage:
    Jan (L1-L4): MQL 3, SQL 2, opp 2, won 2 · Feb (L5-L7): MQL 2, SQL 2, opp 1, won 1
    Mar (L8): MQL 1, SQL 0, opp 0, won 0
traffic.csv visitors: Jan EU 300 + US 100; Feb EU 150 + US 50; Mar 0.
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
from kpitools.kpis.funnel import (
    avg_time_to_convert_days,
    funnel,
    lead_conversion_rate,
    lead_to_mql_rate,
    lead_to_opportunity_rate,
    mql_to_sql_rate,
    stage_rate,
    visitor_to_lead_rate,
)

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "funnel"
NAN = float("nan")
RATES = (lead_to_mql_rate, mql_to_sql_rate, lead_to_opportunity_rate, lead_conversion_rate)


def load(name: str) -> pd.DataFrame:
    return to_canonical(name, pd.read_csv(HERE / f"{name}.csv"))


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(tables={"leads": load("leads"), "traffic": load("traffic")})


def values(df: pd.DataFrame) -> list[float]:
    return df.sort_values("period")["value"].tolist()


def notes(df: pd.DataFrame) -> dict[str, str]:
    return {str(p): n for p, n in zip(df["period"], df["note"]) if not pd.isna(n)}


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in zip(a, b))


def region(df: pd.DataFrame, name: str | None) -> pd.DataFrame:
    r = df["region"].astype("string")
    return df[r.isna()] if name is None else df[r == name]


def check_contract(df: pd.DataFrame, by: list[str]) -> None:
    assert list(df.columns) == ["period", *by, "value", "note"]
    assert not np.isinf(df["value"].to_numpy(dtype=float)).any()
    assert df.loc[df["value"].isna(), "note"].notna().all()
    assert df.loc[df["value"].notna(), "note"].isna().all()


def test_registered_metadata():
    ids = ["visitor_to_lead_rate", "lead_to_mql_rate", "mql_to_sql_rate", "lead_to_opportunity_rate",
           "lead_conversion_rate", "avg_time_to_convert_days", "funnel"]
    for i in ids:
        k = REGISTRY[i]
        assert k.family == "funnel" and k.needs[0] == "leads" and k.formula
    for f in RATES:
        assert REGISTRY[f.kpi_id].options["basis"].default == "period"
        assert REGISTRY[f.kpi_id].unit == "ratio"
    assert REGISTRY["lead_conversion_rate"].benchmark.low == 0.01
    assert REGISTRY["lead_conversion_rate"].benchmark.high == 0.10
    assert REGISTRY["funnel"].kind == "table" and REGISTRY["funnel"].dimensions == ("stage",)
    assert "traffic" in REGISTRY["visitor_to_lead_rate"].needs
    assert "leads.sql_at" in REGISTRY["mql_to_sql_rate"].needs


# ---------------------------------------------------------------- visitors

def test_visitor_to_lead_rate(ds):
    out = visitor_to_lead_rate(ds)
    check_contract(out, [])
    # Jan 4 / 400; Feb 3 / 200; Mar 1 / 0 → NaN
    assert same(values(out), [0.01, 0.015, math.nan])
    assert notes(out) == {"2024-03": "no visitors in the period"}


def test_visitor_to_lead_rate_by_region(ds):
    out = visitor_to_lead_rate(ds, by=["region"])
    check_contract(out, ["region"])
    assert same(values(region(out, "EU")), [2 / 300, 1 / 150, math.nan])   # L1 L2 | L6 | L8 / 0
    assert same(values(region(out, "US")), [2 / 100, 1 / 50, math.nan])    # L3 L4 | L7 | none / 0
    # leads without a region have no traffic row to compare with
    assert set(notes(region(out, None)).values()) == {"no visitors recorded in the period"}


def test_visitor_to_lead_rate_needs_monthly_periods(ds):
    out = visitor_to_lead_rate(ds, freq="W")
    assert out["value"].isna().all()
    assert (out["note"] == "traffic is monthly: use M, Q or Y periods").all()
    q = visitor_to_lead_rate(ds, freq="Q")
    assert values(q) == pytest.approx([8 / 600])


def test_visitor_to_lead_rate_by_column_traffic_lacks(ds):
    leads = load("leads").assign(source=lambda d: pd.Series(["web"] * len(d), index=d.index).astype("category"))
    out = visitor_to_lead_rate(Dataset(tables={"leads": leads, "traffic": load("traffic")}), by=["source"])
    assert (out["note"] == "traffic has no source column").all()


# ---------------------------------------------------------------- stage rates, period basis

def test_rates_period_basis(ds):
    for fn, expected in [
        (lead_to_mql_rate, [2 / 4, 3 / 3, 1 / 1]),
        (mql_to_sql_rate, [1 / 2, 2 / 3, 1 / 1]),
        (lead_to_opportunity_rate, [0 / 4, 3 / 3, 0 / 1]),
        (lead_conversion_rate, [0 / 4, 2 / 3, 1 / 1]),
    ]:
        out = fn(ds)
        check_contract(out, [])
        assert values(out) == pytest.approx(expected), fn.__name__


def test_period_basis_can_exceed_one():
    # Feb's opportunities come from January's leads: period-basis rates are flows, not shares
    leads = to_canonical("leads", pd.DataFrame({
        "lead_id": ["a", "b", "c"], "created_at": ["2024-01-02", "2024-01-03", "2024-02-01"],
        "opportunity_at": ["2024-02-05", "2024-02-06", None]}))
    out = lead_to_opportunity_rate(Dataset(tables={"leads": leads}))
    assert values(out) == [0.0, 2.0]
    cohort = lead_to_opportunity_rate(Dataset(tables={"leads": leads}), basis="cohort")
    assert values(cohort) == [1.0, 0.0]


def test_rates_by_region_zero_denominator(ds):
    out = mql_to_sql_rate(ds, by=["region"])
    check_contract(out, ["region"])
    # EU MQLs: Jan L1 L2, Feb L6, Mar L8; EU SQLs: Jan L1, Mar L6
    assert values(region(out, "EU")) == pytest.approx([1 / 2, 0 / 1, 1 / 1])
    # US MQLs: Feb L4 only (SQL by skipping, Feb 10)
    us = region(out, "US")
    assert same(values(us), [math.nan, 1.0, math.nan])
    assert notes(us) == {"2024-01": "no MQLs in the period", "2024-03": "no MQLs in the period"}
    conv = lead_conversion_rate(ds, by=["region"])
    assert notes(region(conv, None)) == {"2024-01": "no leads created in the period",
                                         "2024-03": "no leads created in the period"}


# ---------------------------------------------------------------- cohort basis and skipped stages

def test_rates_cohort_basis(ds):
    for fn, expected in [
        (lead_to_mql_rate, [3 / 4, 2 / 3, 1 / 1]),
        (mql_to_sql_rate, [2 / 3, 2 / 2, 0 / 1]),
        (lead_to_opportunity_rate, [2 / 4, 1 / 3, 0 / 1]),
        (lead_conversion_rate, [2 / 4, 1 / 3, 0 / 1]),
    ]:
        out = fn(ds, basis="cohort")
        check_contract(out, [])
        assert values(out) == pytest.approx(expected), fn.__name__


def test_skipped_stage_counts_as_passed(ds):
    # L4 (Jan) skips SQL: without the rule January's cohort MQL→SQL would be 1/3 (only L1)
    jan = mql_to_sql_rate(ds, basis="cohort")
    assert values(jan)[0] == pytest.approx(2 / 3)
    # L5 goes straight from lead to customer: it is an MQL of February on its conversion date
    feb = lead_to_mql_rate(ds)
    assert values(feb)[1] == pytest.approx(3 / 3)


def test_stage_dates_out_of_order_are_made_monotone():
    # SQL recorded before MQL: the lead is treated as an MQL from its SQL date (the earlier one)
    leads = to_canonical("leads", pd.DataFrame({
        "lead_id": ["a"], "created_at": ["2024-01-02"], "mql_at": ["2024-02-10"], "sql_at": ["2024-01-20"]}))
    ds = Dataset(tables={"leads": leads})
    assert same(values(lead_to_mql_rate(ds)), [1.0, math.nan])  # Jan: 1 MQL (Jan 20) / 1 lead; Feb: no leads
    assert same(values(mql_to_sql_rate(ds)), [1.0, math.nan])  # Jan 1 SQL / 1 MQL; Feb none
    assert notes(mql_to_sql_rate(ds)) == {"2024-02": "no MQLs in the period"}


def test_cohort_zero_denominator_note(ds):
    out = funnel(ds, basis="cohort")
    rate = out[(out["measure"] == "step_rate") & (out["stage"] == "opportunity")]
    # March's only lead (L8) never became an SQL
    assert notes(rate) == {"2024-03": "no lead created in the period reached the SQL stage"}


# ---------------------------------------------------------------- time to convert

def test_stage_rate_declares_a_stage_to_stage_rate(ds, declared):
    fn = stage_rate("t_sql_to_won", name="T", unit="ratio", direction="higher",
                    needs=["leads", "leads.sql_at", "leads.converted_at"], stage="won", previous="sql",
                    doc="leads converted in the period / leads becoming sales-qualified in it.")
    check_contract(fn(ds), [])
    # period basis: won Jan 0, Feb 2 (L1 L5), Mar 1 (L4) / SQL Jan 1 (L1), Feb 2 (L4 L5), Mar 1 (L6)
    assert values(fn(ds)) == [0 / 1, 2 / 2, 1 / 1]
    # cohort basis: Jan won 2 / SQL 2; Feb 1 / 2; Mar (L8) 0 / 0
    cohort = fn(ds, basis="cohort")
    assert same(values(cohort), [1.0, 0.5, NAN])
    assert notes(cohort) == {"2024-03": "no lead created in the period reached the SQL stage"}
    # EU: Jan L1 reaches SQL (0 / 1); Feb L1 is won but no EU lead reaches SQL (1 / 0); Mar L6 SQL (0 / 1)
    eu = region(fn(ds, by=["region"]), "EU")
    assert same(values(eu), [0.0, NAN, 0.0])
    assert notes(eu) == {"2024-02": "no SQLs in the period"}
    k = REGISTRY["t_sql_to_won"]
    assert k.options["basis"].choices == ("period", "cohort") and fn.declared == "stage_rate"
    assert k.needs == ("leads", "leads.sql_at", "leads.converted_at") and not k.additive
    with pytest.raises(ValueError, match="t_sql_to_won: option basis='weekly'"):
        fn(ds, basis="weekly")


def test_stage_rate_refuses_stages_out_of_order(declared):
    for previous, stage in (("sql", "mql"), ("mql", "mql"), ("visitor", "lead"), ("lead", "customer")):
        with pytest.raises(ValueError, match="stage must be a lead stage after previous"):
            stage_rate("t_bad", name="T", unit="ratio", direction="higher", needs=["leads"], stage=stage,
                       previous=previous, doc="T.")
    assert "t_bad" not in REGISTRY


def test_avg_time_to_convert_days(ds):
    out = avg_time_to_convert_days(ds)
    check_contract(out, [])
    # Feb: L1 Jan 3 → Feb 20 = 48, L5 Feb 5 → Feb 25 = 20 ; Mar: L4 Jan 25 → Mar 15 = 50
    assert same(values(out), [math.nan, 34.0, 50.0])
    assert notes(out) == {"2024-01": "no leads converted in the period"}
    q = avg_time_to_convert_days(ds, freq="Q", statistic="median")
    assert values(q) == [48.0]                                        # median(48, 20, 50)
    assert values(avg_time_to_convert_days(ds, freq="Q")) == pytest.approx([118 / 3])


# ---------------------------------------------------------------- the funnel table

def table(df: pd.DataFrame, period: str, measure: str) -> dict[str, float]:
    rows = df[(df["period"].astype(str) == period) & (df["measure"] == measure)]
    return dict(zip(rows["stage"].astype(str), rows["value"]))


def test_funnel_period_basis(ds):
    out = funnel(ds)
    assert list(out.columns) == ["period", "stage", "measure", "value", "note"]
    assert list(out["stage"].cat.categories) == ["visitor", "lead", "mql", "sql", "opportunity", "won"]
    assert table(out, "2024-01", "count") == {"visitor": 400, "lead": 4, "mql": 2, "sql": 1, "opportunity": 0,
                                              "won": 0}
    assert table(out, "2024-02", "count") == {"visitor": 200, "lead": 3, "mql": 3, "sql": 2, "opportunity": 3,
                                              "won": 2}
    feb = table(out, "2024-02", "step_rate")
    assert same(list(feb.values()), [math.nan, 3 / 200, 3 / 3, 2 / 3, 3 / 2, 2 / 3])
    jan = out[(out["period"].astype(str) == "2024-01") & (out["measure"] == "step_rate")]
    assert dict(zip(jan["stage"].astype(str), jan["note"].fillna(""))) == {
        "visitor": "first stage of the funnel", "lead": "", "mql": "", "sql": "", "opportunity": "",
        "won": "no opportunities in the period"}


def test_funnel_cohort_basis(ds):
    out = funnel(ds, basis="cohort")
    assert table(out, "2024-01", "count") == {"visitor": 400, "lead": 4, "mql": 3, "sql": 2, "opportunity": 2,
                                              "won": 2}
    assert same(list(table(out, "2024-01", "step_rate").values()), [math.nan, 0.01, 3 / 4, 2 / 3, 1.0, 1.0])
    assert table(out, "2024-03", "count") == {"visitor": 0, "lead": 1, "mql": 1, "sql": 0, "opportunity": 0,
                                              "won": 0}
    # the step rates agree with the rate KPIs on the same basis
    mql = out[(out["measure"] == "step_rate") & (out["stage"] == "mql")]
    assert values(mql) == pytest.approx(values(lead_to_mql_rate(ds, basis="cohort")))


def test_funnel_by_region_adds_up(ds):
    out = funnel(ds, by=["region"])
    assert list(out.columns) == ["period", "region", "stage", "measure", "value", "note"]
    counts = out[(out["measure"] == "count") & (out["stage"] != "visitor")]
    total = funnel(ds)
    total = total[(total["measure"] == "count") & (total["stage"] != "visitor")]
    summed = counts.groupby(["period", "stage"], observed=True)["value"].sum()
    assert summed.to_dict() == total.set_index(["period", "stage"])["value"].to_dict()


def test_funnel_without_traffic_or_a_stage_column():
    leads = load("leads").drop(columns=["sql_at"])
    out = funnel(Dataset(tables={"leads": leads}))
    jan = out[out["period"].astype(str) == "2024-01"]
    counts = jan[jan["measure"] == "count"].set_index(jan[jan["measure"] == "count"]["stage"].astype(str))
    assert math.isnan(counts.loc["visitor", "value"]) and counts.loc["visitor", "note"] == "needs traffic"
    assert math.isnan(counts.loc["sql", "value"]) and counts.loc["sql", "note"] == "needs leads.sql_at"
    # without sql_at, L4's opportunity still makes it an MQL; the opportunity step divides by a missing count
    assert counts.loc["mql", "value"] == 2
    rates = jan[jan["measure"] == "step_rate"].set_index(jan[jan["measure"] == "step_rate"]["stage"].astype(str))
    assert rates.loc["lead", "note"] == "needs traffic" and rates.loc["opportunity", "note"] == "needs leads.sql_at"


def test_funnel_weekly_has_no_visitors(ds):
    out = funnel(ds, freq="W")
    visitors = out[(out["stage"] == "visitor") & (out["measure"] == "count")]
    assert visitors["value"].isna().all()
    assert out.loc[out["stage"] == "lead", "value"].notna().any()


def test_bad_basis(ds):
    with pytest.raises(ValueError):
        lead_to_mql_rate(ds, basis="rolling")
    with pytest.raises(ValueError):
        funnel(ds, basis="x")


# ---------------------------------------------------------------- invariants

REGIONS = ["EU", "US", None]
lead_rows = st.lists(st.tuples(
    st.integers(0, 100),                                   # created: days after Jan 1 2024
    st.lists(st.one_of(st.none(), st.integers(0, 60)), min_size=4, max_size=4),  # delays to MQL, SQL, opp, won
    st.sampled_from(REGIONS),
), min_size=1, max_size=25)


def make_leads(rows) -> Dataset:
    start = pd.Timestamp("2024-01-01")
    data = {"lead_id": [f"l{i}" for i in range(len(rows))],
            "created_at": [start + pd.Timedelta(days=c) for c, _, _ in rows],
            "region": [r for _, _, r in rows]}
    # delays are independent, so stage dates may be out of order or skip stages
    for j, col in enumerate(["mql_at", "sql_at", "opportunity_at", "converted_at"]):
        data[col] = [pd.NaT if d[j] is None else start + pd.Timedelta(days=c + d[j]) for c, d, _ in rows]
    return Dataset(tables={"leads": to_canonical("leads", pd.DataFrame(data))})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lead_rows, st.sampled_from(["M", "Q", "W"]))
def test_cohort_rates_within_0_and_1(rows, freq):
    ds = make_leads(rows)
    for fn in RATES:
        for by in ([], ["region"]):
            v = fn(ds, freq, by, basis="cohort")["value"].dropna()
            assert ((v >= 0) & (v <= 1)).all(), fn.__name__
    f = funnel(ds, freq, basis="cohort")
    steps = f[(f["measure"] == "step_rate") & ~f["stage"].isin(["visitor", "lead"])]["value"].dropna()
    assert ((steps >= 0) & (steps <= 1)).all()
    # counts never rise along the funnel
    counts = f[(f["measure"] == "count") & (f["stage"] != "visitor")].pivot(
        index="period", columns="stage", values="value")
    # (a stage whose column is never filled is NaN "needs leads.<column>" and skipped)
    assert ((counts == counts.cummin(axis=1)) | counts.isna()).all().all()
