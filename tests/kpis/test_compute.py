"""compute(): KPI selection, skipping, options, filters, groupings, and the catalogue / text output.

Deals: tests/fixtures/growth/deals.csv — revenue Jan 4000 (EMEA/A 1000, AMER/B 3000), Feb 6000
(EMEA/B 2000, AMER/A 4000), Mar 0, Apr 6000 (EMEA/A).
"""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.kpis import REGISTRY
from kpitools.kpis.compute import compute
from kpitools.kpis.output import catalogue_frame, format_frame
from kpitools.kpis.registry import KPI


def _read(request, family: str, name: str) -> pd.DataFrame:
    path = request.config.rootpath / "tests" / "fixtures" / family / f"{name}.csv"
    return to_canonical(name, pd.read_csv(path, dtype={"period": str}))


@pytest.fixture(scope="module")
def ds(request) -> Dataset:
    return Dataset(tables={"deals": _read(request, "growth", "deals")})


@pytest.fixture(scope="module")
def full(request) -> Dataset:
    acts = pd.DataFrame({"activity_id": ["a1", "a2", "a3", "a4"],
                         "at": ["2024-01-15 10:00", "2024-02-02 11:00", "2024-03-02 09:30", "2024-04-03 16:00"],
                         "rep": ["cy", "ann", "ann", "bob"], "type": ["call", "email", "meeting", "demo"],
                         "region": ["AMER", "EMEA", "EMEA", "AMER"], "reached": [True, False, True, True],
                         "qualified": [True, False, False, True], "converted": [False, False, False, True],
                         "opened": [None, True, None, None], "direction": ["outbound"] * 4})
    return Dataset(tables={"deals": _read(request, "growth", "deals"), "targets": _read(request, "targets", "targets"),
                           "leads": _read(request, "targets", "leads"),
                           "activities": to_canonical("activities", acts)})


def series(res: pd.DataFrame, kpi: str, **where) -> dict[str, float]:
    rows = res[res["kpi"] == kpi]
    for c, v in where.items():
        rows = rows[rows[c].astype(object) == v]
    return dict(zip(rows["period"].astype(str), rows["value"]))


# ----------------------------------------------------------------------------- selection and skipping

def test_all_kpis_on_deals_only(ds):
    res = compute(ds)
    skipped = res.attrs["skipped"]
    computed = set(res["kpi"].str.split(".").str[0])
    assert computed | set(skipped) == set(REGISTRY)
    assert not computed & set(skipped)
    for kpi_id, reason in skipped.items():
        assert reason.startswith("needs "), (kpi_id, reason)
        for need in reason.removeprefix("needs ").split(", "):
            assert ds.missing([need]) == [need], (kpi_id, need)  # really missing
    # a KPI of each kind that only needs deals is there; those needing other tables are not
    assert {"revenue", "sales_growth", "product_performance"} <= computed
    assert skipped["quota_attainment"] == "needs targets"
    assert skipped["leads_needed"].startswith("needs targets")
    assert not any(r.startswith("failed") for r in skipped.values())


def test_all_kpis_on_the_full_fixture_none_fails(full):
    for kwargs in ({}, {"by": "region", "freq": "Q"}, {"freq": "W"}):
        res = compute(full, **kwargs)
        failed = {k: r for k, r in res.attrs["skipped"].items() if r.startswith("failed")}
        assert failed == {}, failed
        assert not np.isinf(res["value"]).any()
        nan_rows = res[res["value"].isna()]
        notes = res.attrs["notes"]
        assert len(notes) >= len(nan_rows)  # every NaN value has its reason
        assert notes["note"].notna().all()


def test_columns_sorting_and_period_dtype(ds):
    res = compute(ds, ["won_deals", "revenue"], freq="M", by="region")
    assert list(res.columns) == ["period", "region", "kpi", "value"]
    assert isinstance(res["period"].dtype, pd.PeriodDtype)
    assert list(res["kpi"].unique()) == ["revenue", "won_deals"]
    first = res[res["kpi"] == "revenue"]
    assert list(first["region"].astype(str)) == ["AMER"] * 4 + ["EMEA"] * 4
    assert list(first["period"].astype(str))[:4] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert series(res, "revenue", region="AMER") == {"2024-01": 3000, "2024-02": 4000, "2024-03": 0, "2024-04": 0}


def test_table_kpi_columns(ds):
    res = compute(ds, ["product_performance", "revenue"])
    assert list(res.columns) == ["period", "product", "kpi", "value"]
    assert "product_performance.share" in set(res["kpi"])
    assert res.loc[res["kpi"] == "revenue", "product"].isna().all()
    assert series(res, "product_performance.revenue", product="B") == {
        "2024-01": 3000, "2024-02": 2000, "2024-03": 0, "2024-04": 0}
    # grouping by the table's own dimension keeps one product column
    again = compute(ds, "product_performance", by="product")
    assert list(again.columns) == ["period", "product", "kpi", "value"]


def test_notes_attr(ds):
    res = compute(ds, ["avg_purchase_value", "revenue"])
    notes = res.attrs["notes"]
    assert list(notes.columns) == ["period", "kpi", "note"]
    assert notes.to_dict("records") == [
        {"period": pd.Period("2024-03", "M"), "kpi": "avg_purchase_value", "note": "no won deals in the period"}]


def test_results_concat_and_merge(ds):
    # pandas compares attrs with == when concatenating or merging: the notes frame must allow it
    a, b = compute(ds, "revenue"), compute(ds, "avg_purchase_value")
    assert len(pd.concat([a, b])) == 8
    assert len(a.merge(b, on="period")) == 4
    assert len(pd.concat([a.copy(), b[b["value"] > 0]])) == 7
    notes = b.attrs["notes"]
    assert isinstance(notes, pd.DataFrame) and list(notes["kpi"] == "avg_purchase_value") == [True]


def test_unknown_kpi_names_the_closest(ds):
    with pytest.raises(ValueError, match="did you mean revenue"):
        compute(ds, "reveune")
    with pytest.raises(ValueError, match="unknown KPI 'zzz'"):
        compute(ds, ["revenue", "zzz"])


def test_kpis_as_comma_string(ds):
    res = compute(ds, "revenue, won_deals")
    assert set(res["kpi"]) == {"revenue", "won_deals"}


def test_by_column_missing_from_the_data_is_skipped(ds):
    res = compute(ds, ["revenue", "avg_purchase_value"], by="campaign")
    assert res.empty
    assert res.attrs["skipped"] == {"revenue": "needs deals.campaign", "avg_purchase_value": "needs deals.campaign"}
    with pytest.raises(ValueError, match="cannot group by 'regoin'.*region"):
        compute(ds, "revenue", by="regoin")


def test_failing_kpi_does_not_stop_the_others(ds, monkeypatch):
    def boom(ds, freq="M", by=()):
        raise RuntimeError("kaput")

    monkeypatch.setitem(REGISTRY, "boom", KPI(id="boom", name="Boom", unit="count", direction="higher",
                                              needs=("deals",), formula="", family="test", function=boom))
    res = compute(ds, ["boom", "revenue"])
    assert res.attrs["skipped"] == {"boom": "failed: kaput"}
    assert set(res["kpi"]) == {"revenue"}


# ----------------------------------------------------------------------------- options

def test_options_go_to_the_kpis_that_declare_them(ds):
    res = compute(ds, ["sales_growth", "revenue", "cmgr"], compare="yoy", months="1")  # "1" as from a CLI
    assert res["kpi"].nunique() == 3
    cm = series(res, "cmgr")
    assert cm["2024-02"] == pytest.approx(0.5)  # months=1: 6000 / 4000 - 1
    assert np.isnan(series(res, "sales_growth")["2024-02"])  # yoy: no data a year earlier


def test_unknown_option(ds):
    with pytest.raises(ValueError, match=r"unknown option 'compare'.*none"):
        compute(ds, "revenue", compare="yoy")
    with pytest.raises(ValueError, match=r"did you mean compare\?.*valid options for these KPIs are compare"):
        compute(ds, ["revenue", "sales_growth"], comapre="yoy")


def test_option_value_checked_against_choices(ds):
    with pytest.raises(ValueError, match=r"invalid value for option compare: 'bogus'; expected previous \| yoy"):
        compute(ds, "sales_growth", compare="bogus")
    with pytest.raises(ValueError, match=r"option k: 'three'; expected an int"):
        compute(ds, "incremental_sales", k="three")
    with pytest.raises(ValueError, match="ytd"):
        compute(ds, "quota_attainment", ytd="maybe")


def test_option_valid_for_only_some_kpis_skips_the_others(ds):
    other = [k.id for k in REGISTRY.values() if "basis" in k.options and "revenue" not in (k.options["basis"].choices
                                                                                            or ())]
    res = compute(ds, ["upsell_rate", *other], basis="revenue")
    assert "upsell_rate" in set(res["kpi"])
    for k in other:
        assert res.attrs["skipped"][k].startswith("option basis='revenue' does not apply")


# ----------------------------------------------------------------------------- filters and groupings

def test_filters(ds):
    emea = compute(ds, "revenue", region="EMEA")
    assert series(emea, "revenue") == {"2024-01": 1000, "2024-02": 2000, "2024-03": 0, "2024-04": 6000}
    both = compute(ds, "revenue", region=["EMEA", "AMER"])
    assert series(both, "revenue") == series(compute(ds, "revenue"), "revenue")
    a_emea = compute(ds, "revenue", region="EMEA", product="A")
    assert series(a_emea, "revenue") == {"2024-01": 1000, "2024-02": 0, "2024-03": 0, "2024-04": 6000}
    # a category column that is not a dimension is still a filter
    assert series(compute(ds, "won_deals", status="lost"), "won_deals")["2024-01"] == 0
    assert series(compute(ds, "revenue", region=""), "revenue")["2024-01"] == 4000  # empty = all


def test_by_region_and_product(ds):
    res = compute(ds, ["revenue", "won_deals"], by=["region", "product"])
    assert list(res.columns) == ["period", "region", "product", "kpi", "value"]
    assert series(res, "revenue", region="EMEA", product="B") == {
        "2024-01": 0, "2024-02": 2000, "2024-03": 0, "2024-04": 0}
    same = compute(ds, ["revenue", "won_deals"], by="region,product")
    pd.testing.assert_frame_equal(res, same)
    total = compute(ds, ["revenue", "won_deals"])
    sums = res.groupby(["kpi", "period"], observed=True)["value"].sum()
    assert (sums.to_numpy() == total.set_index(["kpi", "period"])["value"].to_numpy()).all()


# ----------------------------------------------------------------------------- catalogue and output

def test_catalogue_frame():
    cat = catalogue_frame()
    assert list(cat.columns) == ["id", "name", "family", "unit", "direction", "kind", "needs", "formula", "options",
                                 "benchmark"]
    assert set(cat["id"]) == set(REGISTRY)
    assert cat["family"].iloc[0] == "growth" and cat["id"].iloc[0] == "revenue"
    row = cat.set_index("id").loc["sales_growth"]
    assert row["options"] == "compare=previous (previous|yoy)"
    assert row["formula"].startswith("(revenue_P − revenue_base)")
    assert cat.set_index("id").loc["avg_profit_margin", "needs"] == "deals, deals.cost"
    assert cat["formula"].str.len().gt(0).all()


def test_format_csv(ds):
    res = compute(ds, ["revenue", "avg_purchase_value"], by="region", freq="Q")
    text = format_frame(res, "csv")
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == list(res.columns)
    assert text.splitlines()[1].startswith("2024Q1,AMER,avg_purchase_value,3500")  # (3000 + 4000) / 2
    monthly = format_frame(compute(ds, "revenue"), "csv").splitlines()
    assert monthly[:2] == ["period,kpi,value", "2024-01,revenue,4000.0"]
    weekly = format_frame(compute(ds, "revenue", freq="W", period="2024-01-10"), "csv").splitlines()
    assert weekly[1] == "2024-W02,revenue,1000.0"  # ISO week, as parse_period reads it back


def test_format_json_and_table(ds):
    res = compute(ds, ["avg_purchase_value"], freq="M")
    records = json.loads(format_frame(res, "json"))
    assert records[0] == {"period": "2024-01", "kpi": "avg_purchase_value", "value": 2000.0}
    assert records[2]["value"] is None  # NaN -> null
    table = format_frame(res, "table").splitlines()
    assert table[0].split() == ["period", "kpi", "value"]
    assert set(table[1]) <= {"-", " "}
    assert table[2].split() == ["2024-01", "avg_purchase_value", "2,000"]
    widths = {len(line) for line in table[2:] if not line.endswith("avg_purchase_value")}
    assert len(widths) == 1  # right-aligned numbers: every row with a value the same width
    with pytest.raises(ValueError, match="unknown format"):
        format_frame(res, "xml")
    assert "id" in format_frame(catalogue_frame(), "table").splitlines()[0]
