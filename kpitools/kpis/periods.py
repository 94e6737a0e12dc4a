"""Reporting periods: D, W, M, Q, Y, with a configurable fiscal-year start.

Periods are pandas Periods. Fiscal quarters and years follow pandas' convention
of naming a fiscal year by the calendar year it ends in: with the year starting
in April, fiscal 2025 runs April 2024 to March 2025 and `2025Q1` is April-June 2024.
Weeks run Monday to Sunday.
"""
from __future__ import annotations

import calendar
import re

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
    return dates.dt.to_period(pandas_freq(freq, fiscal_year_start))


def period_grid(start: pd.Timestamp, end: pd.Timestamp, freq: str = "M", fiscal_year_start: int = 1) -> pd.PeriodIndex:
    """Every period from the one holding `start` to the one holding `end`."""
    f = pandas_freq(freq, fiscal_year_start)
    return pd.period_range(pd.Period(start, f), pd.Period(end, f), freq=f, name="period")


def period_starts(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.PeriodIndex(periods).start_time)


def next_starts(periods: pd.PeriodIndex | pd.Series) -> pd.DatetimeIndex:
    """The first instant after each period; snapshot KPIs count what holds just before it."""
    return pd.DatetimeIndex((pd.PeriodIndex(periods) + 1).start_time)


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
