"""Relative periods in the Jalali calendar, and the `calendar` of batch specs (no kernels).

1 Azar 1405 = 2026-11-22 (a Sunday; jdatetime), so on that day the last complete Jalali month is
Aban 1405, the quarter is Q3 (Mehr-Azar-Dey) and the week runs Saturday 2026-11-21 to Friday 11-27.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jdatetime
import pytest

from kpitools.calendars.periods import parse_period
from kpitools.calendars.relative import resolve_period
from kpitools.runner.errors import BatchError
from kpitools.runner.spec import load_batch

TODAY = dt.date(2026, 11, 22)
NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "report.ipynb"


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


# ----------------------------------------------------------------------------- batch specs

def notebook_with_calendar(tmp_path: Path) -> Path:
    """The test report notebook with a `calendar = ""` parameter."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = "".join(cell["source"]).rstrip("\n") + '\ncalendar = ""\n'
    path = tmp_path / "report.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def spec(tmp_path: Path, body: str, notebook: Path | None = None) -> Path:
    path = tmp_path / "spec.yml"
    path.write_text(f"notebook: {notebook or NOTEBOOK}\noutput: r/{{period}}/{{region}}.html\n" + body,
                    encoding="utf-8")
    return path


def test_spec_calendar_resolves_in_jalali_and_reaches_the_notebook(tmp_path: Path) -> None:
    batch = load_batch(spec(tmp_path, "calendar: jalali\ngrid:\n  region: [EMEA]\n"
                                      "  period: [last_complete_month, last_complete_quarter]\n"),
                       today=TODAY, base=tmp_path)
    assert [r.html for r in batch.runs] == ["1405-08/EMEA.html", "1405Q2/EMEA.html"]
    assert batch.runs[0].parameters == {"region": "EMEA", "period": "1405-08", "calendar": "jalali"}
    assert batch.runs[0].scope == "EMEA"  # the calendar is not a scope


def test_a_calendar_parameter_per_run(tmp_path: Path) -> None:
    nb = notebook_with_calendar(tmp_path)
    batch = load_batch(spec(tmp_path, "grid:\n  region: [EMEA]\n  period: [last_complete_month]\n"
                                      "  calendar: [jalali, gregorian]\n"
                                      "output: r/{calendar}/{period}/{region}.html\n", nb),
                       today=TODAY, base=tmp_path)
    assert [r.parameters["period"] for r in batch.runs] == ["1405-08", "2026-10"]
    assert [r.parameters["calendar"] for r in batch.runs] == ["jalali", "gregorian"]


def test_the_datasets_calendar_is_used_when_the_spec_gives_none(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "dataset.yml").write_text("calendar: jalali\ntables:\n  deals: {path: deals.csv}\n")
    batch = load_batch(spec(tmp_path, "parameters: {data: data}\ngrid:\n  region: [EMEA]\n"
                                      "  period: [last_complete_month]\n"), today=TODAY, base=tmp_path)
    assert batch.runs[0].parameters == {"data": "data", "region": "EMEA", "period": "1405-08"}


def test_bad_calendars_are_reported(tmp_path: Path) -> None:
    with pytest.raises(BatchError, match="calendar") as e:
        load_batch(spec(tmp_path, "calendar: lunar\n"), today=TODAY, base=tmp_path)
    assert "jalali" in str(e.value)
    nb = notebook_with_calendar(tmp_path)
    with pytest.raises(BatchError, match="'lunar' is not a calendar"):
        load_batch(spec(tmp_path, "parameters: {calendar: lunar, period: last_complete_month, region: EMEA}\n", nb),
                   today=TODAY, base=tmp_path)
    # a Jalali date that is not a Gregorian one is still a period (Ordibehesht has 31 days)
    batch = load_batch(spec(tmp_path, "calendar: jalali\nparameters: {period: '1405-02-31', region: EMEA}\n"),
                       today=TODAY, base=tmp_path)
    assert batch.runs[0].parameters["period"] == "1405-02-31"
