"""Vectorised building blocks shared by the KPI families.

Every helper returns the tidy shape KPI functions return: columns
`period, *by, value, note`, one row per period of the dataset's period grid and
per group seen in the table (groups with a missing key value are kept, with the
key shown as missing, so that groups always add up to the total).
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import pandas as pd

from ..data import Dataset
from .periods import period_grid, to_period

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
        return pd.PeriodIndex([], freq=period_grid(pd.Timestamp("2000-01-01"), pd.Timestamp("2000-01-01"), freq,
                                                    ds.fiscal_year_start).freq, name="period")
    return period_grid(dr[0], dr[1], freq, ds.fiscal_year_start)


def groups(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Distinct combinations of the `by` columns in a table (missing values kept)."""
    if not by:
        return pd.DataFrame(index=[0])
    return df[by].drop_duplicates().reset_index(drop=True)


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
    frame["value"] = frame["value"].astype("float64")
    empty = frame["value"].isna()
    if fill is not None:
        frame.loc[empty, "value"] = fill
        frame["note"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    else:
        frame["note"] = pd.Series(pd.NA, index=frame.index, dtype="string")
        frame.loc[empty, "note"] = note
    return frame


def flow(ds: Dataset, df: pd.DataFrame, date: str, freq: str, by: list[str], value: str | None = None,
         agg: Agg = "sum", where: pd.Series | None = None, note: str = "no events in the period") -> pd.DataFrame:
    """Aggregate the rows whose `date` falls in each period (optionally only `where`).

    Sums and counts of an empty period are 0; means and medians are NaN with `note`.
    """
    rows = df if where is None else df[where.fillna(False).to_numpy(dtype=bool)]
    rows = rows[rows[date].notna()]
    keys = [to_period(rows[date], freq, ds.fiscal_year_start).rename("period")] + [rows[c] for c in by]
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
    rows = df if where is None else df[where.fillna(False).to_numpy(dtype=bool)]
    periods = grid(ds, freq)
    first = rows[start].min()
    if pd.notna(first) and len(periods) and pd.Period(first, periods.freq) < periods[0]:
        all_periods = pd.period_range(pd.Period(first, periods.freq), periods[-1], freq=periods.freq, name="period")
    else:
        all_periods = periods
    weight = rows[value].astype("float64") if value else pd.Series(1.0, index=rows.index)

    def per_period(date_col: str) -> pd.Series:
        has = rows[date_col].notna()
        keys = [to_period(rows.loc[has, date_col], freq, ds.fiscal_year_start).rename("period")]
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


def combine(frames: dict[str, pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """Stack several tidy frames into one with a `measure` column (for table KPIs)."""
    parts = [f.assign(measure=name) for name, f in frames.items()]
    out = pd.concat(parts, ignore_index=True)
    return out[["period", *by, "measure", "value", "note"]]


def require_columns(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{table} has no column {', '.join(missing)}")
