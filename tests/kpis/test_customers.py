"""F. Customer KPIs (CAC, payback, CLV, churn after sale, NPS) against numbers worked out by hand.

Fixtures in tests/fixtures/customers/ (Jan–Jun 2024):

subscriptions.csv: the recurring fixture (see test_recurring.py). From it:
    new customers   Jan 2 (A, B), Feb 1 (C), Mar 1 (D), Apr 1 (E), May 0, Jun 0
    ARPU            Jan 300/2 = 150, Feb 400/3, Mar 400/3, Apr 380/4 = 95, May 400/4 = 100, Jun 260/2 = 130
    churn (monthly) Jan NaN (nobody paying in Dec), Feb 0, Mar 1/3, Apr 1/3, May 0, Jun 1/2
customers.csv: channel A inbound, B outbound, C inbound, D outbound, E inbound; region as in subscriptions.
spend.csv:
    Jan marketing 300 inbound, sales 100 outbound, overhead 1000 (no channel)
    Feb marketing 100 inbound;  Mar sales 160 outbound;  Apr marketing 80 inbound, tools 40 (no channel)
deals.csv (won, new unless said):
    d1 A ann Jan 1000 cost 200 · d2 B bob Jan 1000 cost 400 · d3 C ann Feb 500 (no cost)
    d4 D bob Mar 800 cost 200 · d5 E ann Apr 400 cost 100 · d6 A bob May 300 cost 0 (upsell)
    d7 open, d8 lost (no customer)
    gross margin: Jan (2000 − 600)/2000 = 0.7, Feb no cost → 0.8 (fallback), Mar 0.75, Apr 0.75,
    May 1.0, Jun no deals → 0.8
surveys.csv: Jan A 10, B 9, C 3, D 7; Mar A 6, B 10.
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
from kpitools.kpis.customers import cac, cac_payback_months, churn_after_sale, clv, clv_net, ltv_to_cac, nps

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "customers"
NAN = float("nan")
TABLES = ("subscriptions", "customers", "spend", "deals", "surveys")


def load(*names: str) -> dict[str, pd.DataFrame]:
    return {n: to_canonical(n, pd.read_csv(HERE / f"{n}.csv")) for n in names}


@pytest.fixture
def ds() -> Dataset:
    return Dataset(tables=load(*TABLES))


def values(out: pd.DataFrame, **where) -> list[float]:
    for col, v in where.items():
        out = out[out[col].astype(str) == v]
    return out["value"].tolist()


def same(a, b) -> bool:
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- CAC


def test_cac_monthly(ds):
    out = cac(ds)
    # Jan (300 + 100) / 2 (overhead excluded); Feb 100/1; Mar 160/1; Apr (80 + 40 tools)/1; May, Jun: 0 new
    assert same(values(out), [200, 100, 160, 120, NAN, NAN])
    assert out["note"].tolist()[4:] == ["no new customers in the period"] * 2


def test_cac_categories_and_quarter(ds):
    # every category, overhead included: Jan (300 + 100 + 1000) / 2
    assert values(cac(ds, categories=["marketing", "sales", "salaries", "tools", "overhead"]))[0] == 700
    assert values(cac(ds, categories="marketing"))[:4] == [150, 100, 0, 80]  # text form; Mar: no marketing
    # Q1 (400 + 100 + 160) / 4 new; Q2 120 / 1 (E)
    assert values(cac(ds, "Q")) == [165, 120]


def test_cac_per_channel(ds):
    out = cac(ds, by=["channel"])
    # new customers split by the customer's channel (customers table): Jan inbound A, outbound B
    assert same(values(out, channel="inbound"), [300, 100, NAN, 80, NAN, NAN])
    assert same(values(out, channel="outbound"), [100, NAN, 160, NAN, NAN, NAN])
    # spend without a channel (Apr tools 40) has no new customers to spread over
    no_channel = out[out["channel"].isna()]
    assert no_channel["value"].isna().all()
    assert (no_channel["note"] == "no new customers in the period").all()
    with pytest.raises(KeyError, match="spend has no column region"):
        cac(ds, by=["region"])


# --------------------------------------------------------------------------- payback, CLV


def test_cac_payback_months(ds):
    out = cac_payback_months(ds)
    # cac / (arpu × margin): Jan 200 / (150 × 0.7); Feb 100 / (400/3 × 0.8, no cost → fallback);
    # Mar 160 / (400/3 × 0.75) = 1.6; Apr 120 / (95 × 0.75); May, Jun: no CAC
    assert same(values(out), [200 / 105, 100 / (400 / 3 * 0.8), 1.6, 120 / 71.25, NAN, NAN])
    assert out["note"].tolist()[4] == "no new customers in the period"
    k = REGISTRY["cac_payback_months"]
    assert k.unit == "months" and k.benchmark.high == 12 and k.benchmark.contains(200 / 105)
    # a constant margin instead of deals'
    assert values(cac_payback_months(ds, margin="constant", gross_margin=0.5))[0] == pytest.approx(200 / 75)


def test_margin_falls_back_when_deals_have_no_cost():
    tables = load(*TABLES)
    tables["deals"] = tables["deals"].drop(columns="cost")
    out = cac_payback_months(Dataset(tables=tables))
    assert values(out)[0] == pytest.approx(200 / (150 * 0.8))  # the default 0.8


def test_clv(ds):
    out = clv(ds)
    # arpu × margin / monthly churn: Jan churn NaN (nobody at start); Feb, May churn 0 → NaN;
    # Mar 400/3 × 0.75 / (1/3) = 300; Apr 95 × 0.75 × 3 = 213.75; Jun 130 × 0.8 / 0.5 = 208
    assert same(values(out), [NAN, NAN, 300, 213.75, NAN, 208])
    notes = out["note"].tolist()
    assert notes[0] == "no paying customers at the start of the period"
    assert notes[1] == notes[4] == "no customers lost in the period (churn 0): lifetime value unbounded"
    # quarter: arpu Jun 130; Q2 margin (400 + 300 − 100) / 700 = 6/7; monthly churn pooled (1 + 0 + 2)/(3 + 4 + 4)
    assert values(clv(ds, "Q"))[1] == pytest.approx(130 * 6 / 7 / (3 / 11))


def test_clv_discounted(ds):
    out = clv(ds, discounted=True, discount_rate=0.01)
    # m·r/(1 + d − r): Mar m = 100, r = 2/3 → 100 × 2/3 / (0.01 + 1/3);
    # Feb churn 0: m = 400/3 × 0.8, r = 1 → m / 0.01 (finite once discounted)
    v = values(out)
    assert v[2] == pytest.approx(100 * (2 / 3) / (0.01 + 1 / 3))
    assert v[1] == pytest.approx(400 / 3 * 0.8 / 0.01)
    assert math.isnan(v[0])
    zero = values(clv(ds, discounted=True, discount_rate=0.0))
    assert math.isnan(zero[1]) and zero[2] == pytest.approx(100 * (2 / 3) / (1 / 3))


def test_clv_net_and_ltv_to_cac(ds):
    # Mar 300 − 160, Apr 213.75 − 120; Jun: clv 208 but no CAC (no new customers)
    net = clv_net(ds)
    assert same(values(net), [NAN, NAN, 140, 93.75, NAN, NAN])
    assert net["note"].tolist()[5] == "no new customers in the period"
    ratio = ltv_to_cac(ds)
    assert same(values(ratio), [NAN, NAN, 300 / 160, 213.75 / 120, NAN, NAN])
    assert REGISTRY["ltv_to_cac"].benchmark.low == 3 and not REGISTRY["ltv_to_cac"].benchmark.contains(1.875)
    # CAC 0 (Mar has no overhead spend, D is new): NaN with a reason, not inf
    zero = ltv_to_cac(ds, categories=["overhead"])
    assert math.isnan(values(zero)[2])
    assert zero["note"].tolist()[2] == "CAC is 0 (no acquisition spend in the period)"


def test_clv_by_region_and_spend_without_region(ds):
    out = clv(ds, by=["region"])
    # EU Apr: arpu 200 (B), margin 0.75, churn 1/2 (A of {A, B}) → 300
    assert values(out, region="EU")[3] == pytest.approx(200 * 0.75 / 0.5)
    # clv_net by region: spend cannot be split by region → NaN with the reason
    net = clv_net(ds, by=["region"])
    row = net[(net.region == "EU") & (net.period.astype(str) == "2024-04")]
    assert math.isnan(row["value"].iloc[0])
    assert row["note"].iloc[0] == "spend has no column region: CAC cannot be split by it"


# --------------------------------------------------------------------------- churn after sale


def test_churn_after_sale_per_rep(ds):
    out = churn_after_sale(ds, "Q", ["rep"], months=2)
    # lost = stops paying within 2 months after the sale's month:
    # ann: A (Jan; churns Apr, too late), C (Feb; churns Mar) → Q1 1/2; E (Apr; churns Jun) → Q2 1/1
    # bob: B (never churns), D (Mar; churns Jun, too late) → Q1 0/2; Q2 none (d6 is an upsell)
    assert same(values(out, rep="ann"), [0.5, 1])
    assert same(values(out, rep="bob"), [0, NAN])
    assert out[out.rep == "bob"]["note"].iloc[1] == "no new customers won in the period"


def test_churn_after_sale_window(ds):
    # 3 months: A (Jan → churn Apr) now counts; E (Apr) is not mature (Apr + 3 = Jul > Jun)
    out = churn_after_sale(ds, months=3)
    assert same(values(out), [0.5, 1, 1, NAN, NAN, NAN])
    assert out["note"].tolist()[3] == ("the 3-month window after these sales is not over "
                                       "(subscriptions data ends 2024-06)")
    # default 6 months: no sale is mature yet
    assert churn_after_sale(ds, by=["rep"])["value"].isna().all()


# --------------------------------------------------------------------------- NPS


def test_nps(ds):
    out = nps(ds)
    # Jan: promoters A, B; detractor C; D passive → (2 − 1)/4 = 25; Mar: A 6 detractor, B 10 → 0
    assert same(values(out), [25, NAN, 0, NAN, NAN, NAN])
    assert out["note"].tolist()[1] == "no survey answers in the period"
    assert REGISTRY["nps"].unit == "score"
    # region read per customer: Jan EU {10, 9} = 100, US {3, 7} = (0 − 1)/2 = −50
    by = nps(ds, by=["region"])
    assert values(by, region="EU")[0] == 100 and values(by, region="US")[0] == -50
    # Q1: 6 answers, promoters A 10, B 9, B 10; detractors C 3, A 6 → (3 − 2)/6; Q2 no answers
    assert same(values(nps(ds, "Q")), [100 * (3 - 2) / 6, NAN])


def test_nps_by_region_through_compute(ds):
    """Surveys have no region: compute() reads it per customer instead of skipping the KPI."""
    import kpitools

    out = kpitools.compute(ds, "nps", by="region")
    assert "nps" not in out.attrs["skipped"]
    jan = out[out["period"] == out["period"].min()].set_index("region")["value"]
    assert jan["EU"] == 100 and jan["US"] == -50
    # a column no table gives per customer is still reported as missing
    assert "surveys.campaign" in kpitools.compute(ds, "nps", by="campaign").attrs["skipped"].get("nps", "")


def test_no_inf_and_notes_on_every_nan(ds):
    for kpi_id, k in REGISTRY.items():
        if k.family != "customers":
            continue
        by = ["rep"] if kpi_id == "churn_after_sale" else ["channel"] if kpi_id == "cac" else []
        for freq in ("M", "Q"):
            out = k.function(ds, freq, by)
            assert list(out.columns) == ["period", *by, "value", "note"], kpi_id
            v = out["value"]
            assert not np.isinf(v).any(), kpi_id
            assert out.loc[v.isna(), "note"].notna().all(), kpi_id
            assert out.loc[v.notna(), "note"].isna().all(), kpi_id
            assert len(out) == len(out[["period", *by]].drop_duplicates()), kpi_id
