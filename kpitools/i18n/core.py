"""Locales and message catalogues: which locale is active, and gettext lookups in it.

Texts are translated with gettext catalogues (kpitools/i18n/locales/<lang>/LC_MESSAGES/kpitools.po, read
with Babel and compiled in memory on first use, so there is no compiled .mo file to fall out of step with
its .po). English is the source language: English text is the msgid itself.
"""
from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

from ..messages import N_, NN_, NP_

__all__ = ["DEFAULT", "LANGUAGES", "LOCALE_DIR", "DOMAIN", "normalize", "activate", "current", "using", "localised",
           "language", "is_rtl", "direction", "html_lang", "babel_locale", "translations",
           "gettext", "ngettext", "pgettext", "npgettext", "N_", "NP_", "NN_"]

DEFAULT = "en"
LANGUAGES = ("en", "fa", "ar", "ru")  # languages with a message catalogue (English is the source text)
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "kpitools"

# The process's locale, set by activate() in a report notebook (one report per kernel: a module-level value
# lasts from cell to cell), and a per-thread / per-task override for `with using(...)` and the `locale=`
# argument of the chart, card and section functions (threads rendering different locales do not mix).
_active = DEFAULT
_override: ContextVar[str | None] = ContextVar("kpitools_locale", default=None)


def normalize(locale: Any = None) -> str:
    """"fa", "fa-IR", "fa_IR" -> Babel's name ("fa", "fa_IR"); None -> the active locale; "" -> English.

    Raises ValueError for a locale Babel does not know, naming the ones with translations."""
    if locale is None:
        return current()
    text = str(locale).strip().replace("-", "_")
    if not text:
        return DEFAULT
    try:
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"unknown locale {locale!r}: use a language code such as "
                         f"{', '.join(LANGUAGES)} (or with a country: ar_SA, fa_IR)") from None


def activate(locale: Any) -> str:
    """Make `locale` the default of every kpitools text and number format in this process; returns it."""
    global _active
    _active = normalize(locale if locale is not None else DEFAULT)
    return _active


def current() -> str:
    """The active locale: the innermost `using()` block's, else activate()'s, else "en"."""
    return _override.get() or _active


@contextmanager
def using(locale: Any) -> Iterator[str]:
    """with using("fa"): ... — the locale active inside the block only (this thread / task only)."""
    active = normalize(locale)
    token = _override.set(active)
    try:
        yield active
    finally:
        _override.reset(token)


def localised(fn: Any) -> Any:
    """Gives a function a keyword `locale`: when given, the function runs in that locale (`using`)."""

    @functools.wraps(fn)
    def run(*args: Any, locale: Any = None, **kwargs: Any) -> Any:
        if locale is None:
            return fn(*args, **kwargs)
        with using(locale):
            return fn(*args, **kwargs)

    return run


@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


def language(locale: Any = None) -> str:
    """"fa_IR" -> "fa"."""
    return babel_locale(normalize(locale)).language


def is_rtl(locale: Any = None) -> bool:
    """True for right-to-left scripts (Persian, Arabic, Hebrew, Urdu...), from CLDR."""
    return babel_locale(normalize(locale)).text_direction == "rtl"


def direction(locale: Any = None) -> str:
    """"rtl" or "ltr", for the HTML dir attribute."""
    return "rtl" if is_rtl(locale) else "ltr"


def html_lang(locale: Any = None) -> str:
    """The BCP 47 tag for <html lang>: "fa", "ar-SA"."""
    return normalize(locale).replace("_", "-")


@cache
def translations(lang: str) -> NullTranslations:
    """The catalogue of a language, compiled from its .po in memory (cached per process); English and
    languages without a catalogue get the source text back."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == DEFAULT or not po.is_file():
        return NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


_NATIVE_DIGITS = {"arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹"}


@cache
def _digits(locale: str) -> dict | None:
    """A str.translate table from Latin digits to the locale's own (CLDR's default numbering system:
    Persian ۰-۹ for fa, Arabic-Indic ٠-٩ for ar_SA), or None where Latin digits are the locale's."""
    system = babel_locale(locale).default_numbering_system
    return str.maketrans("0123456789", _NATIVE_DIGITS[system]) if system in _NATIVE_DIGITS else None


def _fmt(text: str, values: dict[str, Any], locale: Any) -> str:
    """The translated template with the locale's digits (one Arabic catalogue serves ar with Latin digits
    and ar_SA with Arabic-Indic ones), then its placeholders filled (values are shown as given)."""
    table = _digits(normalize(locale))
    if table is not None:
        text = text.translate(table)
    return text.format(**values) if values else text


def gettext(message: str, locale: Any = None, /, **values: Any) -> str:
    """The translation of `message`, its {placeholders} filled from `values`."""
    return _fmt(translations(language(locale)).gettext(message), values, locale)


def ngettext(singular: str, plural: str, count: int, locale: Any = None, /, **values: Any) -> str:
    """The plural form for `count` (Russian has three, Arabic six); {n} (default: count) and `values`
    filled in."""
    values.setdefault("n", count)
    return _fmt(translations(language(locale)).ngettext(singular, plural, count), values, locale)


def pgettext(context: str, message: str, locale: Any = None, /, **values: Any) -> str:
    """gettext with a context, for words that translate differently by use ("Jalali month": "Dey")."""
    text = translations(language(locale)).pgettext(context, message)
    return _fmt(text, values, locale)  # type: ignore[arg-type]  # Babel types pgettext() `str | object`; it gives str


def npgettext(context: str, singular: str, plural: str, count: int, locale: Any = None, /,
              **values: Any) -> str:
    values.setdefault("n", count)
    return _fmt(translations(language(locale)).npgettext(context, singular, plural, count), values, locale)


