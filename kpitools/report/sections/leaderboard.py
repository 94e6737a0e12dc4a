"""The rep leaderboard section: one row per rep active in the period, best first, and its display table."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ... import i18n
from ...i18n import N_, format_value
from ...i18n import gettext as _
from ...kpis.status import against_target
from ..section import Section, _in_locale, _no_period_data, _start, _wide

_LEADERBOARD_COLUMNS = {  # measure -> (column title, unit)
    "revenue": (N_("Revenue"), "money"), "won_deals": (N_("Won deals"), "count"),
    "win_rate": (N_("Win rate"), "ratio"), "quota_attainment": (N_("Quota attainment"), "ratio"),
    "opportunities_created": (N_("Deals created"), "count"), "activities": (N_("Activities"), "count"),
    "avg_sales_cycle_days": (N_("Sales cycle"), "days"), "churn_after_sale": (N_("Churn after sale"), "ratio"),
}
LEADERBOARD_KPIS = ("revenue", "won_deals", "win_rate", "quota_attainment", "opportunities_created",
                    "activities_per_rep", "avg_sales_cycle_days")


@dataclass(eq=False)
class LeaderboardSection(Section):
    table: pd.DataFrame | None = None  # one row per active rep, best first (see leaderboard())


@_in_locale
def leaderboard(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> LeaderboardSection:
    """The rep leaderboard for the period: table, one row per rep active in the period (an activity, or
    a deal created or closed in it), best first: rep, team, revenue, won_deals, win_rate,
    quota_attainment, opportunities_created, activities, avg_sales_cycle_days, each measure's median over
    the scope's active reps ("<measure>_team_median", as rep_leaderboard names it), rank by revenue
    (1 = highest, ties share the better rank) and status (quota attainment against 100%).

    The same numbers as the rep_leaderboard KPI, computed for the period and the measures shown only
    (compute(..., by="rep")), which is several times faster than the full leaderboard table."""
    sec = _start(LeaderboardSection, "leaderboard", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    f = s.compute(LEADERBOARD_KPIS, by="rep")
    sec.skipped.update(f.attrs.get("skipped", {}))
    f = f[f["rep"].notna()]
    w = _wide(f, "rep", "kpi").rename(columns={"activities_per_rep": "activities"}).reset_index()
    if w.empty:
        sec.message = _no_period_data(s, N_("No reps with sales or activities for {scope} in {period}."))
        return sec
    w["rep"] = w["rep"].astype(str)
    w = w[w["rep"].isin(list(s.active("rep")))].reset_index(drop=True)  # the one active-rep rule
    if w.empty:
        sec.message = _no_period_data(s, N_("No reps with sales or activities for {scope} in {period}."))
        return sec
    deals = s.ds.tables.get("deals")
    if deals is not None and "team" in deals.columns:
        d = deals.loc[deals["rep"].notna() & deals["team"].notna(), ["rep", "team"]].astype(str)
        teams = d.groupby("rep")["team"].agg(lambda x: x.mode().iloc[0])
        w.insert(1, "team", w["rep"].map(teams))
    measures = [c for c in w.columns if c not in ("rep", "team")]
    for m in measures:  # as rep_leaderboard: the median over the active reps of the scope (the "team")
        w[m] = w[m].astype("float64")
        w[f"{m}_team_median"] = w[m].median()
    if "revenue" in w:
        w["rank"] = w["revenue"].rank(ascending=False, method="min")
        w = w.sort_values(["rank", "rep"], kind="stable").reset_index(drop=True)
    if "quota_attainment" in w:
        qa = w["quota_attainment"]
        w["status"] = against_target(qa, 1.0, "higher").astype(object).where(qa.notna(), None)
    sec.table = w
    if len(w) < 2 and "rep" in s.filters:
        sec.message = _("The leaderboard compares reps: this report is for one rep (see the rep scorecard).")
    return sec


@i18n.localised
def leaderboard_table(table: pd.DataFrame, n: int = 10, currency: str = "USD") -> pd.DataFrame:
    """The top `n` rows of leaderboard().table as display text: Rep, Team, Revenue, Won deals, Win rate,
    Quota attainment, Deals created, Activities, Sales cycle (values formatted like the cards)."""
    if table is None or table.empty:
        return pd.DataFrame()
    top = table.head(n)
    out = pd.DataFrame({"#": [i18n.localize(f"{int(r)}") if pd.notna(r) else ""
                              for r in top.get("rank", range(1, len(top) + 1))],
                        _("Rep"): top["rep"].astype(str)})
    if "team" in top:
        out[_("Team")] = top["team"].fillna("").astype(str)
    for m, (title, unit) in _LEADERBOARD_COLUMNS.items():
        if m in top and m != "churn_after_sale":
            out[_(title)] = [format_value(v, unit, currency, style="card") for v in top[m]]
    out = out.set_index("#")
    out.index.name = None
    return out
