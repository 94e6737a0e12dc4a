"""The rep scorecard section: one rep (or one team) against the median of their peers, and its table."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ... import i18n
from ...calendars.periods import year_earlier
from ...i18n import N_, format_value
from ...i18n import gettext as _
from ...kpis.registry import REGISTRY
from ...kpis.status import against_benchmark, against_target
from ..scope import _scope, scope, scope_label
from ..section import CARD_NAMES, Section, _in_locale, _no_period_data, _wide, lacks_needs

SCORECARD_KPIS = ("revenue", "won_deals", "quota_attainment", "win_rate", "avg_sales_cycle_days", "pipeline_value",
                  "opportunities_created", "activities_per_rep", "call_reach_rate", "call_qualification_rate",
                  "call_conversion_rate", "email_reply_rate", "churn_after_sale")


@dataclass(eq=False)
class ScorecardSection(Section):
    subject: str | None = None  # the rep or team
    level: str | None = None  # "rep" or "team"
    peer_word: str | None = None  # "team EMEA North"
    peer_title: str | None = None  # the peers chart's title
    peers: pd.DataFrame | None = None  # one row per active peer, values per KPI
    table: pd.DataFrame | None = None  # kpi, name, unit, value, median, benchmark, status...


@_in_locale
def scorecard(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None,
              kpis: Iterable[str] = SCORECARD_KPIS) -> ScorecardSection:
    """One rep (or one team) against the median of their peers, for the period.

    Subject: the `rep` filter; else the `team` filter (peers: the other teams, in the same region when a
    region is given); else the top rep by revenue in the period within the other filters. A rep's peers
    are the reps of their team (of their region when the rep has no team), counting those active in the
    period (an activity, or a deal created or closed); medians include the subject.

    Cards: compare-like rows (value, previous period, last year, status) where `benchmark` holds the KPI's
    benchmark and the peer median as text, and status is rated against the benchmark (the 30/50/50 call
    rules, win rate >= 15%), against 100% for quota attainment, else against the peer median (at risk
    within 10%). Fields: subject, level ("rep" or "team"), peer_word ("team EMEA North"), peer_title (for
    the peers chart), peers (one row per peer, values per KPI),
    table (kpi, name, unit, value, median, benchmark, status)."""
    base = dict(filters or {})
    s0 = _scope(ds, period, base)
    full, p = s0.full, s0.period
    flt = dict(s0.filters)
    level, subject = ("rep", flt.get("rep")) if flt.get("rep") else ("team", flt.get("team")) if flt.get(
        "team") else ("rep", None)
    sec = ScorecardSection("scorecard", s0)
    if lacks_needs(sec):
        return sec
    if s0.message:
        sec.message = s0.message
        return sec
    if subject is None:  # the top rep by revenue in the period within the other filters
        f = s0.compute("revenue", by="rep")
        f = f[f["rep"].notna() & (f["value"] > 0)].sort_values(["value", "rep"], ascending=[False, True], kind="stable")
        if f.empty:
            sec.message = _no_period_data(s0, N_("No won deals (so no top rep to show) for {scope} in {period}."))
            return sec
        subject = str(f["rep"].iloc[0])
        sec.notes.append(_("No rep or team was chosen: showing the top rep by revenue in {period}, {rep}.",
                           period=s0.period_label, rep=subject))
    peer_filters = {k: v for k, v in flt.items() if k not in ("rep", "team")}
    if level == "rep":
        deals = full.tables.get("deals")
        team = None
        if deals is not None and "team" in deals.columns:
            t = deals.loc[deals["rep"].astype(object) == subject, "team"].dropna()
            team = str(t.mode().iloc[0]) if len(t) else None
        if team:
            peer_filters["team"] = team
        peer_word = _("team {team}", team=team) if team else _("peers")
    else:
        peer_word = _("teams in {region}", region=flt["region"]) if flt.get("region") else _("teams")
    peers = scope(full, p, peer_filters)
    sub = scope(full, p, {**peer_filters, level: subject})
    sec.scope = sub
    peer_title = (_("Revenue by rep, {peers}", peers=peer_word) if level == "rep"
                  else _("Revenue by team, {region}", region=flt["region"]) if flt.get("region")
                  else _("Revenue by team"))
    sec.subject, sec.level, sec.peer_word, sec.peer_title = subject, level, peer_word, peer_title
    kpis = [k for k in kpis if k in REGISTRY and peers.in_scope(k) is None]
    prev, ly = p - 1, year_earlier(p)
    f = peers.compute(kpis, by=level, period=[ly, prev, p])
    sec.skipped.update(f.attrs.get("skipped", {}))
    f = f[f[level].notna()].copy()
    f[level] = f[level].astype(str)
    cur = _wide(f[f["period"] == p], level, "kpi").astype("float64")
    active = pd.Series(cur.index.isin(list(peers.active(level))), index=cur.index)  # the leaderboard's rule
    if subject not in cur.index or not active.get(subject, False):
        sec.message = _("No sales or activity for {scope} in {period}.",
                        scope=scope_label({level: subject}), period=s0.period_label)
        return sec
    cur = cur[active]
    median = cur.median(numeric_only=True)
    sec.peers = cur.reset_index()

    def at(q: pd.Period, k: str) -> float:
        r = f[(f["period"] == q) & (f["kpi"] == k) & (f[level] == subject)]["value"]
        return float(r.iloc[0]) if len(r) else np.nan

    rows = []
    for k in kpis:
        if k not in cur.columns:
            continue
        meta = REGISTRY[k]
        v, pv, lv, med = at(p, k), at(prev, k), at(ly, k), float(median.get(k, np.nan))
        bench_low = meta.benchmark.low if meta.benchmark else None
        bench_high = meta.benchmark.high if meta.benchmark else None
        target = np.nan
        if meta.benchmark:
            status = against_benchmark(v, bench_low, bench_high)
        elif k == "quota_attainment":
            target = 1.0
            status = _status_text(against_target(pd.Series([v], dtype="float64"), target, "higher").iloc[0])
        else:
            status = _status_text(against_target(pd.Series([v], dtype="float64"), med, meta.direction).iloc[0])
        med_value = format_value(med, meta.unit, full.currency, style="card")
        # kpi_cards writes "Benchmark <text>": "Benchmark ≥ 30% · team median 28.1%" or
        # "Benchmark is the team median, $46.2k"
        if meta.benchmark:
            rule = i18n.benchmark_text(meta.benchmark.text)
            bench = (_("{benchmark} · team median {value}", benchmark=rule, value=med_value) if level == "rep"
                     else _("{benchmark} · peer median {value}", benchmark=rule, value=med_value))
        else:
            bench = (_("is the team median, {value}", value=med_value) if level == "rep"
                     else _("is the peer median, {value}", value=med_value))
        change = v - pv if pd.notna(v) and pd.notna(pv) else np.nan
        good = None
        if pd.notna(change) and meta.direction in ("higher", "lower"):
            good = bool(change > 0) if meta.direction == "higher" else bool(change < 0)
        if pd.isna(v):  # nothing to show (e.g. churn after sale without customers yet)
            sec.skipped.setdefault(k, _("no value for {subject} in {period}", subject=subject,
                                        period=s0.period_label))
            continue
        rows.append({"kpi": k, "name": CARD_NAMES.get(k, meta.name), "unit": meta.unit, "direction": meta.direction,
                     "value": v,
                     "previous": pv, "change": change,
                     "change_pct": change / abs(pv) if pd.notna(change) and pv else np.nan, "good": good,
                     "last_year": lv, "yoy_change": v - lv if pd.notna(v) and pd.notna(lv) else np.nan,
                     "yoy_pct": (v - lv) / abs(lv) if pd.notna(v) and pd.notna(lv) and lv else np.nan,
                     "target": target, "benchmark": bench, "status": status, "median": med})
    table = pd.DataFrame(rows)
    sec.cards = table.drop(columns=["median"])
    sec.table = table
    return sec


@i18n.localised
def scorecard_table(section: ScorecardSection) -> pd.DataFrame:
    """scorecard().table as display text: KPI, the subject's value, the peer median, the benchmark and
    the status."""
    t = section.table if section is not None else None
    if t is None or t.empty:
        return pd.DataFrame()
    cur = section.currency
    who = str(section.subject)
    median = _("Team median") if section.level == "rep" else _("Median of teams")
    kpi_col = _("KPI")
    out = pd.DataFrame({
        kpi_col: [i18n.kpi_name(k, name=n) for k, n in zip(t["kpi"], t["name"].astype(str))],
        who: [format_value(v, u, cur, style="card") for v, u in zip(t["value"], t["unit"])],
        median: [format_value(v, u, cur, style="card") for v, u in zip(t["median"], t["unit"])],
        _("Benchmark"): [_benchmark(k) for k in t["kpi"]],
        _("Status"): [i18n.status_text(s if isinstance(s, str) else "not rated") for s in t["status"]],
    })
    out = out.set_index(kpi_col)
    out.index.name = None
    return out


def _benchmark(kpi: str) -> str:
    """The KPI's benchmark in words; quota attainment's is 100%."""
    benchmark = REGISTRY[kpi].benchmark
    if benchmark is not None:
        return i18n.benchmark_text(benchmark.text)
    return i18n.percent(1.0, 0) if kpi == "quota_attainment" else ""


def _status_text(status: Any) -> str | None:
    return None if status is None or pd.isna(status) else str(status)
