"""The period texts both calendars read and write: '2026-03-05' (a day), '2026-W10' (a week),
'2026-03' (a month), '2026Q1' or '2026-Q1' (a quarter), '2026' (a year); Jalali ones use its years
('1405-07')."""
from __future__ import annotations

import re

FORMS = (("D", re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")),
         ("W", re.compile(r"(\d{4})-W(\d{1,2})", re.I)),
         ("M", re.compile(r"(\d{4})-(\d{1,2})")),
         ("Q", re.compile(r"(\d{4})-?Q([1-4])", re.I)),
         ("Y", re.compile(r"(\d{4})")))


def read_form(text: str) -> tuple[str, re.Match[str]] | None:
    """The kind of period ("D", "W", "M", "Q" or "Y") a text is written as, with its parts (year first);
    None for any other text."""
    for kind, pattern in FORMS:
        m = pattern.fullmatch(text)  # the whole text: '2026\n' is not a year
        if m:
            return kind, m
    return None
