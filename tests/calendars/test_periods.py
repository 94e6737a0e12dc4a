"""kpitools.calendars.periods: Gregorian periods, fiscal years, period texts, and the cache hook the KPI
engine uses (the Jalali calendar has its own tests in test_jalali.py)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from kpitools.calendars import (
    freq_of,
    guess_calendar,
    parse_either,
    parse_period,
    period_at,
    period_span,
    period_text,
    to_period,
    year_earlier,
)
from kpitools.calendars.periods import NO_PERIOD, period_ordinals, period_year


@pytest.mark.parametrize("text, expected", [("2026-03", pd.Period("2026-03", "M")),
                                            ("2026Q1", pd.Period("2026Q1", "Q")),
                                            ("2026-q1", pd.Period("2026Q1", "Q")),
                                            ("2026", pd.Period("2026", "Y")),
                                            ("2026-03-05", pd.Period("2026-03-05", "D")),
                                            (" 2026-W10 ", pd.Period("2026-03-02", "W"))])
def test_period_texts(text: str, expected: pd.Period) -> None:
    assert parse_period(text) == expected


def test_a_fiscal_year_is_named_by_the_year_it_ends_in() -> None:
    q1 = parse_period("2025Q1", fiscal_year_start=4)
    assert q1.start_time == pd.Timestamp("2024-04-01") and period_year(q1) == 2025
    assert period_at("2024-12-31", "Y", fiscal_year_start=4) == parse_period("2025", fiscal_year_start=4)


@pytest.mark.parametrize("text, message", [("2026/03", "cannot read period"), ("2026-13", "month must be"),
                                           ("2026-03 to 2026-04", "cannot read period")])
def test_bad_period_texts(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(text)


def test_the_frequency_given_must_be_the_texts() -> None:
    with pytest.raises(ValueError, match="is a M period but the frequency is Q"):
        parse_period("2026-03", freq="Q")


def test_which_calendar_a_text_is_in() -> None:
    assert guess_calendar("1405-07") == "jalali" and guess_calendar("2026-10") == "gregorian"
    assert str(parse_either("1405-07")) == "1405-07" and freq_of(parse_either("2026Q3")) == "Q"


def test_spans_texts_and_a_year_earlier() -> None:
    span = period_span(pd.Period("2026-01", "M"), pd.Period("2026-03", "M"))
    assert [str(p) for p in span] == ["2026-01", "2026-02", "2026-03"]
    assert period_text(pd.Period("2026-03-02", "W")) == "2026-W10"
    assert year_earlier(pd.Period("2026Q3", "Q")) == pd.Period("2025Q3", "Q")


def test_to_period_keeps_missing_dates_missing() -> None:
    dates = pd.Series(pd.to_datetime(["2026-01-31", None, "2026-02-01"]))
    periods = to_period(dates)
    assert periods.isna().tolist() == [False, True, False]
    assert [str(p) for p in periods.dropna()] == ["2026-01", "2026-02"]


def test_period_ordinals_go_through_the_cache_when_given() -> None:
    dates = pd.Series(pd.to_datetime(["2026-01-31", None, "2026-02-01"]))
    calls: list[tuple] = []

    def cache(arrays: Any, tag: tuple, compute: Any) -> Any:
        calls.append(tag)
        return compute()

    ords = period_ordinals(dates, "M", cache=cache)
    assert ords is not None and calls == [("period", "M")]
    assert ords[1] == NO_PERIOD and list(ords[[0, 2]]) == [pd.Period("2026-01", "M").ordinal,
                                                            pd.Period("2026-02", "M").ordinal]
    assert np.array_equal(ords, period_ordinals(dates, "M"))  # the same without a cache
