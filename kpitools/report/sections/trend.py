"""The revenue trend section: the KPI over the last two years, its targets, and a forecast."""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ... import i18n
from ...data import Dataset

# imported here (not on first use) so that a batch runner's warm kernels, which import the notebook's
# modules ahead of the run, have statsmodels loaded too
from ...forecast import combined_forecast, forecast
from ...i18n import gettext as _
from ...kpis.compare import last_complete_period
from ..scope import _history, _span
from ..section import Section, _in_locale, _start


@dataclass(eq=False)
class RevenueTrendSection(Section):
    actual: pd.DataFrame | None = None  # period, kpi, value
    target: pd.Series | None = None  # by period, future periods included
    forecast: pd.DataFrame | None = None  # mean and its 80% / 95% intervals, by period
    model: str | None = None  # the forecast's model


@_in_locale
def revenue_trend(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None, months: int = 24,
                  horizon: int = 6, kpi: str = "revenue") -> RevenueTrendSection:
    """Revenue over the `months` before and including the period (quarters or years for a quarterly or
    yearly report), the target per period where the targets table has one, and a forecast of the next
    `horizon` periods.

    The forecast is kpitools.forecast.combined_forecast (the open pipeline plus the statistical forecast
    of what is usually not yet in it) when the report is for the data's last complete period, else the
    statistical forecast alone (today's pipeline says nothing about an earlier period's future); both
    use the fast ETS selection, fitted on the last two years (or the periods shown, if more).
    Fields: actual (period, kpi, value), target (Series by period, future periods included, or None),
    forecast (DataFrame or None), model (its name)."""
    sec = _start(RevenueTrendSection, "revenue_trend", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    per_year = {"M": 12, "Q": 4, "Y": 1}[s.freq]
    n = max(2, int(round(months * per_year / 12)))
    window = _span(s.period - (n - 1), s.period)
    y = s.series(kpi).reindex(window)
    if not (y.fillna(0) != 0).any():
        sec.message = _("No {kpi} for {scope} in {period}.", kpi=i18n.in_sentence(i18n.kpi_name(kpi)),
                        scope=s.label, period=s.period_label)
        return sec
    nz = np.flatnonzero(y.fillna(0).to_numpy() != 0)  # from the first period with data
    y = y.iloc[nz[0]:]
    actual = pd.DataFrame({"period": y.index, "kpi": kpi, "value": y.to_numpy()})
    target = None
    if kpi == "revenue":
        t = s.targets("revenue")
        t = t[(t.index >= y.index[0]) & (t.index <= s.period + horizon)]
        if t.notna().any():
            target = t
    sec.actual, sec.target = actual, target
    # fit on the last two seasonal cycles (or the periods shown, if more): older history, such as the
    # months the business was ramping up, bends multiplicative trend-seasonal models out of shape
    history = _history(s, kpi).iloc[-max(n, 2 * per_year, 4):]
    if len(history) < 8:
        sec.notes.append(_("No forecast: {n} periods of history are too few (8 or more needed).",
                           n=i18n.localize(str(len(history)))))
        return sec
    last = last_complete_period(s.full, s.freq) if s.as_of is not None else None
    use_pipeline = (kpi == "revenue" and last is not None and s.period == last
                    and s.ds.has("deals", "expected_close_at")
                    and s.in_scope("pipeline_value") is None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if use_pipeline:
                fc = combined_forecast(history, s.ds.deals, horizon, fast=True,
                                       stage_probability=_stage_probabilities(s.full))
                how = _("open pipeline plus statistical forecast")
            else:
                fc = forecast(history, horizon, fast=True)
                how = _("statistical forecast")
        except Exception as e:  # a forecast that cannot be made is a note, never a broken report
            sec.notes.append(_("No forecast: {reason}", reason=e))
            return sec
    sec.forecast, sec.model = fc, fc.attrs.get("model")
    sec.notes.append(_("Forecast: {method} ({model}), shaded ranges are 80% and 95% intervals.", method=how,
                       model=i18n.isolate(fc.attrs.get("model"))))
    return sec


def _stage_probabilities(ds: Dataset) -> dict[str, float]:
    probs = dict(ds.stage_probabilities or {})
    st = ds.tables.get("stages")
    if st is not None and {"stage", "probability"} <= set(st.columns):
        for name, p in zip(st["stage"].astype(str), st["probability"]):
            if pd.notna(p):
                probs.setdefault(name, float(p))
    return probs
