"""The activity section: the sales activity cards (activities per rep, the 30/50/50 call rates, email
replies, demos)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...i18n import N_
from ..scope import ACTIVITY_KPIS
from ..section import Section, _in_locale, _no_period_data, _start


@_in_locale
def activity(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """Sales activity: cards (activities per rep, call reach / qualification / conversion against the
    30/50/50 rule, email reply rate, demos booked); cards only, so its result is the plain Section."""
    sec = _start(Section, "activity", ds, period, filters, ACTIVITY_KPIS)
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    per_rep = c.loc[c["kpi"] == "activities_per_rep", "value"]
    if not len(per_rep) or float(per_rep.iloc[0]) == 0:
        sec.message = _no_period_data(s, N_("No sales activities for {scope} in {period}."))
    return sec
