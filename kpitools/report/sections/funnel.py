"""The lead funnel section: leads per funnel stage in the period, and the lead conversion rate."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...i18n import N_
from ...i18n import gettext as _
from ..scope import _DIMENSION_WORDS, FUNNEL_KPIS, _join_or
from ..section import Section, _in_locale, _no_period_data, _start


@dataclass(eq=False)
class FunnelSection(Section):
    stages: pd.DataFrame | None = None  # period, stage, kpi (funnel.count), value


@_in_locale
def funnel(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> FunnelSection:
    """Lead funnel for the period: stages (funnel counts per stage; the visitor stage only when traffic is
    in scope; the chart shows the step rates) and a card for the lead conversion rate."""
    sec = _start(FunnelSection, "funnel", ds, period, filters, FUNNEL_KPIS)
    if sec.empty:
        return sec
    s = sec.scope
    stages = None
    if s.in_scope("funnel") is None or "traffic" in s.unscoped:
        f = s.compute("funnel")
        sec.skipped.update(f.attrs.get("skipped", {}))
        f = f[f["kpi"] == "funnel.count"]
        if "traffic" in s.unscoped:
            f = f[f["stage"].astype(str) != "visitor"]
            sec.notes.append(_("Funnel: website visitors are not counted by {dimension}, so the funnel starts at "
                               "leads.", dimension=_join_or([_(_DIMENSION_WORDS.get(c, c))
                                                             for c in s.unscoped["traffic"]])))
        stages = f[["period", "stage", "kpi", "value"]].reset_index(drop=True)
    sec.stages = stages
    if stages is None or not (stages["value"].fillna(0) > 0).any():
        sec.message = _no_period_data(s, N_("No leads for {scope} in {period}."))
    return sec
