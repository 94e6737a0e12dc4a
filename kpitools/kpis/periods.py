"""Reporting periods: D, W, M, Q, Y, with a configurable fiscal-year start.

Periods are pandas Periods. Fiscal quarters and years follow pandas' convention
of naming a fiscal year by the calendar year it ends in: with the year starting
in April, fiscal 2025 runs April 2024 to March 2025 and `2025Q1` is April-June 2024.
Weeks run Monday to Sunday.
"""
from __future__ import annotations

import calendar
import re
import weakref
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

FREQS = ("D", "W", "M", "Q", "Y")


def pandas_freq(freq: str, fiscal_year_start: int = 1) -> str:
    """The pandas period frequency for one of D, W, M, Q, Y."""
    freq = freq.upper()
    if freq not in FREQS:
        raise ValueError(f"unknown frequency {freq!r}: use one of {', '.join(FREQS)}")
    if not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"fiscal_year_start must be a month number 1-12, not {fiscal_year_start}")
    year_end = calendar.month_abbr[(fiscal_year_start - 2) % 12 + 1].upper()
    return {"D": "D", "W": "W-SUN", "M": "M", "Q": f"Q-{year_end}", "Y": f"Y-{year_end}"}[freq]


def to_period(dates: pd.Series, freq: str = "M", fiscal_year_start: int = 1) -> pd.Series:
    """The period each date falls in (NaT stays NaT)."""
    pf = pandas_freq(freq, fiscal_year_start)
    ordinals = period_ordinals(dates, freq, fiscal_year_start)
    if ordinals is None:
        return dates.dt.to_period(pf)
    ords = ordinals.astype(np.int64)
    ords[ordinals == NO_PERIOD] = _NAT
    values = pd.arrays.PeriodArray(ords, dtype=pd.PeriodDtype(pf))
    return pd.Series(values, index=dates.index, name=dates.name, copy=False)


def period_grid(start: pd.Timestamp, end: pd.Timestamp, freq: str = "M", fiscal_year_start: int = 1) -> pd.PeriodIndex:
    """Every period from the one holding `start` to the one holding `end`."""
    f = pandas_freq(freq, fiscal_year_start)
    return pd.period_range(pd.Period(start, f), pd.Period(end, f), freq=f, name="period")


def period_starts(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.PeriodIndex(periods).start_time)


def next_starts(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    """The first instant after each period; snapshot KPIs count what holds just before it."""
    return pd.DatetimeIndex((pd.PeriodIndex(periods) + 1).start_time)


# ----------------------------------------------------------------------------- memo on column memory
#
# KPI functions are pure functions of (immutable) tables, and many of them derive the same
# arrays from the same columns: the period of every deal's closed_at, the group codes of its
# region... `memo` caches such derived arrays keyed on the *memory* of the columns they come
# from (the root array owning the data, its offset, shape, strides and dtype), holding the root
# only weakly: an entry dies with the column, and frames built from the same column (a slim copy
# of a table that keeps the column, `frame["x"] = df["x"]`) share the entry. Arrays are read-only
# views under pandas' copy-on-write, so the memory of a live column does not change.

_MEMO: dict[tuple, tuple[tuple[weakref.ref, ...], Any]] = {}
_MEMO_SIZE = 256


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _drop(key: tuple) -> Callable[[Any], None]:
    table = _MEMO  # bound now: at interpreter exit the module global may already be gone

    def callback(_ref: Any) -> None:
        table.pop(key, None)

    return callback


def memo(arrays: Sequence[np.ndarray], tag: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()`, cached on the memory of `arrays` (numpy arrays) and `tag` (hashable).

    The result must be derived only from the arrays' contents and `tag`. Numpy arrays in it (or
    in a list or tuple it is) are made read-only: every caller shares them.
    """
    roots = [_root(a) for a in arrays]
    key = (tag, *((id(r), a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)
                  for r, a in zip(roots, arrays)))
    hit = _MEMO.get(key)
    if hit is not None and all(w() is r for w, r in zip(hit[0], roots)):
        return hit[1]
    value = compute()
    for a in (value if isinstance(value, (list, tuple)) else [value]):
        if isinstance(a, np.ndarray):
            a.flags.writeable = False  # shared by every caller
    try:
        refs = tuple(weakref.ref(r, _drop(key)) for r in roots)
    except TypeError:  # not weakly referenceable: do not cache
        return value
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = (refs, value)
    return value


_NAT = np.iinfo(np.int64).min
NO_PERIOD = np.iinfo(np.int32).min  # period_ordinals() of a missing date


def period_ordinals(dates: pd.Series, freq: str = "M", fiscal_year_start: int = 1) -> np.ndarray | None:
    """pandas Period ordinals (int32, NO_PERIOD for NaT) of the period each date falls in, cached
    per column memory; None for columns that are not naive numpy datetimes (use `to_period`)."""
    pf = pandas_freq(freq, fiscal_year_start)
    if not (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"):
        return None
    values = dates.to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    if unit not in _PER_DAY:
        return None
    return memo([values], ("period", pf), lambda: _ordinals(values, pf, _PER_DAY[unit]))


_PER_DAY = {"s": 86_400, "ms": 86_400 * 10**3, "us": 86_400 * 10**6, "ns": 86_400 * 10**9}


CHUNK = 1 << 16  # rows per step: temporaries stay in the CPU cache


def _ordinals(values: np.ndarray, pf: str, per_day: int) -> np.ndarray | None:
    i = values.view(np.int64)
    n = len(i)
    hi = int(i.max()) if n else _NAT
    if hi == _NAT:  # no date at all (NaT is the smallest int64)
        return np.full(n, NO_PERIOD, dtype=np.int32)
    # NaT - 1 wraps round to the largest int64, so this is the smallest date
    lo = min(int((i[s:s + CHUNK] - 1).min()) for s in range(0, n, CHUNK)) + 1
    first, last = lo // per_day, hi // per_day  # days since 1970-01-01
    if last - first > 5_000_000:  # absurd date span: let pandas do it
        out = pd.DatetimeIndex(values).to_period(pf).asi8
        nat = i == _NAT
        if out[~nat].min() <= NO_PERIOD or out[~nat].max() > np.iinfo(np.int32).max:
            return None  # not representable here: callers use pandas
        out = out.astype(np.int32)
        out[nat] = NO_PERIOD
        return out
    # the period of every day from the first to the last one, and NO_PERIOD (for NaT) after them
    days = np.arange(first, last + 1, dtype=np.int64)
    lut = pd.DatetimeIndex(days.astype("datetime64[D]").astype(values.dtype)).to_period(pf).asi8
    if lut.min() <= NO_PERIOD or lut.max() > np.iinfo(np.int32).max:
        return None
    lut = np.append(lut.astype(np.int32), np.int32(NO_PERIOD))
    out = np.empty(n, dtype=np.int32)
    for s in range(0, n, CHUNK):
        chunk = i[s:s + CHUNK]
        day = chunk // per_day
        day -= first
        day[chunk == _NAT] = len(lut) - 1
        np.take(lut, day, out=out[s:s + CHUNK])
    return out


_MONTH = re.compile(r"^\d{4}-\d{1,2}$")
_QUARTER = re.compile(r"^\d{4}-?Q[1-4]$", re.I)
_YEAR = re.compile(r"^\d{4}$")
_DAY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_WEEK = re.compile(r"^\d{4}-W\d{1,2}$", re.I)


def parse_period(text: str | pd.Period, freq: str | None = None, fiscal_year_start: int = 1) -> pd.Period:
    """Parse '2024-03', '2024Q1', '2024', '2024-03-05' or '2024-W10' into a Period.

    The frequency is taken from the text unless `freq` is given, in which case the
    text must be of that frequency.
    """
    if isinstance(text, pd.Period):
        return text
    s = str(text).strip()
    if _DAY.match(s):
        kind = "D"
    elif _WEEK.match(s):
        kind = "W"
    elif _MONTH.match(s):
        kind = "M"
    elif _QUARTER.match(s):
        kind = "Q"
    elif _YEAR.match(s):
        kind = "Y"
    else:
        raise ValueError(f"cannot read period {s!r}: write 2024-03, 2024Q1, 2024, 2024-W10 or 2024-03-05")
    if freq is not None and freq.upper() != kind:
        raise ValueError(f"period {s!r} is a {kind} period but the frequency is {freq.upper()}")
    f = pandas_freq(kind, fiscal_year_start)
    if kind == "W":
        year, week = s.upper().split("-W")
        monday = pd.Timestamp.fromisocalendar(int(year), int(week), 1)
        return pd.Period(monday, f)
    if kind == "Q":
        year, q = s.upper().replace("-", "").split("Q")
        return pd.Period(year=int(year), quarter=int(q), freq=f)
    if kind == "Y":
        return pd.Period(year=int(s), freq=f)
    return pd.Period(s, f)
