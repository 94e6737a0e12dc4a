"""G. Reps: the rep leaderboard.

The leaderboard is built from the other families' KPIs, looked up in the registry
when it runs (so it shows whatever the catalogue and the dataset support) and
computed per rep with `by=[*by, "rep"]`.
"""
from __future__ import annotations

import pandas as pd

from ..data import Dataset
from ._common import combine, flow, grid
from .activity import active_reps
from .registry import REGISTRY, kpi

FAMILY = "reps"

# The leaderboard's measures, in display order. "activities" is computed here (a
# plain count of the rep's activities); the others are catalogue KPIs.
MEASURES = (
    "revenue", "won_deals", "win_rate", "opportunities_created", "activities", "quota_attainment",
    "avg_sales_cycle_days", "avg_profit_margin", "churn_after_sale",
)


def _keys_to_object(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Key columns as plain objects with None for missing, so frames from different tables merge."""
    df = df.copy()
    for c in cols:
        s = df[c].astype(object)
        df[c] = s.where(s.notna(), None)
    return df


def _universe(ds: Dataset, by: list[str]) -> pd.DataFrame:
    """Distinct (*by, rep) seen in deals, and in activities when they carry every key; rep not missing."""
    keys = [*by, "rep"]
    parts = []
    for name in ("deals", "activities"):
        df = ds.tables.get(name)
        if df is not None and all(c in df.columns for c in keys):
            part = df.loc[df["rep"].notna(), keys].drop_duplicates()
            parts.append(_keys_to_object(part, keys))
    out = pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)
    order = out.astype(str).sort_values(keys).index  # readable order: by group, then rep
    return out.loc[order].reset_index(drop=True)


def _activities(ds: Dataset, freq: str, keys: list[str]) -> pd.DataFrame | None:
    """Count of each rep's activities in the period (any type, any direction)."""
    acts = ds.tables.get("activities")
    if acts is None or not all(c in acts.columns for c in keys):
        return None
    return flow(ds, acts, "at", freq, keys, agg="count")


def _measure(ds: Dataset, measure: str, freq: str, keys: list[str]) -> tuple[pd.DataFrame, bool] | None:
    """A measure's tidy frame per (period, *keys) and whether it is additive; None when unavailable."""
    if measure == "activities":
        out = _activities(ds, freq, keys)
        return None if out is None else (out, True)
    k = REGISTRY.get(measure)
    if k is None or k.kind == "table" or ds.missing(list(k.needs)):
        return None
    main = k.tables[0]
    if not all(ds.has(main, c) for c in keys):
        return None
    return k.function(ds, freq=freq, by=keys), k.additive


@kpi("rep_leaderboard", name="Rep leaderboard", unit="table", direction="neutral", needs=["deals", "deals.rep"],
     family=FAMILY, kind="table", dimensions=("rep",), source="002 #18, 003 #2, 004 #14-15")
def rep_leaderboard(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Per rep and period: revenue, won_deals, win_rate, opportunities_created, activities, quota_attainment,
    avg_sales_cycle_days, avg_profit_margin and churn_after_sale (each as its own KPI defines it, where the
    dataset supports it), the rep's rank by revenue among the reps active in the period (1 = highest), and
    the team median of each measure over the active reps (measure "<name>_team_median").

    Rows: every period x every rep seen in deals (or in activities) within each `by` group; deals without
    a rep are left out. A rep is active in a period when they have an activity, or a deal created or
    closed, in it (as for activities_per_rep); an inactive rep keeps their row (counts and sums 0, other
    measures as their KPI gives them) but gets no rank and does not enter the team median. Counts and sums
    (revenue, won_deals, opportunities_created, activities) are 0 for a rep with nothing in the period, so a
    rep without activity shows activities 0. Ties share the better rank. A measure is left out when its
    KPI is not registered, the dataset lacks what it needs, or its table has no rep (or `by`) column.
    """
    by = [b for b in by if b != "rep"]
    keys = [*by, "rep"]
    periods = grid(ds, freq)
    frame = pd.DataFrame({"period": periods}).merge(_universe(ds, by), how="cross")
    active = active_reps(ds, freq, by).assign(_active=True)
    frame = frame.merge(active, on=["period", *keys], how="left")
    is_active = frame.pop("_active").eq(True).to_numpy()
    team = ["period", *by]

    frames: dict[str, pd.DataFrame] = {}
    for measure in MEASURES:
        got = _measure(ds, measure, freq, keys)
        if got is None:
            continue
        result, additive = got
        res = _keys_to_object(result[["period", *keys, "value", "note"]], keys)
        m = frame.merge(res, on=["period", *keys], how="left", indicator=True)
        if len(m) != len(frame):
            raise ValueError(f"{measure} returned more than one row per period and rep")
        absent = (m.pop("_merge") == "left_only").to_numpy()
        m["note"] = m["note"].astype("string")
        if additive:
            m.loc[absent, "value"] = 0.0
        else:
            m.loc[absent, "note"] = f"{measure} not available for this rep (no rows in its table)"
        m["value"] = m["value"].astype("float64")
        frames[measure] = m

    out: dict[str, pd.DataFrame] = {}
    for measure, m in frames.items():
        out[measure] = m
        med = frame.copy()
        vals = m["value"].where(is_active)
        med["value"] = vals.groupby([m[c] for c in team], dropna=False).transform("median").astype("float64")
        med["note"] = pd.Series(pd.NA, index=med.index, dtype="string")
        med.loc[med["value"].isna(), "note"] = "no active rep with a value in the period"
        out[f"{measure}_team_median"] = med
    if "revenue" in frames:
        rank = frame.copy()
        revenue = frames["revenue"]["value"].where(is_active)
        rank["value"] = revenue.groupby([frame[c] for c in team], dropna=False).rank(
            ascending=False, method="min").astype("float64")
        rank["note"] = pd.Series(pd.NA, index=rank.index, dtype="string")
        rank.loc[~is_active, "note"] = "rep not active in the period"
        out["rank"] = rank

    result = combine(out, keys) if out else pd.DataFrame(columns=["period", *keys, "measure", "value", "note"])
    for c in keys:
        result[c] = result[c].astype("category")
    result["note"] = result["note"].astype("string")
    return result.reset_index(drop=True)
