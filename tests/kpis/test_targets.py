"""Family B (targets), every number worked out by hand.

Deals: tests/fixtures/growth/deals.csv — revenue Jan 4000 (EMEA 1000 ann, AMER 3000 bob), Feb 6000,
Mar 0, Apr 6000; last date of the data 2024-04-15.
Targets: tests/fixtures/targets/targets.csv — company Jan 5000, Feb 5000, 2024Q2 20000, 2024 40000;
region Jan EMEA 1000, AMER 4000; rep Jan ann 2000 (region filled), bob 2000; won_deals Jan 3.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY
from kpitools.kpis.compute import compute
from kpitools.kpis.targets import (
    leads_needed,
    quota_attainment,
    run_rate_projection,
    target_gap,
    targets_for,
)


def _read(request, family: str, name: str) -> pd.DataFrame:
    path = request.config.rootpath / "tests" / "fixtures" / family / f"{name}.csv"
    return to_canonical(name, pd.read_csv(path, dtype={"period": str}))


@pytest.fixture(scope="module")
def ds(request) -> Dataset:
    return Dataset(tables={"deals": _read(request, "growth", "deals"), "targets": _read(request, "targets", "targets"),
                           "leads": _read(request, "targets", "leads")})


def at(frame, period, **where):
    rows = frame[frame["period"].astype(str) == period]
    for c, v in where.items():
        rows = rows[rows[c].astype(object) == v]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def val(frame, period, **where) -> float:
    return float(at(frame, period, **where)["value"])


def note(frame, period, **where) -> str:
    return str(at(frame, period, **where)["note"])


def test_registered_in_targets_family():
    for i in ("quota_attainment", "target_gap", "run_rate_projection", "leads_needed"):
        assert REGISTRY[i].family == "targets"


def test_as_of(ds):
    assert ds.as_of == pd.Timestamp("2024-04-15")


def test_quota_attainment_company_monthly(ds):
    q = quota_attainment(ds)
    assert val(q, "2024-01") == pytest.approx(0.8)  # 4000 / 5000
    assert val(q, "2024-02") == pytest.approx(1.2)  # 6000 / 5000
    # March: only the yearly target covers it and it cannot be split into months
    assert math.isnan(val(q, "2024-03"))
    assert note(q, "2024-03") == "yearly targets cannot be split into months"
    # April: the quarterly target is the finest that covers it
    assert note(q, "2024-04") == "quarterly targets cannot be split into months"


def test_quota_attainment_quarterly_and_yearly(ds):
    q = quota_attainment(ds, freq="Q")
    assert val(q, "2024Q1") == pytest.approx(1.0)  # (4000 + 6000 + 0) / (5000 + 5000): monthly targets add up
    assert val(q, "2024Q2") == pytest.approx(0.3)  # 6000 / 20000
    y = quota_attainment(ds, freq="Y")
    # the yearly target is used alone, not added to the monthly/quarterly ones inside it: 16000 / 40000
    assert val(y, "2024") == pytest.approx(0.4)


def test_quota_attainment_levels(ds):
    r = quota_attainment(ds, by=["region"])
    assert val(r, "2024-01", region="EMEA") == pytest.approx(1.0)  # 1000 / 1000
    assert val(r, "2024-01", region="AMER") == pytest.approx(0.75)  # 3000 / 4000
    assert math.isnan(val(r, "2024-02", region="EMEA"))
    assert note(r, "2024-02", region="EMEA") == "no revenue target for this period"
    p = quota_attainment(ds, by=["rep"])
    assert val(p, "2024-01", rep="ann") == pytest.approx(0.5)  # 1000 / 2000
    assert val(p, "2024-01", rep="bob") == pytest.approx(1.5)  # 3000 / 2000
    assert math.isnan(val(p, "2024-01", rep="cy"))  # no target
    nope = quota_attainment(ds, by=["product"])
    assert nope["value"].isna().all() and set(nope["note"]) == {"targets have no product level"}


def test_quota_attainment_mean_of_reps(ds):
    # mean(0.5, 1.5) = 1.0, against the pooled (1000 + 3000) / (2000 + 2000) = 1.0 for these two reps
    m = quota_attainment(ds, pooling="mean_of_reps")
    assert val(m, "2024-01") == pytest.approx(1.0)
    assert math.isnan(val(m, "2024-02")) and "no rep revenue targets" in note(m, "2024-02")
    # bob's target row has no region: by region only ann's (EMEA) counts
    mr = quota_attainment(ds, by=["region"], pooling="mean_of_reps")
    assert val(mr, "2024-01", region="EMEA") == pytest.approx(0.5)
    assert math.isnan(val(mr, "2024-01", region="AMER"))


def test_quota_attainment_unequal_reps_pooled_vs_mean():
    deals = pd.DataFrame({"deal_id": ["a", "b"], "created_at": ["2024-01-02"] * 2, "closed_at": ["2024-01-05"] * 2,
                          "status": ["won", "won"], "amount": [900.0, 100.0], "rep": ["big", "small"]})
    targets = pd.DataFrame({"period": ["2024-01", "2024-01"], "metric": ["revenue"] * 2, "value": [1000.0, 100.0],
                            "rep": ["big", "small"]})
    d = Dataset(tables={"deals": to_canonical("deals", deals), "targets": to_canonical("targets", targets)})
    # pooled: (900 + 100) / (1000 + 100) = 0.909; mean of reps: (0.9 + 1.0) / 2 = 0.95
    pooled_rep = quota_attainment(d, by=["rep"])
    assert val(pooled_rep, "2024-01", rep="big") == pytest.approx(0.9)
    assert val(quota_attainment(d, pooling="mean_of_reps"), "2024-01") == pytest.approx(0.95)
    # no company target: pooled company attainment says so
    assert note(quota_attainment(d), "2024-01") == "no company revenue targets"


def test_quota_attainment_ytd(ds):
    q = quota_attainment(ds, freq="Q", ytd=True)
    assert val(q, "2024Q1") == pytest.approx(1.0)  # 10000 / 10000
    assert val(q, "2024Q2") == pytest.approx(16000 / 30000)  # (10000 + 6000) / (10000 + 20000)
    m = quota_attainment(ds, ytd=True)
    assert val(m, "2024-01") == pytest.approx(0.8)  # 4000 / 5000
    assert val(m, "2024-02") == pytest.approx(1.0)  # 10000 / 10000
    # from March the year-to-date target is unknown (the yearly target cannot be split)
    assert math.isnan(val(m, "2024-03")) and "cannot be split" in note(m, "2024-03")


def test_quota_attainment_fiscal_year():
    # fiscal year from April: fiscal 2025 = Apr 2024 - Mar 2025, "2025Q1" = Apr-Jun 2024
    deals = pd.DataFrame({"deal_id": ["a", "b"], "created_at": ["2024-03-30", "2024-04-02"],
                          "closed_at": ["2024-03-30", "2024-04-02"], "status": ["won", "won"],
                          "amount": [100.0, 300.0]})
    targets = pd.DataFrame({"period": ["2025Q1", "2024-04", "2025"], "metric": ["revenue"] * 3,
                            "value": [600.0, 300.0, 1000.0]})
    d = Dataset(tables={"deals": to_canonical("deals", deals), "targets": to_canonical("targets", targets)},
                fiscal_year_start=4)
    q = quota_attainment(d, freq="Q")
    assert val(q, "2025Q1") == pytest.approx(0.5)  # 300 / 600 (the quarterly target beats the monthly one)
    assert math.isnan(val(q, "2024Q4"))  # Jan-Mar 2024 has no target
    assert val(quota_attainment(d, freq="Y"), "2025") == pytest.approx(0.3)  # 300 / 1000
    assert val(quota_attainment(d, freq="M"), "2024-04") == pytest.approx(1.0)


def test_quota_attainment_other_metric(ds):
    w = quota_attainment(ds, metric="won_deals")
    assert val(w, "2024-01") == pytest.approx(2 / 3)  # 2 won / target 3
    with pytest.raises(ValueError, match="unknown metric"):
        quota_attainment(ds, metric="nope")


def test_quota_attainment_filtered_dataset_uses_region_target(ds):
    # after filtering to EMEA every target row left names EMEA: its region target is the "company" one
    emea = ds.filter(region="EMEA")
    assert val(quota_attainment(emea), "2024-01") == pytest.approx(1.0)  # 1000 / 1000
    assert val(quota_attainment(emea, by=["rep"]), "2024-01", rep="ann") == pytest.approx(0.5)


def test_target_gap(ds):
    g = target_gap(ds)
    assert val(g, "2024-01") == 1000  # 5000 - 4000
    assert val(g, "2024-02") == -1000  # 5000 - 6000: ahead of target
    assert math.isnan(val(g, "2024-03"))
    assert val(target_gap(ds, freq="Q"), "2024Q2") == 14000  # 20000 - 6000
    assert val(target_gap(ds, by=["region"]), "2024-01", region="AMER") == 1000  # 4000 - 3000


def test_run_rate_projection(ds):
    r = run_rate_projection(ds)
    # complete months project to their actual
    assert [val(r, p) for p in ("2024-01", "2024-02", "2024-03")] == [4000, 6000, 0]
    # April, as of 2024-04-15: 15 of 30 days elapsed -> 6000 / 0.5
    assert val(r, "2024-04") == pytest.approx(12000)
    # 2024Q2: 15 of 91 days -> 6000 * 91 / 15; 2024: 106 of 366 days -> 16000 * 366 / 106
    assert val(run_rate_projection(ds, freq="Q"), "2024Q2") == pytest.approx(6000 * 91 / 15)
    assert val(run_rate_projection(ds, freq="Y"), "2024") == pytest.approx(16000 * 366 / 106)
    by = run_rate_projection(ds, by=["region"])
    assert val(by, "2024-04", region="EMEA") == pytest.approx(12000)
    assert val(by, "2024-04", region="AMER") == 0
    with pytest.raises(ValueError, match="additive"):
        run_rate_projection(ds, metric="avg_purchase_value")


def test_leads_needed(ds):
    n = leads_needed(ds)
    # Jan: trailing 12 months to 2024-01-31: revenue 4000 / 2 won = 2000 per sale; 1 of 4 leads converted
    # -> 5000 / 2000 / 0.25 = 10 leads
    assert val(n, "2024-01") == pytest.approx(10)
    # Feb: 10000 / 4 = 2500 per sale; 2 converted / 5 created = 0.4 -> 5000 / 2500 / 0.4 = 5 leads
    assert val(n, "2024-02") == pytest.approx(5)
    assert math.isnan(val(n, "2024-03")) and "cannot be split" in note(n, "2024-03")
    # Q2 2024: window to the last date (2024-04-15): revenue 16000 / 5 won = 3200; 2 / 5 converted
    # -> 20000 / 3200 / 0.4 = 15.625
    assert val(leads_needed(ds, freq="Q"), "2024Q2") == pytest.approx(15.625)


def test_leads_needed_without_conversions():
    deals = pd.DataFrame({"deal_id": ["a"], "created_at": ["2024-01-02"], "closed_at": ["2024-01-05"],
                          "status": ["won"], "amount": [100.0]})
    leads = pd.DataFrame({"lead_id": ["l1"], "created_at": ["2024-01-01"], "converted_at": [pd.NaT]})
    targets = pd.DataFrame({"period": ["2024-01"], "metric": ["revenue"], "value": [1000.0]})
    d = Dataset(tables={"deals": to_canonical("deals", deals), "leads": to_canonical("leads", leads),
                        "targets": to_canonical("targets", targets)})
    n = leads_needed(d)
    assert math.isnan(val(n, "2024-01"))
    assert note(n, "2024-01") == "no leads converted in the trailing 12 months"


def test_targets_for_notes_and_levels(ds):
    t, notes, reason = targets_for(ds, "revenue", "M", [])
    assert reason is None
    assert dict(zip(t["period"].astype(str), t["target"])) == {"2024-01": 5000, "2024-02": 5000}
    # the yearly target overlaps all 12 months; months with a monthly target carry no note
    assert set(notes["period"].astype(str)) == {f"2024-{m:02d}" for m in range(3, 13)}
    _, _, reason = targets_for(ds, "revenue", "M", ["team"])
    assert reason == "no team-level revenue targets"


def test_compute_targets_by_region_without_leads_region(ds):
    # deals (the grouped table) have regions; the leads of this fixture do not, so the conversion rate
    # cannot be split by region: NaN with the reason, never a number made from the wrong leads
    res = compute(ds, ["quota_attainment", "leads_needed"], by="region")
    assert res.attrs["skipped"] == {}
    needed = res[res.kpi == "leads_needed"]
    assert needed["value"].isna().all()
    notes = res.attrs["notes"]
    assert set(notes.loc[notes.kpi == "leads_needed", "note"]) == {"leads have no region column"}


def test_bad_target_period_is_reported(ds):
    bad = ds.tables["targets"].copy()
    bad["period"] = bad["period"].astype("string")
    bad.loc[0, "period"] = "January"
    d = Dataset(tables={**ds.tables, "targets": bad})
    res = compute(d, "quota_attainment")
    assert res.attrs["skipped"]["quota_attainment"].startswith("failed: targets.period: cannot read period")
    assert not np.isinf(compute(ds, "quota_attainment")["value"]).any()


def test_trailing_window_sums_dense_and_sparse_agree(monkeypatch):
    import kpitools.kpis.targets as targets

    rng = np.random.default_rng(1)
    n = 500
    day = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 800, n), "D")
    deals = pd.DataFrame({"deal_id": np.arange(n).astype(str), "created_at": day, "closed_at": day, "status": "won",
                          "amount": rng.random(n) * 100, "region": rng.choice(["a", "b", None], n)})
    d = Dataset(tables={"deals": to_canonical("deals", deals)})
    dd, periods = d.deals, targets.grid(d, "M")
    dense = targets._trailing(periods, ["region"], dd, dd, "closed_at", dd["amount"], 12, None)
    monkeypatch.setattr(targets, "_DENSE_CELLS", 0)
    sparse = targets._trailing(periods, ["region"], dd, dd, "closed_at", dd["amount"], 12, None)
    assert np.allclose(dense["value"], sparse["value"])
    # brute force for one cell: amounts closed in (end - 12 months, end]
    p = periods[20]
    end = p.end_time.normalize()
    inside = (dd["closed_at"] > end - pd.DateOffset(months=12)) & (dd["closed_at"] <= end) & dd["region"].eq("a")
    cell = dense[(dense["period"] == p) & (dense["region"] == "a")]["value"].iloc[0]
    assert cell == pytest.approx(dd.loc[inside, "amount"].sum())
