"""KPIs declared as data, after dbt MetricFlow's measures and ratio metrics: `simple`, `ratio`, and the
families' own shapes built on `declare`.

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

`simple(kind="snapshot", end=...)` measures the rows open at the end of each period instead: a row
opens on its `time` and closes on its `end` (a column, or a function of the table; missing = still open),
on the engine's other shared pass, `engine.snapshot` (e.g. open deals and pipeline value).

`ratio` divides two registered KPIs period by period and group by group; where the denominator is 0 or
missing the value is NaN with `reason` (never inf). It takes the options of both KPIs and passes each to
the KPI that declares it.

A family whose KPIs are one call into its own shared pass with fixed arguments declares them with a shape
of its own, next to that pass, built on `declare`: activity.activity_rate and activity_count,
recurring.mrr_movement and mrr_at_end, funnel.stage_rate, growth.deal_type_rate. The shape gives
`declare` a body, `body(ds, freq, by, **options)`, and the options the KPI takes.

Every shape registers the KPI in REGISTRY through `declare` (so options are checked there, from the
declaration) and returns its function, `fn(ds, freq="M", by=(), **options)`, whose docstring is `doc`:
the formula first.
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal, Required, TypedDict, cast, get_args

import pandas as pd

from ..data import Dataset
from .engine import Agg, as_by, divide, flow, snapshot
from .registry import REGISTRY, Benchmark, Direction, Kind, Option, Unit, kpi

__all__ = ["simple", "ratio", "declare", "Meta", "Where", "Expr", "KPIFunction"]

Where = Callable[[pd.DataFrame], pd.Series]  # the rows that count: a boolean mask of the table's rows
Expr = str | Callable[[pd.DataFrame], pd.Series]  # a column, or one value per row of the table
KPIFunction = Callable[..., pd.DataFrame]
Body = Callable[..., pd.DataFrame]  # body(ds, freq, by: list[str], **options, each given or its default)


class Meta(TypedDict, total=False):
    """What a family's declaration shape passes on as it is: the KPI's metadata (see `registry.KPI`)."""

    name: Required[str]
    unit: Required[Unit]
    direction: Required[Direction]
    benchmark: Benchmark | None
    source: str


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


def declare(shape: str, id: str, body: Body, *, doc: str, family: str, needs: Sequence[str],
            options: dict[str, Option] | None = None, kind: Kind = "flow", additive: bool = False,
            benchmark: Benchmark | None = None, source: str = "", name: str, unit: Unit,
            direction: Direction) -> KPIFunction:
    """Register KPI `id`, computed by `body(ds, freq, by, **options)` (`by` a list, every option given:
    its value or its default), and return its function `fn(ds, freq="M", by=(), **options)`.

    The function is named `id` as if written in the module that called the shape (so that it pickles and
    reads like a hand-written one), `doc` is its docstring (formula first), its signature lists the
    options, `fn.declared` names the shape; an option it does not declare is a TypeError, a value outside
    an option's choices a ValueError (the registry's check). Shapes call this directly (it reads the
    calling module two frames up).
    """
    declared = dict(options or {})
    defaults = {n: o.default for n, o in declared.items()}

    def fn(ds: Dataset, freq: str = "M", by: Sequence[str] = (), **given: Any) -> pd.DataFrame:
        _no_other(id, given, declared)
        return body(ds, freq, as_by(by), **{**defaults, **given})

    fn.__name__ = fn.__qualname__ = id
    fn.__module__ = sys._getframe(2).f_globals.get("__name__", __name__)
    fn.__doc__ = inspect.cleandoc(doc)
    fn.__signature__ = _signature(declared)  # type: ignore[attr-defined]
    fn.declared = shape  # type: ignore[attr-defined]
    return kpi(id, name=name, unit=unit, direction=direction, needs=tuple(needs), family=family, kind=kind,
               options=declared, benchmark=benchmark, additive=additive, source=source)(fn)


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
    kind: Literal["flow", "snapshot"] = "flow",
    end: Expr | None = None,
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
    kind: "flow" (default), the rows whose `time` falls in the period; "snapshot", the rows open at the
    end of the period: `time` on or before its last day and `end` (a column, or a function of the
    table giving each row's end date) missing or after it. A snapshot sums or counts.
    note: why a mean or median is NaN in a period without rows. needs: default (table,).
    """
    declared: dict[str, Option] = {}
    if isinstance(agg, Option):
        declared["statistic"] = agg
        aggs = agg.choices or (agg.default,)
    else:
        aggs = (agg,)
    if any(a not in AGGS for a in (*aggs, agg.default if isinstance(agg, Option) else agg)):
        raise ValueError(f"{id}: agg must be one of {', '.join(AGGS)}, not {aggs}")
    if expr is None and aggs != ("count",):
        raise ValueError(f"{id}: agg {aggs[0]} needs an expr (the column or values it aggregates)")
    if (kind == "snapshot") != (end is not None):
        raise ValueError(f"{id}: a snapshot needs an end (when a row stops being open), a flow has none")
    if kind == "snapshot" and (declared or aggs[0] not in ("sum", "count")):
        raise ValueError(f"{id}: a snapshot sums or counts the rows open at the end of the period")

    def measure(ds: Dataset, freq: str, by: list[str], statistic: Agg | None = None) -> pd.DataFrame:
        rows = ds.tables.get(table)
        if rows is None:
            raise KeyError(f"this dataset has no {table} table")
        value = expr if expr is None or isinstance(expr, str) else "_value"
        mask = None if where is None else where(rows)
        if end is not None:  # snapshot
            frame = _slim(rows, by, time)
            frame["_end"] = _values(rows, end)
            if expr is not None:
                value = "_value"
                frame["_value"] = _values(rows, expr)
            return snapshot(ds, frame, time, "_end", freq, by, value, where=mask)
        frame = rows
        if callable(expr):
            frame = _slim(rows, by, time)
            frame["_value"] = expr(rows)
        how = cast(Agg, statistic or aggs[0])
        return flow(ds, frame, time, freq, by, value, agg=how, where=mask, note=note)

    return declare("simple", id, measure, doc=doc, family=family, needs=needs or (table,), options=declared,
                   kind=kind, additive=additive, benchmark=benchmark, source=source, name=name, unit=unit,
                   direction=direction)


def _slim(rows: pd.DataFrame, by: list[str], time: str) -> pd.DataFrame:
    """The `by` and `time` columns of a table in a frame of their own, sharing the table's columns (and so
    their cached period and group codes), for the computed columns a declaration adds."""
    frame = pd.DataFrame({c: rows[c] for c in by}, index=rows.index, copy=False)
    frame[time] = rows[time]
    return frame


def _values(rows: pd.DataFrame, expr: Expr) -> pd.Series:
    return expr(rows) if callable(expr) else rows[expr]


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

    def quotient(ds: Dataset, freq: str, by: list[str], **options: Any) -> pd.DataFrame:
        top = num.function(ds, freq, by, **{k: v for k, v in options.items() if k in num.options})
        bottom = den.function(ds, freq, by, **{k: v for k, v in options.items() if k in den.options})
        return divide(top, bottom, by, reason)

    return declare("ratio", id, quotient, doc=doc, family=family,
                   needs=needs or list(dict.fromkeys([*num.needs, *den.needs])),
                   options={**num.options, **den.options}, benchmark=benchmark, source=source, name=name,
                   unit=unit, direction=direction)
