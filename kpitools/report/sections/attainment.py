"""The quota attainment section: attainment for the period, and the outlook for the quarter (or year)
that holds it."""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ... import i18n

# imported here (not on first use) so that a batch runner's warm kernels, which import the notebook's
# modules ahead of the run, have statsmodels loaded too
from ...forecast import elapsed_share, projected_total
from ...i18n import gettext as _
from ..scope import Scope, _history, _period_at, _span, period_label
from ..section import Section, _cards, _in_locale, _start

# the quarter/year outlook forecasts a short series (a dozen quarters): the Theta method (the M3/M4 benchmark)
# is as good as ETS there and four times faster to fit
OUTLOOK_MODEL = "theta"
_OUTLOOK = {"M": "Q", "Q": "Y"}  # the report's period -> the period of its outlook


@dataclass(eq=False)
class AttainmentSection(Section):
    attainment: float | None = None  # quota attainment in the period
    target: float | None = None  # the period's revenue target
    actual: float | None = None  # the period's revenue
    period_label: str | None = None
    outlook: dict[str, Any] | None = None  # see narrative.attainment


@_in_locale
def attainment(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> AttainmentSection:
    """Quota attainment for the period, and the outlook for the quarter (or year) that holds it: revenue
    to date, the elapsed share, the projected total with its 80% range and the probability of reaching
    the target (kpitools.forecast.projected_total, Theta method on the quarterly history), when the
    targets table covers that whole quarter. Cards: quota attainment (against 100%); the outlook is for
    narrative.attainment().
    Fields: attainment, target, actual, period_label, and outlook (a dict, see narrative.attainment, or None)."""
    sec = _start(AttainmentSection, "attainment", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    c, skipped = _cards(s, ["quota_attainment", "revenue"])
    sec.skipped.update(skipped)
    rev = c[c["kpi"] == "revenue"]
    qa = c[c["kpi"] == "quota_attainment"]
    target = float(rev["target"].iloc[0]) if len(rev) and pd.notna(rev["target"].iloc[0]) else None
    actual = float(rev["value"].iloc[0]) if len(rev) else None
    sec.attainment = float(qa["value"].iloc[0]) if len(qa) else None
    sec.target, sec.actual, sec.period_label = target, actual, s.period_label
    if target is None:
        sec.message = _("No revenue target for {scope} in {period}: the targets table has none.", scope=s.label,
                        period=s.period_label)
        return sec
    sec.cards = c[c["kpi"] == "quota_attainment"].reset_index(drop=True)
    sec.outlook = _outlook(s, sec)
    return sec


def _outlook(s: Scope, sec: Section) -> dict[str, Any] | None:
    big = _OUTLOOK.get(s.freq)
    if big is None:
        return None
    P = _period_at(s, s.period.end_time, big)
    # targets are checked month by month: a quarter whose later months have no target yet has no target
    months = _span(_period_at(s, P.start_time, "M"), _period_at(s, P.end_time, "M"))
    last_month = _period_at(s, s.period.end_time, "M")
    rev = _history(s, "revenue", "M", full=True).reindex(months)
    done, todo = months[months <= last_month], months[months > last_month]
    actual = float(rev.reindex(done).fillna(0).sum())
    monthly = s.targets("revenue", "M")
    have = [m for m in months if m in monthly.index and pd.notna(monthly[m])]
    whole = s.targets("revenue", big)
    missing: list[Any]  # the months without a target
    target: float | None
    if len(have) == len(months):
        target, missing = float(monthly.reindex(months).sum()), []
    elif not have and P in whole.index and pd.notna(whole[P]):
        target, missing = float(whole[P]), []  # one target for the whole quarter / year
    else:
        target, missing = None, [m for m in months if m not in have]
    elapsed = elapsed_share(P, s.period.end_time)
    out = {"period": P, "label": period_label(P), "unit_word": {"Q": "quarter", "Y": "year"}[big],
           "actual": actual, "elapsed": elapsed, "target": target,
           "missing_target": [period_label(m) for m in missing], "projected": None, "lo_80": None,
           "hi_80": None, "probability": None, "model": None, "complete": len(todo) == 0}
    if out["complete"]:
        out["projected"] = actual
        if target:
            out["probability"] = 1.0 if actual >= target else 0.0
        return out
    history = _history(s, "revenue", big)
    history = history[history.index < P]
    if len(history) < 4:
        sec.notes.append(_("No projection for {period}: {n} complete quarters of history are too few (4 or more "
                           "needed).", period=out["label"], n=i18n.localize(str(len(history)))) if big == "Q" else
                         _("No projection for {period}: {n} complete years of history are too few (4 or more "
                           "needed).", period=out["label"], n=i18n.localize(str(len(history)))))
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pr = projected_total(history, actual, elapsed, target, model=OUTLOOK_MODEL)
        except Exception as e:
            sec.notes.append(_("No projection for {period}: {reason}", period=out["label"], reason=e))
            return out
    lo, hi = pr.interval.get(80.0, (None, None))
    out.update(projected=float(pr.projected), lo_80=float(lo) if lo is not None else None,
               hi_80=float(hi) if hi is not None else None,
               probability=None if pr.probability is None else float(pr.probability), model=pr.model)
    sec.notes.append(
        _("Projection for {period}: revenue to date plus the forecast for the rest of the quarter ({model}), "
          "with the chance of reaching the target from its 80%/95% intervals.", period=out["label"],
          model=i18n.isolate(pr.model))
        if big == "Q" else
        _("Projection for {period}: revenue to date plus the forecast for the rest of the year ({model}), "
          "with the chance of reaching the target from its 80%/95% intervals.", period=out["label"],
          model=i18n.isolate(pr.model)))
    return out
