"""C. Pipeline: opportunities, open deals, pipeline value and coverage, win rate,
sales cycle, sales velocity and opportunity scores.

Snapshot KPIs use the state at the end of each period: a deal is open at the end
of P when it was created before the next period starts and is not closed before
it (closed_at null or on/after the next period's start). Deals whose status is
"open" count as open whatever their closed_at says (the status is authoritative).
The data has no stage history, so snapshots of past periods use each deal's
current amount, stage, probability and score.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..calendars.periods import freq_of, next_starts, parse_either, period_span, period_starts
from ..data import Dataset
from .declare import simple
from .engine import as_by, combine, divide, flow, grid, groups, snapshot, won
from .memo import memo
from .registry import Benchmark, Option, kpi

FAMILY = "pipeline"
SCORES = ("1", "2", "3", "4", "5")
_LEVELS = ("rep", "team", "region")  # level columns of the targets table
_FREQ_ORDER = ("D", "W", "M", "Q", "Y")


# ---------------------------------------------------------------- helpers

def _won(ds: Dataset) -> pd.Series:
    return won(ds.deals).fillna(False)


def _closed(ds: Dataset) -> pd.Series:
    return ds.deals["status"].isin(["won", "lost"])


def _open_frame(ds: Dataset, by: list[str], **extra: pd.Series) -> pd.DataFrame:
    """A slim copy of deals for `snapshot`: by columns, `_start`, `_end` (closed_at,
    ignored for deals whose status is open) and any extra columns."""
    d = ds.deals
    # copy=False: the slim frame shares the deals' columns (and so their cached period and group codes)
    out = pd.DataFrame({c: d[c] for c in by}, index=d.index, copy=False)
    out["_start"] = d["created_at"]
    out["_end"] = open_end(d)
    for name, s in extra.items():
        out[name] = s
    return out


def open_end(d: pd.DataFrame) -> pd.Series:
    """When each deal stops being open: closed_at, except for deals whose status is open (NaT); cached
    per deals table, so that every snapshot KPI shares it (and its period codes)."""
    closed, status = d["closed_at"], d["status"]

    def compute() -> np.ndarray:
        return closed.where(~status.eq("open").fillna(False).to_numpy(dtype=bool)).to_numpy()

    if isinstance(closed.dtype, np.dtype) and isinstance(status.dtype, pd.CategoricalDtype):
        values = memo([closed.to_numpy(), status.array.codes], ("open_end", status.dtype), compute)
    else:
        values = compute()
    return pd.Series(values, index=d.index, name="closed_at", copy=False)


def _multiply(a: pd.DataFrame, b: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """a × b per period and group; NaN keeps the first reason given."""
    keys = ["period", *by]
    m = a[[*keys, "value", "note"]].merge(b[[*keys, "value", "note"]], on=keys, how="outer", suffixes=("_a", "_b"))
    out = m[keys].copy()
    out["value"] = (m["value_a"] * m["value_b"]).astype("float64")
    note = m["note_a"].combine_first(m["note_b"]).astype("string")
    out["note"] = note.where(out["value"].isna(), pd.NA)
    return out


def _keys(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """period and by columns with the by values as plain objects (None when missing),
    so frames built from different tables (and category sets) merge on them."""
    out = pd.DataFrame({"period": frame["period"].array}, index=frame.index) if "period" in frame.columns \
        else pd.DataFrame(index=frame.index)
    for c in by:
        s = frame[c].astype("string").astype(object)
        out[c] = s.where(s.notna(), None)
    return out


def _days(end: pd.Series, start: pd.Series) -> pd.Series:
    return (end - start) / pd.Timedelta(days=1)


def _probability(ds: Dataset) -> pd.Series:
    """Each deal's probability: its own, else its stage's in the stages table, else
    the config's stage_probabilities (stage names matched ignoring case and spaces)."""
    d = ds.deals
    p = d["probability"].astype("float64") if "probability" in d.columns else pd.Series(np.nan, index=d.index)
    if "stage" not in d.columns:
        return p
    lookup: dict[str, float] = {str(k).strip().lower(): float(v) for k, v in ds.stage_probabilities.items()}
    stages = ds.tables.get("stages")
    if stages is not None and {"stage", "probability"} <= set(stages.columns):
        st = stages[stages["stage"].notna() & stages["probability"].notna()]
        lookup.update({str(k).strip().lower(): float(v) for k, v in zip(st["stage"], st["probability"])})
    stage = d["stage"] if isinstance(d["stage"].dtype, pd.CategoricalDtype) else d["stage"].astype("category")
    per_category = np.array([lookup.get(str(c).strip().lower(), np.nan) for c in stage.cat.categories] + [np.nan])
    codes = stage.cat.codes.to_numpy()  # -1 (missing) picks the trailing NaN
    from_stage = pd.Series(per_category[codes], index=d.index)
    return p.fillna(from_stage)


def _revenue_targets(ds: Dataset, freq: str, by: list[str]) -> tuple[pd.DataFrame | None, str]:
    """Revenue targets per (period, *by) at the reporting frequency, or (None, reason).

    Level: with no `by`, the company targets (every level column null); with `by`,
    the targets whose set level columns are exactly `by`. For each period, targets
    of one granularity are used per group: the period's own if any overlaps it, else the
    closest finer one (summed into the period), else the closest coarser one
    (pro-rated by days), so a monthly and a yearly target are never added up.
    """
    t = ds.tables.get("targets")
    if t is None or not {"period", "metric", "value"} <= set(t.columns):
        return None, "needs targets"
    if any(c not in _LEVELS for c in by):
        return None, "targets are set only by rep, team, region or company"
    t = t[t["metric"].astype("string").eq("revenue").fillna(False).to_numpy(dtype=bool) & t["value"].notna().to_numpy()]
    for c in _LEVELS:
        if c in t.columns:
            t = t[(t[c].notna() if c in by else t[c].isna()).to_numpy(dtype=bool)]
        elif c in by:
            t = t.iloc[0:0]
    if t.empty:
        return None, "no revenue target at this level"
    texts = pd.Series(t["period"].astype("string").str.strip().unique()).dropna()
    parsed = [parse_either(s, ds.fiscal_year_start, ds.calendar) for s in texts]
    tp = pd.DataFrame({
        "_text": texts.to_numpy(),
        "_kind": [freq_of(p) for p in parsed],
        "_from": [p.start_time for p in parsed],
        "_to": [(p + 1).start_time for p in parsed],
    })
    # preference among granularities: the period's own, then finer (closest first), then coarser
    rank = _FREQ_ORDER.index(freq.upper())
    tp["_pref"] = [(rank - _FREQ_ORDER.index(k)) if _FREQ_ORDER.index(k) <= rank
                   else 10 + _FREQ_ORDER.index(k) - rank for k in tp["_kind"]]
    periods = grid(ds, freq)
    if not len(periods):
        return None, "no periods"
    periods = period_span(periods[0], periods[-1] + 1)
    pp = pd.DataFrame({"period": periods, "_pfrom": period_starts(periods), "_pto": next_starts(periods)})
    x = tp.merge(pp, how="cross")
    overlap = (np.minimum(x["_to"], x["_pto"]) - np.maximum(x["_from"], x["_pfrom"])) / pd.Timedelta(days=1)
    x["_share"] = overlap.clip(lower=0) / ((x["_to"] - x["_from"]) / pd.Timedelta(days=1))
    x = x[x["_share"] > 0]
    rows = _keys(t[list(by)], by).assign(_text=t["period"].astype("string").str.strip().to_numpy(dtype=object),
                                          _value=t["value"].to_numpy(dtype="float64"))
    rows = rows.merge(x[["_text", "period", "_share", "_pref"]], on="_text")
    rows = rows[rows["_pref"] == rows.groupby(["period", *by], dropna=False)["_pref"].transform("min")]
    rows["value"] = rows["_value"].astype("float64") * rows["_share"]
    out = rows.groupby(["period", *by], dropna=False)["value"].sum().reset_index()
    return out, ""


# ---------------------------------------------------------------- KPIs

opportunities_created = simple(
    "opportunities_created", name="Opportunities created", unit="count", direction="higher", family=FAMILY,
    additive=True, source="002 #3, 004 #11; per rep 003 #5",
    table="deals", time="created_at", agg="count",
    doc="Count of deals with created_at in the period.")


open_deals = simple(
    "open_deals", name="Open deals", unit="count", direction="neutral", family=FAMILY, additive=True,
    source="002 #20, 001 #6",
    table="deals", kind="snapshot", time="created_at", end=open_end, agg="count",
    doc="""Count of deals open at the end of the period: created on or before its last day and
    closed_at null or after it.

    By stage with by=["stage"] (the deal's current stage).""")

pipeline_value = simple(
    "pipeline_value", name="Pipeline value", unit="money", direction="higher", family=FAMILY, additive=True,
    source="002 #11, 001 #7",
    table="deals", kind="snapshot", time="created_at", end=open_end, agg="sum", expr="amount",
    doc="Σ amount of the deals open at the end of the period.")


@kpi("weighted_pipeline", name="Weighted pipeline", unit="money", direction="higher", needs=["deals"],
     family=FAMILY, kind="snapshot", additive=True, source="Salesforce ExpectedRevenue")
def weighted_pipeline(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """Σ amount × probability of the deals open at the end of the period; probability = the
    deal's own, else its stage's in the stages table, else the config's stage_probabilities.

    Open deals with no probability from any of the three are left out of the sum;
    the note of the period says how many were left out (and the value is NaN with
    a reason when every open deal lacks one).
    """
    by = as_by(by)
    p = _probability(ds)
    frame = _open_frame(ds, by, _w=ds.deals["amount"].astype("float64") * p, _unknown=p.isna())
    value = snapshot(ds, frame, "_start", "_end", freq, by, "_w", where=~frame["_unknown"])
    open_all = snapshot(ds, frame, "_start", "_end", freq, by)
    unknown = snapshot(ds, frame, "_start", "_end", freq, by, where=frame["_unknown"])
    keys = ["period", *by]
    m = value.merge(unknown[[*keys, "value"]], on=keys, suffixes=("", "_u")).merge(
        open_all[[*keys, "value"]], on=keys, suffixes=("", "_all"))
    n_unknown = m["value_u"].astype("int64")
    all_unknown = (n_unknown > 0) & (n_unknown == m["value_all"])
    some = (n_unknown > 0) & ~all_unknown
    m.loc[all_unknown, "value"] = np.nan
    note = pd.Series(pd.NA, index=m.index, dtype="string")
    note[all_unknown] = ("no probability for any open deal "
                         "(set deals.probability, a stages table or stage_probabilities)")
    note[some] = "excludes " + n_unknown[some].astype(str) + " open deal(s) with no probability"
    m["note"] = note
    return m[[*keys, "value", "note"]]


@kpi("pipeline_coverage", name="Pipeline coverage", unit="ratio", direction="higher", needs=["deals", "targets"],
     family=FAMILY, kind="snapshot",
     options={"denominator": Option("gap", ("gap", "target"),
                                    "gap (default, catalogue): next period's revenue target − revenue booked in "
                                    "it so far; target: the whole target (the common CRM definition)")},
     source="standard (pipeline ÷ remaining quota)")
def pipeline_coverage(ds: Dataset, freq: str = "M", by: Sequence[str] = (), denominator: str = "gap") -> pd.DataFrame:
    """pipeline_value at the end of the period / (next period's revenue target − revenue
    booked in the next period).

    Targets come from the targets table (metric "revenue"): company targets without
    `by`, else the targets set at exactly the `by` level (rep, team, region).
    Targets finer than the period are summed into it, coarser ones pro-rated by
    days. "Revenue booked" is what the data holds for the next period (for the
    last period: nothing yet, so the whole target). NaN with a reason when there
    is no target or the gap is ≤ 0 (target already met).
    """
    by = as_by(by)
    pv = pipeline_value(ds, freq, by)
    base = _keys(pv, by)
    targets, reason = _revenue_targets(ds, freq, by)
    if targets is None:
        out = pv[["period", *by]].copy()
        out["value"] = np.nan
        out["note"] = pd.Series(reason, index=out.index, dtype="string")
        return out
    # target and revenue of the next period, moved back onto the period they are compared with
    targets = targets.assign(period=targets["period"] - 1)
    rev = flow(ds, ds.deals, "closed_at", freq, by, "amount", where=_won(ds))
    rev_next = _keys(rev, by).assign(_actual=rev["value"].to_numpy())
    rev_next["period"] = rev_next["period"] - 1
    m = base.merge(targets.rename(columns={"value": "_target"}), on=["period", *by], how="left")
    m = m.merge(rev_next, on=["period", *by], how="left")
    target = m["_target"].to_numpy(dtype="float64")
    actual = m["_actual"].fillna(0.0).to_numpy(dtype="float64")
    den = target - actual if denominator == "gap" else target
    num = pv["value"].to_numpy(dtype="float64")
    ok = ~np.isnan(target) & (den > 0)
    out = pv[["period", *by]].copy()
    out["value"] = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
    unmet = ("revenue target for the next period already met" if denominator == "gap"
             else "revenue target for the next period is not positive")
    note = np.where(np.isnan(target), "no revenue target for the next period",
                    np.where(ok, np.array(None, dtype=object), unmet))
    out["note"] = pd.Series(note, index=out.index, dtype="string")
    return out


@kpi("win_rate", name="Win rate", unit="ratio", direction="higher", needs=["deals"], family=FAMILY,
     options={
         "basis": Option("period", ("period", "cohort"),
                         "period (default): won ÷ (won + lost) over deals closed in the period; cohort: of the "
                         "deals created in the period, the share won within cohort_days of creation"),
         "cohort_days": Option(90, None, "cohort basis: days after creation a deal may take to be won (default 90)"),
     },
     benchmark=Benchmark("≥ 15%", low=0.15), source="004 #9, 001 #4")
def win_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = (), basis: str = "period",
             cohort_days: int = 90) -> pd.DataFrame:
    """won / (won + lost) over deals closed in the period.

    basis="cohort": won within cohort_days of creation / deals created in the
    period; a cohort whose window (its last day + cohort_days) ends after the
    data is NaN ("cohort still maturing") rather than biased low.
    """
    by = as_by(by)
    d = ds.deals
    if basis == "period":
        won = flow(ds, d, "closed_at", freq, by, agg="count", where=_won(ds))
        closed = flow(ds, d, "closed_at", freq, by, agg="count", where=_closed(ds))
        return divide(won, closed, by, "no deals closed in the period")
    days = _days(d["closed_at"], d["created_at"])
    in_window = _won(ds) & (days <= float(cohort_days)).fillna(False)
    won = flow(ds, d, "created_at", freq, by, agg="count", where=in_window)
    created = flow(ds, d, "created_at", freq, by, agg="count")
    out = divide(won, created, by, "no deals created in the period")
    dr = ds.date_range
    if dr is not None:
        window_end = next_starts(out["period"]) + pd.Timedelta(days=float(cohort_days) - 1)
        maturing = np.asarray(window_end > dr[1])
        out.loc[maturing, "value"] = np.nan
        out.loc[maturing, "note"] = f"cohort still maturing: its {cohort_days}-day window ends after the data"
    return out


def cycle_days(deals: pd.DataFrame) -> pd.Series:
    """Each deal's sales cycle in days: closed_at − first_contact_at, else − created_at."""
    start = deals["first_contact_at"].fillna(deals["created_at"]) if "first_contact_at" in deals.columns \
        else deals["created_at"]
    return _days(deals["closed_at"], start)


avg_sales_cycle_days = simple(
    "avg_sales_cycle_days", name="Average sales cycle", unit="days", direction="lower", family=FAMILY,
    source="002 #19, 001 #5, 004 #7",
    table="deals", time="closed_at", expr=cycle_days, where=won, note="no won deals in the period",
    agg=Option("mean", ("mean", "median"), "mean (default) or median of the cycle lengths"),
    doc="mean(closed_at − first_contact_at, else created_at) in days over won deals closed in the period.")


@kpi("sales_velocity", name="Sales velocity", unit="money_per_day", direction="higher", needs=["deals"],
     family=FAMILY, source="standard")
def sales_velocity(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """open_deals at the end of the period × win_rate × average won amount / avg_sales_cycle_days
    (money per day).

    win_rate on the period basis, cycle length the mean; average won amount =
    revenue / won deals of the period.
    """
    by = as_by(by)
    d = ds.deals
    rev = flow(ds, d, "closed_at", freq, by, "amount", where=_won(ds))
    n_won = flow(ds, d, "closed_at", freq, by, agg="count", where=_won(ds))
    avg_won = divide(rev, n_won, by, "no won deals in the period")
    value = _multiply(_multiply(open_deals(ds, freq, by), win_rate(ds, freq, by), by), avg_won, by)
    return divide(value, avg_sales_cycle_days(ds, freq, by), by, "average sales cycle of 0 days")


@kpi("opportunity_score", name="Opportunity score", unit="table", direction="higher",
     needs=["deals", "deals.score"], family=FAMILY, kind="table", dimensions=("score",), source="004 #12")
def opportunity_score(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """mean score and count per score 1..5 of the deals open at the end of the period.

    Tidy rows: measure "count" with score "1".."5" (open deals with that score) and
    "unscored" (open deals without one); measure "mean" with score "all" (mean
    score of the scored open deals; NaN with a reason when there are none).
    """
    by = as_by(by)
    s = ds.deals["score"]
    label = s.astype("Int64").astype("string").where(s.notna(), "unscored").astype(
        pd.CategoricalDtype([*SCORES, "unscored"]))
    frame = _open_frame(ds, by, score=label, _score=s.astype("float64"))
    keys = [*by, "score"]
    counts = snapshot(ds, frame, "_start", "_end", freq, keys)
    # every score on every row of the grid, even one no deal has
    periods = pd.DataFrame({"period": grid(ds, freq)})
    full = periods.merge(groups(frame, by), how="cross") if by else periods
    full = full.merge(pd.DataFrame({"score": [*SCORES, "unscored"]}), how="cross")
    found = _keys(counts, keys).assign(value=counts["value"].to_numpy())
    counts = _keys(full, keys).merge(found, on=["period", *keys], how="left")
    for c in by:
        counts[c] = full[c].to_numpy()
        counts[c] = counts[c].astype(frame[c].dtype)
    counts["value"] = counts["value"].fillna(0.0).astype("float64")
    counts["note"] = pd.Series(pd.NA, index=counts.index, dtype="string")
    scored = frame["_score"].notna()
    total = snapshot(ds, frame, "_start", "_end", freq, by, "_score", where=scored)
    n = snapshot(ds, frame, "_start", "_end", freq, by, where=scored)
    mean = divide(total, n, by, "no scored open deals at the end of the period").assign(score="all")
    out = combine({"count": counts[["period", *keys, "value", "note"]], "mean": mean}, keys)
    out["score"] = out["score"].astype(pd.CategoricalDtype([*SCORES, "unscored", "all"]))
    return out
