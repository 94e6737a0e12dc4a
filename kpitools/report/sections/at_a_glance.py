"""The "At a glance" section: the headline KPI cards (cards()) and what of them the batch portal publishes
(headline(), for kpitools.report.publish_headline)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ... import i18n
from ...i18n import N_, format_value
from ...i18n import gettext as _
from ..scope import HEADLINE_KPIS, _scope, period_label
from ..section import _cards, _in_locale, _no_period_data, not_shown


@_in_locale
def cards(ds: Any, period: Any = "", scope_filters: Mapping[str, Any] | None = None,
          kpis: Iterable[str] = HEADLINE_KPIS) -> pd.DataFrame:
    """The headline KPI cards: compare() rows (value, previous, change, last year, target, status) for
    `kpis` in that order. Quota attainment is rated against 100% when there is no target of its own.

    KPIs that do not apply to the scope are left out (attrs["skipped"] says why); rows keep a NaN value
    when there is none. attrs: skipped, currency, scope (label), period (label), message (set when the
    scope has no data)."""
    s = _scope(ds, period, scope_filters)
    why_not = not_shown("cards", s.full)
    if s.message or why_not:
        c = pd.DataFrame(columns=["period", "kpi", "name", "unit", "direction", "value", "status"])
        c.attrs = {"skipped": {}, "currency": s.currency, "scope": s.label, "period": s.period_label,
                   "message": why_not or s.message, "scope_message": why_not or s.message,
                   "notes": [why_not] if why_not else []}
        return c
    c, skipped = _cards(s, kpis, drop_empty=False)
    message = None
    if c.empty or not (c["value"].fillna(0) != 0).any():
        message = _no_period_data(s, N_("No sales, pipeline or subscriptions for {scope} in {period}."))
    c.attrs = {"skipped": skipped, "currency": s.currency, "scope": s.label, "period": s.period_label,
               "message": message, "scope_message": message}
    return c


PUBLISHED = ("revenue", "win_rate", "pipeline_value", "quota_attainment", "mrr", "customer_churn_rate")


@i18n.localised
def headline(cards_df: pd.DataFrame, kpis: Iterable[str] = PUBLISHED) -> dict[str, dict[str, Any]]:
    """The headline KPIs for kpitools.report.publish_headline: {kpi: {name, value, display,
    change, status}} from cards() rows, display text as on the cards ("$1.02M"), change as
    "+4.2% vs September 2026" (percentage points for ratios). KPIs without a row are left out."""
    currency = cards_df.attrs.get("currency", "USD")
    out: dict[str, dict[str, Any]] = {}
    rows = {r["kpi"]: r for r in cards_df.to_dict("records")} if len(cards_df) else {}
    for k in kpis:
        r = rows.get(k)
        if r is None:
            continue
        value = None if pd.isna(r.get("value")) else float(r["value"])
        change = None
        period = r.get("period")
        prev = period - 1 if isinstance(period, pd.Period) or i18n.is_jalali(period) else None
        amount = None
        if r.get("unit") == "ratio" and pd.notna(r.get("change")):
            amount = i18n.pgettext("unit", "{n} pp", n=_plus_minus(r["change"] * 100))
        elif pd.notna(r.get("change_pct")):
            amount = i18n.percent_text(_plus_minus(r["change_pct"] * 100))
        if amount is not None:
            change = (_("{change} vs {period}", change=amount, period=period_label(prev)) if prev is not None
                      else _("{change} vs previous period", change=amount))
        status = r.get("status")
        out[k] = {"name": i18n.kpi_name(k, name=str(r.get("name") or k)), "value": value,
                  "display": format_value(value, r.get("unit"), currency, style="card"), "change": change,
                  "status": None if status is None or pd.isna(status) else str(status),
                  "status_text": None if status is None or pd.isna(status) else i18n.status_text(status)}
    return out


def _plus_minus(x: float) -> str:
    """"+4.2" / "-1.3" with one decimal, in the locale's digits and signs."""
    text = f"{x:+.1f}"
    if i18n.language() == "en":
        return text
    plus, minus = i18n.formatting.sign_symbols()
    return (minus if text[0] == "-" else plus) + i18n.localize(text[1:])
