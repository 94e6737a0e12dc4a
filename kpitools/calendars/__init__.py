"""Calendars: the periods every layer reports in.

Gregorian and Solar Hijri (Jalali) periods of a day, week, month, quarter or year, fiscal years
that start in any month, period texts ('2026-10', '2026Q3', '1405-07'), relative periods
('last_complete_month-2') and the month names the report layer translates. The KPI engine,
forecasts, charts, reports and the runner all take their periods from here.

    from kpitools.calendars import parse_period, resolve_period
    parse_period("2026Q3")                                   # Period('2026Q3', 'Q-DEC')
    parse_period("1405-07", calendar="jalali")               # JalaliPeriod('1405-07')
    resolve_period("last_complete_month", today=date(2026, 11, 22))   # '2026-10'
"""
from __future__ import annotations

from .jalali import MONTHS as JALALI_MONTHS
from .jalali import JalaliArray, JalaliDtype, JalaliPeriod
from .periods import (
                      CALENDARS,
                      FREQS,
                      calendar_name,
                      calendar_of,
                      freq_of,
                      get_calendar,
                      guess_calendar,
                      is_period,
                      is_period_dtype,
                      parse_either,
                      parse_period,
                      period_at,
                      period_dtype,
                      period_ends,
                      period_grid,
                      period_span,
                      period_starts,
                      period_text,
                      to_index,
                      to_period,
                      year_earlier,
)
from .relative import RELATIVE, is_relative, parse_relative, resolve_period

__all__ = ["CALENDARS", "FREQS", "JALALI_MONTHS", "JalaliArray", "JalaliDtype", "JalaliPeriod", "RELATIVE",
           "calendar_name", "calendar_of", "freq_of", "get_calendar", "guess_calendar", "is_period",
           "is_period_dtype", "is_relative", "parse_either", "parse_period", "parse_relative", "period_at",
           "period_dtype", "period_ends", "period_grid", "period_span", "period_starts", "period_text",
           "resolve_period", "to_index", "to_period", "year_earlier"]
