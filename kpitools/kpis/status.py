"""The one status rating of a KPI value: on track, at risk or off track, against a target (or any
reference: a quota, the team median) or against a benchmark range. Cards, the leaderboard and the
scorecard all rate through here.

    against_target(value, target, direction)   # ratio value/target (target/value when lower is better):
                                               # >= 1.0 on track, >= 0.9 at risk, else off track
    against_benchmark(value, low, high)        # inside the range on track, within 10% of a bound at risk
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ON_TRACK", "AT_RISK", "OFF_TRACK", "THRESHOLDS", "BENCHMARK_MARGIN", "against_target",
           "against_benchmark"]

ON_TRACK, AT_RISK, OFF_TRACK = "on track", "at risk", "off track"
THRESHOLDS = (1.0, 0.9)   # (on track, at risk) ratios of value to target
BENCHMARK_MARGIN = 0.10   # within 10% of a benchmark's bound: at risk


def against_target(value: pd.Series, target: pd.Series | float, direction: pd.Series | str,
                   thresholds: tuple[float, float] = THRESHOLDS) -> pd.Series:
    """Each value rated against its target; <NA> where either is missing or the direction is neither
    "higher" nor "lower". A target of 0 is met by any value on its good side (0 included)."""
    index = value.index
    value = value.astype("float64")
    target = (target if isinstance(target, pd.Series) else pd.Series(target, index=index)).astype("float64")
    direction = direction if isinstance(direction, pd.Series) else pd.Series(direction, index=index)
    higher, lower = direction.eq("higher").to_numpy(), direction.eq("lower").to_numpy()
    v, t = value.to_numpy(), target.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(higher, v / np.where(t != 0, t, np.nan), np.where(lower, t / np.where(v != 0, v, np.nan),
                                                                           np.nan))
    ratio = np.where(lower & (v == 0) & (t >= 0), np.inf, ratio)  # lower is better: 0 is as good as it gets
    zero = (t == 0) & ~np.isnan(v)
    ratio = np.where(zero & higher, np.where(v >= 0, np.inf, 0.0), ratio)
    ratio = np.where(zero & lower, np.where(v <= 0, np.inf, 0.0), ratio)
    status = pd.Series(pd.NA, index=index, dtype="string")
    known = ~np.isnan(ratio)
    status[known] = OFF_TRACK
    status[known & (ratio >= thresholds[1])] = AT_RISK
    status[known & (ratio >= thresholds[0])] = ON_TRACK
    return status


def against_benchmark(value: float | None, low: float | None, high: float | None,
                      margin: float = BENCHMARK_MARGIN) -> str | None:
    """A value rated against a benchmark range (either bound may be open); None without a value."""
    if value is None or pd.isna(value) or (low is None and high is None):
        return None
    if (low is None or value >= low) and (high is None or value <= high):
        return ON_TRACK
    bound = low if low is not None and value < low else high
    if bound is not None and bound != 0 and abs(value - bound) / abs(bound) < margin:
        return AT_RISK
    return OFF_TRACK
