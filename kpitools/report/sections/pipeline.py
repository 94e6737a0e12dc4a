"""The pipeline section: the open pipeline at the end of the period, by stage."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...i18n import N_
from ..scope import PIPELINE_KPIS, Scope
from ..section import Section, _in_locale, _no_period_data, _start, _wide


@dataclass(eq=False)
class PipelineSection(Section):
    by_stage: pd.DataFrame | None = None  # stage, value, count, in stage order


def _stage_order(s: Scope, stages: Iterable[Any]) -> list[Any]:
    st = s.full.tables.get("stages")
    names = [x for x in stages if pd.notna(x)]
    if st is not None and {"stage", "order"} <= set(st.columns):
        rank = dict(zip(st["stage"].astype(str), st["order"]))
        return sorted(names, key=lambda x: (rank.get(str(x), 1e9), str(x)))
    return names


@_in_locale
def pipeline(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> PipelineSection:
    """The open pipeline at the end of the period: cards (pipeline value, weighted pipeline, open deals,
    coverage of the next period's target gap, win rate, sales cycle, opportunities created)
    and by_stage (stage, value, count in stage order)."""
    sec = _start(PipelineSection, "pipeline", ds, period, filters, PIPELINE_KPIS)
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    by_stage = None
    if s.ds.has("deals", "stage"):
        f = s.compute(["pipeline_value", "open_deals"], by="stage")
        f = f[f["stage"].notna()]
        w = _wide(f, "stage", "kpi")
        w = w.reindex(_stage_order(s, w.index))
        by_stage = pd.DataFrame({"stage": [str(x) for x in w.index],
                                 "value": w.get("pipeline_value", pd.Series(np.nan, index=w.index)).to_numpy(),
                                 "count": w.get("open_deals", pd.Series(np.nan, index=w.index)).to_numpy()})
        by_stage = by_stage[by_stage["count"].fillna(0) > 0].reset_index(drop=True)
    sec.by_stage = by_stage
    open_value = c.loc[c["kpi"] == "pipeline_value", "value"]
    if c.empty or (len(open_value) and float(open_value.iloc[0]) == 0 and (by_stage is None or by_stage.empty)
                   and not (c["value"].fillna(0) != 0).any()):
        sec.message = _no_period_data(s, N_("No open deals or closed deals for {scope} in {period}."))
    return sec
