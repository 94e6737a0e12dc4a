"""F. Recurring revenue KPIs against numbers worked out by hand, plus hypothesis invariants.

Fixture tests/fixtures/recurring/subscriptions.csv (Jan–Jun 2024; "-" = no row):

    customer region  Jan      Feb      Mar           Apr   May      Jun
    A        EU      100 b    150 p    120 p passive  -     -        -
    B        EU      200 p    200 p    200 p         200 p 200 p    200 p
    C        US      -        50 b vol -             60 b  60 b     60 b
    D        US      0 b      0 b      80 b          80 b  100 p    0 p
    E        US      -        -        -             40 b  40 b     -
    (b = plan basic, p = plan pro; vol = churn_reason voluntary)

Movements (ChartMogul):
    Jan  A new 100, B new 200 (D has mrr 0 rows: not paying, movement none)
    Feb  A expansion +50, C new 50
    Mar  A contraction −30, C churn −50, D new 80
    Apr  A churn −120 (passive, read on its last paying month Mar), C reactivation +60, E new 40
    May  D expansion +20
    Jun  D churn −100 (a row with mrr 0), E churn −40 (no row)
MRR total   Jan 300, Feb 400, Mar 400, Apr 380, May 400, Jun 260
MRR EU      Jan 300, Feb 350, Mar 320, Apr 200, May 200, Jun 200
MRR US      Jan   0, Feb  50, Mar  80, Apr 180, May 200, Jun  60
Paying      Jan {A,B}  Feb {A,B,C}  Mar {A,B,D}  Apr {B,C,D,E}  May {B,C,D,E}  Jun {B,C}
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
from kpitools.kpis import REGISTRY, recurring
from kpitools.kpis.recurring import (
    arpu,
    arr,
    churned_mrr,
    cohort_retention,
    contraction_mrr,
    customer_churn_rate,
    customer_retention_rate,
    expansion_mrr,
    expansion_mrr_growth,
    gross_mrr_churn_rate,
    grr,
    lost_customers,
    mrr,
    mrr_at_end,
    mrr_movement,
    mrr_movements,
    net_mrr_churn_rate,
    net_new_mrr,
    new_customers,
    new_mrr,
    nrr,
    passive_churn_rate,
    reactivation_mrr,
)

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "recurring"
NAN = float("nan")
MOVEMENT_KPIS = {"new": new_mrr, "expansion": expansion_mrr, "contraction": contraction_mrr,
                 "churn": churned_mrr, "reactivation": reactivation_mrr}


def subs_frame() -> pd.DataFrame:
    return to_canonical("subscriptions", pd.read_csv(HERE / "subscriptions.csv"))


@pytest.fixture
def ds() -> Dataset:
    return Dataset(tables={"subscriptions": subs_frame()})


def values(out: pd.DataFrame, **where) -> list[float]:
    for col, v in where.items():
        out = out[out[col].astype(str) == v]
    return out["value"].tolist()


def by_group(out: pd.DataFrame, col: str) -> dict[str, list[float]]:
    return {str(g): part["value"].tolist() for g, part in out.groupby(col, observed=True)}


def same(a, b) -> bool:
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- movements


def test_mrr_movements_by_hand():
    mv = mrr_movements(subs_frame())
    got = [(r.customer_id, r.month.strftime("%m"), r.movement, r.amount) for r in mv.itertuples()]
    assert got == [
        ("A", "01", "new", 100), ("A", "02", "expansion", 50), ("A", "03", "contraction", -30),
        ("A", "04", "churn", -120),
        ("B", "01", "new", 200), *[("B", m, "none", 0) for m in ("02", "03", "04", "05", "06")],
        ("C", "02", "new", 50), ("C", "03", "churn", -50), ("C", "04", "reactivation", 60),
        ("C", "05", "none", 0), ("C", "06", "none", 0),
        ("D", "01", "none", 0), ("D", "02", "none", 0), ("D", "03", "new", 80), ("D", "04", "none", 0),
        ("D", "05", "expansion", 20), ("D", "06", "churn", -100),
        ("E", "04", "new", 40), ("E", "05", "none", 0), ("E", "06", "churn", -40),
    ]
    a_churn = mv[(mv.customer_id == "A") & (mv.movement == "churn")].iloc[0]
    assert a_churn.previous_mrr == 120 and a_churn.mrr == 0 and a_churn.churn_reason == "passive"
    assert mv[(mv.customer_id == "C") & (mv.movement == "churn")].churn_reason.iloc[0] == "voluntary"
    assert mv.loc[mv.movement != "churn", "churn_reason"].isna().all()
    # B is still paying in June, the table's last month: no churn is invented for July
    assert mv.month.max() == pd.Timestamp("2024-06-01")


def test_mrr_movements_sum_to_the_change_in_mrr():
    mv = mrr_movements(subs_frame())
    per_month = mv.groupby("month")["amount"].sum().tolist()
    assert per_month == [300, 100, 0, -20, 20, -140]  # Jan 300 − 0, Feb 400 − 300, ..., Jun 260 − 400


def test_mrr_and_arr(ds):
    assert values(mrr(ds)) == [300, 400, 400, 380, 400, 260]
    assert values(arr(ds)) == [3600, 4800, 4800, 4560, 4800, 3120]
    m = mrr(ds, by=["region"])
    assert by_group(m, "region") == {"EU": [300, 350, 320, 200, 200, 200], "US": [0, 50, 80, 180, 200, 60]}
    # quarter snapshot = the quarter's last month
    assert values(mrr(ds, "Q")) == [400, 260]
    assert REGISTRY["mrr"].kind == "snapshot" and REGISTRY["mrr"].additive


def test_movement_kpis_by_month(ds):
    assert values(new_mrr(ds)) == [300, 50, 80, 40, 0, 0]
    assert values(expansion_mrr(ds)) == [0, 50, 0, 0, 20, 0]
    assert values(contraction_mrr(ds)) == [0, 0, 30, 0, 0, 0]  # A 150 → 120 (positive size)
    assert values(churned_mrr(ds)) == [0, 0, 50, 120, 0, 140]  # C; A (after contraction); D 100 + E 40
    assert values(reactivation_mrr(ds)) == [0, 0, 0, 60, 0, 0]  # C back after one month at zero
    assert values(net_new_mrr(ds)) == [300, 100, 0, -20, 20, -140]


def test_movement_kpis_by_quarter(ds):
    # Q1 = Jan..Mar, Q2 = Apr..Jun: flows add the quarter's months
    assert values(new_mrr(ds, "Q")) == [430, 40]  # 300 + 50 + 80; E
    assert values(expansion_mrr(ds, "Q")) == [50, 20]
    assert values(contraction_mrr(ds, "Q")) == [30, 0]
    assert values(churned_mrr(ds, "Q")) == [50, 260]  # 120 + 100 + 40
    assert values(reactivation_mrr(ds, "Q")) == [0, 60]
    assert values(net_new_mrr(ds, "Q")) == [400, -140]  # = 400 − 0 and 260 − 400


def test_mrr_identity_on_the_fixture(ds):
    for freq in ("M", "Q", "Y"):
        for by in ([], ["region"], ["plan"]):
            _check_identity(ds, freq, by)


def test_plan_switch_is_churn_from_one_plan_and_new_in_the_other(ds):
    # A moves basic → pro in Feb (100 → 150); D basic → pro in May (80 → 100)
    mv = mrr_movements(subs_frame(), by=["plan"])
    a = mv[mv.customer_id == "A"]
    assert [(p, m.strftime("%m"), mo) for p, m, mo in zip(a.plan, a.month, a.movement)] == [
        ("basic", "01", "new"), ("basic", "02", "churn"), ("pro", "02", "new"), ("pro", "03", "contraction"),
        ("pro", "04", "churn")]
    assert by_group(churned_mrr(ds, by=["plan"]), "plan") == {
        "basic": [0, 100, 50, 0, 80, 40], "pro": [0, 0, 0, 120, 0, 100]}


def test_additive_kpis_sum_over_regions(ds):
    for kpi_id in ("mrr", "arr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
                   "reactivation_mrr", "net_new_mrr", "new_customers", "lost_customers"):
        fn = REGISTRY[kpi_id].function
        assert REGISTRY[kpi_id].additive
        for freq in ("M", "Q"):
            total = fn(ds, freq)
            parts = fn(ds, freq, ["region"]).groupby("period")["value"].sum()
            assert parts.tolist() == pytest.approx(total["value"].tolist()), kpi_id


def test_by_a_customers_column(ds):
    customers = to_canonical("customers", pd.DataFrame({
        "customer_id": list("ABCDE"), "channel": ["inbound", "outbound", "inbound", "outbound", "inbound"]}))
    ds2 = Dataset(tables={**ds.tables, "customers": customers})
    out = new_customers(ds2, "Q", ["channel"])
    # Q1: A, C inbound; B, D outbound. Q2: E inbound
    assert by_group(out, "channel") == {"inbound": [2, 1], "outbound": [2, 0]}
    # a subscriptions column that changes per customer (plan) with a customers column
    _check_identity(ds2, "M", ["plan", "channel"])
    assert values(mrr(ds2, by=["plan", "channel"]), plan="pro", channel="outbound") == [200, 200, 200, 200, 300, 200]


# --------------------------------------------------------------------------- churn and retention


def test_customer_churn_rate_monthly(ds):
    out = customer_churn_rate(ds)
    # Jan: nobody paying in Dec → NaN with a note; Feb 0/2; Mar C lost of {A,B,C} = 1/3;
    # Apr A lost of {A,B,D} = 1/3; May 0/4; Jun D, E lost of {B,C,D,E} = 2/4
    assert same(values(out), [NAN, 0, 1 / 3, 1 / 3, 0, 0.5])
    assert out["note"].iloc[0] == "no paying customers at the start of the period"
    assert out["note"].iloc[1:].isna().all()


def test_customer_churn_rate_quarter_excludes_join_and_leave(ds):
    out = customer_churn_rate(ds, "Q")
    # Q1: nobody paying at the start (Dec) → NaN.
    # Q2: start = paying in Mar {A, B, D}; end = paying in Jun {B, C}; lost A, D → 2/3.
    # E joins in Apr and leaves in Jun: in neither numerator nor denominator (else 3/4).
    assert same(values(out), [NAN, 2 / 3])
    assert values(customer_retention_rate(ds, "Q"))[1] == pytest.approx(1 / 3)
    # lost_customers counts churn movements: A (Apr), D and E (Jun)
    assert values(lost_customers(ds, "Q")) == [1, 3]
    # basis="monthly": Σ churned / Σ customers at each month's start = (1 + 0 + 2) / (3 + 4 + 4)
    assert values(customer_churn_rate(ds, "Q", basis="monthly"))[1] == pytest.approx(3 / 11)
    assert same(values(customer_churn_rate(ds, "M", basis="monthly")), values(customer_churn_rate(ds)))


def test_customer_churn_rate_by_region(ds):
    out = customer_churn_rate(ds, by=["region"])
    # EU: Feb 0/2, Mar 0/2, Apr A of {A,B} 1/2, May 0/1, Jun 0/1
    # US: Feb nobody paying in Jan (D at 0) → NaN; Mar C of {C} 1/1; Apr D paying, C not: 0/1;
    #     May 0/3; Jun D, E of {C,D,E} 2/3
    assert same(values(out, region="EU"), [NAN, 0, 0, 0.5, 0, 0])
    assert same(values(out, region="US"), [NAN, NAN, 1, 0, 0, 2 / 3])
    us = out[out.region == "US"]
    assert us["note"].iloc[1] == "no paying customers at the start of the period"


def test_zero_customers_at_start_after_a_gap():
    # X pays in Jan, nothing at all in Feb (no row for anybody), pays again in Mar
    df = pd.DataFrame({"customer_id": ["X", "X"], "month": ["2024-01-01", "2024-03-01"], "mrr": [100.0, 100.0]})
    ds = Dataset(tables={"subscriptions": to_canonical("subscriptions", df)})
    assert values(mrr(ds)) == [100, 0, 100]
    assert values(churned_mrr(ds)) == [0, 100, 0]  # the churn is in the first month without a row
    assert values(reactivation_mrr(ds)) == [0, 0, 100]
    assert values(new_mrr(ds)) == [100, 0, 0]  # a reactivation is not new business
    churn = customer_churn_rate(ds)
    assert same(values(churn), [NAN, 1, NAN])  # Mar: nobody paying in Feb
    assert churn["note"].tolist()[2] == "no paying customers at the start of the period"
    assert not np.isinf(gross_mrr_churn_rate(ds)["value"]).any()
    assert same(values(gross_mrr_churn_rate(ds)), [NAN, 1, NAN])


def test_passive_churn_rate(ds):
    # A leaves in Apr with churn_reason passive on its last paying month (Mar): 1 of {A,B,D}
    assert same(values(passive_churn_rate(ds)), [NAN, 0, 0, 1 / 3, 0, 0])
    # Q2: lost A (passive) and D (no reason) of {A,B,D}
    assert same(values(passive_churn_rate(ds, "Q")), [NAN, 1 / 3])
    assert REGISTRY["passive_churn_rate"].needs == ("subscriptions", "subscriptions.churn_reason")


def test_customer_retention_rate(ds):
    # (E − N) / S with N = paying at the end but not at the start
    # Feb: E {A,B,C} 3, N {C} 1, S 2 → 1;  Mar: E {A,B,D}, N {D}, S {A,B,C} → 2/3
    # Apr: E {B,C,D,E} 4, N {C,E} 2, S 3 → 2/3;  May: 4 − 0 / 4 → 1;  Jun: E {B,C} 2, N 0, S 4 → 1/2
    assert same(values(customer_retention_rate(ds)), [NAN, 1, 2 / 3, 2 / 3, 1, 0.5])


def test_mrr_churn_rates(ds):
    # gross = (churned + contraction) / MRR at start: Mar (50 + 30) / 400; Apr 120 / 400; Jun 140 / 400
    assert same(values(gross_mrr_churn_rate(ds)), [NAN, 0, 0.2, 0.3, 0, 0.35])
    # net = (churned + contraction − expansion − reactivation) / start:
    # Feb −50/300; Mar 80/400; Apr (120 − 60)/400; May −20/380; Jun 140/400
    assert same(values(net_mrr_churn_rate(ds)), [NAN, -50 / 300, 0.2, 0.15, -20 / 380, 0.35])
    assert gross_mrr_churn_rate(ds)["note"].iloc[0] == "no MRR at the start of the period"
    # Q2: (260 + 0) / 400 and (260 − 20 − 60) / 400
    assert values(gross_mrr_churn_rate(ds, "Q"))[1] == pytest.approx(0.65)
    assert values(net_mrr_churn_rate(ds, "Q"))[1] == pytest.approx(0.45)


def test_nrr_and_grr(ds):
    # month window: customers paying the month before, their MRR now / then
    # Feb: {A 100, B 200} → 150 + 200 = 350 / 300;  Mar: {A 150, B 200, C 50} → 120 + 200 + 0 / 400
    # Apr: {A 120, B 200, D 80} → 0 + 200 + 80 / 400;  May: {B 200, C 60, D 80, E 40} → 400 / 380
    # Jun: {B, C, D 100, E} 400 → 200 + 60 / 400
    assert same(values(nrr(ds)), [NAN, 350 / 300, 320 / 400, 280 / 400, 400 / 380, 260 / 400])
    # grr caps each customer at its starting MRR: Feb 300/300; Mar (120+200+0)/400; May 380/380
    assert same(values(grr(ds)), [NAN, 1, 320 / 400, 280 / 400, 1, 260 / 400])
    assert nrr(ds)["note"].iloc[0] == "no MRR at the start of the window"
    # quarter, window "month": the quarter's last month vs the month before
    assert same(values(nrr(ds, "Q")), [320 / 400, 260 / 400])
    # window "period": Q2 from Mar {A 120, B 200, D 80} to Jun {B 200} = 200 / 400
    assert same(values(nrr(ds, "Q", window="period")), [NAN, 0.5])
    # trailing 12 months: no data a year back
    t12 = grr(ds, window="trailing_12m")
    assert t12["value"].isna().all() and (t12["note"] == "no MRR at the start of the window").all()


def test_new_and_lost_customers(ds):
    assert values(new_customers(ds)) == [2, 1, 1, 1, 0, 0]  # A B; C; D; E (C's return is not new)
    assert values(lost_customers(ds)) == [0, 0, 1, 1, 0, 2]
    assert by_group(new_customers(ds, by=["region"]), "region") == {"EU": [2, 0, 0, 0, 0, 0],
                                                                    "US": [0, 1, 1, 1, 0, 0]}


def test_mrr_movement_declares_a_sum_of_movements(ds, declared):
    lost = mrr_movement("t_lost_mrr", name="T", unit="money", direction="lower", kind={"contraction": 1, "churn": 1},
                        doc="contraction + churned MRR in the period.")
    # Mar A −30 + C −50; Apr A −120; Jun D −100 + E −40
    assert values(lost(ds)) == [0, 0, 80, 120, 0, 140]
    assert by_group(lost(ds, by=["region"]), "region") == {"EU": [0, 0, 30, 120, 0, 0], "US": [0, 0, 50, 0, 0, 140]}
    assert values(lost(ds, "Q")) == [80, 260]
    net = mrr_movement("t_net_expansion", name="T", unit="money", direction="higher",
                       kind={"expansion": 1, "contraction": -1}, doc="expansion − contraction MRR in the period.")
    assert values(net(ds)) == [0, 50, -30, 0, 20, 0]  # Feb A +50; Mar A −30; May D +20
    back = mrr_movement("t_reactivations", name="T", unit="count", direction="higher", kind="reactivation",
                        measure="count", doc="Reactivations in the period.")
    assert values(back(ds)) == [0, 0, 0, 1, 0, 0]  # C in April
    k = REGISTRY["t_lost_mrr"]
    assert k.additive and k.needs == ("subscriptions",) and k.family == "recurring" and lost.declared == "mrr_movement"


def test_mrr_at_end_declares_a_snapshot(ds, declared):
    quarterly = mrr_at_end("t_qrr", name="T", unit="money", direction="higher", factor=3.0,
                           doc="3 × MRR at the end of the period.")
    assert values(quarterly(ds)) == [900, 1200, 1200, 1140, 1200, 780]
    assert values(quarterly(ds, "Q")) == [1200, 780]  # March, June
    assert REGISTRY["t_qrr"].kind == "snapshot" and quarterly.declared == "mrr_at_end"


def test_mrr_movement_refuses_what_is_not_a_movement(declared):
    for kind in ("upgrade", "none", {"new": 2}, {}):
        with pytest.raises(ValueError, match="kind must be a movement"):
            mrr_movement("t_bad", name="T", unit="money", direction="higher", kind=kind, doc="T.")
    assert "t_bad" not in REGISTRY


def test_arpu(ds):
    # MRR / paying customers at period end
    assert same(values(arpu(ds)), [150, 400 / 3, 400 / 3, 95, 100, 130])
    assert same(values(arpu(ds, "Q")), [400 / 3, 130])
    us = arpu(ds, by=["region"])
    assert same(values(us, region="US"), [NAN, 50, 80, 60, 200 / 3, 60])
    assert us[us.region == "US"]["note"].iloc[0] == "no paying customers at the end of the period"


def test_arpu_from_deals():
    deals = to_canonical("deals", pd.DataFrame({
        "deal_id": ["d1", "d2", "d3", "d4", "d5"],
        "created_at": ["2024-01-02"] * 5,
        "closed_at": ["2024-01-10", "2024-01-20", "2024-01-25", "2024-01-26", None],
        "status": ["won", "won", "won", "lost", "open"],
        "amount": [100.0, 300.0, 50.0, 999.0, 999.0],
        "customer_id": ["X", "X", "Y", "Z", "Z"]}))
    ds = Dataset(tables={"deals": deals})
    # Jan: (100 + 300 + 50) / 2 customers who bought (lost and open deals excluded)
    assert values(arpu(ds, source="deals")) == [225]


def test_expansion_mrr_growth(ds):
    out = expansion_mrr_growth(ds)
    # expansion: Jan 0, Feb 50, Mar 0, Apr 0, May 20, Jun 0
    # Mar (0 − 50)/50 = −1; Jun (0 − 20)/20 = −1; others: previous is 0 → NaN
    assert same(values(out), [NAN, NAN, -1, NAN, NAN, -1])
    assert out["note"].tolist()[:2] == ["no previous period", "no expansion MRR in the previous period"]


def test_cohort_retention(ds):
    out = cohort_retention(ds)
    assert list(out.columns) == ["period", "months_since", "measure", "value", "note"]
    share = out[out.measure == "retention"]

    def row(cohort: str) -> list[float]:
        return values(share, period=cohort)

    # Jan cohort {A, B}: A gone from Apr (k = 3). Feb {C}: off in Mar, back in Apr.
    # Mar {D}: mrr 0 in Jun (k = 3). Apr {E}: gone in Jun. k past June is not observed yet.
    assert same(row("2024-01"), [1, 1, 1, 0.5, 0.5, 0.5])
    assert same(row("2024-02"), [1, 0, 1, 1, 1, NAN])
    assert same(row("2024-03"), [1, 1, 1, 0, NAN, NAN])
    assert same(row("2024-04"), [1, 1, 0, NAN, NAN, NAN])
    assert same(row("2024-05"), [NAN] * 6)
    assert share[share.period.astype(str) == "2024-05"]["note"].iloc[0] == "no customers acquired in the period"
    assert share[share.period.astype(str) == "2024-04"]["note"].iloc[3].startswith("not observed yet")
    counts = out[out.measure == "customers"]
    assert values(counts, period="2024-01")[:4] == [2, 2, 2, 1]
    # quarterly cohorts, k still in months: Q1 = {A, B, C, D}; k = 1: A, B, D paying (C off) = 3/4
    q = cohort_retention(ds, "Q")
    qs = q[(q.measure == "retention") & (q.period.astype(str) == "2024Q1")]
    # k = 2: A (Mar), B, C (Apr, back), D (May) all paying → 1
    assert same(qs["value"].tolist()[:3], [1, 0.75, 1])
    assert REGISTRY["cohort_retention"].kind == "table"
    assert REGISTRY["cohort_retention"].dimensions == ("months_since",)


def test_periods_after_the_subscription_data_are_nan(ds):
    # deals go on after the subscriptions export ends (a planned date alone would not extend the grid)
    deals = to_canonical("deals", pd.DataFrame({
        "deal_id": ["d1"], "created_at": ["2024-09-20"], "closed_at": [None], "status": ["open"],
        "amount": [10.0], "expected_close_at": ["2024-12-30"]}))
    ds2 = Dataset(tables={**ds.tables, "deals": deals})
    out = mrr(ds2)
    assert out["period"].astype(str).tolist()[-3:] == ["2024-07", "2024-08", "2024-09"]
    assert out["value"].isna().tolist()[-3:] == [True] * 3
    assert (out["note"].iloc[-3:] == "no subscriptions data after 2024-06").all()
    # no churn invented for July; the current quarter Q3 is unknown, Q2 is the last known one
    assert values(churned_mrr(ds2))[:6] == [0, 0, 50, 120, 0, 140]
    assert same(values(mrr(ds2, "Q")), [400, 260, NAN])


def test_fiscal_year(ds):
    # fiscal year from April: FY2024 = Apr 2023 – Mar 2024, FY2025 = Apr 2024 – Mar 2025
    fy = Dataset(tables=ds.tables, fiscal_year_start=4)
    assert values(mrr(fy, "Y")) == [400, 260]  # Mar 2024; the last month of data (Jun) for FY2025
    assert values(new_mrr(fy, "Y")) == [430, 40]
    assert values(net_new_mrr(fy, "Y")) == [400, -140]
    # FY2025: start {A, B, D} at Mar; at the end (Jun) only B → lost A and D: 2/3
    assert same(values(customer_churn_rate(fy, "Y")), [NAN, 2 / 3])


def test_no_inf_and_notes_on_every_nan(ds):
    for kpi_id, k in REGISTRY.items():
        if k.family != "recurring" or kpi_id == "cohort_retention":
            continue
        for freq in ("M", "Q"):
            out = k.function(ds, freq, ["region"])
            assert list(out.columns) == ["period", "region", "value", "note"], kpi_id
            v = out["value"]
            assert not np.isinf(v).any(), kpi_id
            assert (out.loc[v.isna(), "note"].notna()).all(), kpi_id
            assert out.loc[v.notna(), "note"].isna().all(), kpi_id
            assert len(out) == len(out[["period", "region"]].drop_duplicates()), kpi_id


# --------------------------------------------------------------------------- hypothesis


def _check_identity(ds: Dataset, freq: str, by: list[str], get=None) -> None:
    """MRR at the end of each period − MRR at the end of the previous one = the period's movements."""
    keys = ["period", *by]

    def frame(fn):
        out = get(fn, freq, by) if get else fn(ds, freq, by)
        return out.set_index(keys)["value"]

    m = frame(mrr)
    flows = {name: frame(fn) for name, fn in MOVEMENT_KPIS.items()}
    net = flows["new"] + flows["expansion"] + flows["reactivation"] - flows["contraction"] - flows["churn"]
    for group, series in (m.groupby(level=by, observed=True, dropna=False) if by else [((), m)]):
        net_g = net.loc[series.index]
        prev = series.shift(1).fillna(0.0)  # before the first period nobody pays
        known = series.notna().to_numpy()
        assert np.allclose((series - prev)[known], net_g[known]), (freq, by, group)
    assert np.allclose(frame(net_new_mrr).dropna(), net.dropna())


MONTHS = pd.date_range("2023-01-01", periods=12, freq="MS")


@st.composite
def subscription_tables(draw):
    n = draw(st.integers(1, 6))
    rows = []
    for i in range(n):
        region = draw(st.sampled_from(["EU", "US", "APAC"]))
        months = draw(st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True))
        for mo in months:
            rows.append({"customer_id": f"c{i}", "month": MONTHS[mo], "region": region,
                         "mrr": float(draw(st.sampled_from([0, 10, 25, 40, 100]))),
                         "plan": draw(st.sampled_from(["basic", "pro"])),
                         "churn_reason": draw(st.sampled_from([None, "passive", "voluntary"]))})
    return pd.DataFrame(rows)


def _reference_sets(df: pd.DataFrame) -> dict[pd.Timestamp, set[str]]:
    paying = df[df.mrr > 0]
    return {m: set(paying.loc[paying.month == m, "customer_id"]) for m in MONTHS}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subscription_tables())
def test_invariants(df):
    ds = Dataset(tables={"subscriptions": to_canonical("subscriptions", df)})
    memo: dict = {}

    def get(fn, freq, by):
        key = (fn.__name__, freq, tuple(by))
        if key not in memo:
            memo[key] = fn(ds, freq, by)
        return memo[key]

    for freq in ("M", "Q"):
        # the MRR identity, overall, per region (fixed per customer) and per plan (customers switch plans)
        for by in ([], ["region"], ["plan"]):
            _check_identity(ds, freq, by, get)
        # movements by region add up to the total
        for fn in (mrr, net_new_mrr, *MOVEMENT_KPIS.values(), new_customers, lost_customers):
            total = get(fn, freq, [])["value"].to_numpy()
            parts = get(fn, freq, ["region"]).groupby("period")["value"].sum().to_numpy()
            assert np.allclose(total, parts, equal_nan=True), fn.__name__
    # the grouped engine derived from the ungrouped one (customers stay in their region) equals a full pass
    derived = recurring._engine(ds, ["region"])
    full = recurring._build(ds.subscriptions, ["region"])
    for name in ("t_key", "t_mov", "mrr_gm", "paying_gm", "amount_gm", "count_gm"):
        assert np.array_equal(getattr(derived, name), getattr(full, name)), name
    # rates within 0..1, churn + retention = 1, grr <= nrr
    for freq, by in (("M", ["region"]), ("Q", [])):
        churn = customer_churn_rate(ds, freq, by)["value"]
        keep = customer_retention_rate(ds, freq, by)["value"]
        g = grr(ds, freq, by)["value"]
        for s in (churn, keep, g, customer_churn_rate(ds, freq, by, basis="monthly")["value"],
                  passive_churn_rate(ds, freq, by)["value"], grr(ds, freq, by, window="period")["value"]):
            assert ((s >= -1e-12) & (s <= 1 + 1e-12) | s.isna()).all()
        assert np.allclose((churn + keep).dropna(), 1.0)
        assert (churn.isna() == keep.isna()).all()
        assert (g <= nrr(ds, freq, by)["value"] + 1e-12).where(g.notna(), True).all()
    # MRR equals a direct sum of the table; movement amounts add up to its month-on-month change
    direct = df.groupby("month")["mrr"].sum().reindex(grid_months(ds), fill_value=0.0)
    assert np.allclose(get(mrr, "M", [])["value"], direct.to_numpy())
    mv = mrr_movements(ds.subscriptions)
    change = mv.groupby("month")["amount"].sum().reindex(direct.index, fill_value=0.0)
    assert np.allclose(change.to_numpy(), direct.diff().fillna(direct.iloc[0]).to_numpy())
    # churn rate against a brute-force reference on customer sets (quarters)
    sets = _reference_sets(df)
    out = customer_churn_rate(ds, "Q", [])
    for period, value in zip(out["period"], out["value"]):
        start_month = period.start_time - pd.DateOffset(months=1)
        end_month = min(period.end_time.to_period("M").to_timestamp(), df.month.max())
        start = sets.get(start_month, set())
        end = sets.get(end_month, set())
        if not start:
            assert math.isnan(value)
        else:
            assert value == pytest.approx(len(start - end) / len(start))


def grid_months(ds: Dataset) -> pd.DatetimeIndex:
    lo, hi = ds.date_range
    return pd.date_range(lo, hi, freq="MS")
