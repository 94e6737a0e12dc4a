"""Reporting periods: D, W, M, Q, Y, with a configurable fiscal-year start, in a calendar.

Calendars are a registry (`CALENDARS`): "gregorian" (the default) and "jalali" (the Solar Hijri
calendar, see jalali.py). Every function here takes `calendar=`; KPI code passes `ds.calendar`.

Gregorian periods are pandas Periods. Fiscal quarters and years follow pandas' convention
of naming a fiscal year by the calendar year it ends in: with the year starting
in April, fiscal 2025 runs April 2024 to March 2025 and `2025Q1` is April-June 2024.
Weeks run Monday to Sunday. Jalali periods are `JalaliPeriod`s in a `JalaliArray` (same
conventions; weeks Saturday to Friday; `fiscal_year_start` is a Jalali month, 1 = Farvardin).
Both kinds of column have `.array.asi8` (int64 ordinals) and work with the helpers below
(`period_starts`, `next_starts`, `period_ends`, `from_ordinals`, `shift_months`...).
"""
from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import jalali as _jalali
from .jalali import JalaliArray, JalaliDtype, JalaliPeriod
from .text import read_form

FREQS = ("D", "W", "M", "Q", "Y")


def pandas_freq(freq: str, fiscal_year_start: int = 1) -> str:
    """The pandas period frequency for one of D, W, M, Q, Y."""
    freq = freq.upper()
    if freq not in FREQS:
        raise ValueError(f"unknown frequency {freq!r}: use one of {', '.join(FREQS)}")
    if not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"fiscal_year_start must be a month number 1-12, not {fiscal_year_start}")
    year_end = _calendar.month_abbr[(fiscal_year_start - 2) % 12 + 1].upper()
    return {"D": "D", "W": "W-SUN", "M": "M", "Q": f"Q-{year_end}", "Y": f"Y-{year_end}"}[freq]


# ----------------------------------------------------------------------------- calendars

class Gregorian:
    """pandas Periods (weeks Monday-Sunday)."""

    name = "gregorian"
    weekmask = "1111100"  # working days for np.busday_count, Monday first: Monday-Friday

    def dtype(self, freq: str, fiscal_year_start: int) -> pd.PeriodDtype:
        return pd.PeriodDtype(pandas_freq(freq, fiscal_year_start))

    def tag(self, freq: str, fiscal_year_start: int) -> Any:
        return pandas_freq(freq, fiscal_year_start)

    def day_ordinals(self, days: np.ndarray, freq: str, fiscal_year_start: int, unit: Any = None) -> np.ndarray:
        """Period ordinals of day numbers (days since 1970-01-01), through datetimes of `unit`."""
        pf = pandas_freq(freq, fiscal_year_start)
        return pd.DatetimeIndex(days.astype("datetime64[D]").astype(unit or "datetime64[ns]")).to_period(pf).asi8

    def from_ordinals(self, ordinals: np.ndarray, freq: str, fiscal_year_start: int) -> pd.arrays.PeriodArray:
        return pd.arrays.PeriodArray(np.asarray(ordinals, dtype=np.int64), dtype=self.dtype(freq, fiscal_year_start))

    def period(self, when: Any, freq: str, fiscal_year_start: int) -> pd.Period:
        return pd.Period(pd.Timestamp(when), pandas_freq(freq, fiscal_year_start))

    def parse(self, s: str, kind: str, fiscal_year_start: int) -> pd.Period:
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


class Jalali:
    """The Solar Hijri calendar (jalali.py): weeks Saturday-Friday, fiscal year from 1 Farvardin."""

    name = "jalali"
    weekmask = "1110011"  # Saturday-Wednesday, the Iranian working week (Thursday and Friday off)

    def dtype(self, freq: str, fiscal_year_start: int) -> JalaliDtype:
        pandas_freq(freq, fiscal_year_start)  # checks both
        return JalaliDtype(freq.upper(), fiscal_year_start)

    def tag(self, freq: str, fiscal_year_start: int) -> Any:
        return ("jalali", freq.upper(), fiscal_year_start)

    def day_ordinals(self, days: np.ndarray, freq: str, fiscal_year_start: int, unit: Any = None) -> np.ndarray:
        return _jalali.day_ordinals(days, freq.upper(), fiscal_year_start)

    def from_ordinals(self, ordinals: np.ndarray, freq: str, fiscal_year_start: int) -> JalaliArray:
        return JalaliArray(np.asarray(ordinals, dtype=np.int64), self.dtype(freq, fiscal_year_start))

    def period(self, when: Any, freq: str, fiscal_year_start: int) -> JalaliPeriod:
        day = pd.Timestamp(when).to_datetime64().astype("datetime64[D]").astype(np.int64)
        dtype = self.dtype(freq, fiscal_year_start)
        return JalaliPeriod(int(_jalali.day_ordinals(np.array([day]), dtype.freq, fiscal_year_start)[0]),
                            dtype.freq, fiscal_year_start)

    def parse(self, s: str, kind: str, fiscal_year_start: int) -> JalaliPeriod:
        return _jalali.parse(s, kind, fiscal_year_start)


CALENDARS: dict[str, Any] = {"gregorian": Gregorian(), "jalali": Jalali()}


def calendar_name(calendar: str | None) -> str:
    """The registered name of a calendar ("jalali"); None or "" is "gregorian"."""
    name = str(calendar or "gregorian").strip().lower()
    if name not in CALENDARS:
        raise ValueError(f"unknown calendar {calendar!r}: use one of {', '.join(CALENDARS)}")
    return name


def get_calendar(calendar: str | None) -> Any:
    return CALENDARS[calendar_name(calendar)]


def calendar_of(x: Any) -> str:
    """The calendar of a period, a period column or index, or a period dtype."""
    dtype = getattr(x, "dtype", x)
    if isinstance(x, JalaliPeriod) or isinstance(dtype, JalaliDtype):
        return "jalali"
    return "gregorian"


def is_period_dtype(dtype: Any) -> bool:
    """A column of periods of any calendar."""
    return isinstance(dtype, (pd.PeriodDtype, JalaliDtype))


def is_period(x: Any) -> bool:
    """A period scalar of any calendar."""
    return isinstance(x, (pd.Period, JalaliPeriod))


def period_dtype(freq: str = "M", fiscal_year_start: int = 1, calendar: str = "gregorian") -> Any:
    return get_calendar(calendar).dtype(freq, fiscal_year_start)


def freq_of(x: Any) -> str:
    """D, W, M, Q or Y of a period, a period column or index, or a period dtype."""
    dtype = getattr(x, "dtype", x)
    if isinstance(x, JalaliPeriod) or isinstance(dtype, JalaliDtype):
        return (x if isinstance(x, JalaliPeriod) else dtype).freq
    if isinstance(x, pd.Period):
        return x.freqstr[0].upper().replace("A", "Y")
    return dtype.freq.freqstr[0].upper().replace("A", "Y")


def period_year(p: Any) -> int:
    """The year a period is named by: the fiscal year of a fiscal quarter (pandas' qyear)."""
    if freq_of(p) == "Q" and hasattr(p, "qyear"):
        return int(p.qyear)
    return int(p.year)


def fiscal_year_start_of(x: Any) -> int:
    """The fiscal-year start month of a period, column or dtype (1 for D, W and M Gregorian periods)."""
    dtype = getattr(x, "dtype", x)
    if isinstance(x, JalaliPeriod) or isinstance(dtype, JalaliDtype):
        return (x if isinstance(x, JalaliPeriod) else dtype).fiscal_year_start
    freqstr = x.freqstr if isinstance(x, pd.Period) else dtype.freq.freqstr
    _, _, anchor = freqstr.partition("-")
    if freqstr[0] not in "QYA" or not anchor:
        return 1
    return list(_calendar.month_abbr).index(anchor.title()) % 12 + 1


def from_ordinals(ordinals: np.ndarray, freq: str = "M", fiscal_year_start: int = 1,
                  calendar: str = "gregorian") -> Any:
    """A period array (PeriodArray or JalaliArray) from int64 ordinals (int64 min = missing)."""
    return get_calendar(calendar).from_ordinals(ordinals, freq, fiscal_year_start)


def like(ordinals: np.ndarray, periods: Any) -> Any:
    """A period array of the same frequency, fiscal year and calendar as `periods`, from ordinals."""
    dtype = getattr(periods, "dtype", periods)
    if isinstance(dtype, JalaliDtype):
        return JalaliArray(np.asarray(ordinals, dtype=np.int64), dtype)
    return pd.arrays.PeriodArray(np.asarray(ordinals, dtype=np.int64), dtype=dtype)


def _values(periods: Any) -> Any:
    """The array of a period column or index; a JalaliArray for a sequence of JalaliPeriods."""
    values = periods.array if isinstance(periods, (pd.Series, pd.Index)) else periods
    if isinstance(values, (JalaliArray, pd.arrays.PeriodArray)) or not len(values):
        return values
    first = next((v for v in values[:64] if isinstance(v, (pd.Period, JalaliPeriod))), None)  # skip NaT
    if isinstance(first, JalaliPeriod):
        return JalaliArray._from_sequence(list(values), dtype=first.dtype)
    return values


def ordinals(periods: Any) -> np.ndarray:
    """int64 ordinals of a period column, index or array (int64 min = missing)."""
    values = _values(periods)
    if not hasattr(values, "asi8"):
        values = pd.PeriodIndex(values)
    return np.asarray(values.asi8)


def period_at(when: Any, freq: str = "M", fiscal_year_start: int = 1, calendar: str = "gregorian") -> Any:
    """The period holding a date."""
    return get_calendar(calendar).period(when, freq.upper(), fiscal_year_start)


def to_period(dates: pd.Series, freq: str = "M", fiscal_year_start: int = 1, calendar: str = "gregorian",
              cache: Cache | None = None) -> pd.Series:
    """The period each date falls in (NaT stays NaT); `cache` as for `period_ordinals`."""
    cal = get_calendar(calendar)
    ords = period_ordinals(dates, freq, fiscal_year_start, calendar, cache)
    if ords is None:
        if cal.name == "gregorian":
            return dates.dt.to_period(pandas_freq(freq, fiscal_year_start))
        days = pd.DatetimeIndex(dates)
        if days.tz is not None:
            days = days.tz_localize(None)
        d = days.to_numpy().astype("datetime64[D]")
        nat = np.isnat(d)
        o = np.full(len(d), _NAT, dtype=np.int64)
        o[~nat] = cal.day_ordinals(d[~nat].astype(np.int64), freq, fiscal_year_start, None)
        return pd.Series(cal.from_ordinals(o, freq, fiscal_year_start), index=dates.index, name=dates.name)
    o = ords.astype(np.int64)
    o[ords == NO_PERIOD] = _NAT
    return pd.Series(cal.from_ordinals(o, freq, fiscal_year_start), index=dates.index, name=dates.name, copy=False)


def period_grid(start: pd.Timestamp, end: pd.Timestamp, freq: str = "M", fiscal_year_start: int = 1,
                calendar: str = "gregorian") -> pd.Index:
    """Every period from the one holding `start` to the one holding `end` (a PeriodIndex for Gregorian
    periods, an Index of Jalali periods)."""
    if calendar_name(calendar) == "gregorian":
        f = pandas_freq(freq, fiscal_year_start)
        return pd.period_range(pd.Period(start, f), pd.Period(end, f), freq=f, name="period")
    a, b = period_at(start, freq, fiscal_year_start, calendar), period_at(end, freq, fiscal_year_start, calendar)
    return period_span(a, b)


def period_span(first: Any, last: Any, name: str = "period") -> pd.Index:
    """Every period from `first` to `last` (both included), an index like `period_grid`'s."""
    if isinstance(first, pd.Period):
        return pd.period_range(first, last, freq=first.freq, name=name)
    ords = np.arange(first.ordinal, last.ordinal + 1, dtype=np.int64)
    return pd.Index(JalaliArray(ords, first.dtype), name=name)


def _starts_of(periods: Any, shift: int) -> pd.DatetimeIndex:
    values = _values(periods)
    if isinstance(values, JalaliArray):
        return (values + shift).start_time if shift else values.start_time
    idx = pd.PeriodIndex(periods)
    return pd.DatetimeIndex((idx + shift).start_time if shift else idx.start_time)


def period_starts(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    return _starts_of(periods, 0)


def next_starts(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    """The first instant after each period; snapshot KPIs count what holds just before it."""
    return _starts_of(periods, 1)


def period_ends(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    """The last instant of each period (pandas' `end_time`)."""
    values = _values(periods)
    if isinstance(values, JalaliArray):
        return values.end_time
    return pd.DatetimeIndex(pd.PeriodIndex(periods).end_time)


def to_index(periods: Any) -> pd.Index:
    """A period column as an index (PeriodIndex for Gregorian periods)."""
    values = _values(periods)
    if isinstance(values, JalaliArray):
        return pd.Index(values, name=getattr(periods, "name", None))
    return pd.PeriodIndex(periods)


def shift_months(periods: pd.Series, months: int) -> pd.Series:
    """For each period, the period (same frequency) holding the date `months` months before its start:
    "a year earlier" is shift_months(p, 12). Jalali periods move by Jalali months."""
    values = _values(periods)
    if isinstance(values, JalaliArray):
        per = {"M": 1, "Q": 3, "Y": 12}.get(values.dtype.freq)
        if per and months % per == 0:  # whole periods: move the ordinals
            return pd.Series(values - months // per, index=periods.index)
        return pd.Series(_jalali_months_back(values, months), index=periods.index)
    idx = pd.PeriodIndex(periods)
    starts = pd.DatetimeIndex(idx.start_time) - pd.DateOffset(months=months)
    return pd.Series(starts.to_period(idx.freq), index=periods.index)


def _jalali_months_back(values: JalaliArray, months: int) -> JalaliArray:
    """The periods holding the same Jalali day `months` months earlier than each start (the day is
    clipped to the month's length)."""
    f, fy = values.dtype.freq, values.dtype.fiscal_year_start
    ok = values.asi8 != _NAT
    start = _jalali.start_days(values.asi8[ok], f, fy)
    month = _jalali._Table.month_of_days(start)
    offset = start - _jalali._Table.month_starts(month)
    target = month - months
    first = _jalali._Table.month_starts(target)
    length = _jalali._Table.month_starts(target + 1) - first
    out = np.full(len(values), _NAT, dtype=np.int64)
    out[ok] = _jalali.day_ordinals(first + np.minimum(offset, length - 1), f, fy)
    return JalaliArray(out, values.dtype)


def year_earlier(p: Any) -> Any:
    """The same period a year earlier."""
    if isinstance(p, JalaliPeriod):
        return shift_months(pd.Series(JalaliArray(np.array([p.ordinal]), p.dtype)), 12).iloc[0]
    return pd.Period(p.start_time - pd.DateOffset(years=1), p.freq)


def period_text(p: Any) -> Any:
    """2024-03, 2024Q1, 2024, 2024-03-05, ISO weeks as 2024-W10, Jalali periods as 1402-01 (what
    parse_period reads back); anything else unchanged."""
    if isinstance(p, JalaliPeriod):
        return str(p)
    if not isinstance(p, pd.Period):
        return p
    kind = p.freqstr[0].upper()
    if kind == "W":
        iso = p.start_time.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return str(p)


_NAT = np.iinfo(np.int64).min
NO_PERIOD = np.iinfo(np.int32).min  # period_ordinals() of a missing date


PER_DAY = {"s": 86_400, "ms": 86_400 * 10**3, "us": 86_400 * 10**6, "ns": 86_400 * 10**9}


Cache = Callable[[Sequence[np.ndarray], tuple, Callable[[], Any]], Any]


def period_ordinals(dates: pd.Series, freq: str = "M", fiscal_year_start: int = 1, calendar: str = "gregorian",
                    cache: Cache | None = None) -> np.ndarray | None:
    """Period ordinals (int32, NO_PERIOD for NaT; pandas' for Gregorian periods) of the period each
    date falls in, kept by `cache(arrays, tag, compute)` when given (the KPI engine's memo); None for
    columns that are not naive numpy datetimes (use `to_period`)."""
    cal = CALENDARS[calendar] if calendar in CALENDARS else get_calendar(calendar)
    tag = cal.tag(freq, fiscal_year_start) if cal.name != "gregorian" else pandas_freq(freq, fiscal_year_start)
    if not (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"):
        return None
    values = dates.to_numpy()
    unit = np.datetime_data(values.dtype)[0]
    if unit not in PER_DAY:
        return None
    if cal.name == "gregorian":
        def compute() -> Any:
            return date_ordinals(values, tag, PER_DAY[unit])
    else:
        def compute() -> Any:
            return date_ordinals(values, tag, PER_DAY[unit],
                                 lambda days: cal.day_ordinals(days, freq, fiscal_year_start, values.dtype))
    return cache([values], ("period", tag), compute) if cache is not None else compute()


CHUNK = 1 << 16  # rows per step: temporaries stay in the CPU cache


def date_ordinals(values: np.ndarray, pf: Any, per_day: int,
              day_lut: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray | None:
    """The period ordinal of every date through a lookup table of the period of each day from the first
    date to the last; `day_lut(days since 1970-01-01)` gives the table (default: pandas periods `pf`)."""
    i = values.view(np.int64)
    n = len(i)
    hi = int(i.max()) if n else _NAT
    if hi == _NAT:  # no date at all (NaT is the smallest int64)
        return np.full(n, NO_PERIOD, dtype=np.int32)
    # NaT - 1 wraps round to the largest int64, so this is the smallest date
    lo = min(int((i[s:s + CHUNK] - 1).min()) for s in range(0, n, CHUNK)) + 1
    first, last = lo // per_day, hi // per_day  # days since 1970-01-01
    if last - first > 5_000_000 and day_lut is not None:  # absurd date span: day by day
        nat = i == _NAT
        out64 = np.full(n, _NAT, dtype=np.int64)
        out64[~nat] = day_lut(i[~nat] // per_day)
        if out64[~nat].min() <= NO_PERIOD or out64[~nat].max() > np.iinfo(np.int32).max:
            return None
        out = out64.astype(np.int32)
        out[nat] = NO_PERIOD
        return out
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
    if day_lut is None:
        lut = pd.DatetimeIndex(days.astype("datetime64[D]").astype(values.dtype)).to_period(pf).asi8
    else:
        lut = day_lut(days)
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


def parse_period(text: str | pd.Period | JalaliPeriod, freq: str | None = None, fiscal_year_start: int = 1,
                 calendar: str = "gregorian") -> Any:
    """Parse '2024-03', '2024Q1', '2024', '2024-03-05' or '2024-W10' into a period of the calendar
    (a pandas Period; with calendar="jalali" a JalaliPeriod: '1402-07', '1402Q3', '1402'...).

    The frequency is taken from the text unless `freq` is given, in which case the
    text must be of that frequency. A period object is returned unchanged.
    """
    if isinstance(text, (pd.Period, JalaliPeriod)):
        return text
    cal = get_calendar(calendar)
    s = str(text).strip()
    form = read_form(s)
    if form is None:
        ex = "1402-07, 1402Q3, 1402, 1402-W10 or 1402-07-15" if cal.name == "jalali" else \
            "2024-03, 2024Q1, 2024, 2024-W10 or 2024-03-05"
        raise ValueError(f"cannot read period {s!r}: write {ex}")
    kind = form[0]
    if freq is not None and freq.upper() != kind:
        raise ValueError(f"period {s!r} is a {kind} period but the frequency is {freq.upper()}")
    pandas_freq(kind, fiscal_year_start)  # checks fiscal_year_start
    return cal.parse(s, kind, fiscal_year_start)


def guess_calendar(text: Any, default: str = "gregorian") -> str:
    """The calendar a period text is written in, by its year: below 1700 it is a Jalali year (1403 is
    2024-2025), else Gregorian; `default` for anything else."""
    m = re.match(r"^\s*(\d{4})", str(text))
    if not m:
        return calendar_name(default)
    return "jalali" if int(m[1]) < 1700 else "gregorian"


def parse_either(text: str, fiscal_year_start: int = 1, calendar: str = "gregorian") -> Any:
    """A period text of either calendar, told apart by its year (`guess_calendar`): a text in `calendar`
    uses `fiscal_year_start`; a text in the other calendar has quarters and years from its first month."""
    cal = calendar_name(calendar)
    other = guess_calendar(text, cal)
    return parse_period(text, fiscal_year_start=fiscal_year_start if other == cal else 1, calendar=other)
