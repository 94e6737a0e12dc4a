"""The Solar Hijri (Jalali, Persian) calendar as a period system: `calendar="jalali"`.

Date conversion comes from `jdatetime` (one call per Jalali year: the Gregorian date of its
1 Farvardin); everything else is integer arithmetic on day numbers (days since 1970-01-01):

- months: Farvardin..Shahrivar have 31 days, Mehr..Bahman 30, Esfand 29 (30 in a leap year);
- quarters and years follow the fiscal year, which starts on 1 Farvardin by default
  (`fiscal_year_start` is then a Jalali month number); as with pandas' Gregorian fiscal years, a
  fiscal year is named by the Jalali year it ends in;
- weeks run Saturday to Friday, as in Iran; week 1 of a year is the week holding 1 Farvardin and a
  week belongs to the year its Friday is in (`jdatetime.date.weeknumber`'s convention);
- days are the Gregorian days, labelled by their Jalali date.

Periods are `JalaliPeriod` scalars; a column of them is a `JalaliArray` (a pandas extension array of
int64 ordinals, dtype `jalali[M]`), so they sort, group, merge and compare like pandas Periods.
Texts: "1402-01-05" (D), "1402-W01" (W), "1402-01" (M), "1402Q1" (Q), "1402" (Y).

Ordinals: D = the day number, W = (day + 5) // 7 (weeks from Saturday 1969-12-27), M = year * 12 +
month - 1, Q = fiscal year * 4 + quarter - 1, Y = fiscal year.
"""
from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import jdatetime
import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype, take
from pandas.api.indexers import check_array_indexer

from ..messages import NP_
from .text import read_form

NAT = np.iinfo(np.int64).min  # the ordinal of a missing period
FREQS = ("D", "W", "M", "Q", "Y")
_EPOCH = dt.date(1970, 1, 1)
# the month names, marked for the catalogue: kpitools.i18n shows them in the report's language
MONTHS = (NP_("Jalali month", "Farvardin"), NP_("Jalali month", "Ordibehesht"), NP_("Jalali month", "Khordad"),
          NP_("Jalali month", "Tir"), NP_("Jalali month", "Mordad"), NP_("Jalali month", "Shahrivar"),
          NP_("Jalali month", "Mehr"), NP_("Jalali month", "Aban"), NP_("Jalali month", "Azar"),
          NP_("Jalali month", "Dey"), NP_("Jalali month", "Bahman"), NP_("Jalali month", "Esfand"))


# ----------------------------------------------------------------------------- month table

class _Table:
    """Day number of the first day of every Jalali month from year `first` on, grown on demand."""

    first = 0
    starts = np.zeros(0, dtype=np.int64)  # starts[(y - first) * 12 + m - 1]; one extra entry at the end

    @classmethod
    def cover(cls, lo_year: int, hi_year: int) -> None:
        """Make sure every month of the Jalali years lo_year..hi_year (and the next 1 Farvardin) is known."""
        lo_year, hi_year = max(int(lo_year), jdatetime.MINYEAR), min(int(hi_year), jdatetime.MAXYEAR - 1)
        if len(cls.starts) and cls.first <= lo_year and hi_year < cls.first + (len(cls.starts) - 1) // 12:
            return
        if len(cls.starts):
            lo_year = min(lo_year, cls.first)
            hi_year = max(hi_year, cls.first + (len(cls.starts) - 1) // 12 - 1)
        lo_year, hi_year = min(lo_year, 1300), max(hi_year, 1500)  # one build covers 1921-2122
        years = range(lo_year, hi_year + 2)
        farvardin = np.array([(jdatetime.date(y, 1, 1).togregorian() - _EPOCH).days for y in years], dtype=np.int64)
        lengths = np.array([31] * 6 + [30] * 5, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])  # first day of each month from 1 Farvardin
        starts = (farvardin[:-1, None] + offsets[None, :]).ravel()  # Esfand ends where the next year starts
        cls.starts = np.append(starts, farvardin[-1])
        cls.first = lo_year

    @classmethod
    def month_of_days(cls, days: np.ndarray) -> np.ndarray:
        """Month ordinal (year * 12 + month - 1) of each day number."""
        days = np.asarray(days, dtype=np.int64)
        if not len(days):
            return np.zeros(0, dtype=np.int64)
        lo, hi = int(days.min()), int(days.max())
        cls.cover(_year_of_day(lo) - 1, _year_of_day(hi) + 1)
        pos = np.searchsorted(cls.starts, days, side="right") - 1
        return pos + cls.first * 12

    @classmethod
    def month_starts(cls, months: np.ndarray) -> np.ndarray:
        """Day number of the first day of each month ordinal."""
        months = np.asarray(months, dtype=np.int64)
        if not len(months):
            return np.zeros(0, dtype=np.int64)
        cls.cover(int(months.min()) // 12, int(months.max()) // 12 + 1)
        return cls.starts[months - cls.first * 12]


def _year_of_day(day: int) -> int:
    try:
        return jdatetime.date.fromgregorian(date=_EPOCH + dt.timedelta(days=int(day))).year
    except (OverflowError, ValueError):
        raise ValueError(f"date {np.datetime64(int(day), 'D')} is outside the Jalali calendar's range") from None


# ----------------------------------------------------------------------------- ordinals

def _fiscal_shift(fiscal_year_start: int) -> int:
    """Months to add to a month ordinal so that whole twelves are fiscal years named by the year they end in."""
    return 0 if fiscal_year_start == 1 else 12 - (fiscal_year_start - 1)


def day_ordinals(days: np.ndarray, freq: str, fiscal_year_start: int = 1) -> np.ndarray:
    """Ordinal (int64) of the period of `freq` holding each day number."""
    days = np.asarray(days, dtype=np.int64)
    if freq == "D":
        return days.copy()
    if freq == "W":
        return (days + 5) // 7
    months = _Table.month_of_days(days)
    if freq == "M":
        return months
    shifted = months + _fiscal_shift(fiscal_year_start)
    return shifted // 3 if freq == "Q" else shifted // 12


def start_days(ordinals: np.ndarray, freq: str, fiscal_year_start: int = 1) -> np.ndarray:
    """Day number of the first day of each period ordinal (NAT ordinals must be left out)."""
    o = np.asarray(ordinals, dtype=np.int64)
    if freq == "D":
        return o.copy()
    if freq == "W":
        return o * 7 - 5
    if freq == "M":
        return _Table.month_starts(o)
    months = o * (3 if freq == "Q" else 12) - _fiscal_shift(fiscal_year_start)
    return _Table.month_starts(months)


def _days_to_ns(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def date_parts(when: Any) -> tuple[int, int, int]:
    """The Jalali (year, month, day) of a date: (1405, 8, 9) for 2026-10-31."""
    return _ymd(int(pd.Timestamp(when).to_datetime64().astype("datetime64[D]").astype(np.int64)))


def _ymd(day: int) -> tuple[int, int, int]:
    """Jalali (year, month, day) of a day number."""
    m = int(_Table.month_of_days(np.array([day]))[0])
    return m // 12, m % 12 + 1, day - int(_Table.month_starts(np.array([m]))[0]) + 1


# ----------------------------------------------------------------------------- text

def parse(text: str, freq: str | None = None, fiscal_year_start: int = 1) -> JalaliPeriod:
    """'1402-01-05', '1402-W01', '1402-01', '1402Q1' or '1402' as a JalaliPeriod."""
    s = str(text).strip()
    form = read_form(s)
    if form is None:
        raise ValueError(f"cannot read Jalali period {s!r}: write 1402-07, 1402Q3, 1402, 1402-W10 or 1402-07-15")
    kind, m = form
    if freq is not None and freq.upper() != kind:
        raise ValueError(f"period {s!r} is a {kind} period but the frequency is {freq.upper()}")
    year = int(m[1])
    if kind == "D":
        try:
            day = (jdatetime.date(year, int(m[2]), int(m[3])).togregorian() - _EPOCH).days
        except ValueError:
            raise ValueError(f"{s!r} is not a Jalali date") from None
        return JalaliPeriod(day, "D", fiscal_year_start)
    if kind == "W":
        week = int(m[2])
        first = (jdatetime.date(year, 1, 1).togregorian() - _EPOCH).days
        friday = first + (6 - (first + 5) % 7) + 7 * (week - 1)  # (day + 5) % 7: Saturday 0 .. Friday 6
        if week < 1 or _year_of_day(friday) != year:
            raise ValueError(f"{s!r}: Jalali year {year} has no week {week}")
        return JalaliPeriod((friday + 5) // 7, "W", fiscal_year_start)
    if kind == "M":
        month = int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"{s!r}: a Jalali month is 1 (Farvardin) to 12 (Esfand)")
        return JalaliPeriod(year * 12 + month - 1, "M", fiscal_year_start)
    if kind == "Q":
        return JalaliPeriod(year * 4 + int(m[2]) - 1, "Q", fiscal_year_start)
    return JalaliPeriod(year, "Y", fiscal_year_start)


def text(ordinal: int, freq: str) -> str:
    """The label of a period (what `parse` reads back)."""
    if freq == "Y":
        return f"{ordinal:04d}"
    if freq == "Q":
        return f"{ordinal // 4:04d}Q{ordinal % 4 + 1}"
    if freq == "M":
        return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"
    if freq == "W":
        friday = ordinal * 7 + 1
        y, _, _ = _ymd(friday)
        first = (jdatetime.date(y, 1, 1).togregorian() - _EPOCH).days
        first_friday = first + (6 - (first + 5) % 7)
        return f"{y:04d}-W{(friday - first_friday) // 7 + 1:02d}"
    y, m, d = _ymd(ordinal)
    return f"{y:04d}-{m:02d}-{d:02d}"


# ----------------------------------------------------------------------------- the scalar

class JalaliPeriod:
    """One Jalali period: a day, week, month, fiscal quarter or fiscal year.

    Like a pandas Period: `p + 1`, `p - 12`, comparisons, `.year`, `.month`, `.quarter`, `.freq`
    ("D", "W", "M", "Q" or "Y"; also `.freqstr`), `.ordinal`, `.start_time` / `.end_time` (Gregorian
    Timestamps), `.asfreq(freq)`, `.strftime(fmt, locale=None)` (jdatetime's, on the first day);
    `str(p)` is "1402-01". `.calendar` is "jalali".
    """

    __slots__ = ("ordinal", "freq", "fiscal_year_start")
    calendar = "jalali"

    def __init__(self, ordinal: int, freq: str = "M", fiscal_year_start: int = 1) -> None:
        self.ordinal = int(ordinal)
        self.freq = freq
        self.fiscal_year_start = int(fiscal_year_start)

    # pickling (slots, no __dict__)
    def __reduce__(self) -> tuple:
        return (JalaliPeriod, (self.ordinal, self.freq, self.fiscal_year_start))

    @property
    def freqstr(self) -> str:
        return self.freq

    @property
    def dtype(self) -> JalaliDtype:
        return JalaliDtype(self.freq, self.fiscal_year_start)

    def _start_day(self) -> int:
        return int(start_days(np.array([self.ordinal]), self.freq, self.fiscal_year_start)[0])

    @property
    def start_time(self) -> pd.Timestamp:
        return pd.Timestamp(_days_to_ns(np.array([self._start_day()]))[0])

    @property
    def end_time(self) -> pd.Timestamp:
        return (self + 1).start_time - pd.Timedelta(1, "ns")

    def to_timestamp(self) -> pd.Timestamp:
        return self.start_time

    @property
    def year(self) -> int:
        """The Jalali year (for quarters and years: the fiscal year, named by the year it ends in)."""
        if self.freq in ("Q", "Y"):
            return self.qyear
        if self.freq == "M":
            return self.ordinal // 12
        if self.freq == "W":
            return int(text(self.ordinal, "W")[:4])
        return _ymd(self.ordinal)[0]

    @property
    def qyear(self) -> int:
        """The fiscal year the period is in."""
        if self.freq == "Y":
            return self.ordinal
        if self.freq == "Q":
            return self.ordinal // 4
        return self.asfreq("Y").ordinal

    @property
    def quarter(self) -> int:
        """Fiscal quarter 1-4."""
        if self.freq == "Q":
            return self.ordinal % 4 + 1
        return self.asfreq("Q", how="start").ordinal % 4 + 1

    @property
    def month(self) -> int:
        """Jalali month 1 (Farvardin) - 12 (Esfand); of the last day for weeks, quarters and years."""
        if self.freq == "M":
            return self.ordinal % 12 + 1
        if self.freq == "D":
            return _ymd(self.ordinal)[1]
        return self.asfreq("M").ordinal % 12 + 1

    @property
    def day(self) -> int:
        return _ymd(self._start_day())[2]

    @property
    def week(self) -> int:
        return int(text(self.asfreq("W").ordinal, "W")[-2:])

    def asfreq(self, freq: str, how: str = "end") -> JalaliPeriod:
        """The period of `freq` holding this period's last day (how="end") or first day ("start")."""
        freq = freq.upper()
        if freq not in FREQS:
            raise ValueError(f"unknown frequency {freq!r}: use one of {', '.join(FREQS)}")
        day = self._start_day() if how.startswith("s") else (self + 1)._start_day() - 1
        return JalaliPeriod(int(day_ordinals(np.array([day]), freq, self.fiscal_year_start)[0]), freq,
                            self.fiscal_year_start)

    def strftime(self, fmt: str, locale: str | None = None) -> str:
        """jdatetime's strftime of the first day (%Y, %m, %d, %B month name...); locale="fa_IR" for Persian."""
        y, m, d = _ymd(self._start_day())
        return jdatetime.date(y, m, d, locale=locale).strftime(fmt)

    def _same(self, other: Any) -> bool:
        return (isinstance(other, JalaliPeriod) and other.freq == self.freq
                and other.fiscal_year_start == self.fiscal_year_start)

    def __add__(self, n: Any) -> JalaliPeriod:
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
            return JalaliPeriod(self.ordinal + int(n), self.freq, self.fiscal_year_start)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, n: Any) -> Any:
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
            return JalaliPeriod(self.ordinal - int(n), self.freq, self.fiscal_year_start)
        if self._same(n):
            return self.ordinal - n.ordinal
        return NotImplemented

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, JalaliPeriod):
            return self._same(other) and other.ordinal == self.ordinal
        if isinstance(other, str):
            try:
                return self == parse(other, self.freq, self.fiscal_year_start)
            except ValueError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("jalali", self.ordinal, self.freq, self.fiscal_year_start))

    def _key(self, other: Any) -> int:
        if not self._same(other):
            raise TypeError(f"cannot compare {self!r} with {other!r}")
        return other.ordinal

    def __lt__(self, other: Any) -> bool:
        return self.ordinal < self._key(other)

    def __le__(self, other: Any) -> bool:
        return self.ordinal <= self._key(other)

    def __gt__(self, other: Any) -> bool:
        return self.ordinal > self._key(other)

    def __ge__(self, other: Any) -> bool:
        return self.ordinal >= self._key(other)

    def __str__(self) -> str:
        return text(self.ordinal, self.freq)

    def __repr__(self) -> str:
        fy = f", fiscal_year_start={self.fiscal_year_start}" if self.fiscal_year_start != 1 else ""
        return f"JalaliPeriod('{self}', '{self.freq}'{fy})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# ----------------------------------------------------------------------------- dtype and array

@register_extension_dtype
class JalaliDtype(ExtensionDtype):
    """dtype of a JalaliArray: `jalali[M]`, or `jalali[Q,4]` with a fiscal year starting in Tir."""

    type = JalaliPeriod
    kind = "O"
    _metadata = ("freq", "fiscal_year_start")
    calendar = "jalali"
    _match = re.compile(r"^jalali\[([DWMQY])(?:,(\d{1,2}))?\]$")

    def __init__(self, freq: str = "M", fiscal_year_start: int = 1) -> None:
        freq = str(freq).upper()
        if freq not in FREQS:
            raise ValueError(f"unknown frequency {freq!r}: use one of {', '.join(FREQS)}")
        self.freq = freq
        self.fiscal_year_start = int(fiscal_year_start)

    @property
    def name(self) -> str:
        fy = f",{self.fiscal_year_start}" if self.fiscal_year_start != 1 else ""
        return f"jalali[{self.freq}{fy}]"

    @property
    def na_value(self) -> Any:
        return pd.NaT

    @classmethod
    def construct_array_type(cls) -> builtins.type[JalaliArray]:  # `type` is the scalar type here
        return JalaliArray

    @classmethod
    def construct_from_string(cls, string: str) -> JalaliDtype:
        if not isinstance(string, str):
            raise TypeError(f"'construct_from_string' expects a string, got {type(string)}")
        m = cls._match.match(string)
        if not m:
            raise TypeError(f"Cannot construct a 'JalaliDtype' from '{string}'")
        return cls(m[1], int(m[2] or 1))

    def __repr__(self) -> str:
        return self.name


def _ordinals_of(values: Any, dtype: JalaliDtype) -> np.ndarray:
    """int64 ordinals of a sequence of JalaliPeriods / texts / missing values, in `dtype`."""
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if isinstance(v, JalaliPeriod):
            if v.freq != dtype.freq or v.fiscal_year_start != dtype.fiscal_year_start:
                raise TypeError(f"{v!r} is not of dtype {dtype}")
            out[i] = v.ordinal
        elif v is None or v is pd.NaT or (not isinstance(v, str) and pd.isna(v)):
            out[i] = NAT
        elif isinstance(v, str):
            out[i] = parse(v, dtype.freq, dtype.fiscal_year_start).ordinal
        else:
            raise TypeError(f"cannot make a Jalali period of {v!r}")
    return out


class JalaliArray(ExtensionArray):
    """A column of JalaliPeriods: int64 ordinals (NAT for missing) and a JalaliDtype.

    Besides the extension-array interface: `.asi8` (the ordinals), `.freq`, `.calendar`,
    `.start_time` / `.end_time` (DatetimeIndex), and arithmetic with integers (`+ 1`, `- 12`).
    """

    calendar = "jalali"

    def __init__(self, ordinals: np.ndarray, dtype: JalaliDtype) -> None:
        self._ord = np.asarray(ordinals, dtype=np.int64)
        self._dtype = dtype

    # --- construction
    @classmethod
    def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> JalaliArray:
        if isinstance(dtype, str):
            dtype = JalaliDtype.construct_from_string(dtype)
        if isinstance(scalars, JalaliArray):
            if dtype is not None and dtype != scalars.dtype:
                raise TypeError(f"cannot cast {scalars.dtype} to {dtype}")
            return scalars.copy() if copy else scalars
        values = list(scalars)
        if dtype is None:
            first = next((v for v in values if isinstance(v, JalaliPeriod)), None)
            if first is None:
                raise TypeError("cannot infer a Jalali dtype: pass dtype='jalali[M]'")
            dtype = first.dtype
        return cls(_ordinals_of(values, dtype), dtype)

    @classmethod
    def _from_sequence_of_strings(cls, strings: Any, *, dtype: Any = None, copy: bool = False) -> JalaliArray:
        return cls._from_sequence(strings, dtype=dtype or JalaliDtype("M"), copy=copy)

    @classmethod
    def _from_factorized(cls, values: np.ndarray, original: JalaliArray) -> JalaliArray:
        return cls(values, original.dtype)

    # --- basics
    @property
    def dtype(self) -> JalaliDtype:
        return self._dtype

    @property
    def freq(self) -> str:
        return self._dtype.freq

    @property
    def asi8(self) -> np.ndarray:
        return self._ord

    @property
    def nbytes(self) -> int:
        return self._ord.nbytes

    def __len__(self) -> int:
        return len(self._ord)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, np.integer)):
            o = self._ord[item]
            return pd.NaT if o == NAT else JalaliPeriod(o, self._dtype.freq, self._dtype.fiscal_year_start)
        item = check_array_indexer(self, item)
        return JalaliArray(self._ord[item], self._dtype)

    def __setitem__(self, key: Any, value: Any) -> None:
        key = check_array_indexer(self, key)
        if isinstance(value, JalaliArray):
            new = value._ord
        elif isinstance(value, (JalaliPeriod, str)) or value is None or value is pd.NaT:
            new = _ordinals_of([value], self._dtype)[0]
        else:
            new = _ordinals_of(list(value), self._dtype)
        self._ord = self._ord.copy() if not self._ord.flags.writeable else self._ord
        self._ord[key] = new

    def __iter__(self) -> Iterator[Any]:
        f, fy = self._dtype.freq, self._dtype.fiscal_year_start
        for o in self._ord:
            yield pd.NaT if o == NAT else JalaliPeriod(o, f, fy)

    def isna(self) -> np.ndarray:
        return self._ord == NAT

    def take(self, indices: Any, allow_fill: bool = False, fill_value: Any = None) -> JalaliArray:
        if allow_fill:
            fill = NAT if fill_value is None or fill_value is pd.NaT or (
                not isinstance(fill_value, JalaliPeriod) and pd.isna(fill_value)) \
                else _ordinals_of([fill_value], self._dtype)[0]
            return JalaliArray(take(self._ord, indices, allow_fill=True, fill_value=fill), self._dtype)
        return JalaliArray(self._ord.take(indices), self._dtype)

    def copy(self) -> JalaliArray:
        return JalaliArray(self._ord.copy(), self._dtype)

    @classmethod
    def _concat_same_type(cls, to_concat: Sequence[JalaliArray]) -> JalaliArray:
        dtypes = {a.dtype for a in to_concat}
        if len(dtypes) != 1:
            raise TypeError(f"cannot concatenate Jalali periods of different frequencies: {sorted(map(str, dtypes))}")
        return cls(np.concatenate([a._ord for a in to_concat]), to_concat[0].dtype)

    def _values_for_factorize(self) -> tuple[np.ndarray, Any]:
        return self._ord, NAT

    def _values_for_argsort(self) -> np.ndarray:
        return self._ord

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(len(self), dtype=object)
        out[:] = list(self)
        return out if dtype is None else out.astype(dtype)

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        dtype = pd.api.types.pandas_dtype(dtype)
        if isinstance(dtype, JalaliDtype):
            if dtype == self._dtype:
                return self.copy() if copy else self
            raise TypeError(f"cannot cast {self.dtype} to {dtype}")
        if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "US"):
            texts = [None if o == NAT else text(o, self._dtype.freq) for o in self._ord]
            if isinstance(dtype, pd.StringDtype):
                return pd.array(texts, dtype=dtype)
            return np.array(["NaT" if t is None else t for t in texts], dtype=dtype)
        if isinstance(dtype, np.dtype) and dtype.kind == "i":
            return self._ord.astype(dtype)
        return np.asarray(self, dtype=object) if (isinstance(dtype, np.dtype) and dtype.kind == "O") \
            else super().astype(dtype, copy=copy)

    def _formatter(self, boxed: bool = False) -> Callable[[Any], str]:
        return lambda v: "NaT" if v is pd.NaT else str(v)

    def _reduce(self, name: str, *, skipna: bool = True, keepdims: bool = False, **kwargs: Any) -> Any:
        if name not in ("min", "max"):
            return super()._reduce(name, skipna=skipna, keepdims=keepdims, **kwargs)
        ok = self._ord[self._ord != NAT]
        if not len(ok) or (not skipna and len(ok) < len(self)):
            value: Any = pd.NaT
        else:
            value = self[int(np.flatnonzero(self._ord == (ok.min() if name == "min" else ok.max()))[0])]
        return JalaliArray._from_sequence([value], dtype=self._dtype) if keepdims else value

    def isin(self, values: Any) -> np.ndarray:
        ords = [v.ordinal for v in values if isinstance(v, JalaliPeriod) and v.dtype == self._dtype]
        return np.isin(self._ord, np.array(ords, dtype=np.int64)) & (self._ord != NAT)

    def searchsorted(self, value: Any, side: Literal["left", "right"] = "left", sorter: Any = None) -> Any:
        v = value._ord if isinstance(value, JalaliArray) else _ordinals_of(
            [value] if not pd.api.types.is_list_like(value) else list(value), self._dtype)
        out = np.searchsorted(self._ord, v, side=side, sorter=sorter)
        return out if pd.api.types.is_list_like(value) else out[0]

    # --- times
    @property
    def start_time(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self._times(self._ord))

    @property
    def end_time(self) -> pd.DatetimeIndex:
        t = self._times(np.where(self._ord == NAT, NAT, self._ord + 1))
        return pd.DatetimeIndex(t) - pd.Timedelta(1, "ns")

    def _times(self, ords: np.ndarray) -> np.ndarray:
        out = np.full(len(ords), np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = ords != NAT
        out[ok] = _days_to_ns(start_days(ords[ok], self._dtype.freq, self._dtype.fiscal_year_start))
        return out

    # --- comparison and arithmetic on ordinals
    def _other(self, other: Any) -> np.ndarray | np.int64 | None:
        if isinstance(other, (pd.Series, pd.Index)):
            other = other.array
        if isinstance(other, JalaliArray):
            return other._ord if other.dtype == self._dtype else None
        if isinstance(other, JalaliPeriod):
            return np.int64(other.ordinal) if other.dtype == self._dtype else None
        if isinstance(other, str):
            try:
                return np.int64(parse(other, self._dtype.freq, self._dtype.fiscal_year_start).ordinal)
            except ValueError:
                return None
        if pd.api.types.is_list_like(other) and len(other) == len(self):
            try:
                return _ordinals_of(list(other), self._dtype)
            except (TypeError, ValueError):
                return None
        return None

    def _compare(self, other: Any, op: Any, ordered: bool) -> np.ndarray:
        o = self._other(other)
        if o is None:
            if ordered:
                raise TypeError(f"cannot compare {self.dtype} with {other!r}")
            return np.zeros(len(self), dtype=bool)
        valid = (self._ord != NAT) & (np.asarray(o) != NAT)
        return op(self._ord, o) & valid

    def __eq__(self, other: Any) -> Any:
        if isinstance(other, (pd.DataFrame, pd.Series, pd.Index)):
            return NotImplemented
        return self._compare(other, np.equal, False)

    def __ne__(self, other: Any) -> Any:
        if isinstance(other, (pd.DataFrame, pd.Series, pd.Index)):
            return NotImplemented
        return ~self._compare(other, np.equal, False)

    def __lt__(self, other: Any) -> np.ndarray:
        return self._compare(other, np.less, True)

    def __le__(self, other: Any) -> np.ndarray:
        return self._compare(other, np.less_equal, True)

    def __gt__(self, other: Any) -> np.ndarray:
        return self._compare(other, np.greater, True)

    def __ge__(self, other: Any) -> np.ndarray:
        return self._compare(other, np.greater_equal, True)

    def _shift_by(self, n: Any, sign: int) -> Any:
        if isinstance(n, (pd.Series, pd.Index)):
            return NotImplemented
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
            step: Any = np.int64(n)
        elif isinstance(n, np.ndarray) and n.dtype.kind in "iu" and len(n) == len(self):
            step = n.astype(np.int64)
        else:
            return NotImplemented
        return JalaliArray(np.where(self._ord == NAT, NAT, self._ord + sign * step), self._dtype)

    def __add__(self, n: Any) -> Any:
        return self._shift_by(n, 1)

    __radd__ = __add__

    def __sub__(self, n: Any) -> Any:
        return self._shift_by(n, -1)
