"""Charts in Persian, Arabic and Russian: the words, digits and periods of the locale, Arabic script shaped
(joined letters) and ordered right to left by matplotlib's text layout, and every glyph in the font."""
from __future__ import annotations

import warnings

import matplotlib.ft2font as ft
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.text import Text

from kpitools import viz
from kpitools.calendars.periods import parse_period
from kpitools.viz.charts import RLM

SEEN_INITIAL = 0xFEB3  # ARABIC LETTER SEEN INITIAL FORM: "س" at the start of a joined word


def _texts(fig) -> list[str]:
    fig.canvas.draw()  # tick labels are made at draw time
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _png_warnings(fig) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        viz.figure_to_png(fig)
    return [str(w.message) for w in caught]


def _jalali_revenue() -> pd.Series:
    start = parse_period("1404-01", calendar="jalali")
    periods = [start + i for i in range(19)]
    values = 1_000_000 + 40_000 * np.arange(19)
    return pd.Series(values, index=pd.Index(pd.array(periods)), name="revenue")


def test_a_persian_chart_is_shaped_ordered_and_has_every_glyph() -> None:
    fig = viz.kpi_trend(pd.DataFrame({"period": pd.period_range("2025-01", periods=12, freq="M"), "kpi": "revenue",
                                      "value": np.linspace(1e6, 2e6, 12)}), title="سلام", locale="fa")
    title = next(t for t in fig.findobj(Text) if t.get_text().endswith("سلام"))
    assert title.get_text() == RLM + "سلام"  # a right-to-left paragraph whatever comes first
    font = ft.FT2Font(font_manager.findfont(title.get_fontproperties()))
    items = font._layout(title.get_text(), ft.LoadFlags.NO_HINTING)
    glyphs = [(it.char, it.glyph_index) for it in items if it.char.strip() and it.char != RLM]
    assert [c for c, _ in glyphs] == ["م", "لا", "س"]  # visual order (read from the right); lam-alef ligature
    assert glyphs[-1][1] == font.get_char_index(SEEN_INITIAL)  # joined to the next letter: its initial form
    assert _png_warnings(fig) == []  # no "Glyph ... missing from font(s)"


def test_every_text_of_a_right_to_left_chart_starts_right_to_left() -> None:
    stages = pd.DataFrame({"stage": ["visitor", "lead", "mql", "sql", "opportunity", "won"],
                           "count": [40_000, 1_500, 700, 350, 210, 40]})
    fig = viz.funnel(stages, locale="fa")
    texts = _texts(fig)
    assert all(t.startswith(RLM) for t in texts), [t for t in texts if not t.startswith(RLM)]
    assert RLM + "بازدیدکننده" in texts and RLM + "معاملهٔ موفق" in texts  # canonical stages translated
    assert RLM + "۱٬۵۰۰" in texts  # Persian digits and group separator
    assert fig.alt_text.startswith("قیف فروش: ") and RLM not in fig.alt_text
    assert not any(t.startswith(RLM) for t in _texts(viz.funnel(stages)))  # English charts untouched
    assert _png_warnings(fig) == []


def test_a_jalali_trend_is_labelled_by_jalali_months() -> None:
    fig = viz.kpi_trend(_jalali_revenue(), title="Revenue", unit="money", currency="IRT", locale="fa")
    ticks = [t.get_text().lstrip(RLM) for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "فروردین ۱۴۰۴" and "فروردین ۱۴۰۵" in ticks  # the year where it changes
    assert any(t in ("تیر", "مهر", "دی") for t in ticks)  # month names alone inside a year
    labels = [t.get_text().lstrip(RLM) for t in fig.axes[0].get_yticklabels()]
    assert any(lab.endswith("میلیون تومان") for lab in labels)
    assert fig.alt_text.startswith("درآمد ماهانه، از فروردین ۱۴۰۴ تا مهر ۱۴۰۵: آخرین مقدار (مهر ۱۴۰۵)")
    assert _png_warnings(fig) == []


def test_russian_and_arabic_charts() -> None:
    df = pd.DataFrame({"product": ["Core", "Seats"], "revenue": [3_620_000.0, 874_000.0], "quantity": [68.0, 1030.0]})
    ru = viz.product_revenue_volume(df, currency="RUB", locale="ru")
    texts = _texts(ru)
    assert "Выручка и продажи в штуках по продуктам" in texts and "3,6\u00a0млн ₽" in texts
    assert "1\u00a0030" in texts
    ar = viz.product_revenue_volume(df, currency="SAR", locale="ar_SA")
    assert RLM + "٣٫٦\u00a0مليون ريال" in _texts(ar) and RLM + "١٬٠٣٠" in _texts(ar)
    assert _png_warnings(ru) == [] and _png_warnings(ar) == []
