"""G. Reps: the rep leaderboard.

The leaderboard is built from the other families' KPIs, looked up in the registry
when it runs (so it shows whatever the catalogue and the dataset support) and
computed per rep with `by=[*by, "rep"]`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data import Dataset
from .activity import active_reps
from .engine import combine, flow, grid, group_index, groups
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
            if group_index(df, keys) is not None:  # the distinct groups of the table, cached
                part = groups(df, keys)
                part = part[part["rep"].notna().to_numpy()]
            else:
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


class _Lookup:
    """Finds, for every row of the leaderboard's frame (period x rep, key columns as objects), the row
    of a measure's result with the same period and keys, on integer codes (a merge on object
    columns costs much more)."""

    def __init__(self, frame: pd.DataFrame, keys: list[str]) -> None:
        self.keys = keys
        self.freq = frame["period"].dtype
        self.period = frame["period"].array.asi8
        self.cats = [pd.Categorical(frame[c]) for c in keys]  # missing values: code -1
        self.frame = frame

    def _key(self, period: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
        key = period.astype(np.int64) - self.low
        for c, cat in zip(codes, self.cats):
            key = key * (len(cat.categories) + 1) + (c + 1)
        return key

    def join(self, result: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray] | None:
        """(frame with the result's value and note, rows without a match), or None when the result's
        keys are not categories of one period frequency."""
        keys = self.keys
        if result["period"].dtype != self.freq or not all(
                isinstance(result[c].dtype, pd.CategoricalDtype) for c in keys):
            return None
        r_period = result["period"].array.asi8
        both = np.concatenate([self.period, r_period])
        if not len(both) or (r_period == np.iinfo(np.int64).min).any():
            return None
        self.low = int(both.min())
        if float(int(both.max()) - self.low + 1) * float(np.prod([len(c.categories) + 1.0 for c in self.cats])) \
                >= 2.0 ** 62:
            return None
        r_codes, ok = [], np.ones(len(result), dtype=bool)
        for c, cat in zip(keys, self.cats):
            rc = result[c].array
            lut = cat.categories.get_indexer(rc.categories)  # -1: a value the frame does not have
            codes = np.where(rc.codes < 0, -1, lut[rc.codes])
            ok &= ~((rc.codes >= 0) & (codes < 0))
            r_codes.append(codes)
        r_key = self._key(r_period[ok], [c[ok] for c in r_codes])
        index = pd.Index(r_key)
        if not index.is_unique:
            return None
        pos = index.get_indexer(self._key(self.period, [c.codes.astype(np.int64) for c in self.cats]))
        rows = np.flatnonzero(ok)[pos]
        found = pos >= 0
        m = self.frame.copy()
        value = result["value"].to_numpy(dtype="float64", na_value=np.nan)[rows]
        m["value"] = np.where(found, value, np.nan)
        note = result["note"].astype("string").array.take(np.where(found, rows, -1), allow_fill=True) \
            if "note" in result.columns else pd.array([pd.NA] * len(m), dtype="string")
        m["note"] = note
        return m, ~found


@kpi("rep_leaderboard", name="Rep leaderboard", unit="table", direction="neutral", needs=["deals", "deals.rep"],
     family=FAMILY, kind="table", dimensions=("rep",), source="002 #18, 003 #2, 004 #14-15")
def rep_leaderboard(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """Per rep and period: revenue, won_deals, win_rate, opportunities_created, activities, quota_attainment,
    avg_sales_cycle_days, avg_profit_margin and churn_after_sale (each as its own KPI defines it, where the
    dataset supports it), the rep's rank by revenue among the reps active in the period (1 = highest), and
    the team median of each measure over the active reps (measure "<name>_team_median").

    Rows: every period x every rep seen in deals (or in activities) within each `by` group; deals without
    a rep are left out. A rep is active in a period when they have an activity, or a deal created or
    closed (won or lost), in it (`active_reps`, the rule of activities_per_rep and revenue_per_rep); an
    inactive rep keeps their row (counts and sums 0, other
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

    lookup = _Lookup(frame, keys)
    frames: dict[str, pd.DataFrame] = {}
    for measure in MEASURES:
        got = _measure(ds, measure, freq, keys)
        if got is None:
            continue
        result, additive = got
        m = lookup.join(result)
        if m is None:  # key columns the lookup does not handle: plain merge
            res = _keys_to_object(result[["period", *keys, "value", "note"]], keys)
            m = frame.merge(res, on=["period", *keys], how="left", indicator=True)
            if len(m) != len(frame):
                raise ValueError(f"{measure} returned more than one row per period and rep")
            absent = (m.pop("_merge") == "left_only").to_numpy()
        else:
            m, absent = m
        m["note"] = m["note"].astype("string")
        if additive:
            m.loc[absent, "value"] = 0.0
        else:
            m.loc[absent, "note"] = f"{measure} not available for this rep (no rows in its table)"
        m["value"] = m["value"].astype("float64")
        frames[measure] = m

    # one number per (period, *by) team: the groups of the medians and ranks below
    team_code = frame.groupby(team, dropna=False, sort=False).ngroup().to_numpy()
    out: dict[str, pd.DataFrame] = {}
    for measure, m in frames.items():
        out[measure] = m
        med = frame.copy()
        vals = m["value"].where(is_active)
        med["value"] = vals.groupby(team_code).transform("median").astype("float64")
        med["note"] = pd.Series(pd.NA, index=med.index, dtype="string")
        med.loc[med["value"].isna(), "note"] = "no active rep with a value in the period"
        out[f"{measure}_team_median"] = med
    if "revenue" in frames:
        rank = frame.copy()
        revenue = frames["revenue"]["value"].where(is_active)
        rank["value"] = revenue.groupby(team_code).rank(ascending=False, method="min").astype("float64")
        rank["note"] = pd.Series(pd.NA, index=rank.index, dtype="string")
        rank.loc[~is_active, "note"] = "rep not active in the period"
        out["rank"] = rank

    if not out:
        result = pd.DataFrame(columns=["period", *keys, "measure", "value", "note"])
        for c in keys:
            result[c] = result[c].astype("category")
    else:
        result = combine(out, keys)
        # every part holds frame's key columns row for row: make them categories once and repeat them
        for c in keys:
            cat = frame[c].astype("category")
            result[c] = pd.Categorical.from_codes(np.tile(cat.cat.codes.to_numpy(), len(out)), dtype=cat.dtype)
    result["note"] = result["note"].astype("string")
    return result.reset_index(drop=True)
