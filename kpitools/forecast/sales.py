"""Sales questions: where will this period land, will we hit target, what does
the pipeline add.

- `projected_total`: the current period's total from the completed periods,
  the actual to date and the elapsed share; with P(total ≥ target).
- `pipeline_forecast`: expected revenue per month from open deals,
  Σ amount × probability by expected close month.
- `combined_forecast`: the pipeline for revenue already in it plus the
  statistical forecast for the share that usually is not (see its docstring).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..calendars.jalali import JalaliPeriod
from ..calendars.periods import ordinals, period_span, to_period
from ..clock import today
from .core import Levels, check_levels, forecast
from .models import z
from .series import regularise


@dataclass(frozen=True)
class Projection:
    """The projected total of the current period and its uncertainty."""

    period: object  # label of the current period, same kind as the history's index
    actual_to_date: float
    elapsed: float
    run_rate: float  # actual_to_date / elapsed
    forecast: float  # the model's forecast for the whole period, before any actuals
    projected: float
    sd: float
    interval: dict[float, tuple[float, float]] = field(default_factory=dict)
    target: float | None = None
    probability: float | None = None  # P(total ≥ target)
    model: str = ""

    def to_series(self) -> pd.Series:
        d = {k: getattr(self, k) for k in ("period", "actual_to_date", "elapsed", "run_rate",
                                           "forecast", "projected", "sd")}
        for lv, (lo, hi) in self.interval.items():
            d[f"lo_{lv:g}"], d[f"hi_{lv:g}"] = lo, hi
        d.update(target=self.target, probability=self.probability, model=self.model)
        return pd.Series(d)


def elapsed_share(period: pd.Period, as_of: pd.Timestamp | str) -> float:
    """Share of the period's calendar days up to and including `as_of` (0..1)."""
    as_of = pd.Timestamp(as_of)
    start, end = period.start_time.normalize(), period.end_time.normalize()
    days = (end - start).days + 1
    return float(np.clip(((as_of.normalize() - start).days + 1) / days, 0.0, 1.0))


def projected_total(history: pd.Series, actual_to_date: float, elapsed: float,
                    target: float | None = None, *, level: Levels = (80, 95),
                    model: str = "auto", **options) -> Projection:
    """Project the current period (the one after `history`) to its end.

    history: totals of the completed periods. actual_to_date: the current
    period so far; elapsed: its elapsed share (see `elapsed_share`).

    With F ~ N(μ, σ²) the model's one-step forecast of the whole period (σ
    from its widest interval) and e the elapsed share:

        pace      = e · (actual / e) + (1 − e) · μ       trust the run rate as the period fills
        projected = actual + (1 − e) · pace
        sd        = σ · √(1 − e)                          the rest of the period is still uncertain
        P(total ≥ target) = 1 − Φ((target − projected) / sd)

    e = 0 gives the plain forecast, e = 1 the actual. Intervals are normal
    and, for a non-negative KPI, never below the actual to date.
    """
    if not 0 <= elapsed <= 1:
        raise ValueError(f"elapsed must be a share between 0 and 1, got {elapsed}")
    levels = check_levels(level)
    fc = forecast(history, 1, model, levels, **options)
    row, widest = fc.iloc[0], max(levels)
    mu = float(row["mean"])
    sigma = float(row[f"hi_{widest:g}"] - row[f"lo_{widest:g}"]) / (2 * z(widest))
    a = float(actual_to_date)
    run_rate = a / elapsed if elapsed > 0 else float("nan")
    pace = a + (1 - elapsed) * mu  # = e·(a/e) + (1 − e)·μ
    projected = a + (1 - elapsed) * pace
    sd = sigma * np.sqrt(1 - elapsed)
    floor = a if bool((history.dropna() >= 0).all()) and a >= 0 else -np.inf
    interval = {lv: (max(projected - z(lv) * sd, floor), max(projected + z(lv) * sd, floor))
                for lv in levels}
    prob = None
    if target is not None:
        if sd > 0:
            prob = float(norm.sf((float(target) - projected) / sd))
        else:
            prob = float(projected >= target)
        if a >= target and floor == a:
            prob = 1.0  # already there and the total cannot fall
    return Projection(fc.index[0], a, float(elapsed), run_rate, mu, projected, sd,
                      interval, target, prob, fc.attrs["model"])


def probability_of_target(history: pd.Series, actual_to_date: float, elapsed: float,
                          target: float, **options) -> float:
    """P(current period's total ≥ target); see `projected_total`."""
    probability = projected_total(history, actual_to_date, elapsed, target, **options).probability
    assert probability is not None  # always set when a target is given
    return probability


def _deal_probability(deals: pd.DataFrame, stage_probability: Mapping[str, float] | None) -> pd.Series:
    p = deals["probability"] if "probability" in deals else pd.Series(np.nan, index=deals.index)
    p = pd.to_numeric(p, errors="coerce")
    if stage_probability and "stage" in deals:
        p = p.fillna(deals["stage"].map(stage_probability))
    if (p > 1).any():
        raise ValueError("deal probability must be a fraction between 0 and 1 (found values above 1)")
    if p.isna().any():
        warnings.warn(f"{int(p.isna().sum())} open deals have no probability; counted as 0",
                      UserWarning, stacklevel=3)
    return p.fillna(0.0)


def pipeline_forecast(deals: pd.DataFrame, start: pd.Period | str | None = None,
                      periods: int | None = None, freq: str = "M",
                      stage_probability: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Expected revenue per period from the open pipeline.

    deals: columns amount, probability (0..1), expected_close_at, status
    (only "open" deals count; probability falls back to `stage_probability`
    by stage, then 0). Per period P:

        expected_P = Σ amount × probability    over open deals expected to close in P
        variance_P = Σ amount² × p × (1 − p)   (each deal closes whole or not at all)

    Deals expected before `start` (overdue but still open) count in `start`;
    deals with no expected close date are left out. Returns a frame indexed by
    period from `start` (default: the earliest expected month) for `periods`
    periods (default: through the last expected month) with columns expected,
    variance, amount (unweighted) and deals.
    """
    open_ = deals[deals["status"] == "open"]
    p = _deal_probability(open_, stage_probability)
    when = pd.to_datetime(open_["expected_close_at"])
    known = when.notna()
    if (~known).any():
        warnings.warn(f"{int((~known).sum())} open deals have no expected_close_at; left out",
                      UserWarning, stacklevel=2)
    if isinstance(start, JalaliPeriod):  # Jalali periods of the start's frequency
        month = to_period(when[known], start.freq, start.fiscal_year_start, "jalali")
    else:
        month = when[known].dt.to_period(freq)
        start = pd.Period(start, freq=freq) if start is not None else (month.min() if len(month) else None)
    if start is None:
        index = pd.period_range(pd.Timestamp(today()), periods=periods or 0, freq=freq)
        return pd.DataFrame(0.0, index=index, columns=["expected", "variance", "amount", "deals"])
    month = month.where(month >= start, start)
    amount = pd.to_numeric(open_.loc[known, "amount"], errors="coerce").fillna(0.0)
    pk = p[known]
    table = pd.DataFrame({"period": month, "expected": amount * pk,
                          "variance": amount**2 * pk * (1 - pk), "amount": amount, "deals": 1.0})
    table = table.groupby("period").sum()
    end = start + (periods - 1) if periods else (table.index.max() if len(table) else start)
    index = period_span(start, end)
    return table.reindex(index, fill_value=0.0)


def pipeline_coverage(deals: pd.DataFrame, horizon: int, freq: str = "M", *, like: Any = None) -> np.ndarray:
    """Share of won revenue that was already in the pipeline at forecast time,
    by lead: c_k = Σ amount of won deals created ≤ k+1 periods before their
    close period / Σ amount of won deals, k = 0..horizon−1 (k = 0: the first
    forecast period, whose deals must exist by its start). `like`: a JalaliPeriod
    whose periods to count in (else pandas periods of `freq`)."""
    won = deals[deals["status"] == "won"].dropna(subset=["created_at", "closed_at"])
    if won.empty:
        return np.zeros(horizon)
    if isinstance(like, JalaliPeriod):
        f, fy = like.freq, like.fiscal_year_start
        created = to_period(pd.to_datetime(won["created_at"]), f, fy, "jalali")
        closed = to_period(pd.to_datetime(won["closed_at"]), f, fy, "jalali")
        lead = ordinals(closed) - ordinals(created)
    else:
        created = pd.to_datetime(won["created_at"]).dt.to_period(freq)
        closed = pd.to_datetime(won["closed_at"]).dt.to_period(freq)
        lead = np.array([(c - o).n for c, o in zip(closed, created)])  # whole periods in the pipeline
    amount = pd.to_numeric(won["amount"], errors="coerce").fillna(0.0).to_numpy()
    total = amount.sum()
    if total <= 0:
        return np.zeros(horizon)
    return np.array([amount[lead >= k + 1].sum() / total for k in range(horizon)])


def combined_forecast(history: pd.Series, deals: pd.DataFrame, horizon: int, *,
                      coverage: float | Sequence[float] | None = None, level: Levels = (80, 95),
                      model: str = "auto", stage_probability: Mapping[str, float] | None = None,
                      **options) -> pd.DataFrame:
    """Pipeline for what is in it, statistical forecast for the rest.

    The statistical forecast F_t (of all revenue) would double count the
    pipeline, so only the share of revenue that is usually *not* yet in the
    pipeline k periods ahead is taken from it:

        mean_t = pipeline_t + (1 − c_k) · F_t
        sd_t   = √( ((1 − c_k) · σ_t)² + variance_t )     σ_t from F's widest interval

    c_k is `coverage` (one share, or one per lead) or, by default, estimated
    from the won deals' history by `pipeline_coverage`. Intervals are normal,
    floored at 0. Columns: mean, lo_L, hi_L, pipeline, statistical, coverage;
    the statistical model in ``.attrs["model"]``.
    """
    levels = check_levels(level)
    fc = forecast(history, horizon, model, levels, **options)
    start = regularise(history, options.get("missing", "zero"), options.get("freq")).last + 1
    pipe = pipeline_forecast(deals, start=start, periods=horizon, freq=start.freqstr,
                             stage_probability=stage_probability)
    if coverage is None:
        c = pipeline_coverage(deals, horizon, start.freqstr, like=start)
    else:
        c = np.broadcast_to(np.asarray(coverage, dtype=float), (horizon,)).copy()
    widest = max(levels)
    sigma = (fc[f"hi_{widest:g}"] - fc[f"lo_{widest:g}"]).to_numpy() / (2 * z(widest))
    rest = (1 - c) * fc["mean"].to_numpy()
    mean = pipe["expected"].to_numpy() + rest
    sd = np.sqrt(((1 - c) * sigma) ** 2 + pipe["variance"].to_numpy())
    out = pd.DataFrame({"mean": mean}, index=fc.index)
    for lv in levels:
        out[f"lo_{lv:g}"] = np.maximum(mean - z(lv) * sd, 0.0)
        out[f"hi_{lv:g}"] = np.maximum(mean + z(lv) * sd, 0.0)
    out["pipeline"] = pipe["expected"].to_numpy()
    out["statistical"] = fc["mean"].to_numpy()
    out["coverage"] = c
    out.attrs["model"] = fc.attrs["model"]
    return out
