"""The period texts both calendars read (calendars/text.py): `read_form` names the kind and gives the parts."""
from __future__ import annotations

import pytest

from kpitools.calendars.text import read_form


@pytest.mark.parametrize("text, kind, parts", [
    ("2026-03-05", "D", ("2026", "03", "05")),
    ("2026-3-5", "D", ("2026", "3", "5")),
    ("2026-W10", "W", ("2026", "10")),
    ("2026-w3", "W", ("2026", "3")),
    ("2026-03", "M", ("2026", "03")),
    ("1405-07", "M", ("1405", "07")),  # a Jalali month: the same text, the calendar reads it
    ("2026Q1", "Q", ("2026", "1")),
    ("2026-Q4", "Q", ("2026", "4")),
    ("2026q2", "Q", ("2026", "2")),
    ("2026", "Y", ("2026",)),
])
def test_each_form_gives_its_kind_and_parts(text: str, kind: str, parts: tuple[str, ...]) -> None:
    form = read_form(text)
    assert form is not None
    assert form[0] == kind
    assert form[1].groups() == parts


@pytest.mark.parametrize("text", [
    "", "26", "20260", "2026-", "2026Q5", "2026Q0", "2026-123", "2026-03-05-01", "2026-W", "W10-2026",
    "March 2026", " 2026-03", "2026/03", "last_complete_month",
])
def test_other_texts_are_none(text: str) -> None:
    assert read_form(text) is None
