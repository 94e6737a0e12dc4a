"""kpitools.i18n formats: every number, amount, date and period of a report in each locale, written out by
hand. For fa, ar and ru these strings are the project's decision (i18n/house_formats.py: Persian digits and
٫ ٬ ٪, Arabic with Latin digits for ar and Arabic-Indic for ar_SA, Russian's comma and no-break spaces, and
the amount before its currency in all three), so they hold under any Babel; English exactly as before
localisation."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from kpitools import i18n
from kpitools.calendars.periods import parse_period

NB = "\u00a0"
LRM = "\u200e"


@pytest.mark.parametrize("locale, expected", [
    ("en", "$1.23M"),
    ("fa", f"۱٫۲۳{NB}میلیون دلار"),
    ("ar", f"1.23{NB}مليون دولار"),
    ("ar_SA", f"١٫٢٣{NB}مليون دولار"),
    ("ru", f"1,23{NB}млн $"),
])
def test_card_money(locale: str, expected: str) -> None:
    assert i18n.format_value(1_234_567, "money", "USD", locale=locale, style="card") == expected


@pytest.mark.parametrize("locale, expected", [
    ("en", "−45k toman"),
    ("fa", f"{LRM}−۴۵{NB}هزار تومان"),        # CLDR's minus for Persian: left-to-right mark, U+2212
    ("ar_SA", f"\u061c-٤٥{NB}ألف تومان"),      # Arabic letter mark before the sign
    ("ru", f"-45{NB}тыс. томан"),
])
def test_toman_is_a_display_unit(locale: str, expected: str) -> None:
    assert i18n.format_value(-45_000, "money", "IRT", locale=locale) == expected


@pytest.mark.parametrize("locale, ratio, count, days", [
    ("en", "25.3%", "1,234", "4.5 days"),
    ("fa", "۲۵٫۳٪", "۱٬۲۳۴", "۴٫۵ روز"),
    ("ar", f"25.3{LRM}%{LRM}", "1,234", "4.5 يوم"),
    ("ar_SA", "٢٥٫٣٪\u061c", "١٬٢٣٤", "٤٫٥ يوم"),
    ("ru", f"25,3{NB}%", f"1{NB}234", "4,5 дня"),  # a fraction takes the genitive singular
])
def test_ratio_count_and_duration(locale: str, ratio: str, count: str, days: str) -> None:
    assert i18n.format_value(0.253, "ratio", locale=locale, style="card") == ratio
    assert i18n.format_value(1234, "count", locale=locale) == count
    assert i18n.format_value(4.5, "days", locale=locale, style="card") == days


def test_russian_and_arabic_plural_forms() -> None:
    ru = [i18n.format_value(n, "days", locale="ru", style="card") for n in (1, 2, 5, 11, 21, 22)]
    assert ru == ["1 день", "2 дня", "5 дней", "11 дней", "21 день", "22 дня"]
    ar = [i18n.format_value(n, "days", locale="ar", style="card") for n in (1, 2, 3, 11, 100)]
    assert ar == ["يوم واحد", "يومان", "3 أيام", "11 يومًا", "100 يوم"]


def test_english_is_unchanged() -> None:
    """The house formats from before localisation: charts and cards, signs and missing values."""
    assert [i18n.format_value(x, "money") for x in (1_234_567, 950_000, 999_950, -45_000, 0)] == \
        ["$1.2M", "$950k", "$1M", "−$45k", "$0"]
    assert i18n.format_value(1_500_000, "money", "CHF") == "CHF 1.5M"
    cards = [i18n.format_value(x, "money", style="card") for x in (999_999, -1_500, 2.5e9)]
    assert cards == ["$1M", "-$1.5k", "$2.5B"]
    assert i18n.format_value(1_234.5, "money_per_day", "EUR", style="card") == "€1.23k/day"
    assert i18n.format_value(42, "minutes") == "42 min"
    assert i18n.format_value(30, "minutes", style="card") == "30 minutes"
    assert i18n.format_value(math.nan, "money") == "–" and i18n.format_value(None, "ratio", style="card") == "—"
    assert i18n.format_value(1.5, "ratio") == "150%" and i18n.format_value(0.05, "ratio") == "5.0%"


@pytest.mark.parametrize("text, calendar, locale, label, short", [
    ("2026-10", "gregorian", "en", "October 2026", "Oct 2026"),
    ("2026-10", "gregorian", "fa", "اکتبر ۲۰۲۶", "اکتبر ۲۰۲۶"),
    ("2026-10", "gregorian", "ru", "октябрь 2026", "окт. 2026"),
    ("2026Q3", "gregorian", "ar", "الربع الثالث 2026", "الربع الثالث 2026"),
    ("1405-07", "jalali", "fa", "مهر ۱۴۰۵", "مهر ۱۴۰۵"),
    ("1405-07", "jalali", "en", "Mehr 1405", "Mehr 1405"),
    ("1405Q1", "jalali", "fa", "سه‌ماههٔ اول ۱۴۰۵", "سه‌ماههٔ اول ۱۴۰۵"),
    ("1405-10", "jalali", "ru", "дей 1405", "дей 1405"),
    ("1405", "jalali", "ar_SA", "١٤٠٥", "١٤٠٥"),
])
def test_period_labels(text: str, calendar: str, locale: str, label: str, short: str) -> None:
    p = parse_period(text, calendar=calendar)
    assert i18n.period_label(p, locale) == label
    assert i18n.period_short(p, locale) == short


def test_dates_in_both_calendars() -> None:
    nowruz = pd.Timestamp("2023-03-21")  # 1 Farvardin 1402
    assert i18n.date_label(nowruz, "fa", "jalali") == "۱ فروردین ۱۴۰۲"
    assert i18n.date_label(nowruz, "en", "jalali") == "1 Farvardin 1402"
    assert i18n.date_label(pd.Timestamp("2026-10-31"), "en") == "31 October 2026"
    assert i18n.date_label(pd.Timestamp("2026-10-31"), "ru") == "31 октября 2026 г."  # genitive in a date
    assert i18n.date_label(pd.Timestamp("2026-10-31"), "ar_SA") == "٣١ أكتوبر ٢٠٢٦"


def test_locales_and_direction() -> None:
    assert i18n.normalize("fa-IR") == "fa_IR" and i18n.normalize("") == "en"
    assert [i18n.direction(x) for x in ("en", "fa", "ar", "ar_SA", "ru")] == ["ltr", "rtl", "rtl", "rtl", "ltr"]
    assert i18n.html_lang("ar_SA") == "ar-SA"
    with pytest.raises(ValueError, match="unknown locale 'klingon'"):
        i18n.normalize("klingon")


def test_active_locale_and_using() -> None:
    assert i18n.current() == "en"
    with i18n.using("fa"):
        assert i18n.format_value(0.5, "ratio") == "۵۰٫۰٪" and i18n.gettext("Revenue") == "درآمد"
        with i18n.using("ru"):
            assert i18n.gettext("Revenue") == "Выручка"
        assert i18n.current() == "fa"
    assert i18n.current() == "en" and i18n.gettext("Revenue") == "Revenue"


def test_translated_templates_take_the_locales_digits() -> None:
    """One Arabic catalogue (Latin digits) serves ar and ar_SA: the template's own digits follow the locale,
    the values filled in are shown as given."""
    assert i18n.benchmark_text("≥ 30%", "ar") == "30% على الأقل"
    assert i18n.benchmark_text("≥ 30%", "ar_SA") == "٣٠% على الأقل"
    assert i18n.gettext("Revenue, {rep}", "ar_SA", rep="Rep 42") == "الإيرادات، Rep 42"


def test_kpi_names_and_canonical_values() -> None:
    assert i18n.kpi_name("win_rate", "fa") == "نرخ موفقیت معاملات"
    assert i18n.kpi_name("win_rate", "ru") == "Доля выигранных сделок"
    assert i18n.kpi_name("nope", "ru") == "Nope"  # not a KPI: as it is
    assert i18n.value_label("channel", "cold_email", "fa") == "ایمیل سرد"
    assert i18n.value_label("channel", "cold_email", "en") == "Cold email"
    assert i18n.value_label("region", "EMEA", "fa") == "EMEA"  # names from the data stay as they are
    assert i18n.status_text("off track", "ar") == "خارج المسار" and i18n.status_text("weird", "ar") == "weird"


def test_house_formats_do_not_follow_the_installed_cldr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Babel data from another locale (German: currency after, "Mio.", "Oktober") changes nothing in fa, ar,
    ru: only the language and, for Arabic, the country's numeral system are read from CLDR."""
    from babel import Locale

    from kpitools.i18n import formatting

    def amounts() -> list[str]:
        return [f(loc) for loc in ("fa", "ar", "ar_SA", "ru") for f in (
            lambda x: i18n.format_value(1_234_567, "money", "USD", locale=x, style="card"),
            lambda x: i18n.format_value(-45_000, "money", "IRT", locale=x),
            lambda x: i18n.format_value(0.253, "ratio", locale=x, style="card"),
            lambda x: i18n.date_label(pd.Timestamp("2026-10-31"), x),
            lambda x: i18n.period_short(pd.Period("2026-09", "M"), x))]

    before = amounts()
    german = Locale.parse("de")

    class Foreign:
        def __init__(self, real: Locale) -> None:
            self.language, self.default_numbering_system = real.language, real.default_numbering_system

        def __getattr__(self, name: str):
            return getattr(german, name)

    real = formatting.babel_locale
    monkeypatch.setattr(formatting, "babel_locale", lambda loc: Foreign(real(loc)))
    formatting._symbols.cache_clear()
    try:
        assert amounts() == before
    finally:
        formatting._symbols.cache_clear()
    assert before[:5] == [f"۱٫۲۳{NB}میلیون دلار", f"{LRM}−۴۵{NB}هزار تومان", "۲۵٫۳٪", "۳۱ اکتبر ۲۰۲۶",
                          "سپتامبر ۲۰۲۶"]
