"""Turn a user's Series into a regular numeric array, and build the future index.

Forecasting works on a gap-free array of values at one frequency. Users hand
in a Series indexed by periods, timestamps or period-like strings, possibly
with missing periods; `regularise` fixes that once, and `future_index` puts the
forecast back on the same kind of index.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..calendars.jalali import JalaliArray, JalaliDtype, JalaliPeriod
from ..calendars.periods import period_span

Missing = Literal["zero", "interpolate"]
Kind = Literal["period", "timestamp_start", "timestamp_end", "string"]  # how the input labelled periods

# Seasonal period by frequency (pandas period frequency "base" codes).
SEASON_LENGTH = {"M": 12, "Q": 4, "W": 52, "D": 7, "Y": 1, "h": 24}


@dataclass(frozen=True)
class Regular:
    """A gap-free series: `values[i]` belongs to period `start + i` (a pandas Period, or a JalaliPeriod)."""

    values: np.ndarray
    start: pd.Period | JalaliPeriod
    kind: Kind

    @property
    def freq(self) -> str:
        return self.start.freqstr

    @property
    def last(self) -> pd.Period | JalaliPeriod:
        return self.start + (len(self.values) - 1)


def to_periods(index: pd.Index | pd.Series, freq: str | None = None) -> tuple[pd.PeriodIndex, Kind]:
    """Convert period, datetime or string labels to a PeriodIndex (Jalali periods: an Index of them); also
    return their kind."""
    index = pd.Index(index)
    if isinstance(index.dtype, JalaliDtype):
        if freq is not None and str(freq).upper()[0] != index.dtype.freq:
            raise ValueError(f"cannot convert Jalali {index.dtype.freq} periods to {freq}")
        return index, "period"
    if len(index) and index.dtype == object and isinstance(index[0], JalaliPeriod):
        return pd.Index(JalaliArray._from_sequence(list(index))), "period"
    if isinstance(index, pd.PeriodIndex):
        return (index if freq is None else index.asfreq(freq)), "period"
    if isinstance(index, pd.DatetimeIndex):
        freq = freq or _guess_freq(index)
        periods = index.to_period(freq)
        starts = periods.to_timestamp(how="start")
        if (index.normalize() == starts).all():
            return periods, "timestamp_start"
        return periods, "timestamp_end"
    if len(index) and isinstance(index[0], pd.Period):  # object index of Periods
        return pd.PeriodIndex(index), "period"
    labels = index.astype(str)
    freq = freq or pd.Period(labels[0]).freqstr  # "2024-01" -> M, "2024Q1" -> Q-DEC
    return pd.PeriodIndex(labels, freq=freq), "string"


def _guess_freq(index: pd.DatetimeIndex) -> str:
    """The frequency of timestamps, tolerant of gaps (infer_freq needs none)."""
    if index.freq is not None:  # offset -> period code: "MS"/"ME" -> "M", "QS-JAN" -> "Q-JAN"
        base, dash, anchor = index.freqstr.partition("-")
        base = base.lstrip("B")
        if base[:-1] in ("M", "Q", "Y") and base[-1] in "SE":
            base = base[:-1]
        return base + dash + anchor
    days = np.diff(index.sort_values().asi8) / 86_400e9 if len(index) > 1 else np.array([31.0])
    step = float(np.min(days[days > 0])) if (days > 0).any() else 31.0
    for limit, code in ((360, "Y"), (89, "Q"), (28, "M"), (7, "W"), (1, "D")):
        if step >= limit:
            return code
    return "h"


def regularise(y: pd.Series, missing: Missing = "zero", freq: str | None = None) -> Regular:
    """A Series -> `Regular`, filling missing periods.

    missing="zero" fills gaps and NaNs with 0, right for flow KPIs (revenue,
    deals won: a month with no row had none); "interpolate" fills linearly, for
    stock KPIs (pipeline value, MRR). Leading and trailing NaNs are dropped.
    """
    if not isinstance(y, pd.Series):
        raise TypeError("y must be a pandas Series with a period or datetime index")
    periods, kind = to_periods(y.index, freq)
    if periods.has_duplicates:
        dupes = periods[periods.duplicated()].unique()[:3]
        raise ValueError(f"y has more than one value for periods {list(map(str, dupes))}")
    s = pd.Series(pd.to_numeric(y, errors="coerce").to_numpy(dtype=float), index=periods)
    s = s.sort_index()
    valid = np.flatnonzero(s.notna().to_numpy())
    s = s.iloc[valid[0]: valid[-1] + 1] if len(valid) else s.iloc[:0]
    if s.empty:
        raise ValueError("y has no values")
    s = s.reindex(period_span(s.index[0], s.index[-1], name=s.index.name))
    if missing == "zero":
        s = s.fillna(0.0)
    elif missing == "interpolate":
        s = s.interpolate()
    else:
        raise ValueError(f"missing must be 'zero' or 'interpolate', not {missing!r}")
    return Regular(s.to_numpy(dtype=float), s.index[0], kind)


def season_length(freq: str) -> int:
    """m, the number of periods in a season: 12 for monthly, 4 quarterly, 7 daily..."""
    base = freq.split("-")[0].lstrip("0123456789")  # "Q-DEC" -> "Q", "W-SUN" -> "W"
    return SEASON_LENGTH.get(base, 1)


def future_index(reg: Regular, horizon: int) -> pd.Index:
    """The `horizon` periods after the series, as the same kind of labels as the input."""
    periods = period_span(reg.last + 1, reg.last + horizon).rename(None)
    return relabel(periods, reg.kind)


def relabel(periods: pd.Index, kind: str) -> pd.Index:
    """Periods -> the label kind `to_periods` reported (period, timestamp or string)."""
    if isinstance(periods.dtype, JalaliDtype):
        return pd.Index(periods.astype(str), dtype=object) if kind == "string" else periods
    if kind == "timestamp_start":
        return periods.to_timestamp(how="start")
    if kind == "timestamp_end":
        return periods.to_timestamp(how="end").normalize()
    if kind == "string":
        return pd.Index(periods.astype(str), dtype=object)
    return periods
