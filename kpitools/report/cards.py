"""HTML building blocks for report notebooks: KPI cards, a summary box, data notes, the report header.

    from kpitools.report import kpi_cards, summary_box, note
    kpi_cards(kpitools.compare(ds, ["revenue", "win_rate"]))   # displays as cards in JupyterLab and in the report
    summary_box("Revenue grew 12% on last month, ahead of target.")
    note("Deals closed on the last day of the month are counted in that month.")

Every data string is escaped with html.escape. The CSS is templates/kpitools/static/cards.css, shared with
the house report template; each block carries it in a <style data-kpitools> element, which the report
renderer drops (its page already has it), so a block looks the same in JupyterLab and in the report.
"""
from __future__ import annotations

import math
import re
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from .. import i18n
from ..i18n import N_, format_value
from ..i18n import gettext as _

__all__ = ["HtmlBlock", "HEADER_MIME", "format_value", "kpi_cards", "note", "report_header", "summary_box"]

CSS_PATH = Path(__file__).parent / "templates" / "kpitools" / "static" / "cards.css"
HEADER_MIME = "application/vnd.kpitools.report-header+json"
STATUS_CLASSES = {"on track": "on-track", "at risk": "at-risk", "off track": "off-track"}
CURRENCY_SYMBOLS = i18n.formatting.EN_SYMBOLS
# compare() columns that are not group labels
_KNOWN = {"period", "kpi", "name", "unit", "direction", "value", "previous", "change", "change_pct", "good",
          "last_year", "yoy_change", "yoy_pct", "target", "benchmark", "status"}


class HtmlBlock:
    """An HTML fragment that displays in Jupyter (``_repr_html_``) and in Jinja/markupsafe (``__html__``)."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __html__(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"HtmlBlock({self.html[:60]!r}...)"


@cache
def _style() -> str:
    return f"<style data-kpitools>\n{CSS_PATH.read_text(encoding='utf-8')}</style>\n"


def _missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x)) or (isinstance(x, float) and math.isinf(x))
    except (TypeError, ValueError):
        return False


def _delta(change: Any, pct: Any, unit: str, good: Any, when: str, currency: str) -> str:
    """'▲ 12.3% vs previous period', coloured by good; ratios change in percentage points.
    when: "previous" or "last_year"."""
    if _missing(change):
        text = _("No data for previous period") if when == "previous" else _("No data for last year")
        return f'<div class="kpi-delta flat">{escape(text)}</div>'
    change = float(change)
    arrow = "▲" if change > 0 else "▼" if change < 0 else "→"
    if unit == "ratio":
        amount = i18n.pgettext("unit", "{n} pp", n=i18n.localize(f"{abs(change) * 100:.1f}"))
    elif not _missing(pct):
        amount = i18n.percent_text(i18n.localize(f"{abs(float(pct)) * 100:,.1f}"))
    else:  # previous value was 0: show the absolute change
        amount = format_value(abs(change), unit, currency, style="card")
    tone = "flat" if change == 0 or _missing(good) else ("good" if bool(good) else "bad")
    template = _("{change} vs previous period") if when == "previous" else _("{change} vs last year")
    bold = f"<b>{arrow} {escape(amount)}</b>"
    return f'<div class="kpi-delta {tone}">{escape(template).format(change=bold)}</div>'


def _card(row: dict[str, Any], groups: list[str], currency: str) -> str:
    unit = "" if _missing(row.get("unit")) else str(row.get("unit"))
    name = row.get("name")
    if _missing(name):
        name = row.get("kpi", "")
    name = i18n.kpi_name(row.get("kpi"), name=str(name))
    group = " · ".join(str(row[g]) for g in groups if not _missing(row.get(g)))
    status = row.get("status")
    status_key = "not rated" if _missing(status) else str(status)
    status_class = STATUS_CLASSES.get(status_key.lower(), "none")
    status_text = i18n.status_text(status_key)

    direction = row.get("direction")
    yoy: Any = row.get("yoy_change")
    yoy_good: Any = None
    if not _missing(yoy) and direction in ("higher", "lower"):
        yoy_good = float(yoy) > 0 if direction == "higher" else float(yoy) < 0

    if not _missing(row.get("target")):
        target = _("Target {value}", value=format_value(row["target"], unit, currency, style="card"))
    elif not _missing(row.get("benchmark")) and str(row.get("benchmark")):
        target = _("Benchmark {text}", text=i18n.benchmark_text(row["benchmark"]))
    else:
        target = _("No target")

    group_html = f'<span class="kpi-group">{escape(group)}</span>' if group else ""
    return (
        f'<div class="kpi-card {status_class}">'
        f'<div class="kpi-head"><div class="kpi-name">{escape(str(name))}{group_html}</div>'
        f'<span class="kpi-status {status_class}">{escape(status_text)}</span></div>'
        f'<div class="kpi-value">{escape(format_value(row.get("value"), unit, currency, style="card"))}</div>'
        + _delta(row.get("change"), row.get("change_pct"), unit, row.get("good"), "previous", currency)
        + _delta(yoy, row.get("yoy_pct"), unit, yoy_good, "last_year", currency)
        + f'<div class="kpi-target">{escape(target)}</div></div>'
    )


@i18n.localised
def kpi_cards(cards: pd.DataFrame, *, currency: str = "USD") -> HtmlBlock:
    """KPI cards from a compare() table: one card per row, in a grid that is one column on a phone.

    Uses the columns kpi, name, unit, value, change, change_pct, good, yoy_change, yoy_pct, target,
    status, direction (and benchmark when there is no target); any other column except period (a
    region, a team...) labels the card. currency: ISO code for money values (the dataset's currency).
    locale: the cards' language and number formats (default: the active locale, kpitools.i18n).
    """
    groups = [c for c in cards.columns if c not in _KNOWN]
    body = "".join(_card(row, groups, currency) for row in cards.to_dict("records"))
    return HtmlBlock(f'{_style()}<div class="kpi-cards"{_dir()}>{body}</div>')


def _paragraphs(text: str) -> str:
    """Paragraphs (blank-line separated), escaped; `config keys` in backticks as code."""
    parts = [" ".join(p.split()) for p in str(text).split("\n\n")]
    return "".join("<p>" + _CODE.sub(r"<code>\1</code>", escape(p)) + "</p>" for p in parts if p)


_CODE = re.compile(r"`([^`<>]+)`")


@i18n.localised
def summary_box(text: str, title: str | None = N_("Summary")) -> HtmlBlock:
    """The plain-language summary, in a box; blank lines separate paragraphs. The title is translated
    into the active locale (or `locale=`) when the catalogue has it."""
    title = _(title) if title else title
    head = f'<div class="kpi-summary-title">{escape(title)}</div>' if title else ""
    return HtmlBlock(f'{_style()}<div class="kpi-summary" role="note"{_dir()}>{head}{_paragraphs(text)}</div>')


@i18n.localised
def note(text: str) -> HtmlBlock:
    """A data note (a caveat, a definition, the source) in small print."""
    return HtmlBlock(f'{_style()}<div class="kpi-note"{_dir()}>{_paragraphs(text)}</div>')


def _dir() -> str:
    """' dir="rtl"' in a right-to-left locale: the block mirrors in JupyterLab too (the report's page has
    it as well); nothing in a left-to-right one."""
    return ' dir="rtl"' if i18n.is_rtl() else ""


class _ReportHeader:
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return {HEADER_MIME: self.fields, "text/plain": f"report header: {text}"}


def report_header(*, title: Any = None, scope: Any = None, period: Any = None,
                  data_freshness: Any = None, locale: Any = None, calendar: Any = None) -> Any:
    """Set the report's header from inside the notebook, once values are known at run time.

    Display the result (make it a cell's last expression): the renderer reads it, drops it from
    the page and shows the fields in the header, above the notebook's metadata and below the
    arguments of render(). Values are shown as text (escaped). locale ("fa", "ru"...) sets the page's
    language and direction and the header's own words; calendar ("jalali") the generation date's.
    """
    given = {"title": title, "scope": scope, "period": period, "data_freshness": data_freshness,
             "locale": locale, "calendar": calendar}
    return _ReportHeader({k: str(v) for k, v in given.items() if v is not None})
