"""`compare()`: the numbers a KPI card shows for one period.

For every KPI (and group) in the chosen period: the value, the previous period's value and the change,
the same period a year earlier and the year-on-year change, the target (when the targets table has one
for that KPI id at the matching level), the benchmark, and a status:

- against the target if there is one: ratio = value / target (direction "higher") or target / value
  ("lower"); "on track" if ratio >= thresholds[0], "at risk" if >= thresholds[1], else "off track";
- else against the KPI's benchmark: inside the range -> "on track", outside by less than 10% (relative to
  the bound) -> "at risk", else "off track";
- else (or when the value is NaN) NA.

`good` is True when the change from the previous period moves in the KPI's good direction.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..calendars.periods import (
    calendar_name,
    calendar_of,
    freq_of,
    is_period,
    like,
    parse_period,
    period_at,
    period_dtype,
    year_earlier,
)
from ..data import Dataset
from .compute import PeriodSpec, prepare, run
from .registry import KPI, REGISTRY, Benchmark
from .status import THRESHOLDS, against_benchmark, against_target
from .targets import targets_for

COLUMNS = ["kpi", "name", "unit", "direction", "value", "previous", "change", "change_pct", "good", "last_year",
           "yoy_change", "yoy_pct", "target", "benchmark", "status"]

# units and directions of table-KPI measures that are not themselves registered KPIs
_MEASURES: dict[str, tuple[str, str]] = {
    "quantity": ("count", "higher"),
    "share": ("ratio", "higher"),
    "rank": ("count", "lower"),
    "count": ("count", "higher"),
    "revenue": ("money", "higher"),
}


def _benchmark_text(b: Benchmark | None) -> str | None:
    return b.text if b is not None else None


def _rated(value: float, b: Benchmark | None) -> str | None:
    """A value rated against a KPI's benchmark; None when the KPI has none."""
    return None if b is None else against_benchmark(value, b.low, b.high)


def _meta(kpi_id: str) -> tuple[str, str, str, Benchmark | None]:
    """name, unit, direction, benchmark of a kpi column value ("win_rate" or "sales_by_channel.win_rate")."""
    base, _, measure = kpi_id.partition(".")
    k: KPI | None = REGISTRY.get(base)
    if not measure:
        if k is None:
            return kpi_id, "", "neutral", None
        return k.name, k.unit, k.direction, k.benchmark
    parent = k.name if k else base
    m = REGISTRY.get(measure)
    if m is not None and m.kind != "table":
        return f"{parent}: {m.name.lower()}", m.unit, m.direction, m.benchmark
    unit, direction = _MEASURES.get(measure, (k.unit if k else "", k.direction if k else "neutral"))
    return f"{parent}: {measure.replace('_', ' ')}", unit, direction, None


def last_complete_period(ds: Dataset, freq: str) -> Any:
    """The last period (of the dataset's calendar) that ended on or before the dataset's last date."""
    as_of = ds.as_of
    if as_of is None:
        raise ValueError("the dataset has no dates")
    p = period_at(as_of, freq, ds.fiscal_year_start, ds.calendar)
    if as_of.normalize() < p.end_time.normalize():
        p = p - 1
    return p


def _year_earlier(p: Any) -> Any:
    return year_earlier(p)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    ok = num.notna() & den.notna() & (den != 0)
    return pd.Series(np.where(ok, num / den.where(ok, 1.0), np.nan), index=num.index, dtype="float64")


def compare(ds: Dataset, kpis: str | Iterable[str] | None = None, period: PeriodSpec = None,
            freq: str | None = None, by: Any = None, thresholds: tuple[float, float] = THRESHOLDS,
            *, fiscal_year_start: int | None = None, calendar: str | None = None, **options: Any) -> pd.DataFrame:
    """KPI-card numbers, one row per (by..., [table dimensions], kpi) for one period.

    period: "2024-03", "2024Q1", "2024" or a period object (default: the last complete period of the data,
    as of its last date). freq: D/W/M/Q/Y; when omitted it is the period's own frequency, else "M".
    calendar: "gregorian" or "jalali" (overrides ds.calendar; period texts are then Jalali, "1402-07");
    the previous period is p - 1 and last year the same period a (Jalali) year earlier.
    thresholds: (on track, at risk) ratios of value to target. Options and filters as in compute().

    Columns: period, *by, [dims], kpi, name, unit, direction, value, previous, change, change_pct, good,
    last_year, yoy_change, yoy_pct, target, benchmark, status. attrs["skipped"] as in compute().
    """
    if len(thresholds) != 2 or thresholds[1] > thresholds[0]:
        raise ValueError("thresholds must be (on_track, at_risk) with on_track >= at_risk, e.g. (1.0, 0.9)")
    fy = int(fiscal_year_start) if fiscal_year_start is not None else ds.fiscal_year_start
    # the calendar: the keyword, else that of a period object given, else the dataset's
    cal = calendar_name(calendar) if calendar else (calendar_of(period) if is_period(period) else ds.calendar)
    p: Any = None
    if period is not None:
        if isinstance(period, (list, tuple)) or (isinstance(period, str) and (":" in period or "," in period)):
            raise ValueError("compare() takes one period, e.g. '2024-03', '2024Q1' or '2024'")
        p = parse_period(period, fiscal_year_start=fy, calendar=cal)
        kind = freq_of(p)
        if freq is None:
            freq = kind
        elif freq.upper() != kind:
            raise ValueError(f"period {period} is not a {freq.upper()} period: pass freq={kind!r} or a "
                             f"period of that frequency")
    freq = (freq or "M").upper()
    req = prepare(ds, kpis, freq, by, fiscal_year_start, cal, **options)
    if p is None:
        p = last_complete_period(replace(ds, fiscal_year_start=fy, calendar=cal), freq)  # the whole dataset
    p = period_at(p.start_time, freq, req.ds.fiscal_year_start, cal)
    prev_p, ly_p = p - 1, _year_earlier(p)
    full = run(req, [prev_p, ly_p, p])
    by = req.by
    keys = [c for c in full.columns if c not in ("period", "value", "note")]  # by, dims, kpi

    def at(q: Any, name: str) -> pd.DataFrame:
        rows = full[full["period"] == q]
        out = rows[keys].copy()
        for c in keys:
            out[c] = out[c].astype(object)
        out[name] = rows["value"].to_numpy()
        return out

    cur = at(p, "value")
    out = cur.merge(at(prev_p, "previous"), on=keys, how="left").merge(at(ly_p, "last_year"), on=keys, how="left")
    meta = {k: _meta(k) for k in out["kpi"].unique()}
    out["name"] = out["kpi"].map(lambda k: meta[k][0])
    out["unit"] = out["kpi"].map(lambda k: meta[k][1])
    out["direction"] = out["kpi"].map(lambda k: meta[k][2])
    out["benchmark"] = out["kpi"].map(lambda k: _benchmark_text(meta[k][3])).astype("string")
    for c in ("value", "previous", "last_year"):
        out[c] = out[c].astype("float64").replace([np.inf, -np.inf], np.nan)
    out["change"] = out["value"] - out["previous"]
    out["change_pct"] = _ratio(out["change"], out["previous"].abs())
    out["yoy_change"] = out["value"] - out["last_year"]
    out["yoy_pct"] = _ratio(out["yoy_change"], out["last_year"].abs())
    good = pd.Series(pd.NA, index=out.index, dtype="boolean")
    known = out["change"].notna()
    good[known & out["direction"].eq("higher")] = out["change"] > 0
    good[known & out["direction"].eq("lower")] = out["change"] < 0
    out["good"] = good

    out["target"] = _targets(req, out, p, by)
    status = against_target(out["value"], out["target"], out["direction"], thresholds)
    no_target = out["target"].isna()
    bench = pd.Series([_rated(v, meta[k][3]) for v, k in zip(out["value"], out["kpi"])],
                      index=out.index, dtype="string")
    out["status"] = status.where(~no_target, bench).astype("string")

    dims = [c for c in keys if c not in (*by, "kpi")]
    out.insert(0, "period", like(np.full(len(out), p.ordinal, dtype=np.int64),
                                 period_dtype(freq, req.ds.fiscal_year_start, cal)))
    out = out[["period", *by, *dims, *COLUMNS]]
    for c in [*by, *dims]:
        out[c] = out[c].astype("category")
    out = out.sort_values(["kpi", *by, *dims], kind="stable", na_position="last").reset_index(drop=True)
    out.attrs["skipped"] = full.attrs["skipped"]
    out.attrs["period"] = str(p)
    return out


def _targets(req: Any, out: pd.DataFrame, p: Any, by: list[str]) -> pd.Series:
    """The target of each row's KPI id at the matching level for period p (NaN where none)."""
    target = pd.Series(np.nan, index=out.index, dtype="float64")
    ds = req.ds
    if not ds.has("targets") or out.empty:
        return target
    metrics = set(ds.targets["metric"].dropna().astype(str))
    for kpi_id in set(out["kpi"]) & metrics:  # a handful of target metrics
        k = REGISTRY.get(kpi_id)
        if k is None or k.kind == "table":
            continue
        t, _, _ = targets_for(ds, kpi_id, req.freq, by, spread=k.additive)
        t = t[t["period"] == p].drop(columns="period")
        rows = out["kpi"].eq(kpi_id)
        if t.empty:
            continue
        if by:
            m = out.loc[rows, by].merge(t, on=by, how="left")
            target[rows] = m["target"].to_numpy()
        else:
            target[rows] = float(t["target"].iloc[0])
    return target
