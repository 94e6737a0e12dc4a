"""How the reports write numbers, money, percentages and month names in the languages the product serves.

These are the project's decisions, not whichever CLDR release Babel carries: a Babel upgrade once moved the
currency in Persian in front of the amount ("دلار ۱٫۲۳ میلیون"), which no Persian sales report writes. The
seeds and Persian, Arabic and Russian business writing put the amount first, then its scale word, then the
currency: "۷۵ هزار دلار", "1.2 مليون دولار", "1,2 млн ₽". Symbols and month names are those of CLDR 45-47
(checked when this table was written), frozen here; other locales take theirs from Babel.

Arabic has two numeral systems: a country whose CLDR default numbering is "arab" (ar_SA, ar_EG, ...) reads
Arabic-Indic digits (٠-٩ with ٫ and ٬), the others and plain "ar" read Latin digits. That choice of system is
the only thing still asked of CLDR for Arabic.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HouseFormat", "HOUSE_FORMATS", "house_format"]

_PERSIAN_MONTHS = ("ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر",
                   "نوامبر", "دسامبر")
_ARABIC_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
                  "نوفمبر", "ديسمبر")
_ARABIC_SCALES = {1e3: "\u00a0ألف", 1e6: "\u00a0مليون", 1e9: "\u00a0مليار", 1e12: "\u00a0ترليون"}


@dataclass(frozen=True)
class HouseFormat:
    digits: str                      # the ten digits 0-9
    decimal: str
    group: str
    minus: str                       # with the bidi mark that keeps it before the number in RTL text
    plus: str
    percent_suffix: str              # written after the number ("٪", "\u00a0%")
    scales: dict[float, str]         # thousand, million, ... written after the number
    months: tuple[str, ...]          # stand-alone, wide: "октябрь"
    months_in_date: tuple[str, ...]  # inside a date: "5 октября"
    months_short: tuple[str, ...]    # chart axes: "окт."
    currency_after: bool = True      # "۱٫۲ میلیون دلار", never "دلار ۱٫۲ میلیون"


HOUSE_FORMATS: dict[str, HouseFormat] = {
    "fa": HouseFormat(
        digits="۰۱۲۳۴۵۶۷۸۹", decimal="٫", group="٬", minus="\u200e−", plus="\u200e+", percent_suffix="٪",
        scales={1e3: "\u00a0هزار", 1e6: "\u00a0میلیون", 1e9: "\u00a0میلیارد", 1e12: "\u00a0تریلیون"},
        months=_PERSIAN_MONTHS, months_in_date=_PERSIAN_MONTHS, months_short=_PERSIAN_MONTHS),
    "ar": HouseFormat(
        digits="0123456789", decimal=".", group=",", minus="\u200e-", plus="\u200e+",
        percent_suffix="\u200e%\u200e", scales=_ARABIC_SCALES,
        months=_ARABIC_MONTHS, months_in_date=_ARABIC_MONTHS, months_short=_ARABIC_MONTHS),
    "ar-arab": HouseFormat(
        digits="٠١٢٣٤٥٦٧٨٩", decimal="٫", group="٬", minus="\u061c-", plus="\u061c+", percent_suffix="٪\u061c",
        scales=_ARABIC_SCALES,
        months=_ARABIC_MONTHS, months_in_date=_ARABIC_MONTHS, months_short=_ARABIC_MONTHS),
    "ru": HouseFormat(
        digits="0123456789", decimal=",", group="\u00a0", minus="-", plus="+", percent_suffix="\u00a0%",
        scales={1e3: "\u00a0тыс.", 1e6: "\u00a0млн", 1e9: "\u00a0млрд", 1e12: "\u00a0трлн"},
        months=("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
                "ноябрь", "декабрь"),
        months_in_date=("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                        "октября", "ноября", "декабря"),
        months_short=("янв.", "февр.", "март", "апр.", "май", "июнь", "июль", "авг.", "сент.", "окт.", "нояб.",
                      "дек.")),
}


def house_format(language: str, numbering_system: str) -> HouseFormat | None:
    """The house format of a language (and, for Arabic, of its country's numeral system); None for a
    language the project has not decided, whose formats then come from CLDR."""
    if language == "ar" and numbering_system == "arab":
        return HOUSE_FORMATS["ar-arab"]
    return HOUSE_FORMATS.get(language)
