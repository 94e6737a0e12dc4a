"""Locales: translated texts (gettext catalogues) and localised numbers, money, dates and periods (Babel).

    from kpitools import i18n
    i18n.activate("fa")                            # every report text and number in Persian from here on
    i18n.format_value(1_234_567, "money", "IRT")          # '۱٫۲ میلیون تومان'
    i18n.gettext("Revenue")                        # 'درآمد'
    i18n.kpi_name("win_rate", "ru")                # 'Доля выигранных сделок'
    i18n.is_rtl("ar")                              # True: reports are laid out right to left

Languages with a catalogue: English (the source), Persian (fa), Arabic (ar) and Russian (ru); numbers and
dates follow any CLDR locale ("ar_SA": Arabic-Indic digits). See README "Languages" for adding one.
"""
from __future__ import annotations

import re
from typing import Any

from .core import (
    DEFAULT,
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    NN_,
    NP_,
    activate,
    babel_locale,
    current,
    direction,
    gettext,
    html_lang,
    is_rtl,
    language,
    localised,
    ngettext,
    normalize,
    npgettext,
    pgettext,
    translations,
    using,
)
from .formatting import (
    CARD_MISSING,
    MISSING,
    TOMAN,
    compact,
    currency_unit,
    date_label,
    datetime_label,
    format_value,
    in_sentence,
    is_jalali,
    localize,
    missing,
    money,
    month_name,
    number,
    percent,
    percent_text,
    period_kind,
    period_label,
    period_short,
    period_year,
    plural_count,
    signed,
    trimmed,
)

__all__ = [
    "DEFAULT", "DOMAIN", "LANGUAGES", "LOCALE_DIR", "N_", "NN_", "NP_", "activate", "babel_locale", "current",
    "direction", "gettext", "html_lang", "is_rtl", "language", "localised", "ngettext", "normalize", "npgettext",
    "pgettext", "translations", "using", "CARD_MISSING", "MISSING", "TOMAN", "compact", "currency_unit",
    "date_label", "datetime_label", "is_jalali", "localize", "missing", "money", "month_name", "number",
    "percent", "percent_text", "period_kind", "period_label", "period_short", "period_year", "plural_count",
    "signed", "trimmed", "format_value", "in_sentence", "kpi_name", "benchmark_text", "status_text", "join",
    "value_label", "isolate"
]

STATUSES = (N_("on track"), N_("at risk"), N_("off track"), N_("not rated"))
# Canonical values of the data model (data-model.md) that reports show: translated with the column as context;
# any other value (a region, a product, a rep) is data and shown as it is.
CANONICAL_VALUES = (
    NP_("channel", "cold_call"), NP_("channel", "cold_email"), NP_("channel", "meeting"),
    NP_("channel", "inbound"), NP_("channel", "referral"), NP_("channel", "web"), NP_("channel", "partner"),
    NP_("channel", "event"), NP_("channel", "outbound"),
    NP_("stage", "visitor"), NP_("stage", "lead"), NP_("stage", "mql"), NP_("stage", "sql"),
    NP_("stage", "opportunity"), NP_("stage", "won"),
    NP_("movement", "new"), NP_("movement", "expansion"), NP_("movement", "reactivation"),
    NP_("movement", "contraction"), NP_("movement", "churn"), NP_("movement", "unexplained"),
    NP_("movement", "start"), NP_("movement", "end"),
)


def isolate(text: Any, locale: Any = None) -> str:
    """Text from the data (a name, a model, a Latin word) inside a right-to-left sentence, isolated from it
    (FSI ... PDI) so that its punctuation stays with it: "(ETS(A,N,A))", "North America (+$60k)";
    left-to-right locales get the text unchanged."""
    return f"\u2068{text}\u2069" if is_rtl(locale) else str(text)


def value_label(column: str, value: Any, locale: Any = None) -> str:
    """A value from the data as a label: a canonical id the catalogue knows in its column's context
    ("cold_email" -> "Cold email", "ایمیل سرد"); other ids with spaces and a capital; names as they are."""
    text = str(value)
    if re.fullmatch(r"[a-z0-9_]+", text):
        word = pgettext(column, text, locale)
        if word != text:
            return word
        return text.replace("_", " ").capitalize()
    return text


def kpi_name(kpi: Any, locale: Any = None, name: str | None = None) -> str:
    """A KPI's display name in the locale: from the registry (id "win_rate" or a KPI), or `name` if given
    (a report's own short card title such as "Deals created", translated the same way)."""
    from ..kpis.registry import REGISTRY

    if name is None:
        k = REGISTRY.get(kpi) if isinstance(kpi, str) else kpi
        name = k.name if k is not None else str(kpi).replace("_", " ").capitalize()
    return pgettext("KPI", name, locale)


def benchmark_text(text: Any, locale: Any = None) -> str:
    """A benchmark rule ("≥ 30% (40–50% ideal)") in the locale's words and digits."""
    return pgettext("benchmark", str(text), locale)


def status_text(status: Any, locale: Any = None) -> str:
    """"on track" / "at risk" / "off track" / "not rated" in the locale; other text as it is."""
    text = str(status)
    return gettext(text.lower(), locale) if text.lower() in STATUSES else text


def join(items: list[str], locale: Any = None) -> str:
    """"a, b and c" in the locale ("a، b و c"; "a, b и c")."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    sep = gettext(", ", locale)
    return gettext("{items} and {last}", locale, items=sep.join(items[:-1]), last=items[-1])
