"""Relative periods: names such as last_complete_month-2, the one parser for them (`parse_relative`),
and their resolution against a date (`resolve_period`; the batch runner gives it today's).

    period: last_complete_month      ->  "2026-10"   (run on 2026-11-22)
    period: last_complete_month-2    ->  "2026-08"   (two months before that)
    period: current_quarter          ->  "2026Q4"
    period: last_complete_year       ->  "2025"

The results are the period strings the KPI layer parses (`2024-03`, `2024Q1`,
`2024`). Quarters and years follow the fiscal year when `fiscal_year_start` is
given, with pandas' naming (a fiscal year is named by the year it ends in).
`previous_X` is another name for `last_complete_X`: the period before the
current one, which has ended.

With `calendar="jalali"` the periods are Solar Hijri ones, in the texts the KPI
layer reads with that calendar: on 2026-11-22 (1 Azar 1405)
`last_complete_month` is "1405-08" (Aban), `current_quarter` "1405Q3",
`last_complete_year` "1404", `current_week` "1405-W36" (weeks Saturday-Friday).
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from .periods import calendar_name, pandas_freq, period_at

# name -> (frequency, periods back from the one holding today)
RELATIVE: dict[str, tuple[str, int]] = {}
for _freq, _unit in (("M", "month"), ("Q", "quarter"), ("Y", "year"), ("W", "week")):
    RELATIVE[f"current_{_unit}"] = (_freq, 0)
    RELATIVE[f"last_complete_{_unit}"] = (_freq, 1)
    RELATIVE[f"previous_{_unit}"] = (_freq, 1)

_PATTERN = re.compile(r"^(?P<name>[a-z_]+)(?:\s*-\s*(?P<back>\d+))?$")


def parse_relative(value: object) -> tuple[str, int] | None:
    """(frequency, periods back) when `value` names a relative period, else None."""
    if not isinstance(value, str):
        return None
    m = _PATTERN.match(value.strip())
    if not m or m["name"] not in RELATIVE:
        return None
    freq, back = RELATIVE[m["name"]]
    return freq, back + int(m["back"] or 0)


def is_relative(value: object) -> bool:
    return parse_relative(value) is not None


def resolve_period(value: object, today: dt.date, fiscal_year_start: int = 1, calendar: str = "gregorian"
                   ) -> object:
    """The period a relative name stands for on `today` (in `calendar`); any other value unchanged."""
    parsed = parse_relative(value)
    if parsed is None:
        return value
    freq, back = parsed
    if calendar_name(calendar) != "gregorian":
        return str(period_at(pd.Timestamp(today), freq, fiscal_year_start, calendar) - back)
    period = pd.Period(pd.Timestamp(today), pandas_freq(freq, fiscal_year_start)) - back
    if freq == "M":
        return period.strftime("%Y-%m")
    if freq == "Q":
        return f"{period.qyear}Q{period.quarter}"
    if freq == "Y":
        return str(period.year)  # an annual period's year is the year it ends in
    iso = period.start_time.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"
