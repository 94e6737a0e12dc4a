"""What the reports of a batch share, computed once: the KPIs of every scope in one grouped pass.

    install(shared_results(runs))    # a batch's fork server, once, before it forks kernels: runs = each
                                     # report's parameters (data, period, region...); the scopes' caches filled

A batch runs one notebook for many scopes and periods. Each report's first `Scope.compare()` computes
every card KPI (REPORT_KPIS) for its own scope; `kpitools.compare(..., by=region)` computes them for all
regions in about the time of one. `shared_results` does that once per (dataset, period, dimension) and
slices the result per scope, and so for the sections' compute() calls of region scopes (SHARED_COMPUTES);
`install` puts the slices into the cache of the Scope that the notebook's `sections.scope(...)` will find
(kernels forked after it inherit it; each worker's fork server does this once, runner/fork_server.py).
A notebook run alone (papermill, JupyterLab) finds no such cache and computes the same numbers itself.

Only what the grouped pass gives exactly as the scope would is shared: single-filter scopes (one region,
team or rep), KPIs the grouped pass did not skip and that have rows for the scope, frames as the scope's
own call returns them (tests/report/test_prime.py); everything else is left to the run.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .. import i18n
from ..kpis.compare import compare as _compare
from ..kpis.compute import compute as _compute
from .scope import FILTERS, Scope, _as_list, _clean_filters, compare_key, compute_key, reserve, scope
from .sections.recurring import _MOVEMENTS

Shared = list[dict[str, Any]]  # one entry per scope: its scope() arguments and its cache entries
# KPIs whose grouped value is not the filtered scope's: pipeline coverage by=region finds a target where the
# region's own dataset has none (kpitools.kpis: reported to its owners). Left to each run.
NOT_SHARED = frozenset({"pipeline_coverage"})
# Scope.compute() calls of the sales report's sections (kpis, by, period: "same" = the scope's, None = all),
# shared for region scopes, where grouping by region gives what the region's own dataset gives (tested).
# Not shared: team and rep scopes (the funnel's visitors come from traffic, which has no team or rep), and
# calls by another column (stage, rep), whose categories are those of the scope's own dataset.
SHARED_DIMENSION = "region"
SHARED_COMPUTES: tuple[tuple[Any, str | None, str | None], ...] = (
    ("funnel", None, "same"),                                             # funnel
    (_MOVEMENTS, None, "same"),                                           # recurring
    (["product_performance", "sales_by_channel"], None, "same"),          # products and channels
    ("revenue", None, None),                                              # trend, attainment, narrative
)


def _arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    """The scope() arguments a report notebook derives from its parameters (as sales_report.ipynb)."""
    return {"data": params.get("data") or "", "period": params.get("period") or "",
            "filters": _clean_filters({k: params.get(k) for k in FILTERS}, {}),
            "locale": i18n.normalize(params.get("locale") or None), "calendar": params.get("calendar") or "",
            "currency": params.get("currency") or ""}


def _scope_of(args: Mapping[str, Any]) -> Scope:
    with i18n.using(args["locale"]):
        return scope(args["data"], args["period"], args["filters"], prefetch=True, locale=args["locale"],
                     calendar=args["calendar"], currency=args["currency"])


def shared_results(runs: Iterable[Mapping[str, Any]]) -> Shared:
    """For each single-filter scope among the runs' parameters, the compare() cache entries of its card KPIs,
    computed in one grouped pass per dataset, period and dimension. A group that cannot be computed
    (bad data, an unknown period) is left out: its runs compute, and report, it themselves."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for params in runs:
        args = _arguments(params)
        if len(args["filters"]) != 1 or not isinstance(next(iter(args["filters"].values())), str):
            continue  # company-wide (nothing to share) or several filters (each its own)
        dim = next(iter(args["filters"]))
        key = (str(args["data"]), str(args["period"]), args["locale"], args["calendar"], args["currency"], dim)
        if args not in groups.setdefault(key, []):
            groups[key].append(args)
    out: Shared = []
    for (*_, dim), members in groups.items():
        try:
            out += _group(dim, members)
        except Exception:  # the runs will meet the same problem and report it
            continue
    return out


def _group(dim: str, members: list[dict[str, Any]]) -> Shared:
    scopes = [_scope_of(a) for a in members]
    first = scopes[0]
    kpis = [k for k in first.prefetch if first.in_scope(k) is None and k not in NOT_SHARED]
    if not kpis or len({s.period for s in scopes}) != 1:
        return []
    with i18n.using(first.locale), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _compare(first.full, kpis, period=first.period, freq=first.freq, by=dim)
    if dim not in got.columns:
        return []
    skipped = got.attrs.get("skipped", {})
    base = compare_key(None, {})  # Scope.compare's key for compare(kpis) without by or options
    out = []
    values = got[dim].astype(object)
    family = got["kpi"].str.partition(".")[0]
    for args, s in zip(members, scopes):
        mine = got[values == s.filters[dim]]
        cache: dict[tuple, pd.DataFrame] = {}
        for k in kpis:
            rows = mine[family[mine.index] == k]
            if k in skipped or not len(rows):
                continue  # the scope's own pass decides what to say about it
            rows = rows.drop(columns=dim).copy()
            rows.attrs = {"skipped": {}}
            cache[base + (k,)] = rows
        out.append({**args, "cache": cache})
    # a compute() call is shared only where the scope filters every table its KPIs read (Scope.in_scope):
    # grouping by the column is then the same as filtering by it
    for kpis, by, period in SHARED_COMPUTES if dim == SHARED_DIMENSION else ():
        if all(first.in_scope(k) is None for k in _as_list(kpis)):
            _share_compute(dim, scopes, out, kpis, by, period)
    return out


def _share_compute(dim: str, scopes: list[Scope], out: Shared, kpis: Any, by: str | None, period: str | None) -> None:
    """One grouped compute() for every scope, sliced into each scope's cache entry for Scope.compute(kpis, by,
    period) (the key it uses). Categorical columns keep the scope's own categories, the values it has."""
    first = scopes[0]
    when = first.period if period == "same" else period
    with i18n.using(first.locale), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = _compute(first.full, _as_list(kpis), freq=first.freq, by=[dim, *_as_list(by)], period=when)
        except Exception:  # each scope computes it (and reports any problem) itself
            return
    if dim not in got.columns or got.attrs.get("skipped"):
        return  # what to say about a skipped KPI is the scope's own pass's business
    values = got[dim].astype(object)
    notes = got.attrs.get("notes")
    key = compute_key(kpis, by, when, {})
    for s, entry in zip(scopes, out):
        rows = got[values == s.filters[dim]].drop(columns=dim).reset_index(drop=True)
        for col in rows.columns:
            if isinstance(rows[col].dtype, pd.CategoricalDtype):
                rows[col] = rows[col].cat.remove_unused_categories()
        rows.attrs = dict(got.attrs)
        if isinstance(notes, pd.DataFrame) and dim in notes.columns:  # the scope's own notes, as it would have them
            rows.attrs["notes"] = notes[notes[dim].astype(object) == s.filters[dim]].drop(columns=dim) \
                .reset_index(drop=True)
        entry["cache"][key] = rows


def install(shared: Shared) -> int:
    """Fill the caches of the scopes the batch's notebooks will ask for; returns how many scopes."""
    reserve(len(shared))
    for entry in shared:
        try:
            s = _scope_of(entry)
        except Exception:  # the run reports it
            continue
        for key, frame in entry["cache"].items():
            s._cache.setdefault(key, frame)
    return len(shared)
