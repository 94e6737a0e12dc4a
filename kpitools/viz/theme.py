"""The house style: fonts, sizes, colours and number formats shared by every chart.

Charts are read in HTML reports on a laptop, on a phone and in print, so the
defaults favour a small figure (7.5 x 3.6 in at 110 dpi) with large text.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from typing import Any

import matplotlib as mpl
import seaborn as sns
from matplotlib.ticker import Formatter

from .. import i18n
from ..i18n import format_value

__all__ = [
    "FIGSIZE", "DPI", "HOUSE_COLORS", "REGION_COLORS", "STATUS_COLORS", "PALETTE",
    "use_house_style", "region_color", "group_colors", "status_color", "format_money", "ValueFormatter",
]

FIGSIZE = (7.5, 3.6)  # inches; 825 x 396 px at DPI, legible at phone width
DPI = 110
MISSING = i18n.MISSING  # en dash for NaN / missing values

# Colour-blind-safe categorical palette (seaborn "colorblind", i.e. Okabe-Ito-like).
PALETTE: list[str] = sns.color_palette("colorblind").as_hex()

HOUSE_COLORS: dict[str, str] = {
    "actual": "#1F4E79",  # dark blue: the series that matters
    "target": "#555555",  # dark grey, drawn dashed
    "forecast": "#0173B2",  # lighter blue, drawn dashed with a fan
    "previous": "#9DB3CC",  # pale blue: comparison bars
    "last_year": "#D0D0D0",  # light grey: comparison bars
    "positive": "#029E73",  # increases (waterfall)
    "negative": "#CC3311",  # decreases (waterfall)
    "neutral": "#6F7B87",  # totals, "Other"
    "text": "#222222",
    "muted": "#666666",
    "grid": "#E6E6E6",
}

REGION_COLORS: dict[str, str] = {
    "EMEA": PALETTE[0],  # blue
    "North America": PALETTE[1],  # orange
    "APAC": PALETTE[2],  # green
    "LATAM": PALETTE[4],  # purple (red/vermillion is kept for "bad")
}

STATUS_COLORS: dict[str, str] = {
    "on track": "#029E73",  # green
    "at risk": "#E69F00",  # amber
    "off track": "#CC3311",  # red
}

# Any other name hashes into these: the palette without grey (kept for "Other"), tan (too close to
# orange) and light pink (too pale for a line on white).
_HASH_PALETTE = [c for i, c in enumerate(PALETTE) if i not in (5, 6, 7)]
_REGION_KEYS = {k.casefold(): v for k, v in REGION_COLORS.items()}


def region_color(name: Any) -> str:
    """A stable colour for a region (or any group) name: the house colour for known regions,
    otherwise a colour from the colour-blind palette chosen by a hash of the name
    (crc32, not hash(), so it is the same in every process)."""
    key = str(name).strip()
    if key.casefold() in _REGION_KEYS:
        return _REGION_KEYS[key.casefold()]
    if key == "Other":
        return HOUSE_COLORS["neutral"]
    return _HASH_PALETTE[zlib.crc32(key.encode("utf-8")) % len(_HASH_PALETTE)]


def group_colors(names: Iterable[Any]) -> dict[Any, str]:
    """Colours for the groups of one chart: known regions keep theirs, every other name gets its
    region_color() unless another group of the chart already has it, then the next free palette
    colour (deterministic for a given set of names; distinct while the palette lasts)."""
    names = list(dict.fromkeys(names))
    out = {n: region_color(n) for n in names if str(n).strip().casefold() in _REGION_KEYS or str(n).strip() == "Other"}
    used = set(out.values())
    for n in sorted((n for n in names if n not in out), key=str):
        c = region_color(n)
        if c in used:
            free = [p for p in _HASH_PALETTE if p not in used]
            c = free[(_HASH_PALETTE.index(c)) % len(free)] if free else c
        out[n] = c
        used.add(c)
    return {n: out[n] for n in names}


def status_color(status: Any) -> str:
    """STATUS_COLORS for "on track" / "at risk" / "off track", the house colour otherwise."""
    if status is None or (isinstance(status, float) and math.isnan(status)):
        return HOUSE_COLORS["actual"]
    return STATUS_COLORS.get(str(status).strip().lower(), HOUSE_COLORS["actual"])


def use_house_style() -> None:
    """Apply the house style to matplotlib/seaborn (global rcParams; safe to call repeatedly).

    Chart functions call it themselves; analysts call it once in a notebook to get the
    same look on their own plots."""
    sns.set_theme(style="whitegrid", palette="colorblind")
    mpl.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: same on every machine
        "font.size": 11,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.titlepad": 10,
        "axes.labelsize": 11,
        "axes.labelcolor": HOUSE_COLORS["muted"],
        "axes.edgecolor": "#BBBBBB",
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "axes.axisbelow": True,
        "grid.color": HOUSE_COLORS["grid"],
        "grid.linewidth": 0.8,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "xtick.color": HOUSE_COLORS["text"],
        "ytick.color": HOUSE_COLORS["text"],
        "xtick.bottom": True,
        "ytick.left": False,
        "legend.fontsize": 10,
        "legend.frameon": False,
        "text.color": HOUSE_COLORS["text"],
        "figure.figsize": FIGSIZE,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
        "lines.linewidth": 2.0,
    })


# ----------------------------------------------------------------------------- number formats
# One place for number formats: kpitools.i18n (these names are kept for the charts and for analysts).

def format_money(x: Any, currency: str = "USD", decimals: int | None = None, locale: str | None = None) -> str:
    """Short money text: 1_234_567 -> "$1.2M", 950_000 (EUR) -> "€950k", NaN -> "–"; in the active locale
    ("۱٫۲ میلیون دلار" in Persian).

    decimals=None picks one decimal below 100 of the unit (k, M, B) and none above."""
    return i18n.money(x, currency, decimals, locale)


class ValueFormatter(Formatter):
    """Axis tick labels in a KPI unit, with as many decimals as needed to keep labels distinct
    (0.5M steps need one, 20k steps around 1M need two). Durations and scores show bare numbers
    (the unit goes in the axis label) so every tick on an axis reads the same way."""

    def __init__(self, unit: str | None = None, currency: str = "USD", locale: str | None = None):
        self.unit = (unit or "").lower()
        self.currency = currency
        self.locale = i18n.normalize(locale)
        self._decimals: int | None = None

    def _fmt(self, x: float, decimals: int | None) -> str:
        if self.unit in ("money", "money_per_day"):
            return format_money(x, self.currency, decimals, self.locale)
        if self.unit in ("ratio", "percent"):
            return format_value(x, "ratio", decimals=decimals, locale=self.locale)
        if self.unit == "count":
            return format_value(x, "count", decimals=decimals, locale=self.locale)
        return i18n.number(x, decimals, self.locale)

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        tries = (0, 1, 2, 3) if self.unit in ("ratio", "percent") else (None, 0, 1, 2, 3)
        for self._decimals in tries:
            labels = [self._fmt(v, self._decimals) for v in locs]
            if len(set(labels)) == len(labels):
                break

    def __call__(self, x: float, pos: int | None = None) -> str:
        text = self._fmt(x, self._decimals)
        # a right-to-left mark first: "‎−۴۵ هزار دلار" starts with CLDR's left-to-right mark
        return "\u200f" + text if i18n.is_rtl(self.locale) else text
