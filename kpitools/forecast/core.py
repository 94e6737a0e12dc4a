"""`forecast` and `backtest`: the public entry points for one series."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..calendars.periods import period_span
from . import models
from .blas import one_blas_thread
from .metrics import coverage, mase, smape
from .models import Fitted, fit_snaive
from .select import select
from .series import Missing, Regular, future_index, regularise, relabel
from .series import season_length as default_season_length

Levels = float | Sequence[float]


def check_levels(level: Levels) -> tuple[float, ...]:
    levels = [float(lv) for lv in np.atleast_1d(np.asarray(level, dtype=float))]
    if not all(0 < lv < 100 for lv in levels):
        raise ValueError(f"interval levels must be percentages between 0 and 100, got {tuple(levels)}")
    return tuple(sorted(set(levels)))


def fit_model(y: np.ndarray, m: int, horizon: int, model: str = "auto", *,
              fast: bool = False, folds: int = 3) -> Fitted:
    """Fit the requested model to a gap-free array.

    model: "auto" (ETS, Theta and their mean by back-test, see select.py), a
    family ("snaive", "naive", "ets", "sarima", "theta": AICc within it) or one
    member's name, e.g. "ETS(M,Ad,M)".
    Fewer than 4 points: the naive forecast, with a warning; so is "auto" on a
    constant series. fast is kept for compatibility and changes nothing: "auto"
    is the same, cheap selection everywhere.
    """
    if len(y) < 4:
        warnings.warn(f"only {len(y)} points: using the naive forecast", UserWarning, stacklevel=3)
        return fit_snaive(y, 1)
    if model == "naive" or (model == "auto" and np.ptp(y) == 0):  # constant: nothing to model
        return fit_snaive(y, 1)
    if model == "auto":
        return select(y, m, horizon, models.candidates(y, m, models.AUTO_FAMILIES, fast=True), folds).fit
    if model in models.FAMILIES:
        cands = models.candidates(y, m, (model,))
        if not cands:
            raise ValueError(f"model {model!r} needs more data than {len(y)} points")
        return select(y, m, horizon, cands).fit
    named = [c for c in models.candidates(y, m) if c.name.lower() == model.lower()]
    if not named:
        options = ", ".join(["auto", "naive", *models.FAMILIES, *(c.name for c in models.candidates(y, m))])
        raise ValueError(f"unknown or unusable model {model!r} for this series; choose one of: {options}")
    return named[0].fit(y)


def forecast(y: pd.Series, horizon: int, model: str = "auto", level: Levels = (80, 95), *,
             season_length: int | None = None, missing: Missing = "zero",
             nonnegative: bool | None = None, fast: bool = False, folds: int = 3,
             freq: str | None = None) -> pd.DataFrame:
    """Forecast `horizon` periods of y with prediction intervals.

    y: Series indexed by periods, timestamps or period strings ("2024-01").
    Missing periods are 0 (missing="zero", for flow KPIs such as revenue) or
    interpolated (missing="interpolate", for stock KPIs).
    Returns a DataFrame indexed by the next `horizon` periods (same label kind
    as y's index) with columns mean, lo_L, hi_L for each level L, and the
    chosen model's name in ``.attrs["model"]``.
    Non-negative KPIs (nonnegative=None: y never below 0) never get a negative
    forecast: mean and bounds are clipped at 0 — for a quantile this is exact
    (the quantile of max(Y, 0)).
    model: "auto" (default) chooses among ETS, Theta and their mean by a
    rolling-origin back-test (see select.py); a family ("ets", "theta",
    "sarima", "snaive", "naive") or a member ("ETS(M,Ad,M)") forces a choice.
    fast: kept for compatibility, no effect (panels and single series share
    the one selection).
    """
    if int(horizon) < 1:
        raise ValueError("horizon must be at least 1")
    levels = check_levels(level)
    reg = regularise(y, missing, freq)
    m = season_length or default_season_length(reg.freq)
    with one_blas_thread():
        fit = fit_model(reg.values, m, int(horizon), model, fast=fast, folds=folds)
        return finish(fit, reg, int(horizon), levels, nonnegative, y.index.name)


def finish(fit: Fitted, reg: Regular, horizon: int, levels: tuple[float, ...],
           nonnegative: bool | None, name: str | None = None) -> pd.DataFrame:
    out = fit.predict(horizon, levels)
    if nonnegative is None:
        nonnegative = bool(np.nanmin(reg.values) >= 0)
    if nonnegative:
        out = out.clip(lower=0.0)
    out.index = future_index(reg, horizon)
    out.index.name = name or "period"
    out.attrs["model"] = fit.name
    return out


@dataclass
class Backtest:
    """Rolling-origin evaluation: `points` has one row per forecast period,
    `folds` one row per origin with MASE, sMAPE and coverage per level."""

    points: pd.DataFrame
    folds: pd.DataFrame

    def summary(self) -> pd.Series:
        """Mean of each metric over the folds."""
        return self.folds.drop(columns=["fold", "origin", "model"]).mean()


def backtest(y: pd.Series, horizon: int, folds: int = 3, model: str = "auto",
             level: Levels = (80, 95), *, step: int | None = None,
             season_length: int | None = None, missing: Missing = "zero",
             **options) -> Backtest:
    """Refit at `folds` rolling origins and score the next `horizon` periods.

    Fold i trains on all periods before origin_i = n − horizon − i·step
    (step defaults to horizon: non-overlapping test windows) and forecasts the
    next `horizon` periods with `forecast(...)`, model choice included.
    """
    levels = check_levels(level)
    reg = regularise(y, missing, options.get("freq"))
    m = season_length or default_season_length(reg.freq)
    step = step or horizon
    n = len(reg.values)
    starts = [n - horizon - i * step for i in range(folds)]
    if min(starts) < 1:
        raise ValueError(f"{n} points are too few for {folds} folds of {horizon} (step {step})")
    points, rows = [], []
    periods = period_span(reg.start, reg.start + (n - 1)).rename(None)
    for i, o in enumerate(starts):
        train = pd.Series(reg.values[:o], index=periods[:o])
        fc = forecast(train, horizon, model, levels, season_length=m, missing=missing, **options)
        actual = reg.values[o:o + horizon]
        origin = relabel(periods[o - 1:o], reg.kind)[0]
        fc_points = fc.reset_index().assign(fold=i, origin=origin, actual=actual, model=fc.attrs["model"])
        points.append(fc_points)
        row = {"fold": i, "origin": origin, "model": fc.attrs["model"],
               "mase": mase(actual, fc["mean"], reg.values[:o], m),
               "smape": smape(actual, fc["mean"])}
        for lv in levels:
            row[f"coverage_{lv:g}"] = coverage(actual, fc[f"lo_{lv:g}"], fc[f"hi_{lv:g}"])
        rows.append(row)
    pts = pd.concat(points, ignore_index=True)
    first = ["fold", "origin", "period", "actual"]
    pts = pts[first + [c for c in pts.columns if c not in first]]
    return Backtest(pts, pd.DataFrame(rows))
