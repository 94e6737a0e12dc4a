"""The Solar Hijri (Jalali) calendar as a period system: conversions, periods, and KPIs by Jalali period.

Known conversions (jdatetime, checked against the Iranian calendar): 1 Farvardin 1402 = 2023-03-21,
1 Farvardin 1403 = 2024-03-20 (1403 is a leap year: 30 Esfand 1403 = 2025-03-20), 1 Farvardin 1404 =
2025-03-21, 1 Mehr 1402 = 2023-09-23, 1 Azar 1405 = 2026-11-22.

Deals fixture (built below; every deal created 2022-09-01 or 2023-03-01):

    deal  closed      Jalali       status  amount
    i     2022-09-23  1401-07-01   won        50
    a     2023-03-20  1401-12-29   won       100   (last day of 1401: Esfand has 29 days)
    b     2023-03-21  1402-01-01   won       200   (Nowruz)
    c     2023-04-20  1402-01-31   won       400
    d     2023-04-21  1402-02-01   won       800
    e     2023-09-22  1402-06-31   won      1600
    f     2023-09-23  1402-07-01   won      3200   (1 Mehr)
    g     2023-09-23  1402-07-01   lost     5000
    h     -           -            open     7000   (created 2023-03-01)

Revenue by Jalali month: 1401-07 50, 1401-12 100, 1402-01 600, 1402-02 800, 1402-06 1600, 1402-07 3200;
by Gregorian month: 2023-03 300, 2023-04 1200, 2023-09 4800.
Pipeline value at the end of each Jalali month (open: created by then, closed after it):
1401-12 (to 2023-03-20) b..h = 18200; 1402-01 (to 04-20) d..h = 17600; 1402-02..05 e..h = 16800;
1402-06 (to 09-22) f, g, h = 15200; 1402-07 h = 7000.
"""
from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import jdatetime
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import kpitools
from kpitools.calendars.jalali import JalaliDtype, JalaliPeriod
from kpitools.calendars.periods import (
    calendar_name,
    guess_calendar,
    next_starts,
    parse_period,
    period_at,
    period_grid,
    period_starts,
    shift_months,
    to_period,
)
from kpitools.data import Dataset
from kpitools.data.problems import DataError
from kpitools.data.types import to_canonical
from kpitools.forecast import forecast
from kpitools.kpis import REGISTRY
from kpitools.kpis.compare import compare
from kpitools.kpis.compute import compute, period_spans
from kpitools.kpis.recurring import (
    churned_mrr,
    contraction_mrr,
    expansion_mrr,
    mrr,
    net_new_mrr,
    new_mrr,
    reactivation_mrr,
)
from kpitools.kpis.targets import targets_for

J = "jalali"


def jp(text: str, fy: int = 1) -> JalaliPeriod:
    return parse_period(text, fiscal_year_start=fy, calendar=J)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# ----------------------------------------------------------------------------- conversions

@pytest.mark.parametrize("gregorian, jalali", [
    ("2023-03-21", "1402-01-01"), ("2023-03-20", "1401-12-29"), ("2024-03-20", "1403-01-01"),
    ("2025-03-21", "1404-01-01"), ("2025-03-20", "1403-12-30"), ("2023-09-23", "1402-07-01"),
    ("2023-09-22", "1402-06-31"), ("2026-11-22", "1405-09-01"), ("2026-11-21", "1405-08-30"),
])
def test_known_conversions(gregorian: str, jalali: str) -> None:
    day = period_at(gregorian, "D", calendar=J)
    assert str(day) == jalali
    assert jp(jalali).start_time == ts(gregorian)
    assert jp(jalali) == day


def test_the_vectorised_conversion_agrees_with_jdatetime_day_by_day() -> None:
    rng = np.random.default_rng(9)
    days = pd.to_datetime(rng.integers(-25_000, 70_000, 3000), unit="D")  # 1901 - 2161
    col = pd.Series(days)
    for freq, fmt in (("D", "%Y-%m-%d"), ("M", "%Y-%m")):
        got = to_period(col, freq, calendar=J).astype(str).tolist()
        assert got == [jdatetime.date.fromgregorian(date=d.date()).strftime(fmt) for d in days], freq


def test_month_lengths_and_leap_years() -> None:
    assert (jp("1402-01").end_time.normalize() - jp("1402-01").start_time).days + 1 == 31  # Farvardin
    assert (next_starts(pd.Series([jp("1402-07")]))[0] - jp("1402-07").start_time).days == 30  # Mehr
    assert (next_starts(pd.Series([jp("1402-12")]))[0] - jp("1402-12").start_time).days == 29  # Esfand
    assert (next_starts(pd.Series([jp("1403-12")]))[0] - jp("1403-12").start_time).days == 30  # leap Esfand
    assert jp("1403-12-30").start_time == ts("2025-03-20")
    with pytest.raises(ValueError, match="not a Jalali date"):
        jp("1402-12-30")  # 1402 is not a leap year
    with pytest.raises(ValueError, match="Farvardin"):
        jp("1402-13")
    # 365 or 366 days a year, and the library agrees on every 1 Farvardin from 1300 to 1500
    for year in range(1300, 1501):
        start = jp(f"{year}").start_time
        assert start.date() == jdatetime.date(year, 1, 1).togregorian()
        assert (jp(f"{year}").end_time.normalize() - start).days + 1 == (366 if jdatetime.date(year, 1, 1).isleap()
                                                                           else 365)


def test_every_jalali_month_holds_exactly_one_gregorian_first_of_month() -> None:
    # why a monthly Gregorian row (subscriptions, spend, traffic) lands in exactly one Jalali month
    months = period_grid(ts("1921-03-21"), ts("2121-03-20"), "M", calendar=J)
    starts, ends = period_starts(months), next_starts(months)
    firsts = pd.date_range("1921-04-01", "2121-03-01", freq="MS")
    held = np.searchsorted(starts.to_numpy(), firsts.to_numpy(), side="right") - 1
    assert (np.bincount(held, minlength=len(months))[1:] == 1).all()
    assert str(months[0]) == "1300-01" and str(months[-1]) == "1499-12"
    assert (ends - starts).days.min() == 29 and (ends - starts).days.max() == 31


def test_quarters_years_and_fiscal_years() -> None:
    q3 = jp("1402Q3")
    assert q3.start_time == ts("2023-09-23") and q3.end_time.normalize() == ts("2023-12-21")  # Mehr..Azar
    assert jp("1402Q1").start_time == ts("2023-03-21") and jp("1402-Q4").end_time.normalize() == ts("2024-03-19")
    assert str(period_at("2023-09-23", "Q", calendar=J)) == "1402Q3"
    # a fiscal year starting 1 Tir (month 4) is named by the Jalali year it ends in
    fy = jp("1403", fy=4)
    assert fy.start_time == jp("1402-04").start_time and fy.end_time == jp("1403-03").end_time
    assert jp("1403Q1", fy=4).start_time == jp("1402-04").start_time
    assert str(period_at(jp("1402-04").start_time, "Q", 4, J)) == "1403Q1"
    assert str(period_at(jp("1402-03").start_time, "Y", 4, J)) == "1402"


def test_weeks_run_saturday_to_friday() -> None:
    w = period_at("2023-03-21", "W", calendar=J)  # a Tuesday, 1 Farvardin 1402
    assert str(w) == "1402-W01"
    assert w.start_time == ts("2023-03-18") and w.start_time.day_name() == "Saturday"
    assert w.end_time.normalize() == ts("2023-03-24") and w.end_time.day_name() == "Friday"
    assert str(period_at("2023-03-17", "W", calendar=J)) == "1401-W52"  # the Friday before
    assert str(w + 1) == "1402-W02" and jp("1402-W02") == w + 1
    for text in ("1401-W52", "1402-W01", "1402-W28", "1405-W36", "1404-W53"):
        assert str(jp(text)) == text  # labels read back
    with pytest.raises(ValueError, match="no week 53"):
        jp("1403-W53")
    # a week is named after its Friday, with jdatetime's week number (week 1 holds 1 Farvardin)
    for friday in pd.date_range("2019-01-04", "2027-12-31", freq="W-FRI"):
        j = jdatetime.date.fromgregorian(date=friday.date())
        assert str(period_at(friday, "W", calendar=J)) == f"{j.year}-W{j.weeknumber():02d}"


def test_the_period_scalar() -> None:
    p = jp("1402-07")
    assert (p.year, p.month, p.quarter, p.freq, p.freqstr, p.calendar) == (1402, 7, 3, "M", "M", "jalali")
    assert str(p + 6) == "1403-01" and str(p - 7) == "1401-12" and (p + 6) - p == 6
    assert p < p + 1 and p == "1402-07" and p != jp("1402-08") and hash(p) == hash(jp("1402-07"))
    assert p.start_time == ts("2023-09-23") and p.end_time == ts("2023-10-23") - pd.Timedelta(1, "ns")
    assert str(p.asfreq("Q")) == "1402Q3" and str(jp("1402Q3").asfreq("M")) == "1402-09"
    assert str(jp("1402Q3").asfreq("M", how="start")) == "1402-07"
    assert p.strftime("%B %Y") == "Mehr 1402"
    assert pickle.loads(pickle.dumps(p)) == p
    assert repr(p) == "JalaliPeriod('1402-07', 'M')"
    with pytest.raises(TypeError):
        _ = p < jp("1402Q3")  # different frequencies do not compare


def test_a_column_of_jalali_periods() -> None:
    s = to_period(pd.Series(pd.to_datetime(["2023-09-23", "2023-03-20", None, "2023-03-21"])), "M", calendar=J)
    assert isinstance(s.dtype, JalaliDtype) and str(s.dtype) == "jalali[M]"
    assert s.astype(str).tolist()[:2] == ["1402-07", "1401-12"] and s.isna().tolist() == [False, False, True, False]
    assert [str(p) for p in s.dropna().sort_values()] == ["1401-12", "1402-01", "1402-07"]
    frame = pd.DataFrame({"period": s, "v": [1, 2, 3, 4]})
    assert frame.groupby("period")["v"].sum().to_dict() == {jp("1401-12"): 2, jp("1402-01"): 4, jp("1402-07"): 1}
    assert len(frame.merge(frame, on="period")) == 4
    assert (s == jp("1402-01")).tolist() == [False, False, False, True]
    assert [str(p) for p in (s.dropna() + 1)] == ["1402-08", "1402-01", "1402-02"]
    assert str(s.min()) == "1401-12" and str(s.max()) == "1402-07"
    assert s.array.asi8[0] == 1402 * 12 + 6
    assert pd.concat([s, s]).dtype == s.dtype
    assert pickle.loads(pickle.dumps(s)).equals(s)
    assert str(pd.Series(["1402-01", "1402-02"], dtype="jalali[M]").iloc[1]) == "1402-02"
    assert [str(p) for p in shift_months(s.dropna(), 12)] == ["1401-07", "1400-12", "1401-01"]
    days = to_period(pd.Series(pd.to_datetime(["2024-03-20"])), "D", calendar=J)  # 1 Farvardin 1403 (leap year)
    assert str(shift_months(days, 12).iloc[0]) == "1402-01-01"
    assert str(shift_months(to_period(pd.Series([ts("2025-03-20")]), "D", calendar=J), 12).iloc[0]) == "1402-12-29"


def test_calendar_names_and_text_guessing() -> None:
    assert calendar_name(None) == "gregorian" and calendar_name("") == "gregorian" and calendar_name("Jalali") == J
    with pytest.raises(ValueError, match="unknown calendar"):
        calendar_name("hijri")
    assert guess_calendar("1403-01") == "jalali" and guess_calendar("2024Q1") == "gregorian"


# ----------------------------------------------------------------------------- KPIs

DEALS = pd.DataFrame({
    "deal_id": list("iabcdefgh"),
    "created_at": ["2022-09-01"] + ["2023-03-01"] * 8,
    "closed_at": ["2022-09-23", "2023-03-20", "2023-03-21", "2023-04-20", "2023-04-21", "2023-09-22",
                  "2023-09-23", "2023-09-23", None],
    "status": ["won"] * 7 + ["lost", "open"],
    "amount": [50, 100, 200, 400, 800, 1600, 3200, 5000, 7000],
    "region": ["EMEA", "EMEA", "APAC", "EMEA", "APAC", "EMEA", "APAC", "EMEA", "APAC"],
})


def deals_ds(targets: pd.DataFrame | None = None, calendar: str = J) -> Dataset:
    tables = {"deals": to_canonical("deals", DEALS.copy())}
    if targets is not None:
        tables["targets"] = to_canonical("targets", targets)
    return Dataset(tables=tables, calendar=calendar)


def values(res: pd.DataFrame, kpi: str | None = None) -> dict[str, float]:
    rows = res if kpi is None else res[res["kpi"] == kpi]
    return {str(p): v for p, v in zip(rows["period"], rows["value"])}


def test_revenue_and_won_deals_by_jalali_month_across_nowruz_and_mehr() -> None:
    res = compute(deals_ds(), ["revenue", "won_deals"])
    assert isinstance(res["period"].dtype, JalaliDtype)
    rev = values(res, "revenue")
    assert list(rev) == [f"1401-{m:02d}" for m in range(6, 13)] + [f"1402-{m:02d}" for m in range(1, 8)]
    assert {k: v for k, v in rev.items() if v} == {"1401-07": 50, "1401-12": 100, "1402-01": 600, "1402-02": 800,
                                                   "1402-06": 1600, "1402-07": 3200}
    assert {k: v for k, v in values(res, "won_deals").items() if v} == {
        "1401-07": 1, "1401-12": 1, "1402-01": 2, "1402-02": 1, "1402-06": 1, "1402-07": 1}
    # the same data by Gregorian month, from the same dataset
    greg = values(compute(deals_ds(), "revenue", calendar="gregorian"))
    assert {k: v for k, v in greg.items() if v} == {"2022-09": 50, "2023-03": 300, "2023-04": 1200, "2023-09": 4800}
    assert sum(rev.values()) == sum(greg.values()) == 6350


def test_quarters_years_days_and_weeks() -> None:
    ds = deals_ds()
    assert {k: v for k, v in values(compute(ds, "revenue", freq="Q")).items() if v} == {
        "1401Q3": 50, "1401Q4": 100, "1402Q1": 1400, "1402Q2": 1600, "1402Q3": 3200}
    assert values(compute(ds, "revenue", freq="Y")) == {"1401": 150, "1402": 6200}
    daily = values(compute(ds, "revenue", freq="D"))
    assert daily["1401-12-29"] == 100 and daily["1402-01-01"] == 200 and daily["1402-06-31"] == 1600
    weekly = values(compute(ds, "revenue", freq="W"))
    # Saturday 18 - Friday 24 March 2023 holds a (Monday, the last day of 1401) and b (Tuesday, Nowruz): the
    # week holding 1 Farvardin is week 1 of the new year
    assert weekly["1402-W01"] == 300 and weekly["1401-W52"] == 0 and weekly["1402-W27"] == 1600
    # a fiscal year from 1 Mehr: fiscal 1402 = Mehr 1401 .. Shahrivar 1402, named by the year it ends in; the data
    # starts on 2022-09-01 = 10 Shahrivar 1401, in fiscal 1401
    assert values(compute(ds, "revenue", freq="Y", fiscal_year_start=7)) == {"1401": 0, "1402": 3150, "1403": 3200}


def test_period_selection_in_jalali_text() -> None:
    ds = deals_ds()
    assert values(compute(ds, "revenue", period="1402-07")) == {"1402-07": 3200}
    assert values(compute(ds, "revenue", period="1402-01:1402-02")) == {"1402-01": 600, "1402-02": 800}
    assert values(compute(ds, "revenue", period=["1401-12", "1402-06"])) == {"1401-12": 100, "1402-06": 1600}
    assert sum(values(compute(ds, "revenue", period="1402Q1")).values()) == 1400
    assert values(compute(ds, "revenue", freq="Q", period="1402-05")) == {"1402Q2": 1600}
    assert values(compute(ds, "revenue", period=jp("1402-02"))) == {"1402-02": 800}
    assert period_spans("1402", calendar=J) == [(ts("2023-03-21"), ts("2024-03-20") - pd.Timedelta(1, "ns"))]
    with pytest.raises(ValueError, match="1402-07"):
        compute(ds, "revenue", period="Mehr")


def test_snapshot_at_jalali_month_ends() -> None:
    pv = values(compute(deals_ds(), "pipeline_value", period="1401-12:1402-07"))
    assert pv == {"1401-12": 18200, "1402-01": 17600, "1402-02": 16800, "1402-03": 16800, "1402-04": 16800,
                  "1402-05": 16800, "1402-06": 15200, "1402-07": 7000}
    # Gregorian March ends on the 31st, after deals b (21st) and a (20th) closed
    assert values(compute(deals_ds(), "pipeline_value", period="2023-03", calendar="gregorian")) == {"2023-03": 18000}


def test_working_days_are_saturday_to_wednesday() -> None:
    from kpitools.kpis.activity import _working_days
    from kpitools.kpis.engine import grid

    months = grid(deals_ds(), "M")
    days = dict(zip(map(str, months), _working_days(deals_ds(), months)))
    # Farvardin 1402 = Tuesday 21 March - Thursday 20 April 2023: 4 whole weeks of 5 working days, then
    # Tuesday 18 and Wednesday 19 April (Thursday 20 April is off)
    assert days["1402-01"] == 22
    # Mehr 1402 holds only 23 September, the data's last day: a Saturday
    assert days["1402-07"] == 1


def test_by_region_and_the_calendar_keyword_overrides_the_dataset() -> None:
    res = compute(deals_ds(calendar="gregorian"), "revenue", by="region", period="1402-01", calendar="jalali")
    assert {r: v for r, v in zip(res["region"], res["value"])} == {"EMEA": 400, "APAC": 200}
    with pytest.raises(ValueError, match="unknown calendar"):
        compute(deals_ds(), "revenue", calendar="lunar")


def test_compare_previous_period_and_a_jalali_year_earlier() -> None:
    c = compare(deals_ds(), ["revenue", "win_rate"], period="1402-07")
    row = c.set_index("kpi").loc["revenue"]
    assert str(c["period"].iloc[0]) == "1402-07" and c.attrs["period"] == "1402-07"
    assert (row["value"], row["previous"], row["last_year"]) == (3200, 1600, 50)
    assert row["change"] == 1600 and row["yoy_change"] == 3150
    assert c.set_index("kpi").loc["win_rate", "value"] == 0.5  # f won, g lost on 1 Mehr
    q = compare(deals_ds(), "revenue", period="1402Q2").iloc[0]
    assert (q["value"], q["previous"], q["last_year"]) == (1600, 1400, 0)
    # default: the last complete period; the data ends on 1 Mehr 1402, so Shahrivar
    assert compare(deals_ds(), "revenue").attrs["period"] == "1402-06"
    assert compare(deals_ds(), "revenue", freq="Y").attrs["period"] == "1401"


# ----------------------------------------------------------------------------- targets

def test_gregorian_monthly_targets_spread_by_days_over_jalali_months() -> None:
    # 100 a day: March 3100, April 3000, May 3100; September 3000, October 3100
    targets = pd.DataFrame({"period": ["2023-03", "2023-04", "2023-05", "2023-09", "2023-10"],
                            "metric": "revenue", "value": [3100.0, 3000, 3100, 3000, 3100]})
    ds = deals_ds(targets)
    t, notes, reason = targets_for(ds, "revenue", "M")
    assert reason is None
    # Farvardin 1402 = 21 March - 20 April: 11 days of March + 20 of April; Ordibehesht = 21 April - 21 May
    # Mehr 1402 = 23 September - 22 October: 8 days of September + 22 of October
    assert {str(p): round(v, 6) for p, v in zip(t["period"], t["target"])} == {
        "1402-01": 3100, "1402-02": 3100, "1402-07": 3000}
    # partly covered: Esfand 1401 (20 Feb - 20 Mar) from 1 March, Khordad (22 May - 21 June) to 31 May,
    # Shahrivar (23 Aug - 22 Sep) from 1 September, Aban (23 Oct - 21 Nov) to 31 October
    assert {str(p): n for p, n in zip(notes["period"], notes["note"])} == {
        "1401-12": "the targets cover only 20 of the period's 29 days",
        "1402-03": "the targets cover only 10 of the period's 31 days",
        "1402-06": "the targets cover only 22 of the period's 31 days",
        "1402-08": "the targets cover only 9 of the period's 30 days"}
    att = values(compute(ds, "quota_attainment", period="1402-01:1402-07"))
    assert att["1402-01"] == pytest.approx(600 / 3100) and att["1402-07"] == pytest.approx(3200 / 3000)
    assert np.isnan(att["1402-03"])
    c = compare(ds, "revenue", period="1402-07").iloc[0]
    assert c["target"] == pytest.approx(3000) and c["status"] == "on track"
    # whole Jalali quarters: Q1 1402 (21 March - 21 June) needs June too
    tq, nq, _ = targets_for(ds, "revenue", "Q")
    assert tq.empty and "cover only" in nq["note"].iloc[0]


def test_jalali_target_texts() -> None:
    targets = pd.DataFrame({"period": ["1402-07", "1402-06", "1402"], "metric": "revenue",
                            "value": [4000.0, 3100, 99_000]})
    ds = deals_ds(targets[:2])
    assert compare(ds, "revenue", period="1402-07").iloc[0]["target"] == 4000
    assert values(compute(ds, "quota_attainment", period="1402-07")) == {"1402-07": 0.8}
    # a yearly Jalali target: monthly periods cannot split it, the year uses it
    yearly = deals_ds(targets[2:])
    assert values(compute(yearly, "quota_attainment", freq="Y", period="1402")) == {
        "1402": pytest.approx(6200 / 99_000)}
    # on a Gregorian report the Jalali months are spread by days: September 2023 = 22 days of Shahrivar 1402
    # (31 days, 3100) + 8 days of Mehr 1402 (30 days, 4000)
    greg = deals_ds(targets[:2], calendar="gregorian")
    t, _, _ = targets_for(greg, "revenue", "M")
    assert {str(p): v for p, v in zip(t["period"], t["target"])} == {"2023-09": pytest.approx(2200 + 8 / 30 * 4000)}


# ----------------------------------------------------------------------------- recurring revenue

RECURRING = Path(__file__).parents[1] / "fixtures" / "recurring" / "subscriptions.csv"


@pytest.fixture(scope="module")
def subs() -> Dataset:
    return Dataset(tables={"subscriptions": to_canonical("subscriptions", pd.read_csv(RECURRING))}, calendar=J)


def test_mrr_by_jalali_month(subs: Dataset) -> None:
    # tests/kpis/test_recurring.py works the fixture out by Gregorian month (MRR Jan 300, Feb 400, Mar 400,
    # Apr 380, May 400, Jun 260). A monthly row counts from its first day: 1 January 2024 is in Dey 1402,
    # 1 February in Bahman, 1 March in Esfand, 1 April in Farvardin 1403...
    m = values(compute(subs, "mrr"))
    assert m == {"1402-10": 300, "1402-11": 400, "1402-12": 400, "1403-01": 380, "1403-02": 400, "1403-03": 260}
    flows = compute(subs, ["new_mrr", "churned_mrr", "reactivation_mrr"])
    assert values(flows, "new_mrr") == {"1402-10": 300, "1402-11": 50, "1402-12": 80, "1403-01": 40, "1403-02": 0,
                                        "1403-03": 0}
    assert values(flows, "churned_mrr")["1403-03"] == 140 and values(flows, "reactivation_mrr")["1403-01"] == 60
    q = compute(subs, ["mrr", "new_mrr"], freq="Q")  # 1402Q4 = Dey..Esfand = January..March
    assert values(q, "mrr") == {"1402Q4": 400, "1403Q1": 260}
    assert values(q, "new_mrr") == {"1402Q4": 430, "1403Q1": 40}


@pytest.mark.parametrize("freq, by", [("M", []), ("M", ["region"]), ("M", ["plan"]), ("Q", ["region"]),
                                      ("W", []), ("D", ["plan"])])
def test_mrr_identity_by_jalali_period(subs: Dataset, freq: str, by: list[str]) -> None:
    keys = ["period", *by]

    def get(fn):
        return fn(subs, freq, by).set_index(keys)["value"]

    m = get(mrr)
    net = get(new_mrr) + get(expansion_mrr) + get(reactivation_mrr) - get(contraction_mrr) - get(churned_mrr)
    for _, series in (m.groupby(level=by, observed=True, dropna=False) if by else [((), m)]):
        prev = series.shift(1).fillna(0.0)
        known = series.notna().to_numpy()
        assert np.allclose((series - prev)[known], net.loc[series.index][known])
    assert np.allclose(get(net_new_mrr).dropna(), net.dropna())


# ----------------------------------------------------------------------------- the whole catalogue

@pytest.fixture(scope="module")
def sample() -> Dataset:
    return kpitools.sample(end="2026-10")  # November 2023 - October 2026, whatever the date


def test_every_kpi_runs_by_jalali_month_on_the_sample(sample: Dataset) -> None:
    greg = compute(sample)
    jal = compute(sample, calendar=J)
    assert jal.attrs["skipped"] == greg.attrs["skipped"]  # the same KPIs (none on the full sample)
    assert set(jal["kpi"]) == set(greg["kpi"])
    assert isinstance(jal["period"].dtype, JalaliDtype)
    first, last = sample.date_range
    grid = period_grid(first, last, "M", calendar=J)
    assert set(jal["period"].dropna().unique()) <= set(grid)
    # additive flow KPIs count every event once in either calendar: the totals agree (incremental sales and
    # the run-rate projection are derived from the periods themselves)
    derived = {"incremental_sales", "run_rate_projection"}
    flows = [k.id for k in REGISTRY.values()
             if k.kind == "flow" and k.additive and k.id in set(jal["kpi"]) and k.id not in derived]
    assert {"revenue", "won_deals", "opportunities_created", "new_mrr", "churned_mrr", "demos_booked"} <= set(flows)
    for kpi_id in flows:
        g = greg.loc[greg["kpi"] == kpi_id, "value"].sum()
        j = jal.loc[jal["kpi"] == kpi_id, "value"].sum()
        assert j == pytest.approx(g, rel=1e-9), kpi_id
    # Mehr 1405 holds 1 October 2026, Shahrivar 1 September: the same MRR as those subscription months
    g_mrr, j_mrr = values(greg, "mrr"), values(jal, "mrr")
    assert j_mrr["1405-07"] == g_mrr["2026-10"] and j_mrr["1405-06"] == g_mrr["2026-09"]


@pytest.mark.parametrize("freq", ["D", "W", "Q", "Y"])
def test_every_kpi_runs_at_every_jalali_frequency(sample: Dataset, freq: str) -> None:
    res = compute(sample, freq=freq, calendar=J)
    assert res.attrs["skipped"] == {} and res["period"].dtype == JalaliDtype(freq)


def test_compare_and_forecast_on_the_sample(sample: Dataset) -> None:
    c = compare(sample, calendar=J)
    # the sample ends 2026-10-31 = 9 Aban 1405: the last complete month is Mehr 1405
    assert c.attrs["period"] == "1405-07" and c.attrs["skipped"] == {}
    rev = c.set_index("kpi").loc["revenue"]
    assert rev["target"] > 0 and pd.notna(rev["status"])
    y = compute(sample, "revenue", calendar=J).set_index("period")["value"]
    fc = forecast(y, 12)
    assert [str(p) for p in fc.index[:2]] == ["1405-09", "1405-10"] and len(fc) == 12
    assert (fc["mean"] >= 0).all()


# ----------------------------------------------------------------------------- dataset.yml and the command line

def test_dataset_yml_calendar_and_the_cli(tmp_path: Path) -> None:
    DEALS.to_csv(tmp_path / "deals.csv", index=False)
    (tmp_path / "dataset.yml").write_text("name: demo\ncalendar: jalali\ntables:\n  deals: {path: deals.csv}\n")
    ds = kpitools.load(tmp_path / "dataset.yml")
    assert ds.calendar == "jalali"
    assert values(compute(ds, "revenue", period="1402-07")) == {"1402-07": 3200}

    from kpitools.cli import _expand_multi_value, app

    runner = CliRunner()
    out = runner.invoke(app, _expand_multi_value(["kpis", str(tmp_path), "--kpi", "revenue", "--period", "last",
                                                  "--format", "csv"]))
    assert out.exit_code == 0, out.output
    assert pd.read_csv(io.StringIO(out.stdout)).to_dict("records") == [
        {"period": "1402-06", "kpi": "revenue", "value": 1600.0}]
    out = runner.invoke(app, ["kpis", str(tmp_path), "--kpi", "revenue", "--calendar", "gregorian",
                              "--period", "2023-09", "--format", "json"])
    assert json.loads(out.stdout) == [{"period": "2023-09", "kpi": "revenue", "value": 4800.0}]
    bad = runner.invoke(app, ["kpis", str(tmp_path), "--calendar", "lunar"])
    assert bad.exit_code == 2 and "unknown calendar" in bad.output and "Traceback" not in bad.output

    (tmp_path / "dataset.yml").write_text("name: demo\ncalendar: lunar\ntables:\n  deals: {path: deals.csv}\n")
    with pytest.raises(DataError, match="line 2: calendar") as e:
        kpitools.load(tmp_path / "dataset.yml")
    assert "jalali" in e.value.problems[0].hint


def test_gregorian_periods_are_unchanged() -> None:
    res = compute(deals_ds(calendar="gregorian"), "revenue", period="2023-09")
    assert isinstance(res["period"].dtype, pd.PeriodDtype) and res["period"].iloc[0] == pd.Period("2023-09", "M")
    assert isinstance(period_grid(ts("2023-01-01"), ts("2023-03-01")), pd.PeriodIndex)
    assert deals_ds(calendar="gregorian").calendar == "gregorian" and Dataset(tables={}).calendar == "gregorian"
