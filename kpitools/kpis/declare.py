"""Simple and ratio KPIs declared as data, after dbt MetricFlow's measures and ratio metrics.

    revenue = simple(
        "revenue", name="Revenue", unit="money", direction="higher", family=FAMILY, additive=True,
        table="deals", time="closed_at", agg="sum", expr="amount", where=won,
        doc="Σ amount of won deals with closed_at in the period.")

    avg_purchase_value = ratio(
        "avg_purchase_value", name="Average purchase value", unit="money", direction="higher", family=FAMILY,
        numerator="revenue", denominator="won_deals", reason="no won deals in the period",
        doc="revenue / won_deals over deals won in the period.")

`simple` is a measure over one table: the rows whose `time` falls in each period (and `where` holds),
aggregated with `agg` over `expr` (a column, or a function of the table giving one value per row). It
runs on the engine's shared pass (`engine.flow`: period ordinals and group codes cached per column), so a
declared KPI costs what a hand-written one does. `agg` may be an `Option` of aggregations: the KPI then
takes the option `statistic` (e.g. mean or median of the cycle lengths).

`ratio` divides two registered KPIs period by period and group by group; where the denominator is 0 or
missing the value is NaN with `reason` (never inf). It takes the options of both KPIs and passes each to
the KPI that declares it.

Both register the KPI in REGISTRY (so options are checked there, from the declaration) and return its
function, `fn(ds, freq="M", by=(), **options)`, whose docstring is `doc`: the formula first.
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Any, cast, get_args

import pandas as pd

from ..data import Dataset
from .engine import Agg, as_by, divide, flow
from .registry import REGISTRY, Benchmark, Direction, Option, Unit, kpi

__all__ = ["simple", "ratio", "Where", "Expr", "KPIFunction"]

Where = Callable[[pd.DataFrame], pd.Series]  # the rows that count: a boolean mask of the table's rows
Expr = str | Callable[[pd.DataFrame], pd.Series]  # a column, or one value per row of the table
KPIFunction = Callable[..., pd.DataFrame]

AGGS: tuple[str, ...] = get_args(Agg)


def _signature(options: dict[str, Option]) -> inspect.Signature:
    """fn(ds, freq="M", by=(), *, <option>=<default>...): what help() shows for a declared KPI."""
    kw = inspect.Parameter.KEYWORD_ONLY
    pos = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("ds", pos, annotation=Dataset),
              inspect.Parameter("freq", pos, default="M", annotation=str),
              inspect.Parameter("by", pos, default=(), annotation=Sequence[str])]
    params += [inspect.Parameter(n, kw, default=o.default) for n, o in options.items()]
    return inspect.Signature(params, return_annotation=pd.DataFrame)


def _named(fn: KPIFunction, id: str, doc: str, options: dict[str, Option], shape: str) -> KPIFunction:
    """The KPI function named as if written in the family module that declares it (so that it pickles
    and reads like a hand-written one), documented by `doc`; `declared` tells how it was declared."""
    fn.__name__ = fn.__qualname__ = id
    fn.__module__ = sys._getframe(2).f_globals.get("__name__", __name__)
    fn.__doc__ = inspect.cleandoc(doc)
    fn.__signature__ = _signature(options)  # type: ignore[attr-defined]
    fn.declared = shape  # type: ignore[attr-defined]
    return fn


def _no_other(id: str, given: dict[str, Any], declared: dict[str, Option]) -> None:
    other = [n for n in given if n not in declared]
    if other:
        what = ", ".join(declared) or "none"
        raise TypeError(f"{id} got an unexpected option {other[0]!r} (its options: {what})")


def simple(
    id: str,
    *,
    name: str,
    unit: Unit,
    direction: Direction,
    family: str,
    doc: str,
    table: str,
    time: str,
    agg: Agg | Option,
    expr: Expr | None = None,
    where: Where | None = None,
    note: str = "no events in the period",
    needs: Sequence[str] | None = None,
    additive: bool = False,
    benchmark: Benchmark | None = None,
    source: str = "",
) -> KPIFunction:
    """Declare and register a KPI that aggregates one table's rows per period (a MetricFlow measure).

    table, time: the table and the date column that places a row in a period.
    agg: sum, count, mean, median or nunique, or an Option of them (the KPI's option `statistic`).
    expr: the column aggregated, or a function of the table giving the value of each row (count: none).
    where: a function of the table giving the rows that count (missing = False); None: every row.
    note: why a mean or median is NaN in a period without rows. needs: default (table,).
    """
    declared: dict[str, Option] = {}
    if isinstance(agg, Option):
        declared["statistic"] = agg
        aggs, default = agg.choices or (agg.default,), agg.default
    else:
        aggs, default = (agg,), agg
    if any(a not in AGGS for a in (*aggs, default)):
        raise ValueError(f"{id}: agg must be one of {', '.join(AGGS)}, not {aggs}")
    if expr is None and aggs != ("count",):
        raise ValueError(f"{id}: agg {aggs[0]} needs an expr (the column or values it aggregates)")

    def measure(ds: Dataset, freq: str = "M", by: Sequence[str] = (), **options: Any) -> pd.DataFrame:
        _no_other(id, options, declared)
        by = as_by(by)
        rows = ds.tables.get(table)
        if rows is None:
            raise KeyError(f"this dataset has no {table} table")
        how = cast(Agg, options.get("statistic", default))
        value = expr if expr is None or isinstance(expr, str) else "_value"
        frame = rows
        if callable(expr):  # a slim frame sharing the table's columns (and their cached period and group codes)
            frame = pd.DataFrame({c: rows[c] for c in by}, index=rows.index, copy=False)
            frame[time] = rows[time]
            frame["_value"] = expr(rows)
        mask = None if where is None else where(rows)
        return flow(ds, frame, time, freq, by, value, agg=how, where=mask, note=note)

    fn = _named(measure, id, doc, declared, "simple")
    return kpi(id, name=name, unit=unit, direction=direction, needs=tuple(needs or (table,)), family=family,
               options=declared, benchmark=benchmark, additive=additive, source=source)(fn)


def ratio(
    id: str,
    *,
    name: str,
    unit: Unit,
    direction: Direction,
    family: str,
    doc: str,
    numerator: str,
    denominator: str,
    reason: str,
    needs: Sequence[str] | None = None,
    benchmark: Benchmark | None = None,
    source: str = "",
) -> KPIFunction:
    """Declare and register a KPI that is numerator / denominator of two registered KPIs (a MetricFlow
    ratio metric), per period and group; NaN with `reason` where the denominator is 0 or missing.

    needs: default the needs of both KPIs. Options: those of both, each passed to the KPI declaring it.
    """
    parts = []
    for role, ref in (("numerator", numerator), ("denominator", denominator)):
        if ref not in REGISTRY:
            raise ValueError(f"{id}: {role} {ref!r} is not a registered KPI (declare it first)")
        parts.append(REGISTRY[ref])
    num, den = parts
    if num.kind == "table" or den.kind == "table":
        raise ValueError(f"{id}: a ratio divides two KPIs of one value per period, not table KPIs")
    declared = {**num.options, **den.options}

    def quotient(ds: Dataset, freq: str = "M", by: Sequence[str] = (), **options: Any) -> pd.DataFrame:
        _no_other(id, options, declared)
        by = as_by(by)
        top = num.function(ds, freq, by, **{k: v for k, v in options.items() if k in num.options})
        bottom = den.function(ds, freq, by, **{k: v for k, v in options.items() if k in den.options})
        return divide(top, bottom, by, reason)

    fn = _named(quotient, id, doc, declared, "ratio")
    return kpi(id, name=name, unit=unit, direction=direction,
               needs=tuple(needs or dict.fromkeys([*num.needs, *den.needs])), family=family, options=declared,
               benchmark=benchmark, source=source)(fn)
