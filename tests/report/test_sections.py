"""kpitools.report.sections on the built-in sample: shapes, and values checked against compute()/compare()."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpitools
from kpitools.kpis.compare import last_complete_period
from kpitools.report import format_value, sections
from kpitools.report.headline import normalise_headline


@pytest.fixture(scope="module")
def ds():
    return kpitools.sample()


@pytest.fixture(scope="module")
def last(ds) -> pd.Period:
    return last_complete_period(ds, "M")


@pytest.fixture(scope="module")
def emea(ds):
    return sections.scope(ds, "", region="EMEA")


def value(frame: pd.DataFrame, kpi: str, **where) -> float:
    rows = frame[frame["kpi"] == kpi]
    for c, v in where.items():
        rows = rows[rows[c].astype(str) == v]
    assert len(rows) == 1, rows
    return float(rows["value"].iloc[0])


# ----------------------------------------------------------------------------- scope

def test_scope_resolves_period_filters_and_header(ds, last) -> None:
    s = sections.scope(ds, "", region="EMEA", team="", rep=None)
    assert s.period == last and s.freq == "M" and s.filters == {"region": "EMEA"}
    assert s.label == "Region: EMEA" and s.message is None
    assert s.header("Sales report") == {"title": "Sales report", "scope": "Region: EMEA",
                                        "period": sections.period_label(last),
                                        "data_freshness": ds.date_range[1].date().isoformat(),
                                        "locale": "en", "calendar": "gregorian"}
    assert sections.scope(ds, "", {"region": "EMEA"}) is s  # cached
    assert sections.scope(ds, "last_complete_month-1").period == last - 1
    assert sections.scope(ds, "2026Q3").freq == "Q" and sections.scope(ds, "2026").freq == "Y"
    assert sections.scope(ds, "").label == "Whole company"
    with pytest.raises(ValueError, match="not a month"):
        sections.scope(ds, "2026-13")


def test_period_labels() -> None:
    assert sections.period_label(pd.Period("2026-10", "M")) == "October 2026"
    assert sections.period_label(pd.Period("2026-10", "M"), short=True) == "October"
    assert sections.period_label(pd.Period("2026Q3", "Q")) == "Q3 2026"
    assert sections.period_label(pd.Period("2026", "Y")) == "2026"


def test_team_scope_knows_which_tables_it_does_not_filter(ds) -> None:
    s = sections.scope(ds, "", team="EMEA North")
    assert s.unscoped["subscriptions"] == ["team"] and "deals" not in s.unscoped
    assert "team column" in s.in_scope("mrr") and s.in_scope("revenue") is None
    assert s.in_scope("churn_after_sale") is None  # joins subscriptions by customer id


# ----------------------------------------------------------------------------- cards

def test_cards_are_compare_rows_in_headline_order(ds, emea, last) -> None:
    c = sections.cards(emea)
    assert list(c["kpi"]) == list(sections.HEADLINE_KPIS)
    ref = kpitools.compare(ds, list(sections.HEADLINE_KPIS), period=str(last), region="EMEA")
    for k in sections.HEADLINE_KPIS:
        mine, theirs = c[c["kpi"] == k].iloc[0], ref[ref["kpi"] == k].iloc[0]
        for col in ("value", "previous", "last_year", "change_pct", "yoy_pct"):
            assert mine[col] == pytest.approx(theirs[col], nan_ok=True), (k, col)
    qa = c[c["kpi"] == "quota_attainment"].iloc[0]  # rated against 100%
    assert qa["target"] == 1.0
    assert qa["status"] == ("on track" if qa["value"] >= 1 else "at risk" if qa["value"] >= 0.9 else "off track")
    assert c.attrs["currency"] == "USD" and c.attrs["message"] is None and c.attrs["skipped"] == {}


def test_cards_leave_out_kpis_a_team_scope_cannot_have(ds) -> None:
    c = sections.cards(ds, "", {"team": "EMEA North"})
    assert {"mrr", "customer_churn_rate", "nrr", "cac"}.isdisjoint(c["kpi"])
    assert "subscriptions table has no team column" in c.attrs["skipped"]["mrr"]
    assert value(c, "revenue") == value(kpitools.compute(ds, "revenue", period=str(c["period"].iloc[0]),
                                                         team="EMEA North"), "revenue")


def test_prefetch_computes_the_report_cards_in_one_pass(ds, monkeypatch) -> None:
    from kpitools.report import scope as report_scope

    calls = []
    real = report_scope._compare
    monkeypatch.setattr(report_scope, "_compare", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    s = sections.scope(ds, "last_complete_month-2", region="APAC", prefetch=True)
    sections.cards(s), sections.pipeline(s), sections.activity(s), sections.recurring(s), sections.customers(s)
    sections.cards(s)
    assert len(calls) == 1 and set(sections.REPORT_KPIS) <= set(calls[0])


# ----------------------------------------------------------------------------- sections

def test_revenue_trend(ds, emea, last) -> None:
    t = sections.revenue_trend(emea)
    assert t.message is None and len(t.actual) == 24 and t.actual["period"].iloc[-1] == last
    ref = kpitools.compute(ds, "revenue", period=f"{last - 23}:{last}", region="EMEA")
    assert np.allclose(t.actual["value"].to_numpy(), ref["value"].to_numpy())
    emea_target = ds.targets[(ds.targets["metric"] == "revenue") & (ds.targets["region"] == "EMEA")
                             & ds.targets["team"].isna() & ds.targets["rep"].isna()]
    assert t.target[last] == pytest.approx(float(emea_target.loc[emea_target["period"] == str(last), "value"].iloc[0]))
    fc = t.forecast
    assert len(fc) == 6 and fc.index[0] == last + 1 and {"mean", "lo_80", "hi_95"} <= set(fc.columns)
    assert (fc["lo_95"] <= fc["mean"]).all() and (fc["mean"] <= fc["hi_95"]).all() and t.model


def test_attainment_and_outlook(ds, last) -> None:
    p = pd.Period("2026-08", "M")  # second month of Q3: the quarter's targets are all in the data
    a = sections.attainment(ds, "2026-08", {"region": "EMEA"})
    qa = kpitools.compute(ds, "quota_attainment", period="2026-08", region="EMEA")
    assert a.attainment == pytest.approx(value(qa, "quota_attainment")) and list(a.cards["kpi"]) == ["quota_attainment"]
    out = a.outlook
    rev = kpitools.compute(ds, "revenue", period="2026-07:2026-08", region="EMEA")
    assert out["label"] == "Q3 2026" and out["actual"] == pytest.approx(rev["value"].sum())
    assert out["elapsed"] == pytest.approx(62 / 92) and not out["complete"]
    assert out["target"] > 0 and 0 <= out["probability"] <= 1 and out["lo_80"] <= out["projected"] <= out["hi_80"]
    assert p.month == 8
    latest = sections.attainment(ds, "", {})
    months_after = 3 - (last.month - 1) % 3 - 1
    if months_after:  # the sample has no targets after its last month
        assert latest.outlook["target"] is None and len(latest.outlook["missing_target"]) == months_after
    else:
        assert latest.outlook["complete"]


def test_pipeline_by_stage_adds_up(ds, emea, last) -> None:
    pipe = sections.pipeline(emea)
    assert list(pipe.by_stage["stage"]) == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    ref = kpitools.compute(ds, ["pipeline_value", "open_deals"], period=str(last), region="EMEA")
    assert pipe.by_stage["value"].sum() == pytest.approx(value(ref, "pipeline_value"))
    assert pipe.by_stage["count"].sum() == value(ref, "open_deals")
    assert "win_rate" in set(pipe.cards["kpi"]) and pipe.message is None


def test_funnel_and_activity(ds, emea, last) -> None:
    f = sections.funnel(emea)
    ref = kpitools.compute(ds, "funnel", period=str(last), region="EMEA")
    counts = ref[ref["kpi"] == "funnel.count"]
    assert dict(zip(f.stages["stage"].astype(str), f.stages["value"])) == dict(zip(counts["stage"].astype(str),
                                                                                  counts["value"]))
    team = sections.funnel(ds, "", {"team": "EMEA North"})
    assert "visitor" not in set(team.stages["stage"].astype(str))
    act = sections.activity(emea)
    assert list(act.cards["kpi"]) == list(sections.ACTIVITY_KPIS)
    calls = kpitools.compare(ds, "call_reach_rate", period=str(last), region="EMEA")
    assert value(act.cards, "call_reach_rate") == pytest.approx(value(calls, "call_reach_rate"))


def test_recurring_waterfall_identity(emea) -> None:
    r = sections.recurring(emea)
    mv = dict(zip(r.movements["kpi"], r.movements["value"]))
    net = mv["new_mrr"] + mv["expansion_mrr"] + mv["reactivation_mrr"] - mv["contraction_mrr"] - mv["churned_mrr"]
    assert r.start + net == pytest.approx(r.end)
    assert value(r.cards, "mrr") == pytest.approx(r.end)
    team = sections.recurring(emea.full, "", {"team": "EMEA North"})
    assert team.empty and "team" in team.message and team.movements is None


def test_customers_cohorts_stop_at_the_period(ds) -> None:
    c = sections.customers(ds, "2026-06", {})
    since = c.cohorts["months_since"].astype(int).to_numpy()
    ends = [p + int(m) for p, m in zip(pd.PeriodIndex(c.cohorts["period"]), since)]
    assert max(ends) == pd.Period("2026-06", "M") and pd.PeriodIndex(c.cohorts["period"]).max() == pd.Period(
        "2026-06", "M")
    assert {"new_customers", "cac", "clv"} <= set(c.cards["kpi"])


def test_products_channels_and_tables(ds, emea, last) -> None:
    m = sections.products_channels(emea)
    rev = value(kpitools.compute(ds, "revenue", period=str(last), region="EMEA"), "revenue")
    prod = m.products[m.products["kpi"] == "product_performance.revenue"]
    assert prod["value"].sum() == pytest.approx(rev)
    table = sections.channel_table(m.channels)
    assert list(table.columns) == ["Revenue", "Share of revenue", "Won deals", "Win rate", "Average deal"]
    chan = m.channels[m.channels["kpi"] == "sales_by_channel.revenue"].sort_values("value", ascending=False)
    assert table["Revenue"].iloc[0] == format_value(chan["value"].iloc[0], "money", style="card")


def test_leaderboard_matches_rep_leaderboard(ds, emea, last) -> None:
    lb = sections.leaderboard(emea).table
    ref = kpitools.compute(ds, "rep_leaderboard", period=str(last), region="EMEA")
    ref = ref.assign(rep=ref["rep"].astype(str)).pivot_table(index="rep", columns="kpi", values="value")
    ref = ref[ref["rep_leaderboard.rank"].notna()]
    mine = lb.set_index("rep")
    assert set(mine.index) == set(ref.index)
    for m in ("revenue", "rank", "win_rate", "activities", "quota_attainment", "revenue_team_median"):
        assert np.allclose(mine[m].reindex(ref.index), ref[f"rep_leaderboard.{m}"], equal_nan=True), m
    assert list(lb["rank"]) == sorted(lb["rank"]) and set(lb["team"]) <= {"EMEA North", "EMEA South"}
    top = sections.leaderboard_table(lb, n=3)
    assert len(top) == 3 and top["Rep"].iloc[0] == lb["rep"].iloc[0]


def test_scorecard_of_the_top_rep(ds, last) -> None:
    card = sections.scorecard(ds, "", {"region": "EMEA"})
    rev = kpitools.compute(ds, "revenue", by="rep", period=str(last), region="EMEA")
    top = rev.sort_values("value", ascending=False)["rep"].astype(str).iloc[0]
    assert card.subject == top and card.level == "rep" and "top rep by revenue" in card.notes[0]
    team = card.peer_word.removeprefix("team ")
    peers = kpitools.compute(ds, "win_rate", by="rep", period=str(last), team=team)
    t = card.table.set_index("kpi")
    assert t.loc["revenue", "value"] == pytest.approx(value(rev, "revenue", rep=top))
    active = set(card.peers["rep"])
    rates = peers[peers["rep"].astype(str).isin(active)]["value"]
    assert t.loc["win_rate", "median"] == pytest.approx(rates.median())
    assert t.loc["call_reach_rate", "benchmark"].startswith("≥ 30%")
    assert sections.scorecard_table(card).shape[1] == 4


def test_scorecard_of_a_team(ds) -> None:
    card = sections.scorecard(ds, "", {"team": "APAC"})
    assert card.subject == "APAC" and card.level == "team" and "team" in card.peers.columns
    assert len(card.peers) == len(ds.values("team"))


def test_headline_for_the_portal(emea) -> None:
    h = sections.headline(sections.cards(emea))
    assert list(h) == list(sections.PUBLISHED)
    assert normalise_headline(h)["revenue"]["display"] == format_value(h["revenue"]["value"], "money", style="card")
    assert h["win_rate"]["change"].endswith(sections.period_label(emea.period - 1))


def test_data_notes_collect_what_was_skipped(ds) -> None:
    s = sections.scope(ds, "", rep="Ana Dubois")
    parts = [sections.cards(s), sections.recurring(s), sections.revenue_trend(s)]
    notes = sections.data_notes(s, parts)
    assert "Data as of" in notes.text and "not recorded by rep" in notes.text
    assert {"MRR", "Customer churn rate"} <= set(notes.table["KPI"])
    assert sections.leaderboard(s).message.startswith("The leaderboard compares reps")


def test_a_scope_without_data_never_raises(ds) -> None:
    s = sections.scope(ds, "", region="Antarctica")
    assert "no region 'Antarctica'" in s.message and "EMEA" in s.message
    c = sections.cards(s)
    assert c.empty and "Antarctica" in c.attrs["message"]
    for fn in (sections.revenue_trend, sections.attainment, sections.pipeline, sections.funnel, sections.activity,
               sections.recurring, sections.customers, sections.products_channels, sections.leaderboard,
               sections.scorecard):
        sec = fn(s)
        assert sec.empty and sec.message.startswith("No data for"), fn.__name__
        assert sec.cards.empty
    assert sections.data_notes(s, []).table.empty


def test_a_period_without_data(ds) -> None:
    s = sections.scope(ds, "2030-01", region="EMEA")
    assert s.message is None
    assert sections.cards(s).attrs["message"].startswith("No sales")
    assert sections.revenue_trend(s).empty and sections.products_channels(s).empty
    assert sections.pipeline(s).empty and sections.activity(s).empty and sections.leaderboard(s).empty


# ----------------------------------------------------------------------------- locales, calendars, currencies

def test_a_persian_scope_writes_its_texts_in_persian(ds, last) -> None:
    s = sections.scope(ds, "", region="Antarctica", locale="fa")
    assert s.label == "منطقه: Antarctica" and s.locale == "fa"
    assert s.short_message == "برای منطقه: Antarctica داده‌ای وجود ندارد."
    assert s.message.startswith("برای این محدوده (منطقه: Antarctica) داده‌ای وجود ندارد")
    assert "مقادیر منطقه: APAC" in s.message  # the hint names the values the data has
    assert sections.pipeline(s).message == s.short_message  # a section keeps its scope's language
    assert sections.scope(ds, "", region="Antarctica").label == "Region: Antarctica"  # English scopes unchanged
    team = sections.scope(ds, "", team="EMEA North", locale="ru")
    assert team.in_scope("mrr") == "недоступны в разрезе «команда»: в таблице subscriptions нет столбца «команда»"


def test_header_and_headline_in_persian(ds) -> None:
    s = sections.scope(ds, "2026-10", locale="fa")
    assert s.header("Sales report") == {"title": "گزارش فروش", "scope": "کل شرکت", "period": "اکتبر ۲۰۲۶",
                                        "data_freshness": "۳۱ اکتبر ۲۰۲۶", "locale": "fa", "calendar": "gregorian"}
    h = sections.headline(sections.cards(s), locale="fa")
    assert h["revenue"]["name"] == "درآمد" and h["revenue"]["change"].endswith("نسبت به سپتامبر ۲۰۲۶")
    assert h["revenue"]["display"] == format_value(h["revenue"]["value"], "money", locale="fa", style="card")


def test_a_jalali_scope_reports_by_jalali_month(ds) -> None:
    """Mehr 1405 = 23 September to 22 October 2026: the cards are compare()'s for that Jalali month."""
    s = sections.scope(ds, "1405-07", calendar="jalali", locale="fa")
    assert str(s.period) == "1405-07" and s.calendar == "jalali"
    assert s.header()["period"] == "مهر ۱۴۰۵" and s.header()["data_freshness"] == "۹ آبان ۱۴۰۵"
    c = sections.cards(s, kpis=["revenue"])
    ref = kpitools.compare(ds, "revenue", period="1405-07", calendar="jalali")
    assert c["value"].iloc[0] == pytest.approx(ref["value"].iloc[0])
    deals = ds.deals
    won = deals[(deals["status"] == "won") & (deals["closed_at"] >= "2026-09-23") & (deals["closed_at"] < "2026-10-23")]
    assert c["value"].iloc[0] == pytest.approx(won["amount"].sum())
    trend = sections.revenue_trend(s, months=6, horizon=2)
    assert [str(p) for p in trend.actual["period"]] == ["1405-02", "1405-03", "1405-04", "1405-05", "1405-06",
                                                        "1405-07"]


def test_toman_shows_irr_amounts_divided_by_ten(ds) -> None:
    from dataclasses import replace

    rials = replace(ds, currency="IRR")
    tomans = sections.dataset(rials, currency="toman")
    assert tomans.currency == "IRT" and sections.dataset(rials, currency="IRT") is tomans  # cached
    assert tomans.deals["amount"].sum() == pytest.approx(ds.deals["amount"].sum() / 10)
    t, r = ds.targets, tomans.targets
    money = t["metric"].astype(str).isin(["revenue", "new_mrr"])  # money KPIs; won_deals is a count
    assert r.loc[money, "value"].sum() == pytest.approx(t.loc[money, "value"].sum() / 10)
    assert (r.loc[~money, "value"].fillna(-1) == t.loc[~money, "value"].fillna(-1)).all()  # rates stay
    s = sections.scope(tomans, "2026-10", locale="fa")
    card = sections.cards(s, kpis=["revenue"])
    assert card.attrs["currency"] == "IRT"
    assert format_value(card["value"].iloc[0], "money", "IRT", locale="fa", style="card").endswith("هزار تومان")
    with pytest.raises(ValueError, match="can only show IRR amounts in tomans"):
        sections.dataset(ds, currency="IRT")  # dollars are not rials


def test_sections_share_one_start(ds) -> None:
    """recurring() and customers() (and the other card sections) begin the same way: no data for the scope,
    or a scope that cannot have the section's KPIs, gives a message and the reason in skipped."""
    team = sections.scope(ds, "", team="EMEA North")
    rec, cust = sections.recurring(team), sections.customers(team)
    assert rec.message.startswith("Recurring revenue is not available for a team scope")
    assert cust.message.startswith("Customer metrics are not available for a team scope")
    assert set(rec.skipped) == {"mrr"} and set(cust.skipped) == {"new_customers"}
    assert rec.cards.empty and cust.cards.empty


def test_data_notes_say_what_the_numbers_rest_on() -> None:
    """Rows joined, unmatched, filled, left out and dropped on the way in are counted in the data notes."""
    from kpitools import i18n
    from tests.conftest import FIXTURES

    crm = kpitools.load(FIXTURES / "exports" / "crm")
    text = sections.data_notes(crm, period="2017-03").text
    for sentence in ("deals: 1 row has a sales_agent that sales_teams.csv does not have",
                     "deals: 1 row left out where account is Internal Test Co.",
                     "deals: 4 rows had no amount; it was taken from sales_price.",
                     "deals: 2 rows dropped because they have no created_at."):
        assert sentence in text
    with i18n.using("ru"):
        assert "deals: 2 строки удалены: в них нет значения created_at." in \
            sections.data_notes(crm, period="2017-03").text


@pytest.mark.parametrize("name, expected", [
    ("last_complete_month", "2026-10"), ("last_complete_month-2", "2026-08"), ("current_month", "2026-10"),
    ("previous_quarter", "2026Q3"), ("current_quarter-1", "2026Q3"), ("last_complete_year", "2025")])
def test_relative_periods_resolve_against_the_data(ds, name: str, expected: str) -> None:
    """The one relative-period parser (kpis/relative.py), anchored on the data's last date (October 2026)."""
    assert str(sections.scope(ds, name).period) == expected


def test_leaderboard_and_scorecard_count_the_same_active_reps(ds) -> None:
    """One active-rep rule: in 2025-08 Sofia O'Brien's only events are four lost deals. She was selling,
    so she is on the leaderboard and has a scorecard (before, the scorecard said she had no sales or
    activity) and counts among her team's peers."""
    deals = ds.deals[ds.deals["rep"].astype(str) == "Sofia O'Brien"]
    month = pd.Period("2025-08", "M")
    closed = deals[deals["closed_at"].dt.to_period("M") == month]
    assert len(closed) and not closed["status"].astype(str).eq("won").any()
    board = sections.leaderboard(ds, "2025-08", {"region": "EMEA"}).table
    assert "Sofia O'Brien" in set(board["rep"])
    card = sections.scorecard(ds, "2025-08", {"rep": "Sofia O'Brien"})
    assert card.message is None and "Sofia O'Brien" in set(card.peers["rep"])
    team = card.peer_word.removeprefix("team ")
    on_board = set(sections.leaderboard(ds, "2025-08", {"team": team}).table["rep"])
    assert set(card.peers["rep"]) == on_board
