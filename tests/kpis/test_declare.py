"""KPIs declared as data: `simple` (a measure over one table) and `ratio` (two registered KPIs).

Fixture: five deals, January to March 2024, worked out by hand:

    deal  region  created     closed      status  amount  first contact  cycle (days)
    x1    EMEA    2024-01-02  2024-01-10  won     1000    2024-01-01      9 (from first contact)
    x2    AMER    2024-01-05  2024-01-20  won     3000    -              15 (from created_at)
    x3    EMEA    2024-01-08  2024-01-25  lost     500    -              -
    x4    EMEA    2024-01-20  2024-02-14  won     2000    -              25
    x5    AMER    2024-03-01  -           open     700    -              -

    January: won 1000 + 3000 = 4000 (2 deals), cycles 9 and 15: mean 12, median 12
    February: won 2000 (1 deal), cycle 25
    March: no deal closed: sum and count 0, mean NaN ("no won deals in the period")

    Open at the end of each month (created on or before its last day, closed after it or never):
    January x4 (2000, EMEA), February none (x4 closed 14 Feb, x5 created 1 Mar), March x5 (700, AMER)
"""
from __future__ import annotations

import inspect
import math

import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY, Option
from kpitools.kpis.compute import compute
from kpitools.kpis.declare import ratio, simple
from kpitools.kpis.engine import won

FAMILY = "test"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    df = pd.DataFrame({
        "deal_id": ["x1", "x2", "x3", "x4", "x5"],
        "region": ["EMEA", "AMER", "EMEA", "EMEA", "AMER"],
        "created_at": ["2024-01-02", "2024-01-05", "2024-01-08", "2024-01-20", "2024-03-01"],
        "closed_at": ["2024-01-10", "2024-01-20", "2024-01-25", "2024-02-14", None],
        "status": ["won", "won", "lost", "won", "open"],
        "amount": [1000.0, 3000.0, 500.0, 2000.0, 700.0],
        "first_contact_at": ["2024-01-01", None, None, None, None],
    })
    return Dataset(tables={"deals": to_canonical("deals", df)})


def by_month(frame: pd.DataFrame, **group: str) -> dict[str, float]:
    rows = frame
    for c, v in group.items():
        rows = rows[rows[c].astype(object) == v]
    return dict(zip(rows["period"].astype(str), rows["value"]))


def cycle(deals: pd.DataFrame) -> pd.Series:
    start = deals["first_contact_at"].fillna(deals["created_at"])
    return (deals["closed_at"] - start) / pd.Timedelta(days=1)


def test_simple_sum_with_a_filter(ds, declared) -> None:
    fn = simple("t_revenue", name="T revenue", unit="money", direction="higher", family=FAMILY, additive=True,
                table="deals", time="closed_at", agg="sum", expr="amount", where=won,
                doc="Σ amount of won deals with closed_at in the period.")
    assert by_month(fn(ds)) == {"2024-01": 4000, "2024-02": 2000, "2024-03": 0}
    by = fn(ds, by=["region"])
    assert by_month(by, region="EMEA") == {"2024-01": 1000, "2024-02": 2000, "2024-03": 0}
    assert by_month(by, region="AMER") == {"2024-01": 3000, "2024-02": 0, "2024-03": 0}
    assert fn(ds)["note"].isna().all()


def test_simple_count(ds, declared) -> None:
    created = simple("t_created", name="T created", unit="count", direction="higher", family=FAMILY,
                     table="deals", time="created_at", agg="count", doc="Deals created in the period.")
    assert by_month(created(ds)) == {"2024-01": 4, "2024-02": 0, "2024-03": 1}
    closed = simple("t_won", name="T won", unit="count", direction="higher", family=FAMILY,
                    table="deals", time="closed_at", agg="count", where=won, doc="Won deals closed in the period.")
    assert by_month(closed(ds)) == {"2024-01": 2, "2024-02": 1, "2024-03": 0}


def test_simple_statistic_option_and_computed_values(ds, declared) -> None:
    fn = simple("t_cycle", name="T cycle", unit="days", direction="lower", family=FAMILY,
                table="deals", time="closed_at", expr=cycle, where=won, note="no won deals in the period",
                agg=Option("mean", ("mean", "median"), "mean or median"),
                doc="mean(closed_at − first_contact_at, else created_at) in days over won deals closed in P.")
    mean = fn(ds)
    assert by_month(mean)["2024-01"] == pytest.approx(12)  # (9 + 15) / 2
    assert by_month(mean)["2024-02"] == pytest.approx(25)
    assert math.isnan(by_month(mean)["2024-03"])
    assert mean.loc[mean["period"].astype(str) == "2024-03", "note"].item() == "no won deals in the period"
    assert by_month(fn(ds, statistic="median"))["2024-01"] == pytest.approx(12)
    k = REGISTRY["t_cycle"]
    assert k.options["statistic"].choices == ("mean", "median")
    with pytest.raises(ValueError, match=r"t_cycle: option statistic='max' .*mean \| median"):
        fn(ds, statistic="max")


def test_simple_registers_like_a_hand_written_kpi(ds, declared) -> None:
    fn = simple("t_rev2", name="T revenue", unit="money", direction="higher", family=FAMILY, source="here",
                table="deals", time="closed_at", agg="sum", expr="amount", where=won,
                doc="""Σ amount of won deals with closed_at in the period.

                More words, not in the formula.""")
    k = REGISTRY["t_rev2"]
    assert k.function is fn and fn.__name__ == "t_rev2" and fn.kpi_id == "t_rev2" and fn.declared == "simple"
    assert fn.__module__ == __name__  # named as if written here
    assert k.formula == "Σ amount of won deals with closed_at in the period."
    assert fn.__doc__.startswith(k.formula) and "More words" in fn.__doc__
    assert (k.needs, k.unit, k.direction, k.kind, k.family, k.source) == (
        ("deals",), "money", "higher", "flow", FAMILY, "here")
    assert by_month(compute(ds, "t_rev2")) == {"2024-01": 4000, "2024-02": 2000, "2024-03": 0}
    with pytest.raises(TypeError, match="t_rev2 got an unexpected option 'basis'"):
        fn(ds, basis="period")


def test_simple_snapshot_counts_and_sums_the_rows_open_at_period_end(ds, declared) -> None:
    count = simple("t_open", name="T open", unit="count", direction="neutral", family=FAMILY, additive=True,
                   table="deals", kind="snapshot", time="created_at", end="closed_at", agg="count",
                   doc="Deals open at the end of the period.")
    assert by_month(count(ds)) == {"2024-01": 1, "2024-02": 0, "2024-03": 1}  # x4; none; x5
    value = simple("t_pipe", name="T pipe", unit="money", direction="higher", family=FAMILY,
                   table="deals", kind="snapshot", time="created_at", end="closed_at", agg="sum", expr="amount",
                   doc="Σ amount of the deals open at the end of the period.")
    assert by_month(value(ds)) == {"2024-01": 2000, "2024-02": 0, "2024-03": 700}
    by = value(ds, by=["region"])
    assert by_month(by, region="EMEA") == {"2024-01": 2000, "2024-02": 0, "2024-03": 0}
    assert by_month(by, region="AMER") == {"2024-01": 0, "2024-02": 0, "2024-03": 700}
    assert REGISTRY["t_pipe"].kind == "snapshot" and value.declared == "simple"
    assert by_month(value(ds, "Q")) == {"2024Q1": 700}  # the quarter's end is March's


def test_simple_snapshot_with_an_end_and_rows_computed(ds, declared) -> None:
    def lost_never_close(deals: pd.DataFrame) -> pd.Series:  # a lost deal stays open
        return deals["closed_at"].where(deals["status"].ne("lost"))

    fn = simple("t_open2", name="T open", unit="money", direction="neutral", family=FAMILY,
                table="deals", kind="snapshot", time="created_at", end=lost_never_close, agg="sum",
                expr=lambda d: d["amount"] / 100, where=lambda d: d["region"].eq("EMEA"),
                doc="Hundreds of EMEA deals open at the end of the period, lost ones never closing.")
    # EMEA: x3 (5, lost: open from January on) and x4 (20, open at the end of January)
    assert by_month(fn(ds)) == {"2024-01": 25, "2024-02": 5, "2024-03": 5}


def test_ratio_of_two_registered_kpis(ds, declared) -> None:
    simple("t_rev", name="T revenue", unit="money", direction="higher", family=FAMILY,
           table="deals", time="closed_at", agg="sum", expr="amount", where=won, doc="Revenue.")
    simple("t_wins", name="T wins", unit="count", direction="higher", family=FAMILY,
           table="deals", time="closed_at", agg="count", where=won, doc="Won deals.")
    fn = ratio("t_avg", name="T average", unit="money", direction="higher", family=FAMILY,
               numerator="t_rev", denominator="t_wins", reason="no won deals in the period",
               doc="t_rev / t_wins over deals won in the period.")
    out = fn(ds)
    assert by_month(out)["2024-01"] == 2000  # 4000 / 2
    assert by_month(out)["2024-02"] == 2000  # 2000 / 1
    assert math.isnan(by_month(out)["2024-03"])  # 0 / 0: NaN with the reason, never inf
    assert out.loc[out["period"].astype(str) == "2024-03", "note"].item() == "no won deals in the period"
    assert by_month(fn(ds, by=["region"]), region="AMER")["2024-01"] == 3000
    assert REGISTRY["t_avg"].needs == ("deals",) and fn.declared == "ratio"


def test_ratio_passes_each_option_to_the_kpi_declaring_it(ds, declared) -> None:
    simple("t_cyc", name="T cycle", unit="days", direction="lower", family=FAMILY,
           table="deals", time="closed_at", expr=cycle, where=won, agg=Option("mean", ("mean", "median")),
           doc="Cycle.")
    simple("t_one", name="T one", unit="count", direction="higher", family=FAMILY,
           table="deals", time="closed_at", agg="count", where=won, doc="Won deals.")
    fn = ratio("t_per", name="T per", unit="days", direction="lower", family=FAMILY,
               numerator="t_cyc", denominator="t_one", reason="none", doc="t_cyc / t_one.")
    assert "statistic" in REGISTRY["t_per"].options
    assert by_month(fn(ds, statistic="median"))["2024-01"] == pytest.approx(12 / 2)
    with pytest.raises(ValueError, match="t_per: option statistic='mode'"):
        fn(ds, statistic="mode")


def test_declarations_that_cannot_work_are_refused(declared) -> None:
    common = dict(name="X", unit="count", direction="higher", family=FAMILY, doc="X.")
    with pytest.raises(ValueError, match="agg must be one of"):
        simple("t_bad1", table="deals", time="closed_at", agg="max", expr="amount", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs an expr"):
        simple("t_bad2", table="deals", time="closed_at", agg="sum", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'nope' is not a registered KPI"):
        ratio("t_bad3", numerator="revenue", denominator="nope", reason="r", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not table KPIs"):
        ratio("t_bad4", numerator="revenue", denominator="funnel", reason="r", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a snapshot needs an end"):
        simple("t_bad5", table="deals", kind="snapshot", time="created_at", agg="count", **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a snapshot sums or counts"):
        simple("t_bad6", table="deals", kind="snapshot", time="created_at", end="closed_at", agg="mean",
               expr="amount", **common)  # type: ignore[arg-type]
    assert not {"t_bad1", "t_bad2", "t_bad3", "t_bad4", "t_bad5", "t_bad6"} & set(REGISTRY)


def test_the_catalogue_declares_its_plain_kpis() -> None:
    declared = {k: v.function.declared for k, v in REGISTRY.items() if getattr(v.function, "declared", None)}
    assert declared == {
        "revenue": "simple", "won_deals": "simple", "opportunities_created": "simple",
        "avg_sales_cycle_days": "simple", "avg_time_to_convert_days": "simple", "email_response_minutes": "simple",
        "open_deals": "simple", "pipeline_value": "simple", "avg_purchase_value": "ratio",
        **dict.fromkeys(["call_reach_rate", "call_qualification_rate", "call_conversion_rate", "email_open_rate",
                         "email_reply_rate"], "activity_rate"),
        "demos_booked": "activity_count",
        "mrr": "mrr_at_end", "arr": "mrr_at_end",
        **dict.fromkeys(["new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
                         "net_new_mrr", "new_customers", "lost_customers"], "mrr_movement"),
        **dict.fromkeys(["lead_to_mql_rate", "mql_to_sql_rate", "lead_to_opportunity_rate", "lead_conversion_rate"],
                        "stage_rate"),
        "upsell_rate": "deal_type_rate", "cross_sell_rate": "deal_type_rate",
    }


def test_short_kpis_left_as_code_say_why() -> None:
    for kid in ("customer_churn_rate", "cac", "clv", "clv_net", "ltv_to_cac", "visitor_to_lead_rate",
                "revenue_per_rep", "quota_attainment"):
        fn = REGISTRY[kid].function
        assert not hasattr(fn, "declared")
        assert "\n\nCode" in inspect.cleandoc(fn.__doc__), kid  # a paragraph saying why
