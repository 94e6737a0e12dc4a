"""kpitools.messages: translation markers, usable from every layer; the catalogue collects what they mark."""
from __future__ import annotations

from kpitools import i18n
from kpitools.calendars.jalali import MONTHS
from kpitools.messages import N_, NN_, NP_


def test_markers_return_what_they_mark() -> None:
    assert N_("Revenue") == "Revenue" and NP_("KPI", "Revenue") == "Revenue"
    assert NN_("{n} deal", "{n} deals") == ("{n} deal", "{n} deals")
    assert i18n.N_ is N_ and i18n.NP_ is NP_  # the report layer's markers are these


def test_the_calendars_month_names_are_translated_where_shown() -> None:
    assert MONTHS[6] == "Mehr"
    assert i18n.month_name(7, "fa", "jalali") == "مهر"
    assert i18n.month_name(7, "en", "jalali") == "Mehr"
