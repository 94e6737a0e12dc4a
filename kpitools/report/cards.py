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
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["HtmlBlock", "HEADER_MIME", "format_value", "kpi_cards", "note", "report_header", "summary_box"]

CSS_PATH = Path(__file__).parent / "templates" / "kpitools" / "static" / "cards.css"
HEADER_MIME = "application/vnd.kpitools.report-header+json"
STATUS_CLASSES = {"on track": "on-track", "at risk": "at-risk", "off track": "off-track"}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "AUD": "A$",
                    "CAD": "C$", "NZD": "NZ$", "BRL": "R$", "MXN": "MX$", "KRW": "₩"}
_DURATIONS = {"days": "day", "months": "month", "minutes": "minute", "hours": "hour", "weeks": "week"}
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


def _num(x: float, decimals: int) -> str:
    """1234.5 -> '1,234.5'; whole numbers lose their decimals: 12.0 -> '12'."""
    text = f"{x:,.{decimals}f}"
    if decimals and float(text.replace(",", "")) == round(x):
        text = f"{round(x):,}"
    return text


def _compact(x: float) -> str:
    """Three significant figures with a k/M/B suffix: 1234567 -> '1.23M', 45600 -> '45.6k', 950 -> '950'."""
    a = float(f"{abs(x):.3g}")
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= size:
            v = a / size
            text = f"{v:,.2f}".rstrip("0").rstrip(".") if v < 1000 else f"{v:,.0f}"
            return text + suffix
    return f"{a:.3g}" if a < 1000 else f"{a:,.0f}"


def format_value(value: Any, unit: str | None = None, currency: str = "USD") -> str:
    """A KPI value as a reader expects it: money "$1.23M", ratio "25.3%", count "1,234", days "12.5 days".

    Ratios are fractions (0.253 -> "25.3%"). A missing value is "—".
    """
    if _missing(value):
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    unit = (unit or "").lower()
    sign = "-" if x < 0 else ""
    if unit in ("money", "money_per_day"):
        symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
        return f"{sign}{symbol}{_compact(x)}" + ("/day" if unit == "money_per_day" else "")
    if unit == "ratio":
        return f"{x * 100:,.1f}%"
    if unit == "count":
        return _num(x, 1)
    if unit in _DURATIONS:
        text = _num(x, 1)
        return f"{text} {_DURATIONS[unit] if text in ('1', '-1') else unit}"
    if unit == "score":
        return _num(x, 1)
    return _num(x, 2)


def _delta(change: Any, pct: Any, unit: str, good: Any, label: str, currency: str) -> str:
    """'▲ 12.3% vs previous period', coloured by good; ratios change in percentage points."""
    if _missing(change):
        return f'<div class="kpi-delta flat">No data for {escape(label)}</div>'
    change = float(change)
    arrow = "▲" if change > 0 else "▼" if change < 0 else "→"
    if unit == "ratio":
        amount = f"{abs(change) * 100:.1f} pp"
    elif not _missing(pct):
        amount = f"{abs(float(pct)) * 100:,.1f}%"
    else:  # previous value was 0: show the absolute change
        amount = format_value(abs(change), unit, currency)
    tone = "flat" if change == 0 or _missing(good) else ("good" if bool(good) else "bad")
    return f'<div class="kpi-delta {tone}"><b>{arrow} {escape(amount)}</b> vs {escape(label)}</div>'


def _card(row: dict[str, Any], groups: list[str], currency: str) -> str:
    unit = "" if _missing(row.get("unit")) else str(row.get("unit"))
    name = row.get("name")
    if _missing(name):
        name = row.get("kpi", "")
    group = " · ".join(str(row[g]) for g in groups if not _missing(row.get(g)))
    status = row.get("status")
    status_text = "not rated" if _missing(status) else str(status)
    status_class = STATUS_CLASSES.get(status_text.lower(), "none")

    direction = row.get("direction")
    yoy = row.get("yoy_change")
    yoy_good: Any = None
    if not _missing(yoy) and direction in ("higher", "lower"):
        yoy_good = float(yoy) > 0 if direction == "higher" else float(yoy) < 0

    if not _missing(row.get("target")):
        target = f"Target {format_value(row['target'], unit, currency)}"
    elif not _missing(row.get("benchmark")) and str(row.get("benchmark")):
        target = f"Benchmark {row['benchmark']}"
    else:
        target = "No target"

    group_html = f'<span class="kpi-group">{escape(group)}</span>' if group else ""
    return (
        f'<div class="kpi-card {status_class}">'
        f'<div class="kpi-head"><div class="kpi-name">{escape(str(name))}{group_html}</div>'
        f'<span class="kpi-status {status_class}">{escape(status_text)}</span></div>'
        f'<div class="kpi-value">{escape(format_value(row.get("value"), unit, currency))}</div>'
        + _delta(row.get("change"), row.get("change_pct"), unit, row.get("good"), "previous period", currency)
        + _delta(yoy, row.get("yoy_pct"), unit, yoy_good, "last year", currency)
        + f'<div class="kpi-target">{escape(target)}</div></div>'
    )


def kpi_cards(cards: pd.DataFrame, *, currency: str = "USD") -> HtmlBlock:
    """KPI cards from a compare() table: one card per row, in a grid that is one column on a phone.

    Uses the columns kpi, name, unit, value, change, change_pct, good, yoy_change, yoy_pct, target,
    status, direction (and benchmark when there is no target); any other column except period (a
    region, a team...) labels the card. currency: ISO code for money values (the dataset's currency).
    """
    groups = [c for c in cards.columns if c not in _KNOWN]
    body = "".join(_card(row, groups, currency) for row in cards.to_dict("records"))
    return HtmlBlock(f'{_style()}<div class="kpi-cards">{body}</div>')


def _paragraphs(text: str) -> str:
    parts = [" ".join(p.split()) for p in str(text).split("\n\n")]
    return "".join(f"<p>{escape(p)}</p>" for p in parts if p)


def summary_box(text: str, title: str | None = "Summary") -> HtmlBlock:
    """The plain-language summary, in a box; blank lines separate paragraphs."""
    head = f'<div class="kpi-summary-title">{escape(title)}</div>' if title else ""
    return HtmlBlock(f'{_style()}<div class="kpi-summary" role="note">{head}{_paragraphs(text)}</div>')


def note(text: str) -> HtmlBlock:
    """A data note (a caveat, a definition, the source) in small print."""
    return HtmlBlock(f'{_style()}<div class="kpi-note">{_paragraphs(text)}</div>')


class _ReportHeader:
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        text = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return {HEADER_MIME: self.fields, "text/plain": f"report header: {text}"}


def report_header(*, title: Any = None, scope: Any = None, period: Any = None,
                  data_freshness: Any = None) -> Any:
    """Set the report's header from inside the notebook, once values are known at run time.

    Display the result (make it a cell's last expression): the renderer reads it, drops it from
    the page and shows the fields in the header, above the notebook's metadata and below the
    arguments of render(). Values are shown as text (escaped).
    """
    given = {"title": title, "scope": scope, "period": period, "data_freshness": data_freshness}
    return _ReportHeader({k: str(v) for k, v in given.items() if v is not None})
