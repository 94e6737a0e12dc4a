"""Relative periods (calendars/relative.py) in the Jalali calendar, and the Gregorian default kept.

1 Azar 1405 = 2026-11-22 (a Sunday; jdatetime), so on that day the last complete Jalali month is
Aban 1405, the quarter is Q3 (Mehr-Azar-Dey) and the week runs Saturday 2026-11-21 to Friday 11-27.
"""
from __future__ import annotations

import datetime as dt

import jdatetime
import pytest

from kpitools.calendars.periods import parse_period
from kpitools.calendars.relative import resolve_period

TODAY = dt.date(2026, 11, 22)


def test_the_day_is_1_azar_1405() -> None:
    assert str(jdatetime.date.fromgregorian(date=TODAY)) == "1405-09-01"


@pytest.mark.parametrize("name, expected, fiscal_mehr", [
    ("last_complete_month", "1405-08", "1405-08"),
    ("previous_month", "1405-08", "1405-08"),
    ("current_month", "1405-09", "1405-09"),
    ("last_complete_month-2", "1405-06", "1405-06"),
    ("last_complete_month-8", "1404-12", "1404-12"),
    ("current_quarter", "1405Q3", "1406Q1"),  # from 1 Mehr: fiscal 1406 = Mehr 1405 - Shahrivar 1406
    ("last_complete_quarter", "1405Q2", "1405Q4"),
    ("last_complete_year", "1404", "1405"),
    ("current_year", "1405", "1406"),
    ("current_week", "1405-W36", "1405-W36"),
    ("last_complete_week", "1405-W35", "1405-W35"),
    ("EMEA", "EMEA", "EMEA"),
    ("1404-07", "1404-07", "1404-07"),
])
def test_relative_periods_in_the_jalali_calendar(name: str, expected: str, fiscal_mehr: str) -> None:
    assert resolve_period(name, TODAY, calendar="jalali") == expected
    assert resolve_period(name, TODAY, fiscal_year_start=7, calendar="jalali") == fiscal_mehr


def test_resolved_periods_read_back_as_the_periods_meant() -> None:
    week = parse_period(resolve_period("current_week", TODAY, calendar="jalali"), calendar="jalali")
    assert week.start_time.date() == dt.date(2026, 11, 21) and week.start_time.day_name() == "Saturday"
    month = parse_period(resolve_period("last_complete_month", TODAY, calendar="jalali"), calendar="jalali")
    assert month.start_time.date() == dt.date(2026, 10, 23) and month.end_time.date() == dt.date(2026, 11, 21)


def test_nowruz_turns_the_year() -> None:
    nowruz = dt.date(2025, 3, 21)  # 1 Farvardin 1404
    assert resolve_period("last_complete_month", nowruz, calendar="jalali") == "1403-12"
    assert resolve_period("last_complete_year", nowruz, calendar="jalali") == "1403"
    assert resolve_period("current_quarter", nowruz, calendar="jalali") == "1404Q1"
    eve = dt.date(2025, 3, 20)  # 30 Esfand 1403 (a leap year)
    assert resolve_period("current_month", eve, calendar="jalali") == "1403-12"


def test_gregorian_is_unchanged() -> None:
    assert resolve_period("last_complete_month", TODAY) == "2026-10"
    assert resolve_period("last_complete_month", TODAY, calendar="gregorian") == "2026-10"
    with pytest.raises(ValueError, match="unknown calendar"):
        resolve_period("last_complete_month", TODAY, calendar="lunar")


GREGORIAN_DAY = dt.date(2026, 2, 10)


@pytest.mark.parametrize("name, expected, fiscal_april", [
    ("last_complete_month", "2026-01", "2026-01"),
    ("previous_month", "2026-01", "2026-01"),
    ("current_month", "2026-02", "2026-02"),
    ("last_complete_month-2", "2025-11", "2025-11"),
    ("current_quarter", "2026Q1", "2026Q4"),
    ("last_complete_quarter", "2025Q4", "2026Q3"),
    ("last_complete_year", "2025", "2025"),
    ("current_year", "2026", "2026"),
    ("last_complete_week", "2026-W06", "2026-W06"),
    ("EMEA", "EMEA", "EMEA"),
    ("2024-03", "2024-03", "2024-03"),
])
def test_relative_periods_in_the_gregorian_calendar(name: str, expected: str, fiscal_april: str) -> None:
    assert resolve_period(name, GREGORIAN_DAY) == expected
    assert resolve_period(name, GREGORIAN_DAY, fiscal_year_start=4) == fiscal_april
