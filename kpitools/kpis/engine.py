"""The KPI engine: vectorised building blocks shared by every KPI family (and by `declare`).

Every helper returns the tidy shape KPI functions return: columns
`period, *by, value, note`, one row per period of the dataset's period grid and
per group seen in the table (groups with a missing key value are kept, with the
key shown as missing, so that groups always add up to the total).

Speed: `flow` and `snapshot` work on integer codes, one numpy pass per call: the
period of each row (`period_ordinals`, cached per date column) and the group of
each row (`group_index`, cached per set of category columns), combined into one
cell number per row and summed with `np.bincount` over the dense period x group
grid. Frames whose date or `by` columns are of other types take the plain pandas
path, which gives the same result.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..calendars.periods import (
    CHUNK,
    NO_PERIOD,
    is_period_dtype,
    like,
    period_at,
    period_dtype,
    period_grid,
    period_span,
)
from ..data import Dataset
from .memo import memo, period_ordinals, to_period

Agg = Literal["sum", "count", "mean", "median", "nunique"]


def as_by(by: str | Sequence[str] | None) -> list[str]:
    """Normalise `by`: None, "region", "region,product" or a list."""
    if by is None:
        return []
    if isinstance(by, str):
        return [b.strip() for b in by.split(",") if b.strip()]
    return list(by)


def grid(ds: Dataset, freq: str) -> pd.PeriodIndex:
    """The periods of the whole dataset, first event to last."""
    dr = ds.date_range
    if dr is None:
        dtype = period_dtype(freq, ds.fiscal_year_start, ds.calendar)
        if isinstance(dtype, pd.PeriodDtype):
            return pd.PeriodIndex([], freq=dtype.freq, name="period")
        return pd.Index(like(np.zeros(0, dtype=np.int64), dtype), name="period")
    return period_grid(dr[0], dr[1], freq, ds.fiscal_year_start, ds.calendar)


def groups(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Distinct combinations of the `by` columns in a table (missing values kept), in order
    of first appearance."""
    if not by:
        return pd.DataFrame(index=[0])
    gi = group_index(df, by)
    if gi is None:
        return df[by].drop_duplicates().reset_index(drop=True)
    return pd.DataFrame(dict(zip(by, gi[2])))


def group_index(df: pd.DataFrame, by: list[str]
                ) -> tuple[np.ndarray, int, list[pd.Categorical]] | None:
    """For category `by` columns: each row's group number (int32, numbered in order of first
    appearance, as `groups` lists them), the number of groups and each column's value per group.
    Cached per column memory. None when a column is not a category (or by is empty)."""
    if not by or len(set(by)) != len(by):
        return None
    cols = [df[c] for c in by]
    if not all(isinstance(s.dtype, pd.CategoricalDtype) for s in cols):
        return None
    dtypes = tuple(s.dtype for s in cols)
    sizes = [len(d.categories) + 1 for d in dtypes]  # the last code of each column: missing
    if float(np.prod([float(x) for x in sizes])) >= 2.0 ** 62 or not len(df):
        return None
    codes = [s.array.codes for s in cols]
    return memo(codes, ("groups", dtypes), lambda: _group_index(codes, dtypes, sizes))


def _group_index(codes: list[np.ndarray], dtypes: tuple, sizes: list[int]
                 ) -> tuple[np.ndarray, int, list[pd.Categorical]]:
    if len(codes) == 1:  # one column: number its codes in order of first appearance
        first = pd.unique(codes[0])
        lut = np.zeros(sizes[0] + 1, dtype=np.int32)  # code -1 (missing) is looked up last
        lut[first] = np.arange(len(first), dtype=np.int32)
        ids = lut.take(codes[0])
        uniques = np.where(first < 0, sizes[0] - 1, first).astype(np.int64)
    else:
        key = np.zeros(len(codes[0]), dtype=np.int64)
        for c, size in zip(codes, sizes):
            key *= size
            key += np.where(c < 0, size - 1, c)
        ids, uniques = pd.factorize(key)  # numbered in order of first appearance
        uniques = np.asarray(uniques, dtype=np.int64)
    labels = []
    for dtype, size in zip(reversed(dtypes), reversed(sizes)):
        digit = uniques % size
        uniques = uniques // size
        labels.append(pd.Categorical.from_codes(np.where(digit == size - 1, -1, digit), dtype=dtype))
    labels.reverse()
    ids = ids.astype(np.int32)
    ids.flags.writeable = False
    return ids, len(labels[0]), labels


def _grid_frame(periods: pd.PeriodIndex, by: list[str], labels: list[pd.Categorical]) -> pd.DataFrame:
    """Every period x every group, period-major (the frame `complete` builds by a cross merge)."""
    if not by:
        return pd.DataFrame({"period": periods})
    ng = len(labels[0])
    cols: dict[str, object] = {"period": periods.repeat(ng)}
    tile = np.tile(np.arange(ng), len(periods))
    for c, lab in zip(by, labels):
        cols[c] = lab.take(tile)
    return pd.DataFrame(cols)


def _finish(frame: pd.DataFrame, value: np.ndarray, fill: float | None, note: str) -> pd.DataFrame:
    """`complete`'s last step: value (NaN = empty cell) and note columns."""
    frame["value"] = value.astype("float64")
    empty = np.isnan(frame["value"].to_numpy())
    if fill is not None:
        frame.loc[empty, "value"] = fill
        frame["note"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    else:
        frame["note"] = pd.Series(pd.NA, index=frame.index, dtype="string")
        frame.loc[empty, "note"] = note
    return frame


def _codes(ds: Dataset, df: pd.DataFrame, date: str, freq: str, by: list[str]
           ) -> tuple[pd.PeriodIndex, np.ndarray, np.ndarray | None, int, list[pd.Categorical]] | None:
    """Grid periods, each row's period ordinal (NO_PERIOD: no date), group number (None without
    `by`), number of groups and group labels; None when the fast path does not apply."""
    periods = grid(ds, freq)
    if not len(periods) or date not in df.columns:
        return None
    ords = period_ordinals(df[date], freq, ds.fiscal_year_start, ds.calendar)
    if ords is None:
        return None
    if not by:
        return periods, ords, None, 1, []
    gi = group_index(df, by)
    if gi is None:
        return None
    return periods, ords, *gi


def _cells(periods: pd.PeriodIndex, ords: np.ndarray, gid: np.ndarray | None, ng: int) -> np.ndarray:
    """Each row's cell of the period x group grid, period * ng + group; rows without a date or
    outside the grid get the extra cell len(periods) * ng. Cached per column memory."""
    p0, n = periods[0].ordinal, len(periods)

    def compute() -> np.ndarray:
        out = np.empty(len(ords), dtype=np.int32 if n * ng < 2**31 - 1 else np.int64)
        for start in range(0, len(ords), CHUNK):  # in steps: temporaries stay in the CPU cache
            pos = ords[start:start + CHUNK].astype(np.int64) - p0  # NO_PERIOD: far below 0
            bad = (pos < 0) | (pos >= n)
            pos *= ng
            if gid is not None:
                pos += gid[start:start + CHUNK]
            pos[bad] = n * ng
            out[start:start + CHUNK] = pos
        return out

    arrays = [ords] if gid is None else [ords, gid]
    return memo(arrays, ("cells", p0, n, ng), compute)


def cell_codes(ds: Dataset, df: pd.DataFrame, date: str, freq: str, by: list[str]
               ) -> tuple[pd.PeriodIndex, np.ndarray, int, list[pd.Categorical]] | None:
    """For a family that shares one pass over a table: the grid periods, each row's cell of the period
    x group grid (`len(periods) * n_groups` for rows without a date or outside the grid; cached), the
    number of groups and the group labels. None when the integer-code path does not apply."""
    codes = _codes(ds, df, date, freq, by)
    if codes is None:
        return None
    periods, ords, gid, ng, labels = codes
    return periods, _cells(periods, ords, gid, ng), ng, labels


def count_frame(periods: pd.PeriodIndex, by: list[str], labels: list[pd.Categorical], counts: np.ndarray
                ) -> pd.DataFrame:
    """The frame `flow(..., agg="count")` returns, from the counts per cell (period-major)."""
    return _finish(_grid_frame(periods, by, labels), np.asarray(counts, dtype="float64"), 0.0, "")


def _mask(df: pd.DataFrame, where: pd.Series | None) -> np.ndarray | None:
    return None if where is None else where.fillna(False).to_numpy(dtype=bool)


def complete(values: pd.Series, ds: Dataset, freq: str, by: list[str], universe: pd.DataFrame,
             fill: float | None, note: str = "") -> pd.DataFrame:
    """Spread a Series indexed by (period, *by) over every period x group.

    `fill` is the value of an empty cell (0 for sums and counts); None leaves NaN
    and writes `note` as the reason.
    """
    periods = grid(ds, freq)
    g = groups(universe, by)
    frame = pd.DataFrame({"period": periods}).merge(g, how="cross") if by else pd.DataFrame({"period": periods})
    if values.empty:
        frame["value"] = np.nan
    else:
        v = values.rename("value").reset_index()
        v.columns = ["period", *by, "value"]
        for c in by:  # align category dtypes so the merge matches missing keys too
            frame[c] = frame[c].astype(v[c].dtype) if frame[c].dtype != v[c].dtype else frame[c]
        frame = frame.merge(v, on=["period", *by], how="left")
    return _finish(frame, frame["value"].to_numpy(dtype="float64", na_value=np.nan), fill, note)


def flow(ds: Dataset, df: pd.DataFrame, date: str, freq: str, by: list[str], value: str | None = None,
         agg: Agg = "sum", where: pd.Series | None = None, note: str = "no events in the period") -> pd.DataFrame:
    """Aggregate the rows whose `date` falls in each period (optionally only `where`).

    Sums and counts of an empty period are 0; means and medians are NaN with `note`.
    """
    by = list(by)
    fast = _flow_codes(ds, df, date, freq, by, value, agg, where, note)
    if fast is not None:
        return fast
    return _flow_pandas(ds, df, date, freq, by, value, agg, where, note)


def _flow_codes(ds: Dataset, df: pd.DataFrame, date: str, freq: str, by: list[str], value: str | None,
                agg: Agg, where: pd.Series | None, note: str) -> pd.DataFrame | None:
    """`flow` on integer codes (None when it does not apply)."""
    if agg not in ("sum", "count", "mean", "median", "nunique"):
        return None
    codes = _codes(ds, df, date, freq, by)
    if codes is None:
        return None
    periods, ords, gid, ng, labels = codes
    size = len(periods) * ng
    cell = _cells(periods, ords, gid, ng)
    mask = _mask(df, where)
    if mask is not None:
        cell = cell[mask]
    if agg == "count":
        out = np.bincount(cell, minlength=size + 1)[:size].astype("float64")
    elif agg in ("sum", "mean"):
        try:
            w = df[value].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            return None
        if mask is not None:
            w = w[mask]
        ok = ~np.isnan(w)
        if not ok.all():
            cell, w = cell[ok], w[ok]
        out = np.bincount(cell, weights=w, minlength=size + 1)[:size]
        if agg == "mean":
            n = np.bincount(cell, minlength=size + 1)[:size]
            out = np.where(n > 0, out / np.where(n > 0, n, 1), np.nan)
    else:  # median, nunique: pandas on the rows in the grid, grouped by cell
        rows = np.flatnonzero(cell < size)
        values = df[value].array if mask is None else df[value].array[mask]
        res = pd.Series(values.take(rows)).groupby(cell[rows], sort=True).agg(agg)
        out = np.full(size, 0.0 if agg == "nunique" else np.nan)
        out[res.index.to_numpy(dtype=np.int64)] = res.to_numpy(dtype="float64", na_value=np.nan)
    fill = 0.0 if agg in ("sum", "count", "nunique") else None
    return _finish(_grid_frame(periods, by, labels), out, fill, note)


def _flow_pandas(ds: Dataset, df: pd.DataFrame, date: str, freq: str, by: list[str], value: str | None,
                 agg: Agg, where: pd.Series | None, note: str) -> pd.DataFrame:
    rows = df if where is None else df[where.fillna(False).to_numpy(dtype=bool)]
    rows = rows[rows[date].notna()]
    keys = [to_period(rows[date], freq, ds.fiscal_year_start, ds.calendar).rename("period")] + [rows[c] for c in by]
    if agg == "count":
        s = rows.groupby(keys, observed=True, dropna=False).size().astype("float64")
    else:
        s = rows[value].groupby(keys, observed=True, dropna=False).agg(agg)
    fill = 0.0 if agg in ("sum", "count", "nunique") else None
    return complete(s, ds, freq, by, df, fill, note)


def snapshot(ds: Dataset, df: pd.DataFrame, start: str, end: str, freq: str, by: list[str],
             value: str | None = None, where: pd.Series | None = None) -> pd.DataFrame:
    """Count (or sum `value` of) the rows open at the end of each period:
    start < next period's start and (end is null or end >= next period's start).

    Computed as cumulative starts minus cumulative ends, one pass per table.
    """
    by = list(by)
    fast = _snapshot_codes(ds, df, start, end, freq, by, value, where)
    if fast is not None:
        return fast
    return _snapshot_pandas(ds, df, start, end, freq, by, value, where)


def _snapshot_codes(ds: Dataset, df: pd.DataFrame, start: str, end: str, freq: str, by: list[str],
                    value: str | None, where: pd.Series | None) -> pd.DataFrame | None:
    """`snapshot` on integer codes (None when it does not apply)."""
    codes = _codes(ds, df, start, freq, by)
    if codes is None or end not in df.columns:
        return None
    periods, o_start, gid, ng, labels = codes
    o_end = period_ordinals(df[end], freq, ds.fiscal_year_start, ds.calendar)
    if o_end is None:
        return None
    mask = _mask(df, where)
    if value:
        try:
            weight = df[value].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            return None
    # the earliest start (of the rows kept) opens the running sums, as in the pandas version
    has_start = o_start != NO_PERIOD
    if mask is not None:
        has_start = has_start & mask
    p0 = periods[0].ordinal
    first = int(o_start[has_start].min()) if has_start.any() else p0
    first = min(first, p0)
    n_all = periods[-1].ordinal - first + 1

    def per_period(ords: np.ndarray) -> np.ndarray:
        pos = ords.astype(np.int64) - first
        sel = (ords != NO_PERIOD) & (pos >= 0) & (pos < n_all)
        if mask is not None:
            sel &= mask
        rows = np.flatnonzero(sel)
        cell = pos[rows] * ng if gid is None else pos[rows] * ng + gid[rows]
        if not value:
            return np.bincount(cell, minlength=n_all * ng).astype("float64")
        w = weight[rows]
        ok = ~np.isnan(w)
        return np.bincount(cell[ok], weights=w[ok], minlength=n_all * ng)

    net = (per_period(o_start) - per_period(o_end)).reshape(n_all, ng)
    running = np.cumsum(net, axis=0)[n_all - len(periods):]
    return _finish(_grid_frame(periods, by, labels), running.ravel(), 0.0, "")


def _snapshot_pandas(ds: Dataset, df: pd.DataFrame, start: str, end: str, freq: str, by: list[str],
                     value: str | None = None, where: pd.Series | None = None) -> pd.DataFrame:
    rows = df if where is None else df[where.fillna(False).to_numpy(dtype=bool)]
    periods = grid(ds, freq)
    first = rows[start].min()
    if pd.notna(first) and len(periods) and period_at(first, freq, ds.fiscal_year_start, ds.calendar) < periods[0]:
        all_periods = period_span(period_at(first, freq, ds.fiscal_year_start, ds.calendar), periods[-1])
    else:
        all_periods = periods
    weight = rows[value].astype("float64") if value else pd.Series(1.0, index=rows.index)

    def per_period(date_col: str) -> pd.Series:
        has = rows[date_col].notna()
        keys = [to_period(rows.loc[has, date_col], freq, ds.fiscal_year_start, ds.calendar).rename("period")]
        keys += [rows.loc[has, c] for c in by]
        return weight[has].groupby(keys, observed=True, dropna=False).sum()

    net = per_period(start).sub(per_period(end), fill_value=0.0).rename("value").reset_index()
    net.columns = ["period", *by, "value"]
    frame = pd.DataFrame({"period": all_periods})
    if by:
        frame = frame.merge(groups(df, by), how="cross")
        for c in by:
            frame[c] = frame[c].astype(net[c].dtype) if len(net) else frame[c]
    frame = frame.merge(net, on=["period", *by], how="left").fillna({"value": 0.0})
    frame["value"] = (frame.groupby(by, observed=True, dropna=False)["value"].cumsum() if by
                      else frame["value"].cumsum())
    frame = frame[frame["period"].isin(periods)]
    return complete(frame.set_index(["period", *by])["value"], ds, freq, by, df, 0.0)


def divide(numerator: pd.DataFrame, denominator: pd.DataFrame, by: list[str], reason: str) -> pd.DataFrame:
    """numerator / denominator per period and group; NaN with `reason` where the
    denominator is 0 or missing (never inf, never a silent 0)."""
    keys = ["period", *by]
    m = _aligned(numerator, denominator, keys)
    if m is None:
        m = numerator[[*keys, "value", "note"]].merge(
            denominator[[*keys, "value", "note"]], on=keys, how="outer", suffixes=("_n", "_d"))
    den = m["value_d"]
    ok = den.notna() & (den != 0) & m["value_n"].notna()
    value = np.where(ok, m["value_n"] / den.where(ok, 1.0), np.nan)
    note = m["note_n"].combine_first(m["note_d"])
    note = note.where(ok | note.notna(), reason)
    note = note.where(~ok, pd.NA)
    out = m[keys].copy()
    out["value"] = value.astype("float64")
    out["note"] = note.astype("string")
    return out


def _aligned(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame | None:
    """The outer merge of `divide` without merging, when both frames have the same unique keys in the
    same row order (two flows over one table): rows ordered as the merge orders them, by period and
    then each category's code, missing values first. None when that does not hold."""
    if len(a) != len(b) or not len(a):
        return None
    if not (is_period_dtype(a["period"].dtype) and a["period"].dtype == b["period"].dtype):
        return None
    sort_keys = [a["period"].array.asi8]
    if not np.array_equal(sort_keys[0], b["period"].array.asi8):
        return None
    for c in keys[1:]:
        if not (isinstance(a[c].dtype, pd.CategoricalDtype) and a[c].dtype == b[c].dtype):
            return None
        codes = a[c].array.codes
        if not np.array_equal(codes, b[c].array.codes):
            return None
        sort_keys.append(codes)
    order = np.lexsort(sort_keys[::-1])
    if len(order) > 1:  # unique keys only: a merge multiplies duplicates
        same = np.ones(len(order) - 1, dtype=bool)
        for k in sort_keys:
            ks = k[order]
            same &= ks[1:] == ks[:-1]
        if same.any():
            return None
    m = a[keys].take(order).reset_index(drop=True)
    m["value_n"] = a["value"].to_numpy()[order]
    m["note_n"] = a["note"].array.take(order)
    m["value_d"] = b["value"].to_numpy()[order]
    m["note_d"] = b["note"].array.take(order)
    return m


def combine(frames: dict[str, pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """Stack several tidy frames into one with a `measure` column (for table KPIs)."""
    parts = [f.assign(measure=name) for name, f in frames.items()]
    out = pd.concat(parts, ignore_index=True)
    return out[["period", *by, "measure", "value", "note"]]


def won(deals: pd.DataFrame) -> pd.Series:
    """The rows of a deals table that are won deals (status "won"; a missing status is not won)."""
    return deals["status"].eq("won")


def require_columns(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{table} has no column {', '.join(missing)}")
