"""The built-in sample dataset (kpitools.data.sample): deterministic, canonical, consistent,
and it tells the stories the reports should find. Small scale only (large is benchmarked by hand)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

import kpitools.data.sample  # noqa: F401  (the module, not kpitools.data.sample the function)
from kpitools.data.dataset import Dataset
from kpitools.data.sample import generate, sample, write_sample
from kpitools.data.schema import TABLES
from kpitools.data.types import DTYPES

END = "2025-06"
START = pd.Timestamp("2023-07-01")  # 24 months ending 2025-06
AFTER = pd.Timestamp("2025-07-01")  # first day after the data


@pytest.fixture(scope="module")
def t():
    """24 months (the stories need a year before the campaign); generation takes ~0.3 s."""
    return generate(seed=0, months=24, scale="small", end=END)


@pytest.fixture(scope="module")
def t36():
    return generate(seed=0, months=36, scale="small", end="2025-12")


def won(deals: pd.DataFrame) -> pd.DataFrame:
    return deals[deals["status"] == "won"]


def month(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M")


# --------------------------------------------------------------------------- determinism, shape


def test_same_seed_same_frames_other_seed_other_frames():
    a = generate(seed=7, months=6, end=END)
    b = generate(seed=7, months=6, end=END)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = generate(seed=8, months=6, end=END)
    assert not a["deals"].equals(c["deals"])
    assert not a["activities"].equals(c["activities"])


def test_every_table_with_canonical_dtypes(t):
    assert list(t) == list(TABLES)
    for name, spec in TABLES.items():
        df = t[name]
        assert list(df.columns) == spec.names, name
        assert len(df) > 0, name
        for col in spec.columns:
            assert str(df[col.name].dtype) == DTYPES[col.kind], (name, col.name, df[col.name].dtype)
            if col.required:
                assert df[col.name].notna().all(), (name, col.name)
            if col.allowed:
                assert set(df[col.name].dropna().unique()) <= set(col.allowed), (name, col.name)
            if col.bounds:
                lo, hi = col.bounds
                assert df[col.name].dropna().between(lo, hi).all(), (name, col.name)
            if col.kind == "money":
                assert (df[col.name].dropna() >= 0).all(), (name, col.name)


def test_ids_unique(t):
    for name, spec in TABLES.items():
        if spec.key:
            assert t[name][spec.key].is_unique, name
            assert t[name][spec.key].notna().all(), name
    assert not t["subscriptions"].duplicated(["customer_id", "month"]).any()


def test_small_scale_sizes(t36):
    rows = {name: len(df) for name, df in t36.items()}
    assert 5_000 <= rows["deals"] <= 10_000
    assert 20_000 <= rows["leads"] <= 40_000
    assert 50_000 <= rows["activities"] <= 100_000
    assert 1_000 <= rows["customers"] <= 2_000
    deals = t36["deals"]
    assert deals["rep"].nunique() == 30
    assert deals["team"].nunique() == 6
    assert set(deals["region"].unique()) == {"EMEA", "North America", "APAC", "LATAM"}
    assert deals["product"].nunique() == 8
    # every team sits inside one region
    assert (deals.groupby("team", observed=True)["region"].nunique() == 1).all()


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate(scale="huge")
    with pytest.raises(ValueError):
        generate(months=0)


# --------------------------------------------------------------------------- consistency


def test_links(t):
    deals, leads, customers = t["deals"], t["leads"], t["customers"]
    acts, subs, surveys = t["activities"], t["subscriptions"], t["surveys"]
    assert deals["customer_id"].dropna().isin(customers["customer_id"]).all()
    assert leads["deal_id"].dropna().isin(deals["deal_id"]).all()
    assert leads["customer_id"].dropna().isin(customers["customer_id"]).all()
    assert acts["deal_id"].dropna().isin(deals["deal_id"]).all()
    assert acts["lead_id"].dropna().isin(leads["lead_id"]).all()
    assert set(acts["rep"].unique()) <= set(deals["rep"].unique())
    assert subs["customer_id"].isin(customers["customer_id"]).all()
    assert customers["customer_id"].isin(subs["customer_id"]).all()
    assert surveys["customer_id"].isin(customers["customer_id"]).all()
    # rep, team and region agree everywhere
    reps = deals[["rep", "team", "region"]].astype(str).drop_duplicates()
    assert reps["rep"].is_unique
    for df in (leads, acts):
        pairs = df[["rep", "team", "region"]].astype(str).drop_duplicates()
        assert len(pairs.merge(reps)) == len(pairs)


def test_customers_are_won_new_deals(t):
    deals, customers = t["deals"], t["customers"]
    new = won(deals)[won(deals)["deal_type"] == "new"]
    assert new["customer_id"].notna().all() and new["customer_id"].is_unique
    assert set(new["customer_id"]) == set(customers["customer_id"])
    m = customers.merge(new, on="customer_id", suffixes=("", "_deal"))
    assert (m["acquired_at"] == m["closed_at"]).all()
    assert (m["region"].astype(str) == m["region_deal"].astype(str)).all()
    # existing customers buy upsell / cross-sell / renewal, never "new" again
    others = deals[deals["deal_type"] != "new"]
    assert others["customer_id"].notna().all()
    acquired = others.merge(customers[["customer_id", "acquired_at"]], on="customer_id")
    assert (acquired["created_at"] > acquired["acquired_at"]).all()
    assert set(others["deal_type"].unique()) == {"upsell", "cross_sell", "renewal"}
    assert deals.loc[deals["deal_type"] == "new", "customer_id"].notna().sum() == len(new)


def test_deal_rules(t):
    d = t["deals"]
    closed = d["status"].isin(["won", "lost"])
    assert d.loc[closed, "closed_at"].notna().all()
    assert d.loc[~closed, "closed_at"].isna().all()
    assert (d.loc[closed, "closed_at"] > d.loc[closed, "created_at"]).all()
    assert (d["first_contact_at"] <= d["created_at"]).all()
    assert (d["amount"] > 0).all() and (d["quantity"] > 0).all()
    has_cost = d["cost"].notna()
    assert 0.85 < has_cost.mean() < 1
    assert (d.loc[has_cost, "cost"] < d.loc[has_cost, "amount"]).mean() > 0.98
    is_open = ~closed
    assert d.loc[is_open, ["stage", "probability", "expected_close_at"]].notna().all().all()
    assert d.loc[closed, ["stage", "probability", "expected_close_at"]].isna().all().all()
    assert set(d["stage"].dropna().unique()) <= {"Prospecting", "Qualification", "Proposal", "Negotiation"}
    assert (d.loc[d["status"] == "lost", "lost_reason"].notna()).all()
    assert d.loc[d["status"] != "lost", "lost_reason"].isna().all()
    assert set(d["score"].unique()) == {1, 2, 3, 4, 5}
    for col in ("rep", "team", "region", "product", "channel", "lead_source", "campaign", "deal_type"):
        assert d[col].notna().all(), col
    assert set(d["channel"].unique()) == {"cold_call", "cold_email", "meeting", "inbound", "referral", "web",
                                          "partner"}
    c = d[closed]
    assert 0.2 <= (c["status"] == "won").mean() <= 0.3
    st = t["stages"]
    assert st["stage"].tolist() == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    assert st["order"].tolist() == [1, 2, 3, 4] and st["probability"].tolist() == [0.1, 0.2, 0.5, 0.8]


def test_funnel(t):
    leads, deals = t["leads"], t["deals"]
    for a, b in (("created_at", "mql_at"), ("mql_at", "sql_at"), ("sql_at", "opportunity_at"),
                 ("created_at", "opportunity_at"), ("opportunity_at", "converted_at")):
        both = leads[a].notna() & leads[b].notna()
        assert (leads.loc[both, b] >= leads.loc[both, a]).all(), (a, b)
    rates = leads[["mql_at", "sql_at", "opportunity_at", "converted_at"]].notna().mean()
    assert rates.is_monotonic_decreasing and rates["converted_at"] > 0.01
    # a few leads skip a stage
    assert (leads["sql_at"].isna() & leads["opportunity_at"].notna()).any()
    assert (leads["mql_at"].isna() & leads["sql_at"].notna()).any()
    # the opportunity is the deal: created then, first contact = the lead's creation
    m = leads.dropna(subset=["deal_id"]).merge(deals, on="deal_id", suffixes=("", "_deal"))
    assert len(m) == leads["deal_id"].notna().sum() == leads["opportunity_at"].notna().sum()
    assert (m["opportunity_at"] == m["created_at_deal"]).all()
    assert (m["created_at"] == m["first_contact_at"]).all()
    assert (m["deal_type"] == "new").all()
    conv = m["converted_at"].notna()
    assert (m.loc[conv, "status"] == "won").all() and (m.loc[~conv, "status"] != "won").all()
    assert (m.loc[conv, "converted_at"] == m.loc[conv, "closed_at"]).all()
    assert (m.loc[conv, "customer_id"] == m.loc[conv, "customer_id_deal"]).all()
    assert deals["deal_id"].isin(leads["deal_id"]).mean() > 0.6  # deals come from leads mostly
    assert leads["channel"].nunique() == 7 and leads["campaign"].notna().all()


def test_nothing_outside_the_window(t):
    for name, spec in TABLES.items():
        for col in spec.columns:
            planned = getattr(col, "planned", False) or col.name == "expected_close_at"  # a forecast
            if col.kind in ("date", "month") and not planned:
                s = t[name][col.name].dropna()
                assert s.max() < AFTER, (name, col.name, s.max())
                assert s.min() >= START, (name, col.name, s.min())
    d = t["deals"]
    # open deals are those still open at the end; their expected close is a forecast
    assert (d.loc[d["status"] == "open", "expected_close_at"] >= AFTER).mean() > 0.5


def test_months_and_end_honoured(t):
    labels = [str(p) for p in pd.period_range(START, periods=24, freq="M")]
    for name in ("spend", "traffic"):
        assert sorted(str(p) for p in month(t[name]["month"]).unique()) == labels, name
    subs = sorted(str(p) for p in month(t["subscriptions"]["month"]).unique())
    assert set(subs) <= set(labels) and subs[-1] == labels[-1] and len(subs) >= 22
    assert sorted(t["targets"]["period"].unique()) == labels
    assert sorted(str(p) for p in month(t["activities"]["at"]).unique()) == labels
    assert sorted(str(p) for p in month(t["leads"]["created_at"]).unique()) == labels
    short = generate(seed=1, months=3, end="2024-02-15")
    assert sorted(str(p) for p in month(short["spend"]["month"]).unique()) == ["2023-12", "2024-01", "2024-02"]
    assert short["activities"]["at"].max() < pd.Timestamp("2024-03-01")


def test_default_end_is_last_complete_month(monkeypatch):
    monkeypatch.setenv("KPITOOLS_TODAY", "2025-03-01")  # the first of a month: February is complete
    tables = generate(seed=0, months=2)
    expected = pd.Period("2025-02", "M")
    assert month(tables["spend"]["month"]).max() == expected
    assert tables["activities"]["at"].max() < (expected + 1).to_timestamp()


def test_subscriptions(t):
    subs = t["subscriptions"].sort_values(["customer_id", "month"])
    assert (subs["mrr"] > 0).all()
    assert set(subs["churn_reason"].dropna().unique()) == {"voluntary", "passive"}
    idx = month(subs["month"]).map(lambda p: p.ordinal)
    same = subs["customer_id"].eq(subs["customer_id"].shift())
    gap = idx.diff()
    churned_before = subs["churn_reason"].shift().notna()
    # a paying run is consecutive months; a month after a churn row only comes back after a gap
    assert (gap[same & ~churned_before] == 1).all()
    assert (gap[same & churned_before] >= 2).all()
    assert (same & churned_before).sum() > 0  # some reactivations
    assert (same & (gap >= 2) & ~churned_before).sum() == 0
    # MRR starts at the new deal's amount / 12, then moves (expansion, contraction)
    first = subs.drop_duplicates("customer_id").merge(
        won(t["deals"])[lambda d: d["deal_type"] == "new"][["customer_id", "amount", "closed_at"]], on="customer_id")
    assert np.allclose(first["mrr"], first["amount"] / 12, atol=0.01)
    assert (month(first["month"]) == month(first["closed_at"])).all()
    change = subs.groupby("customer_id")["mrr"].diff()
    assert (change > 0.5).any() and (change < -0.5).any()
    customers = t["customers"].set_index("customer_id")
    assert (subs["region"].astype(str).to_numpy()
            == customers.loc[subs["customer_id"], "region"].astype(str).to_numpy()).all()


def test_activities(t):
    a = t["activities"]
    assert set(a["type"].unique()) == {"call", "email", "meeting", "demo"}
    calls = a[a["type"] == "call"]
    assert calls["reached"].notna().all() and calls["duration_s"].notna().all()
    assert 0.3 < calls["reached"].mean() < 0.4
    assert 0.5 < calls.loc[calls["reached"], "qualified"].mean() < 0.6
    assert 0.4 < calls.loc[calls["qualified"].fillna(False), "converted"].mean() < 0.5
    inbound = a[a["direction"] == "inbound"]
    assert (inbound["type"] == "email").all() and inbound["response_minutes"].notna().all()
    assert a.loc[a["direction"] == "outbound", "response_minutes"].isna().all()
    out_email = a[(a["type"] == "email") & (a["direction"] == "outbound")]
    assert out_email["opened"].notna().all() and 0.4 < out_email["opened"].mean() < 0.55
    assert a["deal_id"].notna().any() and a["lead_id"].notna().any()
    assert (a["at"].dt.day_of_week < 5).all()
    # one rep takes a month off: no activity that month, activity before and after
    per = a.groupby([a["rep"], month(a["at"])], observed=True).size().unstack(fill_value=0)
    holes = [(rep, j) for rep, row in per.iterrows() for j in range(1, per.shape[1] - 1)
             if row.iloc[j] == 0 and row.iloc[:j].sum() > 0 and row.iloc[j + 1] > 0]
    assert len(holes) == 1


def test_linked_activities_make_sense(t):
    a, d, leads = t["activities"], t["deals"], t["leads"]
    m = a.dropna(subset=["deal_id"]).merge(d, on="deal_id", suffixes=("", "_deal"))
    assert (m["rep"].astype(str) == m["rep_deal"].astype(str)).all()
    assert (m["at"].dt.normalize() >= m["created_at"]).all()
    assert (m["closed_at"].isna() | (m["at"].dt.normalize() <= m["closed_at"])).all()
    m = a.dropna(subset=["lead_id"]).merge(leads, on="lead_id", suffixes=("", "_lead"))
    assert (m["at"].dt.normalize() >= m["created_at"]).all()


def test_targets(t):
    tg = t["targets"]
    assert set(tg["metric"].unique()) == {"revenue", "won_deals", "new_mrr"}
    assert tg["period"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert (tg["value"] > 0).all()
    level = tg[["rep", "team", "region"]].notna()
    company = ~level.any(axis=1)
    assert set(tg.loc[company, "metric"]) == {"revenue", "won_deals", "new_mrr"}
    assert set(tg.loc[~company, "metric"]) == {"revenue"}
    rev = tg[tg["metric"] == "revenue"]
    reps = rev[rev["rep"].notna()]
    assert reps[["team", "region"]].notna().all().all()
    teams = rev[rev["team"].notna() & rev["rep"].isna()]
    regions = rev[rev["region"].notna() & rev["team"].isna()]
    # rep targets roll up to team, region and company
    for lower, upper, key in ((reps, teams, "team"), (teams, regions, "region")):
        rolled = lower.groupby(["period", key], observed=True)["value"].sum()
        mine = upper.set_index(["period", key])["value"]
        pd.testing.assert_series_equal(rolled.sort_index(), mine.sort_index(), check_names=False)
    total = regions.groupby("period")["value"].sum()
    assert np.allclose(total.sort_index(), rev[company[rev.index]].set_index("period")["value"].sort_index())


def test_most_reps_near_quota(t36):
    d, tg = t36["deals"], t36["targets"]
    w = won(d)[won(d)["closed_at"] >= "2025-01-01"]
    actual = w.groupby("rep", observed=True)["amount"].sum()
    target = tg[(tg["metric"] == "revenue") & tg["rep"].notna() & (tg["period"] >= "2025-01")]
    att = (actual / target.groupby("rep", observed=True)["value"].sum()).dropna()
    assert att.between(0.8, 1.1).mean() > 0.6
    assert 0.85 < att.median() < 1.05


# --------------------------------------------------------------------------- the stories


def test_story_apac_churn_spike(t):
    s = t["subscriptions"].assign(churned=lambda x: x["churn_reason"].notna())
    apac = s[s["region"] == "APAC"].groupby("month").agg(paying=("mrr", "size"), churned=("churned", "sum"))
    last3 = apac.iloc[-3:]
    before = apac.iloc[3:-3]  # after the first few months of a small customer base
    rate_last3 = last3["churned"].sum() / last3["paying"].sum()
    rate_before = before["churned"].sum() / before["paying"].sum()
    assert rate_last3 > 1.5 * rate_before
    assert last3["churned"].mean() > 1.5 * before["churned"].mean()
    # the same seen as customers lost: paying in month m - 1, not paying in month m
    paying = s[s["region"] == "APAC"].assign(m=lambda x: month(x["month"]))
    paying = paying.pivot_table(index="customer_id", columns="m", values="mrr", aggfunc="sum").notna()
    lost = (paying.shift(1, axis=1, fill_value=False) & ~paying).sum()
    base = paying.sum().shift(1)
    assert lost.iloc[-3:].sum() / base.iloc[-3:].sum() > 1.5 * lost.iloc[3:-3].sum() / base.iloc[3:-3].sum()
    others = s[s["region"] != "APAC"].groupby("month").agg(paying=("mrr", "size"), churned=("churned", "sum"))
    assert others["churned"].iloc[-3:].sum() / others["paying"].iloc[-3:].sum() < rate_last3 / 2


def test_story_star_rep(t):
    d, tg = t["deals"], t["targets"]
    last_year = won(d)[won(d)["closed_at"] >= "2024-07-01"]
    actual = last_year.groupby("rep", observed=True)["amount"].sum()
    target = tg[(tg["metric"] == "revenue") & tg["rep"].notna() & (tg["period"] >= "2024-07")]
    att = (actual / target.groupby("rep", observed=True)["value"].sum()).sort_values()
    assert att.iloc[-1] >= 1.5
    assert att.iloc[-2] < 1.4  # one star, not several
    assert actual.idxmax() == att.index[-1]  # and sells the most
    assert actual.max() > 1.5 * actual.median()


def test_story_starter_seats(t):
    d = t["deals"]
    p = d.groupby("product", observed=True).agg(qty=("quantity", "sum"), qty_mean=("quantity", "mean"),
                                                amount=("amount", "sum"), amount_mean=("amount", "mean"))
    assert p["qty"].idxmax() == "Starter Seats"
    assert p["qty_mean"].idxmax() == "Starter Seats"
    assert (p["amount"] / p["qty"]).idxmin() == "Starter Seats"
    assert p["amount_mean"].idxmin() == "Starter Seats"


def test_story_spring_launch(t):
    d, leads = t["deals"], t["leads"]
    campaign = month(leads.loc[leads["campaign"] == "Spring Launch", "created_at"]).unique()
    assert sorted(str(p) for p in campaign) == ["2024-05", "2024-06"]  # 13 and 12 months before the end
    revenue = won(d).groupby(month(won(d)["closed_at"]))["amount"].sum()
    during = revenue[[pd.Period("2024-05"), pd.Period("2024-06")]].mean()
    baseline = revenue[[pd.Period("2024-02"), pd.Period("2024-03"), pd.Period("2024-04")]].mean()
    assert during > 1.3 * baseline
    assert won(d)["campaign"].eq("Spring Launch").sum() > 30
    created = d[d["deal_type"] == "new"].groupby(month(d["created_at"])).size()
    assert created[[pd.Period("2024-05"), pd.Period("2024-06")]].mean() > 1.3 * created[
        [pd.Period("2024-02"), pd.Period("2024-03"), pd.Period("2024-04")]].mean()


def test_story_seasonality_and_growth(t36):
    w = won(t36["deals"])
    rev = w.groupby(month(w["closed_at"]))["amount"].sum()
    by_month = rev.groupby(rev.index.month).mean()
    assert by_month[12] == by_month.max()
    assert by_month[8] < 0.6 * by_month[12]
    q = rev.groupby(rev.index.year.astype(str) + "Q" + rev.index.quarter.astype(str)).sum()
    assert q["2024Q4"] > q["2024Q3"] and q["2025Q4"] > q["2025Q3"]
    leads = t36["leads"]
    per_month = leads[leads["campaign"] != "Spring Launch"].groupby(month(leads["created_at"])).size()
    yearly = per_month.iloc[-12:].sum() / per_month.iloc[-24:-12].sum()
    assert 1.2 < yearly < 1.5  # ~2-3 % a month


# --------------------------------------------------------------------------- sample() and write_sample()


def test_sample_is_a_cached_dataset():
    ds = sample(seed=0, months=6, end=END)
    assert isinstance(ds, Dataset)
    assert ds.name == "Acme Cloud (sample)" and ds.currency == "USD"
    assert ds.stage_probabilities == {"Prospecting": 0.1, "Qualification": 0.2, "Proposal": 0.5,
                                      "Negotiation": 0.8}
    assert set(ds.tables) == set(TABLES)
    assert sample(seed=0, months=6, end=END) is ds
    assert sample(seed=0, months=6, end=pd.Timestamp("2025-06-30")) is ds
    assert sample(seed=1, months=6, end=END) is not ds


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_sample(tmp_path, fmt):
    out = tmp_path / "acme"
    path = write_sample(out, seed=0, months=4, end=END, format=fmt if fmt == "parquet" else None)
    assert path == out / "dataset.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["name"] == "Acme Cloud (sample)" and config["currency"] == "USD"
    assert config["fiscal_year_start"] == 1
    assert set(config["tables"]) == set(TABLES)
    tables = generate(seed=0, months=4, end=END)
    for name, spec in config["tables"].items():
        rel = spec["path"]
        assert rel == f"{name}.{fmt}"
        assert (out / rel).is_file()
        back = pd.read_csv(out / rel) if fmt == "csv" else pd.read_parquet(out / rel)
        assert len(back) == len(tables[name]) and list(back.columns) == list(tables[name].columns)
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    if fmt == "csv":
        deals = pd.read_csv(out / "deals.csv", dtype=str)
        assert deals["created_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        acts = pd.read_csv(out / "activities.csv", dtype=str)
        assert acts["at"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}").all()
        subs = pd.read_csv(out / "subscriptions.csv", dtype=str)
        assert subs["month"].str.fullmatch(r"\d{4}-\d{2}-01").all()
    else:
        back = pd.read_parquet(out / "deals.parquet")
        pd.testing.assert_frame_equal(back, tables["deals"], check_dtype=False, check_categorical=False)


def test_write_sample_replaces_files(tmp_path):
    write_sample(tmp_path, seed=0, months=2, end=END)
    first = (tmp_path / "deals.csv").read_text()
    write_sample(tmp_path, seed=1, months=2, end=END)
    assert (tmp_path / "deals.csv").read_text() != first
    assert re.search(r"^name: Acme Cloud \(sample\)$", (tmp_path / "dataset.yml").read_text(), re.M)


def test_parquet_and_csv_copies_load_to_the_same_dataset(tmp_path):
    """Parquet keeps category columns as dictionaries; they are cleaned through their categories and
    must give exactly the frames the CSV text gives."""
    from kpitools.data.schema import TABLES as SCHEMA

    csv = kpitools.load(write_sample(tmp_path / "csv", seed=0, months=4, end=END))
    parquet = kpitools.load(write_sample(tmp_path / "pq", seed=0, months=4, end=END, format="parquet"))
    for name in SCHEMA:
        if csv.has(name):
            pd.testing.assert_frame_equal(parquet.tables[name], csv.tables[name], obj=name)
