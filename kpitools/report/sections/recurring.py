"""The recurring revenue section: MRR, churn and retention cards, and the MRR movements of the period."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...i18n import N_
from ..scope import RECURRING_KPIS
from ..section import Section, _in_locale, _no_period_data, _start


@dataclass(eq=False)
class RecurringSection(Section):
    movements: pd.DataFrame | None = None  # period, kpi (new_mrr, expansion_mrr...), value
    start: float | None = None  # MRR at the start of the period
    end: float | None = None  # MRR at its end


_MOVEMENTS = ["new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr"]


@_in_locale
def recurring(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> RecurringSection:
    """Recurring revenue: cards (MRR, customer churn rate, NRR, GRR) and the
    MRR movements of the period (movements: kpi, value; start and end MRR) for the waterfall."""
    sec = _start(RecurringSection, "recurring", ds, period, filters, RECURRING_KPIS, needs="mrr",
                 unavailable=N_("Recurring revenue is {why}; see the company or region report."))
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    mrr = c[c["kpi"] == "mrr"]
    if mrr.empty or not (mrr["value"].fillna(0) > 0).any():
        sec.message = _no_period_data(s, N_("No subscriptions for {scope} in {period}."))
        return sec
    mv = s.compute(_MOVEMENTS)
    sec.movements = mv[["period", "kpi", "value"]].reset_index(drop=True)
    sec.start = float(mrr["previous"].iloc[0]) if pd.notna(mrr["previous"].iloc[0]) else 0.0
    sec.end = float(mrr["value"].iloc[0])
    return sec
