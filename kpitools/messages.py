"""Markers for texts a translator sees, usable by every layer (the calendar's month names as much as
the report's words): a marked text is collected into the catalogue (babel.cfg) where it is defined and
translated by kpitools.i18n where it is shown.

    MONTHS = (NP_("Jalali month", "Farvardin"), ...)     # collected with its context
    i18n.pgettext("Jalali month", MONTHS[0])               # translated when shown
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Marks a string for the catalogue where it is defined; translated later, where it is shown."""
    return message


def NP_(context: str, message: str) -> str:
    """N_ with a context."""
    return message


def NN_(singular: str, plural: str) -> tuple[str, str]:
    """N_ for a message with plural forms (translated later with ngettext)."""
    return singular, plural
