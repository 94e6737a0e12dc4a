"""B. Targets: quotas and goals from the `targets` table.

Which targets apply (the level rule)
------------------------------------
A target row's *level* is its finest filled level column (rep, then team, then
region); a row with none filled is a company target. A KPI computed with `by`
uses the rows whose level is the finest level column in `by` and that have every
level column of `by` filled: no `by` -> company targets, by=["region"] -> region
targets, by=["rep"] -> rep targets, by=["region", "rep"] -> rep targets that also
name their region. A `by` column that is not a level (product, channel...) has no
targets. A level column holding one single value on every target row of the
metric (as after `ds.filter(region="EMEA")`) is treated as fixed: the
"company" target of a dataset filtered to EMEA is then the EMEA target.

Periods
-------
`targets.period` is "2024-03", "2024Q1" or "2024" (fiscal quarters and years
when the fiscal year does not start in January, see periods.py). A target
counts toward the reporting period that contains it, so monthly targets add up
to quarters and years; a target longer than the reporting period (a quarterly
target at freq="M") cannot be split and leaves a note instead. When targets of
several lengths fall in one reporting period for one group, only the longest
ones are used (a yearly target is not added to the monthly ones inside it).
Metrics that are not additive (ratios, means) only use targets of exactly the
reporting frequency.

Calendars
---------
A period text is read in the calendar its year belongs to: "1403-01" or "1403Q1"
(a year below 1700) is Jalali, "2024-03" Gregorian. Targets written in the
dataset's calendar (`ds.calendar`) follow the rules above. Targets written in the
other calendar (Gregorian monthly quotas on a Jalali report, say) are spread over
the reporting periods by days: Farvardin 1403 (20 March - 19 April 2024) gets
12/31 of March's target and 19/30 of April's. A reporting period only gets such a
target when the targets cover every one of its days (else a note says how many
they cover), and only for additive metrics. Other-calendar quarters and years
start in the calendar's first month.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..calendars.periods import (
    calendar_of,
    freq_of,
    from_ordinals,
    like,
    next_starts,
    ordinals,
    parse_either,
    period_dtype,
    period_ends,
    period_starts,
)
from ..data import Dataset
from .engine import grid
from .memo import to_period
from .registry import REGISTRY, Option, kpi

FAMILY = "targets"

LEVELS = ("rep", "team", "region")  # finest first
_RANK = {"D": 0, "W": 1, "M": 2, "Q": 3, "Y": 4}
_ADJ = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "Y": "yearly"}
_DENSE_CELLS = 50_000_000  # trailing-window sums use a group x day table up to this size
_PLURAL = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}


# ----------------------------------------------------------------------------- shared helpers

def _kind(period: Any) -> str:
    return freq_of(period)


def _obj(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Copy with `cols` as plain objects, so merges match values (and NaN keys) across tables."""
    df = df.copy()
    for c in cols:
        df[c] = df[c].astype(object)
    return df


def _parsed_targets(ds: Dataset, metric: str) -> pd.DataFrame:
    """The metric's target rows with their period parsed: value, level columns, kind, start, end."""
    t = ds.targets
    t = t[t["metric"].astype("string").eq(metric).fillna(False).to_numpy(dtype=bool)]
    texts = t["period"].astype("string")
    parsed: dict[str, Any] = {}
    for text in texts.dropna().unique():  # a handful of distinct period texts
        try:
            parsed[text] = parse_either(text, ds.fiscal_year_start, ds.calendar)
        except ValueError as e:
            raise ValueError(f"targets.period: {e}") from None
    out = pd.DataFrame({"value": t["value"].astype("float64")}, index=t.index)
    for c in LEVELS:
        out[c] = t[c].astype(object) if c in t.columns else np.nan
    ok = texts.notna().to_numpy()
    out, texts = out[ok], texts[ok].astype(object)
    out["kind"] = texts.map({k: _kind(p) for k, p in parsed.items()}).astype(object)
    out["start"] = pd.to_datetime(texts.map({k: p.start_time for k, p in parsed.items()}))
    out["end"] = pd.to_datetime(texts.map({k: p.end_time for k, p in parsed.items()}))
    out["native"] = texts.map({k: calendar_of(p) == ds.calendar for k, p in parsed.items()}).astype(bool)
    return out.reset_index(drop=True)


def _level_rows(t: pd.DataFrame, by: list[str], metric: str) -> tuple[pd.Series, str | None]:
    """Mask of the target rows that apply to the grouping `by` (see the module docstring), and the
    reason when none can."""
    other = [c for c in by if c not in LEVELS]
    if other:
        return pd.Series(False, index=t.index), f"targets have no {other[0]} level"
    fixed = [c for c in LEVELS if c not in by and len(t) and t[c].notna().all() and t[c].nunique() == 1]
    cols = [c for c in LEVELS if c not in fixed]
    finest = pd.Series(np.select([t[c].notna().to_numpy() for c in cols], cols, default=""), index=t.index) \
        if cols else pd.Series("", index=t.index)
    wanted = next((c for c in LEVELS if c in by), "")
    mask = finest.eq(wanted)
    for c in by:
        mask &= t[c].notna()
    if not mask.any():
        level = f"{wanted}-level" if wanted else "company"
        return mask, f"no {level} {metric} targets"
    return mask, None


def targets_for(ds: Dataset, metric: str, freq: str = "M", by: Sequence[str] = (), spread: bool = True
                ) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """The target of `metric` per reporting period and group.

    Returns (targets: period, *by, target), (notes: period, *by, note for periods whose target could not
    be split), and the reason when no target applies at this level at all. By columns are plain objects.
    `spread=False` keeps only targets of exactly the reporting frequency (for non-additive metrics).
    """
    by = list(by)
    f = freq.upper()
    pdt = period_dtype(f, ds.fiscal_year_start, ds.calendar)
    empty_t = pd.DataFrame({"period": like(np.zeros(0, dtype=np.int64), pdt),
                            **{c: pd.Series([], dtype=object) for c in by},
                            "target": pd.Series([], dtype="float64")})
    empty_n = empty_t.drop(columns="target").assign(note=pd.Series([], dtype="string"))
    if not ds.has("targets"):
        return empty_t, empty_n, "needs targets"
    t = _parsed_targets(ds, metric)
    if t.empty:
        return empty_t, empty_n, f"no {metric} targets"
    mask, reason = _level_rows(t, by, metric)
    if reason:
        return empty_t, empty_n, reason
    t = t[mask.to_numpy()]
    fy, cal = ds.fiscal_year_start, ds.calendar
    first = to_period(t["start"], f, fy, cal)
    last = to_period(t["end"], f, fy, cal)
    native = t["native"].to_numpy(dtype=bool)
    fits = (first == last).to_numpy() & native
    if not spread:
        fits &= t["kind"].eq(f).to_numpy()

    good = t[fits].assign(period=first[fits])
    good["rank"] = good["kind"].map(_RANK)
    keys = ["period", *by]
    good = good[[*keys, "value", "rank"]]
    spread_rows = ~native if spread else np.zeros(len(t), dtype=bool)
    if spread_rows.any():  # targets in the other calendar: spread by days
        good = pd.concat([good, _by_days(t[spread_rows], f, fy, cal, by)], ignore_index=True)
    top = good.groupby(keys, dropna=False)["rank"].transform("max")
    good = good[good["rank"].eq(top)]
    targets = good.groupby(keys, dropna=False)["value"].sum().rename("target").reset_index()
    short = None
    if "_days" in good.columns:  # a period only partly covered by other-calendar targets gets none
        cover = good.groupby(keys, dropna=False)[["_days", "_period_days"]].agg(
            {"_days": "sum", "_period_days": "max"}).reset_index()
        cover = cover[cover["_period_days"].notna() & (cover["_days"] < cover["_period_days"] - 1e-9)]
        if len(cover):
            short = cover[keys].reset_index(drop=True)
            short["note"] = pd.Series([f"the targets cover only {d:g} of the period's {n:g} days"
                                       for d, n in zip(cover["_days"], cover["_period_days"])], dtype="string")
            targets = targets.merge(short[keys].assign(_short=True), on=keys, how="left")
            targets = targets[targets.pop("_short").isna()].reset_index(drop=True)
    if targets.empty:
        targets = empty_t

    bad = t[~fits & ~spread_rows].assign(rank=t["kind"][~fits & ~spread_rows].map(_RANK))
    bad = bad.sort_values("rank", kind="stable")
    notes = empty_n
    if len(bad):  # note on every reporting period a target overlaps but cannot be split into (finest first)
        f_ord = ordinals(to_period(bad["start"], f, fy, cal))
        l_ord = ordinals(to_period(bad["end"], f, fy, cal))
        n = l_ord - f_ord + 1
        pos = np.repeat(np.arange(len(bad)), n)
        offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        notes = bad.iloc[pos][by].reset_index(drop=True)
        notes.insert(0, "period", from_ordinals(f_ord[pos] + offset, f, fy, cal))
        kinds = bad["kind"].to_numpy()[pos]
        other = ~bad["native"].to_numpy(dtype=bool)[pos]
        if spread:
            text = [f"{_ADJ[k]} targets cannot be split into {_PLURAL[f]}" for k in kinds]
        else:
            text = [f"only {_ADJ[f]} {cal.title() + ' ' if o else ''}targets apply to {metric} (not additive)"
                    for o in other]
        notes["note"] = pd.Series(text, dtype="string")
    if short is not None:
        notes = pd.concat([short, notes], ignore_index=True) if len(notes) else short.reset_index(drop=True)
    if len(notes):
        notes = notes.drop_duplicates(keys)
        # a period that does have a usable target needs no note
        notes = notes.merge(targets[keys].assign(_has=True), on=keys, how="left")
        notes = notes[notes.pop("_has").isna()].reset_index(drop=True)
    return targets, notes, None


def _by_days(t: pd.DataFrame, f: str, fy: int, cal: str, by: list[str]) -> pd.DataFrame:
    """Targets spread over the reporting periods they overlap, in proportion to the days they share:
    period, *by, value, rank, _days (days of the period covered), _period_days."""
    f_ord = ordinals(to_period(t["start"], f, fy, cal))
    l_ord = ordinals(to_period(t["end"], f, fy, cal))
    n = l_ord - f_ord + 1
    pos = np.repeat(np.arange(len(t)), n)
    offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    periods = pd.Series(from_ordinals(f_ord[pos] + offset, f, fy, cal))
    p_from, p_to = period_starts(periods), next_starts(periods)
    t_from = pd.DatetimeIndex(t["start"].to_numpy()[pos])
    t_to = pd.DatetimeIndex(t["end"].to_numpy()[pos]).normalize() + pd.Timedelta(days=1)
    day = pd.Timedelta(days=1)
    shared = ((np.minimum(t_to, p_to) - np.maximum(t_from, p_from)) / day).to_numpy()
    out = t.iloc[pos][by].reset_index(drop=True)
    out.insert(0, "period", periods.array)
    out["value"] = t["value"].to_numpy()[pos] * shared / ((t_to - t_from) / day).to_numpy()
    out["rank"] = t["kind"].map(_RANK).to_numpy()[pos]
    out["_days"] = shared
    out["_period_days"] = ((p_to - p_from) / day).to_numpy()
    return out


def _actual(ds: Dataset, metric: str, freq: str, by: list[str]):
    k = REGISTRY.get(metric)
    if k is None:
        raise ValueError(f"unknown metric {metric!r}: a target metric must be a KPI id such as revenue")
    if k.kind == "table":
        raise ValueError(f"{metric} is a table KPI and cannot have a target")
    missing = ds.missing(list(k.needs))
    if missing:
        raise ValueError(f"metric {metric} needs {', '.join(missing)}")
    return k, k.function(ds, freq=freq, by=list(by))


def _frame(ds: Dataset, freq: str, by: list[str], *parts: pd.DataFrame) -> pd.DataFrame:
    """Every grid period x every group seen in any of `parts` (plain-object by columns)."""
    periods = grid(ds, freq)
    out = pd.DataFrame({"period": periods})
    if by:
        gs = pd.concat([_obj(p[by], by) for p in parts], ignore_index=True).drop_duplicates()
        out = out.merge(gs, how="cross")
    return out


def _fiscal_year(periods: pd.Series, fiscal_year_start: int, calendar: str = "gregorian") -> pd.Series:
    starts = pd.Series(period_starts(periods), index=periods.index)
    return to_period(starts, "Y", fiscal_year_start, calendar)


def _year_to_date(m: pd.DataFrame, by: list[str], fiscal_year_start: int, calendar: str = "gregorian"
                  ) -> pd.DataFrame:
    """Cumulate actual and target from the start of each fiscal year; a year-to-date target is NaN until
    the year has one, and keeps a split note once a period of the year had one."""
    m = m.sort_values([*by, "period"], kind="stable").copy()
    keys = [m[c] for c in by] + [_fiscal_year(m["period"], fiscal_year_start, calendar)]
    g = lambda s: s.groupby(keys, dropna=False)  # noqa: E731
    m["actual"] = g(m["actual"]).cumsum()
    has_target = g(m["target"].notna().astype(int)).cumsum() > 0
    m["target"] = g(m["target"].fillna(0.0)).cumsum().where(has_target)
    blocked = g(m["split_note"].notna().astype(int)).cumsum() > 0
    first_note = g(m["split_note"]).transform("first") if len(m) else m["split_note"]
    m["split_note"] = first_note.where(blocked).astype("string")
    m.loc[blocked, "target"] = np.nan
    return m.sort_index()


def _actual_and_target(ds: Dataset, freq: str, by: list[str], metric: str, ytd: bool) -> pd.DataFrame:
    """period, *by, actual, actual_note, target, target_note over the grid."""
    k, actual = _actual(ds, metric, freq, by)
    if ytd and not k.additive:
        raise ValueError(f"ytd needs an additive metric (a sum or count); {metric} is not")
    targets, notes, reason = targets_for(ds, metric, freq, by, spread=k.additive)
    keys = ["period", *by]
    actual = _obj(actual, by)
    m = _frame(ds, freq, by, actual, targets)
    m = m.merge(actual[[*keys, "value", "note"]].rename(columns={"value": "actual", "note": "actual_note"}),
                on=keys, how="left")
    if k.additive:
        m["actual"] = m["actual"].fillna(0.0)
    m = m.merge(targets, on=keys, how="left")
    m = m.merge(notes.rename(columns={"note": "split_note"}), on=keys, how="left")
    m["split_note"] = m["split_note"].astype("string")
    if ytd:
        m = _year_to_date(m, by, ds.fiscal_year_start, ds.calendar)
    note = pd.Series(pd.NA, index=m.index, dtype="string")
    missing = m["target"].isna()
    note[missing] = reason or f"no {metric} target for this period"
    note = m["split_note"].where(missing & m["split_note"].notna(), note)
    m["target_note"] = note.astype("string")
    return m.drop(columns="split_note")


def _finish(m: pd.DataFrame, by: list[str], value: pd.Series, note: pd.Series) -> pd.DataFrame:
    out = m[["period", *by]].copy()
    out["value"] = pd.Series(value, index=m.index).astype("float64")
    out["note"] = pd.Series(note, index=m.index).astype("string").where(out["value"].isna(), pd.NA)
    for c in by:
        out[c] = out[c].astype("category")
    return out.reset_index(drop=True)


_METRIC = Option("revenue", None, "the KPI id the targets are set on (targets.metric); default revenue")
_YTD = Option(False, (False, True), "True: year-to-date actual vs year-to-date target (fiscal year)")


# ----------------------------------------------------------------------------- KPIs

@kpi("quota_attainment", name="Quota attainment", unit="ratio", direction="higher", needs=["deals", "targets"],
     family=FAMILY,
     options={
         "metric": _METRIC,
         "pooling": Option("pooled", ("pooled", "mean_of_reps"),
                           "pooled: Σ actual / Σ target of the group (default); mean_of_reps: mean of each "
                           "rep's own attainment, using rep targets (by may then only use level columns the "
                           "rep targets carry)"),
         "ytd": _YTD,
     },
     benchmark=None, source="002 #12")
def quota_attainment(ds: Dataset, freq: str = "M", by: Sequence[str] = (), metric: str = "revenue",
                     pooling: str = "pooled", ytd: bool = False) -> pd.DataFrame:
    """Σ actual / Σ target of the target's metric in the period (pooled), at the level given by `by`
    (no by: company targets; by=["rep"]: rep targets; by=["region"]: region targets). ytd=True compares
    year-to-date actual with year-to-date target.

    Code: targets are matched to actuals per level and granularity, and mean_of_reps is another computation."""
    by = list(by)
    if pooling == "pooled":
        m = _actual_and_target(ds, freq, by, metric, bool(ytd))
        ok = m["target"].notna() & (m["target"] != 0) & m["actual"].notna()
        value = np.where(ok, m["actual"] / m["target"].where(ok, 1.0), np.nan)
        note = m["target_note"].copy()
        note[m["target"].eq(0)] = "target is 0"
        note = note.fillna(m["actual_note"])
        return _finish(m, by, value, note)
    return _mean_of_reps(ds, freq, by, metric, bool(ytd))


def _mean_of_reps(ds: Dataset, freq: str, by: list[str], metric: str, ytd: bool) -> pd.DataFrame:
    k, base = _actual(ds, metric, freq, by)
    keys = ["period", *by]
    base = _obj(base, by)
    rep_by = ["rep", *[c for c in by if c != "rep"]]
    reason = None
    if any(c not in LEVELS for c in by):
        reason = f"targets have no {[c for c in by if c not in LEVELS][0]} level"
    elif not ds.has(k.tables[0], "rep"):
        reason = f"mean_of_reps needs {k.tables[0]}.rep"
    if reason is None:
        per_rep = _actual_and_target(ds, freq, rep_by, metric, ytd)
        ok = per_rep["target"].notna() & (per_rep["target"] != 0) & per_rep["actual"].notna()
        per_rep["att"] = np.where(ok, per_rep["actual"] / per_rep["target"].where(ok, 1.0), np.nan)
        per_rep = per_rep[per_rep["target"].notna()]
        mean = per_rep.groupby(keys, dropna=False)["att"].mean().rename("value").reset_index()
    else:
        mean = pd.DataFrame({"period": base["period"].iloc[:0], **{c: base[c].iloc[:0] for c in by},
                             "value": pd.Series([], dtype="float64")})
    m = _frame(ds, freq, by, base, mean).merge(mean, on=keys, how="left")
    note = pd.Series(reason or f"no rep {metric} targets for this period", index=m.index, dtype="string")
    return _finish(m, by, m["value"], note)


@kpi("target_gap", name="Target gap", unit="money", direction="lower", needs=["deals", "targets"], family=FAMILY,
     options={"metric": _METRIC, "ytd": _YTD})
def target_gap(ds: Dataset, freq: str = "M", by: Sequence[str] = (), metric: str = "revenue",
               ytd: bool = False) -> pd.DataFrame:
    """target − actual of the target's metric in the period, at the level given by `by` (same targets as
    quota_attainment; in the metric's unit, money for revenue). Positive = short of target."""
    by = list(by)
    m = _actual_and_target(ds, freq, by, metric, bool(ytd))
    value = m["target"] - m["actual"]
    note = m["target_note"].fillna(m["actual_note"])
    return _finish(m, by, value, note)


@kpi("run_rate_projection", name="Run-rate projection", unit="money", direction="higher", needs=["deals"],
     family=FAMILY, additive=True, options={"metric": _METRIC})
def run_rate_projection(ds: Dataset, freq: str = "M", by: Sequence[str] = (), metric: str = "revenue"
                        ) -> pd.DataFrame:
    """actual-to-date / elapsed share of the period, as of the dataset's last date (elapsed days / days in
    the period); a complete period projects to its actual. The metric must be additive (default revenue)."""
    by = list(by)
    k, actual = _actual(ds, metric, freq, by)
    if not k.additive:
        raise ValueError(f"run_rate_projection needs an additive metric (a sum or count); {metric} is not")
    as_of = ds.as_of
    start = period_starts(actual["period"])
    end = period_ends(actual["period"]).normalize()
    total = (end - start).days.to_numpy() + 1
    if as_of is None:
        share = np.ones(len(actual))
    else:
        elapsed = (as_of.normalize() - start).days.to_numpy() + 1
        share = np.clip(elapsed / total, 0.0, 1.0)
    value = np.where(share > 0, actual["value"].to_numpy() / np.where(share > 0, share, 1.0), np.nan)
    out = actual[["period", *by]].copy()
    out["value"] = value.astype("float64")
    note = actual["note"].astype("string")
    note = note.where(share > 0, "the period starts after the last date of the data")
    out["note"] = note.where(out["value"].isna(), pd.NA).astype("string")
    return out


def _codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column and the value of each code (missing values are a value too)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        codes = s.cat.codes.to_numpy().astype(np.int64)
        return np.where(codes < 0, len(cats), codes), np.array(list(cats.astype(object)) + [np.nan], dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _trailing(periods: pd.PeriodIndex, by: list[str], universe: pd.DataFrame, events: pd.DataFrame,
              date: str, weight: pd.Series | None, months: int, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Σ weight (or count) of events with `date` in (end − months, end] for every grid period x group of
    `universe`, end = the period's last day (or the as-of date, if earlier). Vectorised: running totals
    per group and day (one bincount), or sorted (group, day) keys when that table would be too large."""
    g = _obj(universe[by], by).drop_duplicates().reset_index(drop=True) if by else pd.DataFrame(index=[0])
    g["_code"] = np.arange(len(g))
    cells = pd.DataFrame({"period": periods}).merge(g, how="cross")
    end = period_ends(cells["period"]).normalize()
    if as_of is not None:
        end = end.where(end <= as_of.normalize(), as_of.normalize())
    lo = end - pd.DateOffset(months=months)
    day = np.datetime64("1970-01-01", "D")
    span = 10**7

    dates = events[date]
    has = dates.notna().to_numpy()
    w = weight.to_numpy(dtype="float64")[has] if weight is not None else np.ones(int(has.sum()))
    ev_day = (dates.to_numpy()[has].astype("datetime64[D]") - day).astype(np.int64)
    if by:  # group code of each event: its distinct groups (a small table) matched to the universe
        key = np.zeros(int(has.sum()), dtype=np.int64)
        values = []
        for c in by:
            codes, uniques = _codes(events[c])
            key = key * (len(uniques) + 1) + codes[has]
            values.append((c, codes[has], uniques))
        gid, uniq = pd.factorize(key)
        pos = np.empty(len(uniq), dtype=np.int64)
        pos[gid[::-1]] = np.arange(len(gid) - 1, -1, -1)  # first row of each group
        distinct = pd.DataFrame({c: np.asarray(u, dtype=object)[codes[pos]] for c, codes, u in values})
        distinct["_gid"] = np.arange(len(uniq))
        distinct = distinct.merge(g, on=by, how="left")
        code_of = np.full(len(distinct) + 1, -1, dtype=np.int64)
        code_of[distinct["_gid"].to_numpy()] = distinct["_code"].fillna(-1).to_numpy(np.int64)
        code = code_of[gid]
    else:
        code = np.zeros(len(ev_day), dtype=np.int64)
    keep = code >= 0
    code, ev_day, w = code[keep], ev_day[keep], w[keep]
    cell_code = cells["_code"].to_numpy(np.int64)
    hi = (end.to_numpy().astype("datetime64[D]") - day).astype(np.int64)
    low = (lo.to_numpy().astype("datetime64[D]") - day).astype(np.int64)
    days = [a for a in (low, hi, ev_day) if len(a)]
    first_day = int(min(a.min() for a in days)) if days else 0
    n_days = int(max(a.max() for a in days)) - first_day + 2 if days else 1
    if len(g) * n_days <= _DENSE_CELLS:  # dense: per-group running totals by day (one bincount)
        totals = np.bincount(code * n_days + (ev_day - first_day), weights=w, minlength=len(g) * n_days)
        running = np.concatenate([[0.0], np.cumsum(totals)])  # running[i] = sum of cells before i
        base = cell_code * n_days - first_day
        total = running[base + hi + 1] - running[base + low + 1]
    else:  # sparse: sorted (group, day) keys and searchsorted
        key = code * span + ev_day
        order = np.argsort(key, kind="stable")
        key = key[order]
        csum = np.concatenate([[0.0], np.cumsum(w[order])])
        total = (csum[np.searchsorted(key, cell_code * span + hi, "right")]
                 - csum[np.searchsorted(key, cell_code * span + low, "right")])
    return cells.drop(columns="_code").assign(value=total)


@kpi("leads_needed", name="Leads needed", unit="count", direction="neutral",
     needs=["deals", "targets", "leads", "leads.converted_at"], family=FAMILY,
     options={"months": Option(12, None, "trailing window (months) for the purchase value and conversion rate "
                                         "(default 12)")},
     source="004 #8, #10")
def leads_needed(ds: Dataset, freq: str = "M", by: Sequence[str] = (), months: int = 12) -> pd.DataFrame:
    """target revenue / avg_purchase_value / lead_conversion_rate, both measured over the trailing `months`
    (default 12) months to the end of the period (or the last date of the data): avg_purchase_value =
    revenue / won deals closed in the window, lead_conversion_rate = leads converted in the window / leads
    created in the window. Uses the revenue targets at the level given by `by`."""
    by = list(by)
    months = int(months)
    if months < 1:
        raise ValueError("months must be at least 1")
    as_of = ds.as_of
    d, leads = ds.deals, ds.leads
    won = d.loc[d["status"].eq("won").to_numpy(), ["closed_at", "amount", *by]]
    periods = grid(ds, freq)
    rev = _trailing(periods, by, d, won, "closed_at", won["amount"], months, as_of)
    no_lead_column = [c for c in by if c not in leads.columns]
    if no_lead_column:  # a conversion rate per group needs the leads grouped the same way
        out = rev[["period", *by]].copy()
        out["value"] = np.nan
        out["note"] = pd.Series(f"leads have no {', '.join(no_lead_column)} column", index=out.index, dtype="string")
        return out
    cnt = _trailing(periods, by, d, won, "closed_at", None, months, as_of)
    created = _trailing(periods, by, d, leads, "created_at", None, months, as_of)
    converted = _trailing(periods, by, d, leads, "converted_at", None, months, as_of)
    targets, notes, reason = targets_for(ds, "revenue", freq, by)
    keys = ["period", *by]
    m = rev.rename(columns={"value": "rev"})
    m["won"] = cnt["value"].to_numpy()
    m["created"] = created["value"].to_numpy()
    m["converted"] = converted["value"].to_numpy()
    m = m.merge(targets, on=keys, how="left").merge(notes, on=keys, how="left")
    ok = m["target"].notna() & (m["rev"] > 0) & (m["converted"] > 0)
    # target / (rev / won) / (converted / created)
    value = np.where(ok, m["target"] * m["won"] * m["created"] / (m["rev"] * m["converted"]).where(ok, 1.0), np.nan)
    note = pd.Series(pd.NA, index=m.index, dtype="string")
    note[m["converted"].le(0)] = f"no leads converted in the trailing {months} months"
    note[m["rev"].le(0)] = f"no won deals in the trailing {months} months"
    no_target = m["target"].isna()
    note[no_target] = reason or "no revenue target for this period"
    note = m["note"].astype("string").where(no_target & m["note"].notna(), note)
    return _finish(m, by, value, note)
