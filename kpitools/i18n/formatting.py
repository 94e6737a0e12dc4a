"""Numbers, money, percentages, durations, dates and periods as a reader of a locale expects them.

Every number a report shows goes through here (the KPI cards, the narrative, the charts, the tables):

    format_value(1_234_567, "money", "USD")                 # '$1.2M'      (charts, tables, sentences)
    format_value(1_234_567, "money", "USD", style="card")   # '$1.23M'     (KPI cards: three significant figures)
    format_value(1_234_567, "money", "IRT", locale="fa")    # '۱٫۲ میلیون تومان'
    format_value(0.253, "ratio", locale="ru", style="card") # '25,3 %'
    period_label(pd.Period("2026-10", "M"), locale="fa")  # 'اکتبر ۲۰۲۶'; a Jalali period: 'مهر ۱۴۰۵'

English keeps the house formats (lower-case "k", "$1.23M", U+2212 minus on charts). Other locales take
their symbols (decimal and group separators, percent sign, minus), digits (Persian ۰-۹ for fa; Arabic-Indic
٠-٩ where CLDR's default numbering system for the locale is "arab", e.g. ar_SA; Latin for ar), the words
for thousands / millions (هزار، میلیون، тыс., млн) and the currency placement; for fa, ar and ru these are
the project's own decisions (house_formats.py: the amount first, then its scale, then the currency), for
other locales CLDR's through Babel, and their words (units, month names of the Jalali calendar, templates)
from the message catalogues.
Numbers are rounded by Python's own formatting first, so every locale shows the same rounded value.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

import pandas as pd

from ..calendars.jalali import MONTHS as JALALI_MONTHS
from ..calendars.jalali import date_parts as jalali_date_parts
from ..calendars.periods import calendar_of, freq_of, is_period, period_year
from .core import NN_, NP_, babel_locale, language, ngettext, normalize, pgettext
from .house_formats import house_format

__all__ = [
    "MISSING", "CARD_MISSING", "missing", "localize", "number", "trimmed", "percent", "percent_text", "compact",
    "money", "format_value", "in_sentence", "signed", "sign_symbols", "datetime_label", "currency_unit",
    "plural_count", "month_name", "period_kind", "period_year", "period_label", "period_short", "date_label",
    "is_jalali", "TOMAN"
]

MISSING = "–"       # en dash: missing values in charts and tables
CARD_MISSING = "—"  # em dash: a missing value on a KPI card
MINUS = "−"         # U+2212, English charts and narrative
TOMAN = "IRT"       # the toman (10 rials): not an ISO 4217 code, but the one in common use
NBSP = "\u00a0"
_LATIN = "0123456789"
DIGITS = {"latn": _LATIN, "arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹"}
# English house style (kept from before localisation): lower-case k, these symbols, other codes as "CHF 1.2M"
EN_SCALES = {1e3: "k", 1e6: "M", 1e9: "B", 1e12: "T"}
EN_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$",
              "NZD": "NZ$", "BRL": "R$", "MXN": "MX$", "KRW": "₩"}
# How each currency is written in running text, per language, when CLDR's symbol reads badly there ("$"
# in a Persian sentence): the catalogue's "currency unit" entries (msgid = the ISO code); none = CLDR's symbol.
CURRENCY_UNITS = (NP_("currency unit", "USD"), NP_("currency unit", "EUR"), NP_("currency unit", "GBP"),
                  NP_("currency unit", "IRR"), NP_("currency unit", "IRT"), NP_("currency unit", "SAR"),
                  NP_("currency unit", "AED"), NP_("currency unit", "RUB"))
QUARTERS = (NP_("period", "Q1 {year}"), NP_("period", "Q2 {year}"), NP_("period", "Q3 {year}"),
            NP_("period", "Q4 {year}"))
QUARTERS_SHORT = (NP_("period", "Q1"), NP_("period", "Q2"), NP_("period", "Q3"), NP_("period", "Q4"))
UNITS = (NP_("unit", "days"), NP_("unit", "months"), NP_("unit", "minutes"))  # axis labels


@dataclass(frozen=True)
class _Symbols:
    english: bool        # the house English formats apply
    table: dict          # str.translate table: "," "." and digits -> the locale's
    minus: str
    plus: str
    percent_prefix: str
    percent_suffix: str
    compact: dict        # scale -> (prefix, suffix) for a compact number
    unit_first: bool     # currency unit before the number


def _unquote(text: str) -> str:
    return re.sub(r"'([^']*)'", r"\1", text)


@cache
def _symbols(locale: str) -> _Symbols:
    loc = babel_locale(locale)
    system = loc.default_numbering_system
    house = house_format(loc.language, system)
    if house is not None:  # the project's decision for fa, ar, ru (house_formats.py), whatever CLDR says
        table = str.maketrans({",": house.group, ".": house.decimal, **dict(zip(_LATIN, house.digits))})
        return _Symbols(english=False, table=table, minus=house.minus, plus=house.plus, percent_prefix="",
                        percent_suffix=house.percent_suffix,
                        compact={scale: ("", word) for scale, word in house.scales.items()},
                        unit_first=not house.currency_after)
    sym = loc.number_symbols.get(system) or loc.number_symbols["latn"]
    digits = DIGITS.get(system, _LATIN)
    table = str.maketrans({",": sym["group"], ".": sym["decimal"], **dict(zip(_LATIN, digits))})
    english = loc.language == "en"
    pattern = loc.percent_formats[None]
    pct = sym.get("percentSign", "%")
    compact: dict[float, tuple[str, str]] = {}
    short = loc.compact_decimal_formats.get("short", {}).get("other", {})
    for scale in EN_SCALES:
        p = short.get(str(int(scale)))
        if p is not None and "0" in p.pattern:
            compact[scale] = (_unquote(p.prefix[0]), _unquote(p.suffix[0]))
    if english:
        compact = {scale: ("", suffix) for scale, suffix in EN_SCALES.items()}
    cur = loc.compact_currency_formats.get("short", {}).get("other", {}).get("1000")
    unit_first = cur is not None and "¤" in cur.prefix[0]
    return _Symbols(english=english, table=table, minus=sym.get("minusSign", "-"), plus=sym.get("plusSign", "+"),
                    percent_prefix=_unquote(pattern.prefix[0]).replace("%", pct),
                    percent_suffix=_unquote(pattern.suffix[0]).replace("%", pct), compact=compact,
                    unit_first=unit_first)


def missing(x: Any) -> bool:
    """None, NA, NaT, NaN and ±inf (nothing a reader should see as a number)."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def localize(text: str, locale: Any = None) -> str:
    """A number written by Python ("1,234.5") in the locale's separators and digits ("۱٬۲۳۴٫۵")."""
    s = _symbols(normalize(locale))
    return text if s.english else text.translate(s.table)


def _sign(negative: bool, locale: str, english_minus: str) -> str:
    if not negative:
        return ""
    s = _symbols(locale)
    return english_minus if s.english else s.minus


def sign_symbols(locale: Any = None) -> tuple[str, str]:
    """(plus, minus) of the locale: ("+", "−") in English, ("\u200e+", "\u200e−") in Persian."""
    s = _symbols(normalize(locale))
    return ("+", MINUS) if s.english else (s.plus, s.minus)


def signed(text: str, negative: bool, locale: Any = None, english_minus: str = MINUS) -> str:
    """The locale's minus sign before an already formatted number (U+2212 in English)."""
    return _sign(negative, normalize(locale), english_minus) + text


def plural_count(x: float, locale: Any = None) -> int:
    """The count that picks the plural form of a unit for x: x itself when whole, else a count whose form
    is the one a language uses after a fraction (2: English "1.5 days", Russian "1,5 дня"; Arabic 100)."""
    if float(x).is_integer():
        return abs(int(x))
    return 100 if language(locale) == "ar" else 2


# ----------------------------------------------------------------------------- plain numbers

def number(x: float, decimals: int | None = None, locale: Any = None, english_minus: str = MINUS) -> str:
    """1234.5 -> "1,234" (decimals None: none from 100 up or for whole numbers, else one); the minus only
    when the rounded number is not zero."""
    loc = normalize(locale)
    if decimals is None:
        decimals = 0 if abs(x) >= 100 or float(x).is_integer() else 1
    text = f"{abs(x):,.{decimals}f}"
    return _sign(x < 0 and bool(text.strip("0.,")), loc, english_minus) + localize(text, loc)


def trimmed(x: float, decimals: int, locale: Any = None) -> str:
    """1234.5 -> "1,234.5" and whole numbers without decimals, 12.0 -> "12" (the KPI cards' numbers)."""
    loc = normalize(locale)
    text = f"{x:,.{decimals}f}"
    if decimals and float(text.replace(",", "")) == round(x):
        text = f"{round(x):,}"
    negative = text.startswith("-")
    return _sign(negative, loc, "-") + localize(text.lstrip("-"), loc)


def percent_text(text: str, locale: Any = None) -> str:
    """An already localised number with the locale's percent sign: "25.3%", "۲۵٫۳٪", "25,3 %"."""
    s = _symbols(normalize(locale))
    return f"{text}%" if s.english else f"{s.percent_prefix}{text}{s.percent_suffix}"


def percent(x: float, decimals: int | None = 1, locale: Any = None, english_minus: str = MINUS,
            trim: bool = False) -> str:
    """A fraction as a percentage: 0.253 -> "25.3%"; decimals None: one below 100%, none from there;
    trim drops a useless ".0" ("12%")."""
    loc = normalize(locale)
    pct = x * 100
    if decimals is None:
        decimals = 1 if abs(pct) < 100 else 0
    text = f"{abs(pct):,.{decimals}f}"
    if trim and decimals and text.endswith("." + "0" * decimals):
        text = text[: -decimals - 1]
    return _sign(x < 0 and bool(text.strip("0.,")), loc, english_minus) + percent_text(localize(text, loc), loc)


# ----------------------------------------------------------------------------- compact numbers and money

def _attach(text: str, scale: float | None, loc: str) -> str:
    if scale is None:
        return localize(text, loc)
    s = _symbols(loc)
    prefix, suffix = s.compact.get(scale, ("", ""))
    return prefix + localize(text, loc) + suffix


def compact(a: float, decimals: int | None = None, locale: Any = None, style: str = "chart") -> str:
    """A non-negative amount in thousands / millions / billions: 1_234_567 -> "1.2M" (chart: one decimal
    below 100 of the unit, none above), "1.23M" (card: three significant figures); "۱٫۲ میلیون", "1,2 млн"."""
    loc = normalize(locale)
    s = _symbols(loc)
    if style == "card":
        a = float(f"{a:.3g}")
        for size in (1e9, 1e6, 1e3):
            if a >= size and size in s.compact:
                v = a / size
                text = f"{v:,.2f}".rstrip("0").rstrip(".") if v < 1000 else f"{v:,.0f}"
                return _attach(text, size, loc)
        return localize(f"{a:.3g}" if a < 1000 else f"{a:,.0f}", loc)
    for scale in (1e12, 1e9, 1e6, 1e3):
        if a >= scale * 0.9995 and scale in s.compact:  # 999_950 rounds to "1M", not "1000k"
            v, unit = a / scale, scale
            break
    else:
        v, unit = a, None
    if decimals is None:
        text = f"{v:,.{1 if v < 100 else 0}f}" if unit else f"{v:,.{2 if v < 10 else 0}f}"
        if "." in text:  # drop a trailing ".0" so round numbers stay short ("$1M")
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{v:,.{decimals}f}"
    return _attach(text, unit, loc)


def currency_unit(code: str, locale: Any = None) -> str:
    """How a currency is named next to an amount: "$" (en), "دلار" / "تومان" (fa), "₽" (ru)."""
    loc = normalize(locale)
    code = (code or "").upper()
    if _symbols(loc).english:
        return EN_SYMBOLS.get(code, code)
    word = pgettext("currency unit", code, loc)
    if word != code:
        return word
    from babel.numbers import get_currency_symbol
    return get_currency_symbol(code, locale=babel_locale(loc))


def _with_unit(body: str, currency: str, loc: str) -> str:
    if not currency:
        return body
    code = currency.upper()
    s = _symbols(loc)
    if s.english:
        if code == TOMAN:
            return f"{body} toman"
        symbol = EN_SYMBOLS.get(code)
        return f"{symbol}{body}" if symbol else f"{code} {body}"
    unit = currency_unit(code, loc)
    # a plain space: a long amount in words ("۱٫۰۲ میلیون دلار") may wrap before its currency, not inside a word
    return f"{unit} {body}" if s.unit_first else f"{body} {unit}"


def money(x: Any, currency: str = "USD", decimals: int | None = None, locale: Any = None,
          style: str = "chart") -> str:
    """Short money text: "$1.2M" (chart), "$1.23M" (card), "−$45k"; "۱٫۲ میلیون دلار"; missing "–" ("—" on
    a card). Sign first, then the amount with its currency where the locale puts it."""
    if missing(x):
        return CARD_MISSING if style == "card" else MISSING
    loc = normalize(locale)
    x = float(x)
    body = compact(abs(x), decimals, loc, style)
    if style == "card":
        negative = x < 0
        english_minus = "-"
    else:
        negative = x < 0 and bool(re.search(r"[1-9١-٩۱-۹]", body))  # no "−$0"
        english_minus = MINUS
    text = _with_unit(body, currency, loc)
    return _sign(negative, loc, english_minus) + text


# ----------------------------------------------------------------------------- a value in its unit

_CARD_DURATIONS = {
    "days": NN_("{n} day", "{n} days"), "months": NN_("{n} month", "{n} months"),
    "minutes": NN_("{n} minute", "{n} minutes"), "hours": NN_("{n} hour", "{n} hours"),
    "weeks": NN_("{n} week", "{n} weeks"),
}


def _duration(text: str, x: float, unit: str, loc: str) -> str:
    singular, plural = _CARD_DURATIONS[unit]
    count = 1 if re.fullmatch(r"[-−\u200e]*1", text.translate(str.maketrans(DIGITS["arabext"] + DIGITS["arab"],
                                                                          _LATIN * 2))) else plural_count(x, loc)
    return ngettext(singular, plural, count, loc, n=text)


def in_sentence(name: str) -> str:
    """A name as it reads inside a sentence: "Win rate" -> "win rate"; acronyms stay ("MRR", "CAC payback").
    Scripts without case (Persian, Arabic) are unchanged."""
    return name if len(name) > 1 and name[1].isupper() else name[:1].lower() + name[1:]


def format_value(x: Any, unit: str | None = None, currency: str = "USD", decimals: int | None = None,
                 locale: Any = None, style: str = "chart") -> str:
    """One KPI value in its unit (the KPI registry's units) for a locale: the one value formatter (charts,
    tables, the narrative and the KPI cards; also `kpitools.viz.format_value` and
    `kpitools.report.format_value`).

    style "chart" (charts, tables, narrative): money "$1.2M", count "1,234" (compact from a million),
    ratio "12.3%", days "4.5 days", minutes "42 min", NaN "–".
    style "card" (KPI cards): money "$1.23M" (three significant figures), ratio "25.3%", count "1,234",
    days "12.5 days", minutes "30 minutes", NaN "—"; text that is not a number is shown as it is."""
    if style == "card":
        return _card_value(x, unit, currency, locale)
    if missing(x):
        return MISSING
    loc = normalize(locale)
    x = float(x)
    unit = (unit or "").lower()
    if unit == "money":
        return money(x, currency, decimals, loc)
    if unit == "money_per_day":
        return pgettext("rate", "{amount}/day", loc, amount=money(x, currency, decimals, loc))
    if unit in ("ratio", "percent"):
        return percent(x, 1 if decimals is None and abs(x * 100) < 100 else decimals, loc)
    if unit == "count":
        if abs(x) >= 1e6:
            return _sign(x < 0, loc, MINUS) + compact(abs(x), decimals, loc)
        return number(x, decimals, loc)
    if unit in ("days", "months"):
        text = number(x, 1 if decimals is None and abs(x) < 10 and not x.is_integer() else decimals, loc)
        return _duration(text, x, unit, loc)
    if unit == "minutes":
        return pgettext("unit", "{n} min", loc, n=number(x, decimals, loc))
    return number(x, decimals, loc)


def _card_value(x: Any, unit: str | None, currency: str, locale: Any) -> str:
    if missing(x):
        try:
            float(x)
        except (TypeError, ValueError):
            if x is not None and x is not pd.NA and x is not pd.NaT:
                return str(x)
        return CARD_MISSING
    loc = normalize(locale)
    x = float(x)
    unit = (unit or "").lower()
    if unit in ("money", "money_per_day"):
        text = money(x, currency, locale=loc, style="card")
        return pgettext("rate", "{amount}/day", loc, amount=text) if unit == "money_per_day" else text
    if unit == "ratio":
        text = f"{x * 100:,.1f}"
        return _sign(text.startswith("-"), loc, "-") + percent_text(localize(text.lstrip("-"), loc), loc)
    if unit in ("count", "score"):
        return trimmed(x, 1, loc)
    if unit in _CARD_DURATIONS:
        return _duration(trimmed(x, 1, loc), x, unit, loc)
    return trimmed(x, 2, loc)


# ----------------------------------------------------------------------------- periods and dates

def is_jalali(p: Any) -> bool:
    """A Jalali period."""
    return is_period(p) and calendar_of(p) == "jalali"


def period_kind(p: Any) -> str:
    """"M", "Q", "Y", "W" or "D" for a period of either calendar."""
    return freq_of(p)


def month_name(month: int, locale: Any = None, calendar: str = "gregorian",
               width: Literal["abbreviated", "narrow", "wide"] = "wide",
               context: Literal["format", "stand-alone"] = "stand-alone") -> str:
    """"October" / "октябрь" (stand-alone) / "октября" (context "format", in a date) / "Mehr" / "مهر"."""
    loc = normalize(locale)
    if calendar == "jalali":
        return pgettext("Jalali month", JALALI_MONTHS[month - 1], loc)
    blocale = babel_locale(loc)
    house = house_format(blocale.language, blocale.default_numbering_system)
    if house is not None:
        names = (house.months_short if width == "abbreviated" else
                 house.months_in_date if context == "format" else house.months)
        return names[month - 1]
    from babel.dates import get_month_names
    return get_month_names(width, context, blocale)[month]


def _year(year: int, loc: str) -> str:
    return localize(str(year), loc)


def period_label(p: Any, locale: Any = None, short: bool = False) -> str:
    """"October 2026" (short: "October"), "Q3 2026" ("Q3"), "2026", "week 10 of 2026", "5 October 2026";
    in the locale ("مهر ۱۴۰۵" for a Jalali month in Persian); str(p) for anything else."""
    loc = normalize(locale)
    kind = period_kind(p)
    jalali = is_jalali(p)
    if not jalali and not isinstance(p, pd.Period):
        return str(p)
    if _symbols(loc).english and not jalali:  # the house English labels
        if kind == "M":
            return p.strftime("%B") if short else p.strftime("%B %Y")
        if kind == "Q":
            return f"Q{p.quarter}" if short else f"Q{p.quarter} {p.qyear}"
        if kind == "Y":
            return str(p.year)
        if kind == "W":
            iso = p.start_time.isocalendar()
            return f"week {iso.week} of {iso.year}"
        return f"{p.start_time.day} {p.start_time.strftime('%B %Y')}"
    calendar = "jalali" if jalali else "gregorian"
    year = period_year(p)
    if kind == "M":
        name = month_name(p.month, loc, calendar)
        return name if short else pgettext("period", "{month} {year}", loc, month=name, year=_year(year, loc))
    if kind == "Q":
        if short:
            return pgettext("period", QUARTERS_SHORT[p.quarter - 1], loc)
        return pgettext("period", QUARTERS[p.quarter - 1], loc, year=_year(year, loc))
    if kind == "Y":
        return _year(year, loc)
    if kind == "W":
        iso = p.start_time.isocalendar()
        return pgettext("period", "week {week} of {year}", loc, week=localize(str(iso.week), loc),
                        year=_year(iso.year, loc))
    return date_label(p.start_time, loc, calendar)


def period_short(p: Any, locale: Any = None) -> str:
    """A chart label: "Sep 2026", "Q3 2026", "2026", "7 Sep 2026"; "сент. 2026 г.", "شهریور ۱۴۰۵"."""
    loc = normalize(locale)
    jalali = is_jalali(p)
    if isinstance(p, pd.Timestamp):
        return f"{p.day} {p:%b %Y}" if _symbols(loc).english else date_label(p, loc)
    if not jalali and not isinstance(p, pd.Period):
        return str(p)
    kind = period_kind(p)
    if _symbols(loc).english and not jalali:
        if kind == "M":
            return p.strftime("%b %Y")
        if kind == "Q":
            return f"Q{p.quarter} {p.qyear}"
        if kind == "Y":
            return str(p.qyear)
        d = p.start_time
        return f"{'week of ' if kind == 'W' else ''}{d.day} {d:%b %Y}"
    if kind == "M":
        calendar = "jalali" if jalali else "gregorian"
        name = month_name(p.month, loc, calendar, width="wide" if jalali else "abbreviated")
        return pgettext("period", "{month} {year}", loc, month=name, year=_year(period_year(p), loc))
    if kind in ("Q", "Y"):
        return period_label(p, loc)
    text = date_label(p.start_time, loc, "jalali" if jalali else "gregorian")
    return pgettext("period", "week of {date}", loc, date=text) if kind == "W" else text


def date_label(d: Any, locale: Any = None, calendar: str = "gregorian") -> str:
    """"31 October 2026"; "۹ آبان ۱۴۰۵" (Jalali, Persian); "31 октября 2026 г."."""
    loc = normalize(locale)
    if d is None or d is pd.NaT:
        return MISSING
    d = pd.Timestamp(d)
    if calendar == "jalali":
        year, month, day = jalali_date_parts(d)
        return pgettext("date", "{day} {month} {year}", loc, day=localize(str(day), loc),
                        month=month_name(month, loc, "jalali"), year=_year(year, loc))
    if _symbols(loc).english:
        return d.strftime("%d %B %Y").lstrip("0")
    return pgettext("date", "{day} {month} {year}", loc, day=localize(str(d.day), loc),
                    month=month_name(d.month, loc, context="format"), year=_year(d.year, loc))


def datetime_label(t: datetime | date, locale: Any = None, calendar: str = "gregorian") -> str:
    """"2026-11-22 06:30 UTC" in English (as before); elsewhere the date in words and the time in the
    locale's digits: "۱ آذر ۱۴۰۵، ۰۶:۳۰ UTC"."""
    loc = normalize(locale)
    if not isinstance(t, datetime):
        return t.isoformat() if _symbols(loc).english and calendar == "gregorian" else date_label(t, loc, calendar)
    zone = f" {t.tzname()}" if t.tzinfo else ""
    if _symbols(loc).english and calendar == "gregorian":
        return f"{t:%Y-%m-%d %H:%M}{zone}"
    return pgettext("date", "{date}, {time}", loc, date=date_label(t.replace(tzinfo=None), loc, calendar),
                    time=localize(f"{t:%H:%M}", loc)) + zone
