"""The `calendar` of batch specs: relative periods resolved in it, a calendar parameter per run (no kernels).
The calendar's own relative periods are tested in tests/calendars/test_relative.py.

1 Azar 1405 = 2026-11-22, so on that day the last complete Jalali month is Aban 1405 (1405-08) and the
last complete quarter 1405Q2.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kpitools.runner.errors import BatchError
from kpitools.runner.spec import load_batch

TODAY = dt.date(2026, 11, 22)
NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "report.ipynb"


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
