"""Forecast many series (one per group, e.g. region × product) in parallel.

Input is the tidy frame `kpitools.compute` returns (period, by..., kpi, value);
output is tidy too: period, by..., kpi, mean, lo_L, hi_L..., model.

Series are sent to worker processes in chunks (a few per worker), not one task
per series: a task costs a pickle round trip and the pool's bookkeeping, which
would be a large share of a ~0.1 s fit. Workers fit with one BLAS thread —
with several processes per core, BLAS threads only fight each other.

Panels use the same selection as a single series (model="auto": ETS, Theta
and their mean by back-test, select.py), so a group's forecast is the one
`forecast` gives for that series. bench/forecast.py measures time and accuracy.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from ..calendars.periods import to_index
from .blas import one_blas_thread
from .core import Levels, check_levels, forecast
from .series import Missing, relabel, to_periods

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

Job = tuple[tuple, pd.Series]  # (group key, series)


def _init_worker() -> None:
    # For BLAS libraries loaded after this point; one_blas_thread handles the rest.
    for var in _THREAD_VARS:
        os.environ[var] = "1"


def _run_chunk(jobs: Sequence[Job], horizon: int, options: dict) -> tuple[list, list[str]]:
    """Forecast each series of a chunk; failures become messages, not exceptions."""
    out, problems = [], []
    with one_blas_thread():
        for key, y in jobs:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    fc = forecast(y, horizon, **options)
                problems += [f"{key}: {w.message}" for w in caught]
                out.append((key, fc))
            except Exception as exc:  # one bad series must not sink the panel
                problems.append(f"{key}: not forecast: {exc}")
    return out, problems


def forecast_panel(df: pd.DataFrame, by: str | Sequence[str] | None = None, value: str = "value",
                   period: str = "period", horizon: int = 12, level: Levels = (80, 95),
                   model: str = "auto", *, workers: int | None = None, fast: bool = True,
                   folds: int | None = None, missing: Missing = "zero",
                   season_length: int | None = None, chunks_per_worker: int = 4) -> pd.DataFrame:
    """Forecast every group of a tidy KPI frame.

    One series per combination of `by` and the `kpi` column (when present).
    workers: processes (default: the CPUs this process may use; 1 = no pool).
    model, folds: as for `forecast` (default "auto", 3 folds); fast is kept
    for compatibility and changes nothing.
    Groups that cannot be forecast are left out, with one warning listing them.
    """
    by = [by] if isinstance(by, str) else list(by or [])
    keys = by + (["kpi"] if "kpi" in df.columns else [])
    levels = check_levels(level)
    options = dict(model=model, level=levels, fast=fast, folds=folds or 3,
                   missing=missing, season_length=season_length)

    periods, kind = to_periods(df[period])
    data = pd.DataFrame({"_period": periods, "_value": df[value].to_numpy()})
    for k in keys:
        data[k] = df[k].to_numpy()
    jobs: list[Job] = []
    groups = data.groupby(keys, sort=True, dropna=False, observed=True) if keys else [((), data)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        jobs.append((key, pd.Series(g["_value"].to_numpy(dtype=float), index=to_index(g["_period"]))))

    results, problems = _run(jobs, horizon, options, workers, chunks_per_worker)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        warnings.warn(f"forecast_panel: {shown}", UserWarning, stacklevel=2)

    cols = ["mean"] + [f"{b}_{lv:g}" for lv in levels for b in ("lo", "hi")]
    frames = []
    for key, fc in results:
        part = pd.DataFrame({"period": relabel(to_index(fc.index), kind)})
        for k, v in zip(keys, key):
            part[k] = v
        if "kpi" not in keys:
            part["kpi"] = value
        for c in cols:
            part[c] = fc[c].to_numpy()
        part["model"] = fc.attrs["model"]
        frames.append(part)
    order = ["period", *by, "kpi", *cols, "model"]
    if not frames:
        return pd.DataFrame(columns=order)
    return pd.concat(frames, ignore_index=True)[order]


def _run(jobs: list[Job], horizon: int, options: dict, workers: int | None,
         chunks_per_worker: int) -> tuple[list, list[str]]:
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if workers <= 1 or len(jobs) <= 1:
        return _run_chunk(jobs, horizon, options)
    n_chunks = min(len(jobs), workers * chunks_per_worker)
    chunks = [jobs[i::n_chunks] for i in range(n_chunks)]  # interleaved: similar work per chunk
    results, problems = [], []
    with ProcessPoolExecutor(max_workers=min(workers, n_chunks), initializer=_init_worker) as pool:
        for out, probs in pool.map(_run_chunk, chunks, [horizon] * n_chunks, [options] * n_chunks):
            results += out
            problems += probs
    order = {key: i for i, (key, _) in enumerate(jobs)}
    results.sort(key=lambda r: order[r[0]])
    return results, problems


def forecast_table(tidy: pd.DataFrame, horizon: int = 12, by: str | Sequence[str] | None = None,
                   **options) -> pd.DataFrame:
    """What `kpitools forecast` prints: columns period, <by...>, kpi, mean,
    lo_80, hi_80, lo_95, hi_95, model. `by` defaults to every column of the
    tidy frame other than period, kpi and value."""
    if by is None:
        by = [c for c in tidy.columns if c not in ("period", "kpi", "value")]
    return forecast_panel(tidy, by=by, horizon=horizon, **options)
