"""Dates are read per column, never per value (kpitools.data.dates, through parse_table and load)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kpitools
from kpitools.data import DataError, dates
from kpitools.data.config import ReadOptions, TableConfig
from kpitools.data.parse import parse_table
from kpitools.data.problems import Problem

T = pd.Timestamp


def parse(values: list[Any], read: dict[str, Any] | None = None, columns: dict[str, str] | None = None,
          excel: bool = False, dtype: str | None = "str") -> tuple[list[Any], list[Problem], dict[str, pd.Index]]:
    """closed_at of a deals table through parse_table: (values read, problems, unparsed rows)."""
    frame = pd.DataFrame({"closed_at": pd.Series(values, dtype=dtype)})
    cfg = TableConfig(path="deals.csv", read=ReadOptions(**(read or {})), columns=columns or {})
    parsed, problems, unparsed = parse_table("deals", frame, cfg, "deals.csv", 2, excel=excel)
    return list(parsed["closed_at"]), problems, unparsed


def read(values: list[Any], **options: Any) -> list[Any]:
    """The values read, asserting no problem."""
    got, problems, _ = parse(values, **options)
    assert problems == [], [str(p) for p in problems]
    return got


def test_iso_dates_and_times_with_offsets_in_utc() -> None:
    assert read(["2024-12-31", "2024-12-31T10:00:00Z", "2024-12-31 10:00:00+02:00", "2024-1-5", None]) == [
        T("2024-12-31"), T("2024-12-31 10:00"), T("2024-12-31 08:00"), T("2024-01-05"), pd.NaT]


def test_iso_months() -> None:
    got = dates.read_dates(pd.Series(["2024-03", "2024-12"], dtype="str"), "month", (), ReadOptions())
    assert list(got.parsed) == [T("2024-03-01"), T("2024-12-01")] and not got.bad.any() and not got.errors


def test_one_value_that_allows_one_reading_makes_the_column_day_first() -> None:
    # 20/12/1997 is day-first only: 03/08/1997 is then 3 August, not 8 March
    assert read(["03/08/1997", "20/12/1997", "05/06/1998"]) == [T("1997-08-03"), T("1997-12-20"), T("1998-06-05")]


def test_one_value_that_allows_one_reading_makes_the_column_month_first() -> None:
    assert read(["03/08/1997", "12/20/1997"]) == [T("1997-03-08"), T("1997-12-20")]


def test_values_that_read_the_same_either_way_need_no_decision() -> None:
    assert read(["05/05/2024", "11/11/2024"]) == [T("2024-05-05"), T("2024-11-11")]


def test_a_column_whose_every_value_reads_both_ways_is_an_error() -> None:
    got, problems, unparsed = parse(["03/08/1997", "05/06/1998", None, "05/06/1998"],
                                    columns={"closed_at": "Close Date"})
    assert got == [pd.NaT] * 4
    [p] = problems  # and no "cannot read" for the same rows
    assert (p.file, p.table, p.column, p.rows) == ("deals.csv", "deals", "closed_at", (2, 3, 5))
    assert p.message == ("every value of the column reads both ways: '03/08/1997' is 3 August 1997 day-first and "
                         "8 March 1997 month-first, '05/06/1998' is 5 June 1998 day-first and 6 May 1998 month-first")
    assert p.hint.startswith("set read: {dayfirst: {Close Date: true}} "
                             "(or read: {date_format: {Close Date: '%d/%m/%Y'}})")
    assert "read: {dayfirst: {Close Date: false}} if month-first" in p.hint
    assert list(unparsed["closed_at"]) == [0, 1, 3]  # not reported again as empty


def test_a_column_that_needs_both_readings_is_an_error_naming_the_rows() -> None:
    got, problems, unparsed = parse(["25/01/2024", "13/02/2024", "01/25/2024", "04/03/2024"])
    assert got == [pd.NaT] * 4
    [p] = problems
    assert p.column == "closed_at" and p.rows == (4,)  # the fewer: the month-first one
    assert "need both readings" in p.message and "'01/25/2024'" in p.message and "'25/01/2024'" in p.message
    assert "correct the month-first dates" in p.hint
    assert list(unparsed["closed_at"]) == [0, 1, 2, 3]


@pytest.mark.parametrize("read_options", [
    {"dayfirst": True}, {"dayfirst": {"Close Date": True}}, {"dayfirst": {"closed_at": True}},
    {"date_format": {"Close Date": "%d/%m/%Y"}}])
def test_a_stated_reading_settles_an_ambiguous_column(read_options: dict[str, Any]) -> None:
    got = read(["03/08/1997", "05/06/1998"], read=read_options, columns={"closed_at": "Close Date"})
    assert got == [T("1997-08-03"), T("1998-06-05")]


def test_dayfirst_false_means_month_first() -> None:
    assert read(["03/08/1997", "05/06/1998"], read={"dayfirst": False}) == [T("1997-03-08"), T("1998-05-06")]


def test_a_setting_for_another_column_does_not_settle_this_one() -> None:
    _, problems, _ = parse(["03/08/1997"], read={"dayfirst": {"created_at": True}})
    assert "reads both ways" in problems[0].message


def test_a_value_against_the_stated_reading_cannot_be_read() -> None:
    got, problems, unparsed = parse(["03/08/1997", "12/25/2024"], read={"dayfirst": True})
    assert got == [T("1997-08-03"), pd.NaT]
    [p] = problems
    assert p.message == "cannot read 1 value(s) as a date, day first (e.g. 31/12/2024) between 1900 and 2200"
    assert p.rows == (3,) and p.values == ("12/25/2024",) and list(unparsed["closed_at"]) == [1]


def test_a_stated_format_per_column() -> None:
    got = read(["26-02-2018 19:58", "03-08-2018 07:05"], read={"date_format": {"Won Date": "%d-%m-%Y %H:%M"}},
               columns={"closed_at": "Won Date"})
    assert got == [T("2018-02-26 19:58"), T("2018-08-03 07:05")]


def test_dotted_and_dashed_dates_with_times() -> None:
    assert read(["26.02.2018", "03.08.2018"]) == [T("2018-02-26"), T("2018-08-03")]
    assert read(["26-02-2018 19:58", "03-08-2018 07:05:09", "04-08-2018"]) == [
        T("2018-02-26 19:58"), T("2018-08-03 07:05:09"), T("2018-08-04")]
    assert read(["2/14/2024 3:45 PM", "2/1/2024 12:05 AM"]) == [T("2024-02-14 15:45"), T("2024-02-01 00:05")]


def test_impossible_and_out_of_range_dates_cannot_be_read() -> None:
    got, problems, _ = parse(["25/01/2024", "30/02/2024", "01/01/1850", "2024-13-45", "20240-01-25"])
    assert got == [T("2024-01-25")] + [pd.NaT] * 4
    assert problems[0].rows == (3, 4, 5, 6) and "cannot read 4 value(s)" in problems[0].message


def test_a_two_digit_year_needs_a_stated_format() -> None:
    got, problems, unparsed = parse(["25/01/24", "2024-02-01"])
    assert got == [pd.NaT, pd.NaT]
    [p] = problems
    assert p.rows == (2,) and "two-digit year ('25/01/24')" in p.message
    assert p.hint == "state the format: read: {date_format: {closed_at: '%d/%m/%y'}}"
    assert list(unparsed["closed_at"]) == [0, 1]
    _, problems, _ = parse(["25/01/24"], read={"dayfirst": True})
    assert "two-digit year" in problems[0].message  # dayfirst does not say the century
    assert read(["25/01/24", "03/08/97"], read={"date_format": "%d/%m/%y"}) == [T("2024-01-25"), T("1997-08-03")]


def test_text_months_are_read_with_one_format_for_the_column() -> None:
    assert read(["5 Oct 2024", "13 Nov 2024"]) == [T("2024-10-05"), T("2024-11-13")]
    assert read(["October 5, 2024", "November 13, 2024"]) == [T("2024-10-05"), T("2024-11-13")]
    got, problems, _ = parse(["5 Oct 2024", "November 13, 2024"])
    assert got == [T("2024-10-05"), pd.NaT] and problems[0].message.startswith("cannot read 1 value(s) as a date "
                                                                                "as %d %b %Y")


def test_excel_serial_days_only_in_excel_files() -> None:
    assert read([45325.5, 45326.0, None], excel=True, dtype="float64") == [T("2024-02-03 12:00"), T("2024-02-04"),
                                                                          pd.NaT]
    _, problems, _ = parse([45325.5, 45326.0], dtype="float64")
    assert problems[0].message.startswith("cannot read 2 value(s) as a date") and problems[0].rows == (2, 3)
    _, problems, _ = parse(["45325"])  # a number in a CSV is not a date
    assert problems[0].values == ("45325",)


def test_excel_dates_among_text_are_kept_and_the_text_read_by_the_column_reading() -> None:
    got = read([dt.datetime(2024, 1, 2, 9, 30), "03/08/2024", "25/08/2024", 45325], excel=True, dtype=None)
    assert got == [T("2024-01-02 09:30"), T("2024-08-03"), T("2024-08-25"), T("2024-02-03")]


def test_a_datetime_column_stays_as_it_is() -> None:
    aware = pd.Series(pd.to_datetime(["2024-01-02 10:00", None]).tz_localize("Europe/Paris"))
    got = dates.read_dates(aware, "closed_at", (), ReadOptions())
    assert list(got.parsed) == [T("2024-01-02 09:00"), pd.NaT] and not got.bad.any()


@pytest.mark.parametrize("pattern", [
    ["03/08/1997", "20/12/1997", "05/06/1998", None, "13/01/2000", "01/02/2003", "garbage", "29/02/2001",
     "2024-01-05", "07/07/2007"],  # day-first, with two values that cannot be read
    ["03/08/1997", "05/06/1998", "01/02/2003", None, "11/12/2010", "03/08/1997", "05/06/1998", "01/02/2003",
     "02/01/2003", "04/05/2006"],  # every value reads both ways
])
def test_the_same_values_read_the_same_in_a_small_and_a_big_file(pattern: list[str | None]) -> None:
    small, small_problems, _ = parse(pattern)
    big, big_problems, _ = parse(pattern * 30_000)  # 300,000 values
    assert big[:10] == small and big[-10:] == small

    def said(problems: list[Problem]) -> list[tuple[str, str, tuple[int, ...]]]:  # but for how many rows
        return [(re.sub(r"\d+ value", "N value", p.message), p.hint, p.rows[:2]) for p in problems]

    assert said(big_problems) == said(small_problems) and small_problems


def test_the_work_is_done_on_the_distinct_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timing-free: every conversion sees the few distinct values, never the 300,000 rows."""
    seen: list[int] = []
    to_datetime, compose = pd.to_datetime, dates._compose

    def spy_to_datetime(arg: Any, *a: Any, **kw: Any) -> Any:
        seen.append(len(arg))
        return to_datetime(arg, *a, **kw)

    def spy_compose(p: pd.DataFrame, dayfirst: bool) -> pd.Series:
        seen.append(len(p))
        return compose(p, dayfirst)

    monkeypatch.setattr(pd, "to_datetime", spy_to_datetime)
    monkeypatch.setattr(dates, "_compose", spy_compose)
    values = pd.Series(["03/08/1997", "20/12/1997", "2024-01-05", "5 Oct 2024"] * 75_000, dtype="str")
    got = dates.read_dates(values, "closed_at", (), ReadOptions())
    assert got.parsed.iloc[:4].tolist() == [T("1997-08-03"), T("1997-12-20"), T("2024-01-05"), T("2024-10-05")]
    assert seen and max(seen) <= 4


def test_a_categorical_column_is_read_like_its_text() -> None:
    assert read(["03/08/1997", "20/12/1997", "03/08/1997"], dtype="category") == [
        T("1997-08-03"), T("1997-12-20"), T("1997-08-03")]


DEALS = ("deal_id,Created,Close Date,status,amount\n"
         "D1,03/01/2024,25/01/2024,won,100\n"
         "D2,05/02/2024,,open,200\n"
         "D3,10/02/2024,01/03/2024,lost,300\n")


def _dataset(folder: Path, read: str = "") -> Path:
    (folder / "deals.csv").write_text(DEALS, encoding="utf-8")
    (folder / "dataset.yml").write_text(
        "tables:\n  deals:\n    path: deals.csv\n    columns: {created_at: Created, closed_at: Close Date}\n"
        + (f"    read: {read}\n" if read else ""), encoding="utf-8")
    return folder


def test_load_reads_each_column_by_its_own_values_or_setting(tmp_path: Path) -> None:
    # Close Date has 25/01/2024: day-first; Created reads both ways in every row: stated per column
    ds = kpitools.load(_dataset(tmp_path, "{dayfirst: {Created: true}}"))
    d = ds.deals.set_index("deal_id")
    assert d.loc["D1", "created_at"] == T("2024-01-03") and d.loc["D3", "created_at"] == T("2024-02-10")
    assert d.loc["D1", "closed_at"] == T("2024-01-25") and d.loc["D3", "closed_at"] == T("2024-03-01")


def test_load_refuses_a_column_that_reads_both_ways(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        kpitools.load(_dataset(tmp_path))
    [p] = e.value.errors  # created_at only: not "required value is empty" nor "closed before created" too
    assert (p.table, p.column, p.rows) == ("deals", "created_at", (2, 3, 4))
    assert "'03/01/2024' is 3 January 2024 day-first and 1 March 2024 month-first" in p.message
    assert p.hint.startswith("set read: {dayfirst: {Created: true}} (or read: {date_format: {Created: '%d/%m/%Y'}})")


def test_blank_and_missing_values_are_not_dates_to_read() -> None:
    got = dates.read_dates(pd.Series(["  ", None, np.nan, "25/01/2024"], dtype=object), "closed_at", (),
                           ReadOptions())
    assert list(got.bad) == [False] * 4 and got.parsed.iloc[3] == T("2024-01-25")


def test_load_reads_excel_day_numbers_dates_and_text_of_an_excel_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"deal_id": ["D1", "D2", "D3"], "created_at": [45325, "25/01/2024", "03/02/2024"],
                          "closed_at": [dt.datetime(2024, 2, 20), None, None], "status": ["won", "open", "open"],
                          "amount": [1, 2, 3]})
    frame.to_excel(tmp_path / "deals.xlsx", index=False)
    d = kpitools.load(tmp_path).deals.set_index("deal_id")
    assert list(d["created_at"]) == [T("2024-02-03"), T("2024-01-25"), T("2024-02-03")]
    assert d.loc["D1", "closed_at"] == T("2024-02-20")
