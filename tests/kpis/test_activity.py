"""Family E (Activity): every KPI against numbers worked out by hand.

Fixture tests/fixtures/activity/ (22 activities, 2 deals), January to March 2024:
- February is empty: no activity at all (zero denominators, empty period);
- rep dan has a deal created in February and no activity ever (a rep with no activity);
- a06 / a12 have no direction (= outbound), a22 has no direction but a response time (= inbound);
- a07 is an inbound call (not in call rates); a08 is marked qualified and converted but not
  reached (the nested funnel ignores it); a21 has no region (its own group);
- a20 is an inbound e-mail never answered (no response time).
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
from kpitools.kpis.activity import (
    activities_per_rep,
    activity_count,
    activity_rate,
    call_conversion_rate,
    call_qualification_rate,
    call_reach_rate,
    demos_booked,
    email_open_rate,
    email_reply_rate,
    email_response_minutes,
    outbound_calls,
    outbound_emails,
)
from kpitools.kpis.activity import flag as marked

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activity"
BOOLS = ["reached", "qualified", "converted", "opened"]
JAN, FEB, MAR = (pd.Period(m, "M") for m in ("2024-01", "2024-02", "2024-03"))


def read(name: str) -> pd.DataFrame:
    df = pd.read_csv(FIXTURES / f"{name}.csv", dtype=str, keep_default_na=False)
    df = df.replace({"": None})
    for c in BOOLS:
        if c in df:
            df[c] = df[c].map({"true": True, "false": False}).astype("boolean")
    if "response_minutes" in df:
        df["response_minutes"] = df["response_minutes"].astype("float64")
    if "amount" in df:
        df["amount"] = df["amount"].astype("float64")
    return to_canonical(name, df)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(tables={"activities": read("activities"), "deals": read("deals")})


def at(df: pd.DataFrame, period: pd.Period, **by: str | None) -> pd.Series:
    """The single row for a period (and group; None selects the missing group)."""
    mask = df["period"] == period
    for col, val in by.items():
        mask &= df[col].isna() if val is None else df[col].eq(val).fillna(False)
    rows = df[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def check_shape(df: pd.DataFrame, by: list[str] = ()) -> None:
    assert list(df.columns) == ["period", *by, "value", "note"]
    assert not np.isinf(df["value"]).any()
    # NaN always has a reason, a number never has one
    assert df.loc[df["value"].isna(), "note"].notna().all()
    assert df.loc[df["value"].notna(), "note"].isna().all()


def test_registered_metadata():
    ids = ["activities_per_rep", "call_reach_rate", "call_qualification_rate", "call_conversion_rate",
           "email_open_rate", "email_reply_rate", "email_response_minutes", "demos_booked"]
    for i in ids:
        assert REGISTRY[i].family == "activity"
        assert REGISTRY[i].needs[0] == "activities"
    assert REGISTRY["call_reach_rate"].benchmark.low == 0.30
    assert REGISTRY["call_qualification_rate"].benchmark.low == 0.50
    assert REGISTRY["call_conversion_rate"].benchmark.low == 0.50
    assert REGISTRY["email_reply_rate"].benchmark.low == 0.30
    assert REGISTRY["email_response_minutes"].benchmark.high == 60
    assert REGISTRY["email_response_minutes"].direction == "lower"
    assert REGISTRY["demos_booked"].additive
    assert REGISTRY["activities_per_rep"].options["per"].default == "period"
    assert REGISTRY["activities_per_rep"].options["type"].default is None
    assert "30/50/50" in call_reach_rate.__doc__ and "30/30/50" in email_reply_rate.__doc__


# ---------------------------------------------------------------- call funnel
def test_call_reach_rate(ds):
    df = call_reach_rate(ds)
    check_shape(df)
    assert list(df["period"]) == [JAN, FEB, MAR]
    # Jan outbound calls a01-a06 (a06: no direction = outbound) + a08 = 7; a07 is inbound.
    # Reached: a01, a02, a03 (a06's empty flag = not reached) -> 3 / 7
    assert at(df, JAN).value == pytest.approx(3 / 7)
    # Feb: no calls -> NaN with a reason, not 0
    assert math.isnan(at(df, FEB).value) and at(df, FEB).note == "no outbound calls in the period"
    assert at(df, MAR).value == 1.0  # a19 reached: 1 / 1


def test_call_reach_rate_by_region(ds):
    df = call_reach_rate(ds, by=["region"])
    check_shape(df, ["region"])
    assert at(df, JAN, region="EU").value == 0.5  # a01-a06: 3 reached / 6
    assert at(df, JAN, region="US").value == 0.0  # a08 not reached: 0 / 1 (a real 0, not missing)
    assert math.isnan(at(df, MAR, region="US").value)  # only an e-mail in US in March
    assert math.isnan(at(df, MAR, region=None).value)  # a21 (no region) is a meeting


def test_call_qualification_rate(ds):
    df = call_qualification_rate(ds)
    check_shape(df)
    # Jan reached outbound calls a01, a02, a03; qualified a01, a02 -> 2 / 3.
    # a08 is qualified but not reached: outside the funnel (else 3 / 3).
    assert at(df, JAN).value == pytest.approx(2 / 3)
    assert at(df, FEB).note == "no reached calls in the period"
    assert at(df, MAR).value == 1.0


def test_call_conversion_rate(ds):
    df = call_conversion_rate(ds)
    check_shape(df)
    # Jan qualified (and reached) outbound calls a01, a02; converted a01 -> 1 / 2.
    # a07 (inbound) and a08 (not reached) also say converted but do not count.
    assert at(df, JAN).value == 0.5
    assert at(df, FEB).note == "no qualified calls in the period"
    assert at(df, MAR).value == 1.0


# ---------------------------------------------------------------- e-mail
def test_email_open_and_reply_rates(ds):
    opened, replied = email_open_rate(ds), email_reply_rate(ds)
    check_shape(opened)
    check_shape(replied)
    # Jan outbound e-mails a09, a10, a11, a12 (no direction, no response time = outbound) = 4
    # opened a09, a10 -> 2 / 4; replied (reached) a09 -> 1 / 4
    assert at(opened, JAN).value == 0.5
    assert at(replied, JAN).value == 0.25
    # March: a20 is inbound, a22 has no direction but a response time (= inbound): no outbound e-mail
    for df in (opened, replied):
        assert math.isnan(at(df, MAR).value)
        assert at(df, MAR).note == "no outbound e-mails sent in the period"
        assert math.isnan(at(df, FEB).value)


def test_email_rates_by_region(ds):
    df = email_open_rate(ds, by=["region"])
    check_shape(df, ["region"])
    assert at(df, JAN, region="EU").value == 0.5  # a09, a10 opened of a09-a12
    assert math.isnan(at(df, JAN, region="US").value)  # US e-mails in Jan are all inbound


def test_email_response_minutes(ds):
    df = email_response_minutes(ds)
    check_shape(df)
    # Jan answered inbound e-mails: a13 30, a14 90, a15 120 -> mean 240 / 3 = 80
    assert at(df, JAN).value == 80.0
    assert at(df, FEB).note == "no answered inbound e-mails in the period"
    # March: a20 never answered (left out), a22 (no direction, 10 minutes) -> 10
    assert at(df, MAR).value == 10.0
    med = email_response_minutes(ds, statistic="median")
    assert at(med, JAN).value == 90.0  # median of 30, 90, 120
    by = email_response_minutes(ds, by=["region"])
    assert at(by, JAN, region="EU").value == 120.0  # a15
    assert at(by, JAN, region="US").value == 60.0  # (30 + 90) / 2
    with pytest.raises(ValueError):
        email_response_minutes(ds, statistic="mode")


# ---------------------------------------------------------------- counts
def test_demos_booked(ds):
    df = demos_booked(ds)
    check_shape(df)
    # Jan: a16 meeting, a17 demo, a18 demo = 3; Feb: 0 (a count of an empty period is 0); Mar: a21 = 1
    assert list(df["value"]) == [3.0, 0.0, 1.0]
    by = demos_booked(ds, by=["region"])
    check_shape(by, ["region"])
    assert at(by, JAN, region="EU").value == 2.0  # a16, a18
    assert at(by, JAN, region="US").value == 1.0  # a17
    assert at(by, MAR, region=None).value == 1.0  # a21 has no region: kept as its own group
    # additive: the groups add up to the total in every period
    sums = by.groupby("period")["value"].sum()
    assert list(sums) == list(df["value"])
    q = demos_booked(ds, freq="Q")
    assert list(q["value"]) == [4.0]


def test_activities_per_rep(ds):
    df = activities_per_rep(ds)
    check_shape(df)
    # Jan: 18 activities (a01-a18); active reps ann, bob, cy (dan's first deal is in Feb) -> 18 / 3 = 6
    assert at(df, JAN).value == 6.0
    # Feb: no activity, but dan is active (deal d1 created 12 Feb) and counts with zero -> 0 / 1 = 0
    assert at(df, FEB).value == 0.0 and pd.isna(at(df, FEB).note)
    # Mar: a19-a22 = 4; active ann (a19, a20, d2 closed) and cy (a21, a22) -> 4 / 2 = 2
    assert at(df, MAR).value == 2.0


def test_activities_per_rep_options(ds):
    calls = activities_per_rep(ds, type="call")
    # Jan calls a01-a08 = 8 / 3 reps; Feb 0 / 1; Mar a19 = 1 / 2 reps
    assert list(calls["value"]) == pytest.approx([8 / 3, 0.0, 0.5])
    day = activities_per_rep(ds, per="day")
    check_shape(day)
    # Working days, clipped to the data (2 Jan to 20 Mar 2024):
    # Jan 2-31: 23 weekdays in January minus Monday 1 Jan = 22 -> 6 / 22
    # Feb: 29 days from Thursday 1 Feb = 20 + Thu 29 Feb = 21 -> 0 / 21
    # Mar 1-20: Fri 1 + 5 + 5 + Mon-Wed 18-20 = 14 -> 2 / 14
    assert list(day["value"]) == pytest.approx([6 / 22, 0.0, 2 / 14])
    week = activities_per_rep(ds, per="week")
    assert list(week["value"]) == pytest.approx([6 / (22 / 5), 0.0, 2 / (14 / 5)])
    with pytest.raises(ValueError):
        activities_per_rep(ds, per="month")
    with pytest.raises(ValueError):
        activities_per_rep(ds, type="fax")


def test_activities_per_rep_by_region(ds):
    df = activities_per_rep(ds, by=["region"])
    check_shape(df, ["region"])
    # Jan EU: ann 8 (a01-a04, a09, a10, a15, a16) + bob 5 (a05, a06, a11, a12, a18) = 13 / 2 reps
    assert at(df, JAN, region="EU").value == 6.5
    assert at(df, JAN, region="US").value == 5.0  # cy: a07, a08, a13, a14, a17 / 1
    assert at(df, FEB, region="EU").value == 0.0  # dan (deal in EU), no activity: 0 / 1
    assert math.isnan(at(df, FEB, region="US").value)  # nobody active: 0 / 0
    assert at(df, FEB, region="US").note == "no active reps in the period"
    assert at(df, MAR, region="EU").value == 2.0  # a19, a20 / ann
    assert at(df, MAR, region=None).value == 1.0  # a21 (cy, no region) / cy


def test_activities_per_rep_fiscal_quarters():
    acts = read("activities")
    deals = read("deals")
    cal = activities_per_rep(Dataset(tables={"activities": acts, "deals": deals}), freq="Q")
    # calendar Q1 2024: 22 activities / 4 active reps (ann, bob, cy, dan)
    assert list(cal["value"]) == [5.5]
    fiscal = activities_per_rep(Dataset(tables={"activities": acts, "deals": deals}, fiscal_year_start=2), freq="Q")
    # Fiscal year from February: Nov-Jan and Feb-Apr quarters.
    # Nov-Jan: 18 activities / 3 reps = 6; Feb-Apr: 4 activities / dan, ann, cy = 4 / 3
    assert list(fiscal["period"]) == [pd.Period("2024-01", "Q-JAN"), pd.Period("2024-02", "Q-JAN")]
    assert list(fiscal["value"]) == pytest.approx([6.0, 4 / 3])


def test_without_optional_columns():
    """No direction column: everything is outbound; flags missing from a row count as False."""
    acts = pd.DataFrame({
        "activity_id": ["1", "2", "3"], "at": pd.to_datetime(["2024-05-02", "2024-05-03", "2024-05-06"]),
        "rep": ["ann", "ann", "bob"], "type": ["call", "call", "email"],
        "reached": pd.array([True, None, None], dtype="boolean"),
    })
    ds = Dataset(tables={"activities": to_canonical("activities", acts)})
    assert list(call_reach_rate(ds)["value"]) == [0.5]  # 1 reached of 2 calls
    assert list(email_reply_rate(ds)["value"]) == [0.0]  # 0 of 1 e-mail
    assert list(activities_per_rep(ds)["value"]) == [1.5]  # 3 activities / ann, bob


def test_call_conversion_rate_nests_only_when_reached_has_a_value():
    """Without a reached column, or with one never filled, qualified calls count as they are."""
    def conversion(reached: list[bool | None] | None) -> list[float]:
        acts = pd.DataFrame({
            "activity_id": ["1", "2", "3"], "at": pd.to_datetime(["2024-05-02", "2024-05-03", "2024-05-06"]),
            "rep": ["ann", "ann", "bob"], "type": ["call", "call", "call"],
            "qualified": pd.array([True, True, False], dtype="boolean"),
            "converted": pd.array([True, False, True], dtype="boolean"),
        })
        if reached is not None:
            acts["reached"] = pd.array(reached, dtype="boolean")
        ds = Dataset(tables={"activities": to_canonical("activities", acts)})
        return list(call_conversion_rate(ds)["value"])

    assert conversion(None) == [0.5]  # qualified 1, 2; converted 1
    assert conversion([None, None, None]) == [0.5]  # never filled: as if absent
    assert conversion([True, None, None]) == [1.0]  # nested: only 1 is reached and qualified


# ---------------------------------------------------------------- declaration shapes
def test_activity_rate_declares_a_rate_of_two_counts(ds, declared):
    fn = activity_rate("t_call_to_conversion", name="T", unit="ratio", direction="higher",
                       needs=["activities", "activities.converted"], numerator=marked("converted"),
                       denominator=outbound_calls, reason="no outbound calls in the period",
                       doc="Outbound calls marked converted / outbound calls, calls made in the period.")
    df = fn(ds)
    check_shape(df)
    # Jan outbound calls a01-a06, a08 (7); converted a01, a08 (a07 is inbound) -> 2 / 7
    assert at(df, JAN).value == pytest.approx(2 / 7)
    assert at(df, FEB).note == "no outbound calls in the period"
    assert at(df, MAR).value == 1.0  # a19
    by = fn(ds, by=["region"])
    assert at(by, JAN, region="EU").value == pytest.approx(1 / 6)  # a01 of a01-a06
    assert at(by, JAN, region="US").value == 1.0  # a08
    k = REGISTRY["t_call_to_conversion"]
    assert (k.family, k.needs, k.additive, k.formula, fn.declared) == (
        "activity", ("activities", "activities.converted"), False,
        "Outbound calls marked converted / outbound calls, calls made in the period.", "activity_rate")
    with pytest.raises(TypeError, match="unexpected option 'type'"):
        fn(ds, type="call")


def test_activity_count_declares_a_count(ds, declared):
    fn = activity_count("t_emails_sent", name="T", unit="count", direction="higher", where=outbound_emails,
                        doc="Outbound e-mails sent in the period.")
    # Jan a09-a12 (a12: no direction, no response time = outbound); March a20, a22 are inbound
    assert list(fn(ds)["value"]) == [4.0, 0.0, 0.0]
    by = fn(ds, by=["region"])
    assert at(by, JAN, region="EU").value == 4.0 and at(by, JAN, region="US").value == 0.0
    assert list(fn(ds, freq="Q")["value"]) == [4.0]
    k = REGISTRY["t_emails_sent"]
    assert k.additive and k.needs == ("activities",) and fn.declared == "activity_count"


# ---------------------------------------------------------------- invariants
REPS = ["ann", "bob", "cy"]
REGIONS = ["EU", "US", None]
flag = st.sampled_from([True, False, None])
activity = st.fixed_dictionaries({
    "day": st.integers(0, 120), "rep": st.sampled_from(REPS), "region": st.sampled_from(REGIONS),
    "type": st.sampled_from(["call", "email", "meeting", "demo"]),
    "direction": st.sampled_from(["outbound", "inbound", None]),
    "reached": flag, "qualified": flag, "converted": flag, "opened": flag,
    "response_minutes": st.one_of(st.none(), st.floats(0, 500)),
})


def random_dataset(rows: list[dict]) -> Dataset:
    df = pd.DataFrame(rows)
    df["activity_id"] = [str(i) for i in range(len(df))]
    df["at"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    for c in BOOLS:
        df[c] = df[c].astype("boolean")
    df["response_minutes"] = df["response_minutes"].astype("float64")
    return Dataset(tables={"activities": to_canonical("activities", df)})


RATES = [call_reach_rate, call_qualification_rate, call_conversion_rate, email_open_rate, email_reply_rate]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activity, min_size=1, max_size=40), st.sampled_from(RATES), st.sampled_from([[], ["region"]]),
       st.sampled_from(["W", "M", "Q"]))
def test_rates_within_0_1(rows, fn, by, freq):
    df = fn(random_dataset(rows), freq=freq, by=by)
    check_shape(df, by)
    v = df["value"].dropna()
    assert ((v >= 0) & (v <= 1)).all(), fn.__name__


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activity, min_size=1, max_size=40), st.sampled_from(["D", "W", "M", "Q", "Y"]))
def test_demos_booked_by_region_sums_to_total(rows, freq):
    ds = random_dataset(rows)
    total = demos_booked(ds, freq=freq).set_index("period")["value"]
    by = demos_booked(ds, freq=freq, by=["region"]).groupby("period")["value"].sum()
    pd.testing.assert_series_equal(by, total, check_names=False)
    expected = sum(r["type"] in ("meeting", "demo") for r in rows)
    assert total.sum() == expected
