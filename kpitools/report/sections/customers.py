"""The customers section: customer cards (new, lost, CAC, CLV, payback) and the retention of the monthly
acquisition cohorts."""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...calendars.periods import to_index
from ...i18n import N_
from ...kpis.compute import compute as _compute
from ..scope import CUSTOMER_KPIS, _period_at
from ..section import Section, _in_locale, _no_period_data, _start


@dataclass(eq=False)
class CustomersSection(Section):
    cohorts: pd.DataFrame | None = None  # cohort_retention.retention rows up to the period


@_in_locale
def customers(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None,
              cohorts: int = 12) -> CustomersSection:
    """Customers: cards (new and lost customers, CAC, CLV, CAC payback) and the retention
    of the last `cohorts` monthly acquisition cohorts up to the period (cells after the period left out)."""
    sec = _start(CustomersSection, "customers", ds, period, filters, CUSTOMER_KPIS, needs="new_customers",
                 unavailable=N_("Customer metrics are {why}; see the company or region report."))
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    last = _period_at(s, s.period.end_time, "M")
    first = last - (cohorts - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = ("cohorts", str(first), str(last))
        if key not in s._cache:
            s._cache[key] = _compute(s.ds, "cohort_retention", freq="M", period=f"{first}:{last}")
        r = s._cache[key]
    r = r[r["kpi"] == "cohort_retention.retention"].copy()
    if len(r):
        since = pd.to_numeric(r["months_since"].astype(object), errors="coerce")
        cohort_month = to_index(r["period"])
        ok = np.array([(cm + int(m)) <= last if pd.notna(m) else False for cm, m in zip(cohort_month, since)])
        r = r[ok].reset_index(drop=True)
    sec.cohorts = r
    if c.empty and r.empty:
        sec.message = _no_period_data(s, N_("No customers for {scope} in {period}."))
    return sec
