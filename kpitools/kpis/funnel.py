"""D. Funnel and leads: visitor → lead → MQL → SQL → opportunity → won.

Stage dates: lead = created_at, MQL = mql_at, SQL = sql_at, opportunity =
opportunity_at, won = converted_at.

Skipped stages: a lead that reaches a later stage without a date for an earlier
one (sql_at null but opportunity_at set) is counted as having passed the skipped
stage on the date it reached the next stage it did reach. In general a lead's
effective date for a stage is the earliest of its dates for that stage and every
later stage, so reach never goes down along the funnel. This applies to both
bases. A stage whose column the leads table lacks (or never fills) is left out
of this rule and reported as "needs leads.<column>".

Two bases for the rates (option `basis`):
- "period" (default): events in the period ÷ entries to the previous stage in
  the period (both by effective stage date);
- "cohort": of the leads created in the period, the share that had reached the
  stage by the as-of date (the data as exported), ÷ the share that had reached
  the previous stage. Cohort rates lie within 0..1; recent cohorts are still
  filling up.
Visitors come from the traffic table (monthly): visitor-based figures are
available for M, Q and Y periods only.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import numpy as np
import pandas as pd

from ..data import Dataset
from .declare import KPIFunction, Meta, declare, simple
from .engine import as_by, combine, divide, flow
from .memo import memo, to_period
from .pipeline import _keys
from .registry import Benchmark, Option, kpi

FAMILY = "funnel"
STAGES: tuple[tuple[str, str], ...] = (
    ("lead", "created_at"), ("mql", "mql_at"), ("sql", "sql_at"),
    ("opportunity", "opportunity_at"), ("won", "converted_at"),
)
FUNNEL_STAGES = ("visitor", *(s for s, _ in STAGES))
_LABEL = {"visitor": "visitors", "lead": "leads created", "mql": "MQLs", "sql": "SQLs",
          "opportunity": "opportunities", "won": "conversions"}
_NAME = {"mql": "MQL", "sql": "SQL", "opportunity": "opportunity", "won": "won"}
_COLUMN = dict(STAGES)

_BASIS = Option("period", ("period", "cohort"),
                "period (default): events in the period ÷ entries to the previous stage in the period; cohort: of "
                "the leads created in the period, the share that reached the stage by the as-of date")


def _reach(ds: Dataset, by: list[str]) -> tuple[pd.DataFrame, set[str]]:
    """Slim leads frame: by columns, created_at and `_<stage>` effective stage dates
    (earliest of the stage's date and every later stage's); and the stages available."""
    leads = ds.leads
    # copy=False: the slim frame shares the leads' columns (and so their cached period and group codes)
    frame = pd.DataFrame({c: leads[c] for c in by}, index=leads.index, copy=False)
    frame["created_at"] = leads["created_at"]
    frame["_lead"] = leads["created_at"]
    stages = [(stage, col) for stage, col in reversed(STAGES[1:]) if ds.has("leads", col)]
    for (stage, _), s in zip(stages, _effective_dates(leads, [col for _, col in stages])):
        frame[f"_{stage}"] = s
    return frame, {"lead", *(stage for stage, _ in stages)}


def _effective_dates(leads: pd.DataFrame, columns: list[str]) -> list[pd.Series]:
    """For stage columns listed last stage first: each one's date, or the earliest later stage's date
    when that is earlier or the stage's own is missing. Cached per leads table (every funnel KPI
    needs them), so their period codes are computed once."""
    def compute() -> list[np.ndarray]:
        out, later = [], None
        for col in columns:
            s = leads[col]
            if later is not None:
                s = s.mask(s.isna() | (later < s), later)
            out.append(s.to_numpy())
            later = s
        return out

    series = [leads[c] for c in columns]
    if columns and all(isinstance(s.dtype, np.dtype) for s in series):
        arrays = memo([s.to_numpy() for s in series], ("funnel_effective",), compute)
    else:
        arrays = compute()
    return [pd.Series(a, index=leads.index, name=c, copy=False) for a, c in zip(arrays, columns)]


def _na(template: pd.DataFrame, by: list[str], note: str) -> pd.DataFrame:
    out = template[["period", *by]].copy()
    out["value"] = np.nan
    out["note"] = pd.Series(note, index=out.index, dtype="string")
    return out


def _count(ds: Dataset, frame: pd.DataFrame, available: set[str], stage: str, freq: str, by: list[str],
           basis: str) -> pd.DataFrame:
    """Leads reaching `stage`: in the period (period basis) or of the period's cohort."""
    if stage not in available:
        return _na(flow(ds, frame, "created_at", freq, by, agg="count"), by, f"needs leads.{_COLUMN[stage]}")
    if basis == "period" or stage == "lead":
        return flow(ds, frame, f"_{stage}", freq, by, agg="count")
    return flow(ds, frame, "created_at", freq, by, agg="count", where=frame[f"_{stage}"].notna())


def _visitors(ds: Dataset, template: pd.DataFrame, freq: str, by: list[str]) -> pd.DataFrame:
    """traffic.visitors per period and group, on the rows of `template` (a leads frame);
    NaN with a reason where they cannot be known."""
    traffic = ds.tables.get("traffic")
    if traffic is None or "visitors" not in traffic.columns:
        return _na(template, by, "needs traffic")
    if freq.upper() in ("D", "W"):
        return _na(template, by, "traffic is monthly: use M, Q or Y periods")
    missing = [c for c in by if c not in traffic.columns]
    if missing:
        return _na(template, by, f"traffic has no {missing[0]} column")
    t = traffic[traffic["month"].notna()]
    per = pd.DataFrame({"period": to_period(t["month"], freq, ds.fiscal_year_start, ds.calendar).array}, index=t.index)
    per = per.join(_keys(t[by], by)) if by else per
    per["value"] = t["visitors"].astype("float64")
    per = per.groupby(["period", *by], dropna=False)["value"].sum(min_count=1).reset_index()
    out = _keys(template, by).merge(per, on=["period", *by], how="left")
    for c in by:
        out[c] = template[c].to_numpy()
    out["note"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out.loc[out["value"].isna(), "note"] = "no visitors recorded in the period"
    return out


def _stage_rate(ds: Dataset, freq: str, by: list[str], basis: str, stage: str, prev: str) -> pd.DataFrame:
    frame, available = _reach(ds, by)
    num = _count(ds, frame, available, stage, freq, by, basis)
    den = _count(ds, frame, available, prev, freq, by, basis)
    return divide(num, den, by, _reason(prev, basis))


def _reason(prev: str, basis: str) -> str:
    if basis == "cohort" and prev not in ("lead", "visitor"):
        return f"no lead created in the period reached the {_NAME[prev]} stage"
    return f"no {_LABEL[prev]} in the period"


def stage_rate(id: str, *, stage: str, previous: str, needs: Sequence[str], doc: str,
               **meta: Unpack[Meta]) -> KPIFunction:
    """Declare a KPI that is the rate from one lead stage to a later one: leads reaching `stage` /
    leads reaching `previous`, on this family's shared pass over the leads (effective stage dates,
    skipped stages filled in); option `basis`, period (default) or cohort."""
    leads = [s for s, _ in STAGES]
    if previous not in leads or stage not in leads or leads.index(stage) <= leads.index(previous):
        raise ValueError(f"{id}: stage must be a lead stage after previous ({', '.join(leads)}), "
                         f"not {previous!r} to {stage!r}")

    def rate(ds: Dataset, freq: str, by: list[str], basis: str) -> pd.DataFrame:
        return _stage_rate(ds, freq, by, basis, stage, previous)

    return declare("stage_rate", id, rate, doc=doc, family=FAMILY, needs=needs, options={"basis": _BASIS},
                   **meta)


# ---------------------------------------------------------------- KPIs

@kpi("visitor_to_lead_rate", name="Visitor-to-lead rate", unit="ratio", direction="higher",
     needs=["leads", "traffic"], family=FAMILY, source="001 #1")
def visitor_to_lead_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """leads created in the period / website visitors in the period (traffic table).

    Code, not a `stage_rate`: its denominator is the monthly traffic table, not a lead stage, and it has
    no basis option."""
    by = as_by(by)
    leads = flow(ds, ds.leads, "created_at", freq, by, agg="count")
    return divide(leads, _visitors(ds, leads, freq, by), by, "no visitors in the period")


lead_to_mql_rate = stage_rate(
    "lead_to_mql_rate", name="Lead-to-MQL rate", unit="ratio", direction="higher",
    needs=["leads", "leads.mql_at"], source="001 #2", stage="mql", previous="lead",
    doc="""MQLs / leads: leads becoming marketing-qualified in the period / leads created in the period.

    A lead with a later stage but no mql_at counts as an MQL (skipped stage).""")

mql_to_sql_rate = stage_rate(
    "mql_to_sql_rate", name="MQL-to-SQL rate", unit="ratio", direction="higher",
    needs=["leads", "leads.mql_at", "leads.sql_at"], source="002 #21, 001 #3", stage="sql", previous="mql",
    doc="SQLs / MQLs: leads becoming sales-qualified in the period / leads becoming marketing-qualified in it.")

lead_to_opportunity_rate = stage_rate(
    "lead_to_opportunity_rate", name="Lead-to-opportunity rate", unit="ratio", direction="higher",
    needs=["leads", "leads.opportunity_at"], source="003 #6b, 004 #8", stage="opportunity", previous="lead",
    doc="leads converted to opportunities in the period / leads created in the period.")

lead_conversion_rate = stage_rate(
    "lead_conversion_rate", name="Lead conversion rate", unit="ratio", direction="higher",
    needs=["leads", "leads.converted_at"], benchmark=Benchmark("1%–10%", low=0.01, high=0.10),
    source="002 #5, 004 #10", stage="won", previous="lead",
    doc="leads converted to customers in the period / leads created in the period.")


def days_to_convert(leads: pd.DataFrame) -> pd.Series:
    """Each lead's time to convert in days: converted_at − created_at."""
    return (leads["converted_at"] - leads["created_at"]) / pd.Timedelta(days=1)


avg_time_to_convert_days = simple(
    "avg_time_to_convert_days", name="Average time to convert", unit="days", direction="lower", family=FAMILY,
    needs=["leads", "leads.converted_at"], source="002 #7",
    table="leads", time="converted_at", expr=days_to_convert, note="no leads converted in the period",
    agg=Option("mean", ("mean", "median"), "mean (default) or median of the conversion times"),
    doc="mean(converted_at − created_at) in days over leads converted in the period.")


@kpi("funnel", name="Sales funnel", unit="table", direction="higher", needs=["leads"], family=FAMILY,
     kind="table", dimensions=("stage",), options={"basis": _BASIS}, source="001, 004")
def funnel(ds: Dataset, freq: str = "M", by: Sequence[str] = (), basis: str = "period") -> pd.DataFrame:
    """counts at each stage visitor → lead → MQL → SQL → opportunity → won, with the step rate
    (count ÷ the previous stage's count).

    Tidy rows: stage (ordered visitor … won) × measure "count" / "step_rate".
    Visitors need the traffic table (M, Q, Y); a stage whose date column is missing
    is NaN with "needs leads.<column>"; the visitor step rate is NaN ("first
    stage"). Cohort basis: counts are the leads created in the period that reached
    each stage (visitors: those of the period).
    """
    by = as_by(by)
    frame, available = _reach(ds, by)
    counts = {s: _count(ds, frame, available, s, freq, by, basis) for s, _ in STAGES}
    counts = {"visitor": _visitors(ds, counts["lead"], freq, by), **counts}
    parts = []
    prev = None
    for stage in FUNNEL_STAGES:
        count = counts[stage]
        if prev is None:
            rate = _na(count, by, "first stage of the funnel")
        else:
            rate = divide(count, counts[prev], by, _reason(prev, basis))
        parts.append(combine({"count": count, "step_rate": rate}, by).assign(stage=stage))
        prev = stage
    out = pd.concat(parts, ignore_index=True)
    out["stage"] = out["stage"].astype(pd.CategoricalDtype(FUNNEL_STAGES, ordered=True))
    return out[["period", *by, "stage", "measure", "value", "note"]]
