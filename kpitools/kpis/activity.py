"""E. Activity: calls, emails, meetings and demos (the `activities` table).

Conventions of this family:
- An activity's date is its `at`; a KPI counts the activities whose `at` falls in P.
- `direction` missing (no column, or an empty value) means outbound, as the data
  model says, except on an e-mail that carries a `response_minutes` (only an
  answered inbound e-mail has one). Call and e-mail rates are over *outbound*
  calls / e-mails; the response time is over inbound e-mails.
- Outcome flags (`reached`, `qualified`, `converted`, `opened`) that are empty
  count as False: an outcome counts only when it is marked. The call funnel is
  nested (qualified counts only among reached calls, converted only among
  qualified ones), so every rate stays within 0..1 even when a row is marked
  qualified but not reached.
- Benchmarks: seed 000 states its cold-outreach rule twice, once as 30/50/50 and
  once as 30/30/50. For cold *calls* the rule is 30/50/50 (reach ≥ 30%, 40–50%
  ideal; qualification ≥ 50%; conversion ≥ 50%), the version the seed explains
  step by step; 30/30/50 is the one it gives for cold e-mail (reach, reply ≥ 30%,
  conversion), used here for the e-mail reply rate. E-mail response ≤ 60 minutes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
import pandas as pd

from ..calendars.periods import NO_PERIOD, get_calendar, like, next_starts, period_dtype, period_starts, to_index
from ..data import Dataset
from .declare import KPIFunction, Meta, declare, simple
from .engine import cell_codes, complete, count_frame, divide, flow, grid
from .memo import memo, period_ordinals, to_period
from .registry import Benchmark, Option, kpi

FAMILY = "activity"
TYPES = ("call", "email", "meeting", "demo")


# ---------------------------------------------------------------- helpers
def _flag(df: pd.DataFrame, column: str) -> pd.Series:
    """A boolean outcome column with empty values (or no column) as False."""
    if column not in df.columns:
        return pd.Series(False, index=df.index)
    return pd.Series(df[column].fillna(False).to_numpy(dtype=bool), index=df.index)


def _is(df: pd.DataFrame, column: str, value: str) -> pd.Series:
    return pd.Series(df[column].eq(value).fillna(False).to_numpy(dtype=bool), index=df.index)


def _outbound(df: pd.DataFrame) -> pd.Series:
    """Outbound rows: direction is not 'inbound' (missing direction = outbound)."""
    if "direction" not in df.columns:
        return pd.Series(True, index=df.index)
    return ~_is(df, "direction", "inbound")


def _emails(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(outbound, inbound) e-mails. Inbound: direction inbound, or direction empty on an e-mail that
    carries a response time (only answered inbound e-mails have one); every other e-mail is outbound."""
    email = _is(df, "type", "email")
    inbound = _is(df, "direction", "inbound") if "direction" in df.columns else pd.Series(False, index=df.index)
    if "response_minutes" in df.columns:
        empty = df["direction"].isna() if "direction" in df.columns else pd.Series(True, index=df.index)
        inbound |= empty.to_numpy(dtype=bool) & df["response_minutes"].notna().to_numpy(dtype=bool)
    return email & ~inbound, email & inbound


Where = Callable[[pd.DataFrame], pd.Series]  # which activities count: a mask of a frame's rows


def _count(ds: Dataset, freq: str, by: list[str], where: Where) -> pd.DataFrame:
    """Activities with `at` in the period (and group) for which where(activities) is true."""
    table = _counts(ds, freq, by)
    if table is None:
        acts = ds.activities
        return flow(ds, acts, "at", freq, by, agg="count", where=where(acts))
    return table.count(where)


def _rate(ds: Dataset, freq: str, by: list[str], num: Where, den: Where, reason: str) -> pd.DataFrame:
    """count(num & den rows) / count(den rows) per period and group, NaN with `reason` on 0."""
    return divide(_count(ds, freq, by, lambda df: num(df) & den(df)), _count(ds, freq, by, den), by, reason)


# ---------------------------------------------------------------- declaration shapes
def activity_count(id: str, *, where: Where, doc: str, needs: Sequence[str] = ("activities",),
                   **meta: Unpack[Meta]) -> KPIFunction:
    """Declare a KPI counting the activities with `at` in the period for which where(activities) holds,
    on this family's joint counting pass (`_count`). Counts add up over groups."""
    def count(ds: Dataset, freq: str, by: list[str]) -> pd.DataFrame:
        return _count(ds, freq, by, where)

    return declare("activity_count", id, count, doc=doc, family=FAMILY, needs=needs, additive=True, **meta)


def activity_rate(id: str, *, numerator: Where, denominator: Where, reason: str, doc: str,
                  needs: Sequence[str] = ("activities",), **meta: Unpack[Meta]) -> KPIFunction:
    """Declare a KPI that is count(numerator & denominator) / count(denominator) of the activities with
    `at` in the period, on this family's joint counting pass; NaN with `reason` where no activity is in
    the denominator. A numerator row counts only within the denominator, so the rate stays within 0..1."""
    def rate(ds: Dataset, freq: str, by: list[str]) -> pd.DataFrame:
        return _rate(ds, freq, by, numerator, denominator, reason)

    return declare("activity_rate", id, rate, doc=doc, family=FAMILY, needs=needs, **meta)


def flag(column: str) -> Where:
    """The activities whose outcome `column` is marked (empty, or no column: not marked)."""
    def marked(df: pd.DataFrame) -> pd.Series:
        return _flag(df, column)

    marked.__name__ = column
    return marked


def outbound_calls(df: pd.DataFrame) -> pd.Series:
    """Calls whose direction is not inbound (missing = outbound)."""
    return _is(df, "type", "call") & _outbound(df)


def reached_calls(df: pd.DataFrame) -> pd.Series:
    """Outbound calls that reached the person."""
    return outbound_calls(df) & _flag(df, "reached")


def qualified_calls(df: pd.DataFrame) -> pd.Series:
    """Outbound calls whose person was qualified; only reached ones when the `reached` column has a
    value anywhere (the nested funnel; without it, qualified calls count as they are). The joint pass's
    frame of combinations has a value exactly where the table has one, so both give the same answer."""
    out = outbound_calls(df) & _flag(df, "qualified")
    nested = "reached" in df.columns and bool(df["reached"].notna().any())
    return out & _flag(df, "reached") if nested else out


def outbound_emails(df: pd.DataFrame) -> pd.Series:
    """E-mails sent (see `_emails`: an empty direction is outbound unless a response time is given)."""
    return _emails(df)[0]


def meetings_and_demos(df: pd.DataFrame) -> pd.Series:
    """Activities of type meeting or demo."""
    return _is(df, "type", "meeting") | _is(df, "type", "demo")


# The count KPIs of this family share one pass over the activities table: the rows are counted per
# cell (period x group) and per combination of the columns their masks read (type, direction, whether
# a response time is given, the outcome flags). A KPI's mask is then evaluated on one row per
# combination, with the same functions (_is, _flag, _emails...) and column types as on the table.
_MASK_COLUMNS = ("type", "direction", "response_minutes", "reached", "qualified", "converted", "opened")
_MAX_BINS = 4_000_000


@dataclass
class _Counts:
    periods: pd.PeriodIndex
    by: list[str]
    labels: list[pd.Categorical]
    combos: pd.DataFrame  # one row per combination of the mask columns
    counts: np.ndarray  # cells x combinations

    def count(self, where: Where) -> pd.DataFrame:
        sel = where(self.combos).to_numpy(dtype=bool).astype(np.int64)
        return count_frame(self.periods, self.by, self.labels, self.counts @ sel)


def _counts(ds: Dataset, freq: str, by: list[str]) -> _Counts | None:
    acts = ds.activities
    cells = cell_codes(ds, acts, "at", freq, by)
    combos = _combinations(acts)
    if cells is None or combos is None:
        return None
    periods, cell, ng, labels = cells
    code, frame = combos
    nc, size = len(frame), len(periods) * ng
    if size * nc > _MAX_BINS:
        return None

    def compute() -> np.ndarray:
        joint = cell.astype(np.int64) * nc + code
        return np.bincount(joint, minlength=(size + 1) * nc)[:size * nc].reshape(size, nc)

    return _Counts(periods, list(by), labels, frame, memo([cell, code], ("activity_counts", size, nc), compute))


def _combinations(acts: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame] | None:
    """Each row's combination of the mask columns (int32) and one row per combination, with the
    columns' own types; None for column types this does not handle. Cached per column memory."""
    cols = [c for c in _MASK_COLUMNS if c in acts.columns]
    arrays = []
    for c in cols:
        s = acts[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            arrays.append(s.array.codes)
        elif isinstance(s.dtype, pd.BooleanDtype) and isinstance(s.array, pd.arrays.BooleanArray):
            arrays += [s.array._data, s.array._mask]
        elif c == "response_minutes" or s.dtype == np.dtype(bool):
            if not isinstance(s.dtype, np.dtype):
                return None
            arrays.append(s.to_numpy())
        else:
            return None
    if not cols:
        return None
    return memo(arrays, ("activity_combinations", tuple(cols), tuple(acts[c].dtype for c in cols)),
                lambda: _combine(acts, cols))


def _category_decoder(n: int, dtype: pd.CategoricalDtype) -> Callable[[np.ndarray], Any]:
    """Category codes back from states 0..n (n: missing)."""
    return lambda d: pd.Categorical.from_codes(np.where(d == n, -1, d), dtype=dtype)


def _given_decoder(d: np.ndarray) -> np.ndarray:
    return np.where(d == 1, 1.0, np.nan)  # 1: a response time is given


def _boolean_decoder(d: np.ndarray) -> Any:
    return pd.array([False, True, None], dtype="boolean").take(d)


def _bool_decoder(d: np.ndarray) -> np.ndarray:
    return np.array([False, True]).take(d)


def _combine(acts: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    states: list[tuple[np.ndarray, int]] = []
    decoders: list[Callable[[np.ndarray], Any]] = []
    for c in cols:
        s = acts[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            n = len(s.cat.categories)
            states.append((np.where(s.array.codes < 0, n, s.array.codes), n + 1))
            decoders.append(_category_decoder(n, s.dtype))
        elif c == "response_minutes":  # the masks only ask whether it is given
            states.append((s.notna().to_numpy().astype(np.int64), 2))
            decoders.append(_given_decoder)
        elif isinstance(s.dtype, pd.BooleanDtype):
            states.append((s.to_numpy(dtype="int8", na_value=2).astype(np.int64), 3))
            decoders.append(_boolean_decoder)
        else:  # numpy bool
            states.append((s.to_numpy().astype(np.int64), 2))
            decoders.append(_bool_decoder)
    key = np.zeros(len(acts), dtype=np.int64)
    for values, n in states:
        key *= n
        key += values
    code, uniques = pd.factorize(key)
    uniques = np.asarray(uniques, dtype=np.int64)
    digits = []
    for _, n in reversed(states):
        digits.append(uniques % n)
        uniques = uniques // n
    digits.reverse()
    frame = pd.DataFrame({c: dec(d) for c, dec, d in zip(cols, decoders, digits)})
    return code.astype(np.int32), frame


def _present(df: pd.DataFrame, date: str, freq: str, fiscal_year_start: int, by: list[str],
             calendar: str = "gregorian") -> pd.DataFrame:
    """Distinct (period, *by, rep) of the rows of `df` with a date and a rep (rep once if in `by`)."""
    cols = [*by, "rep"] if "rep" not in by else by
    if date in df.columns and isinstance(df[date].dtype, np.dtype) and all(
            c in df.columns and isinstance(df[c].dtype, pd.CategoricalDtype) for c in cols):
        # cached per column memory: activities_per_rep and rep_leaderboard both ask
        arrays = [df[date].to_numpy(), *(df[c].array.codes for c in cols)]
        tag = ("present", freq, fiscal_year_start, calendar, tuple(cols), tuple(df[c].dtype for c in cols))
        fast = memo(arrays, tag, lambda: _present_codes(df, date, freq, fiscal_year_start, cols, calendar))
        if fast is not None:
            return fast.copy()
    rows = df[df[date].notna() & df["rep"].notna()]
    period = to_period(rows[date], freq, fiscal_year_start, calendar)
    # Group on the integer ordinals of the periods: much faster than on Period objects.
    keys = [pd.Series(period.array.asi8, index=rows.index, name="period")] + [rows[c] for c in cols]
    out = rows.groupby(keys, observed=True, dropna=False).size().index.to_frame(index=False)
    out.columns = ["period", *cols]
    out["period"] = like(out["period"].to_numpy(), period.dtype)
    for c in cols:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _present_codes(df: pd.DataFrame, date: str, freq: str, fiscal_year_start: int, cols: list[str],
                   calendar: str = "gregorian") -> pd.DataFrame | None:
    """`_present` on integer codes: the period ordinal and each column's category code combined into
    one int64 key per row; distinct keys, sorted, are the groups in groupby order (period, then each
    column in category order, missing last). None when a column is not a category."""
    series = [df[c] for c in cols]
    if len(set(cols)) != len(cols) or not all(isinstance(s.dtype, pd.CategoricalDtype) for s in series):
        return None
    ords = period_ordinals(df[date], freq, fiscal_year_start, calendar)
    if ords is None:
        return None
    sizes = [len(s.cat.categories) + 1 for s in series]  # last code: missing
    rows = ords != NO_PERIOD
    if not rows.any():
        return None
    low = int(ords[rows].min())
    n_periods = int(ords[rows].max()) - low + 1
    if float(n_periods) * float(np.prod([float(x) for x in sizes])) >= 2.0 ** 62:
        return None
    rows &= series[cols.index("rep")].array.codes >= 0
    idx = np.flatnonzero(rows)
    if not len(idx):
        return None
    key = ords[idx].astype(np.int64) - low
    for s, size in zip(series, sizes):
        c = s.array.codes[idx]
        key = key * size + np.where(c < 0, size - 1, c)
    key = np.sort(pd.unique(key))
    digits = []
    for size in reversed(sizes):
        digits.append(key % size)
        key = key // size
    digits.reverse()
    out = pd.DataFrame({"period": like(key + low, period_dtype(freq, fiscal_year_start, calendar))})
    for c, s, size, d in zip(cols, series, sizes, digits):
        values = pd.Series(pd.Categorical.from_codes(np.where(d == size - 1, -1, d), dtype=s.dtype))
        values = values.astype(object)
        out[c] = values.where(values.notna(), None)
    return out


def active_reps(ds: Dataset, freq: str, by: Sequence[str]) -> pd.DataFrame:
    """The reps active in each period and group: columns `period, *by, rep` (rep once when `by`
    holds it), distinct. The one rule for "active rep" (activities_per_rep, revenue_per_rep and the
    rep leaderboard all count reps with it).

    A rep is active in P when they have an activity in P, or a deal created or closed in P, won or
    lost: a rep whose only event in P is a lost deal was selling in P, and counts. Deals count when the
    deals table has a rep column and every `by` column; an activity counts toward a group through its
    own `by` columns, else through its deal (deal_id), and is left out of a grouping it cannot be placed
    in. Key columns are plain objects with None for a missing value.
    """
    by = list(by)
    parts = []
    deals = ds.tables.get("deals")
    acts = ds.tables.get("activities")
    if acts is not None and all(c in acts.columns for c in ["rep", *by]):
        parts.append(_present(acts, "at", freq, ds.fiscal_year_start, by, ds.calendar))
    elif acts is not None and {"rep", "at"} <= set(acts.columns):
        placed = _placed(acts, deals, by)
        if placed is not None:
            parts.append(_present(placed, "at", freq, ds.fiscal_year_start, by, ds.calendar))
    if deals is not None and all(c in deals.columns for c in ["rep", *by]):
        for date in ("created_at", "closed_at"):
            if date in deals.columns:
                parts.append(_present(deals, date, freq, ds.fiscal_year_start, by, ds.calendar))
    if not parts:
        return pd.DataFrame(columns=["period", *dict.fromkeys([*by, "rep"])])
    out = pd.concat(parts, ignore_index=True)
    # None keys compare equal in drop_duplicates, so missing groups stay one group.
    return out.drop_duplicates(ignore_index=True)


def _placed(acts: pd.DataFrame, deals: pd.DataFrame | None, by: list[str]) -> pd.DataFrame | None:
    """The activities with each `by` column they lack read from their deal (deal_id); activities whose
    deal is unknown are left out. None when a column can be found neither way."""
    cols: dict[str, pd.Series] = {}
    for c in by:
        if c in acts.columns:
            cols[c] = acts[c]
        elif deals is not None and "deal_id" in acts.columns and {"deal_id", c} <= set(deals.columns):
            cols[c] = acts["deal_id"].map(deals.drop_duplicates("deal_id").set_index("deal_id")[c])
        else:
            return None
    frame = pd.DataFrame({**cols, "rep": acts["rep"], "at": acts["at"]}, index=acts.index)
    known = np.ones(len(frame), dtype=bool)
    for c in by:
        if c not in acts.columns:
            known &= frame[c].notna().to_numpy()
    return frame[known]


def active_rep_count(ds: Dataset, freq: str, by: Sequence[str], table: pd.DataFrame) -> pd.DataFrame:
    """Number of active reps (see `active_reps`) per period and group, over the groups of `table`
    (0 where none is active)."""
    by = list(by)
    counts = active_reps(ds, freq, by).groupby(["period", *by], dropna=False).size().astype("float64")
    if by:  # match the table's dtypes so complete() merges the keys
        idx = counts.index.to_frame(index=False)
        for c in by:
            idx[c] = idx[c].astype(table[c].dtype)
        counts.index = pd.MultiIndex.from_frame(idx)
    return complete(counts, ds, freq, by, table, 0.0)


def _working_days(ds: Dataset, periods: pd.PeriodIndex) -> np.ndarray:
    """Working days of each period (Monday-Friday; Saturday-Wednesday in the Jalali calendar), clipped to
    the dataset's first and last date."""
    dr = ds.date_range
    if len(periods) == 0 or dr is None:
        return np.zeros(len(periods))
    first, last = dr
    start = np.maximum(period_starts(periods).values, first.normalize().to_datetime64())
    end = np.minimum(next_starts(periods).values, (last.normalize() + pd.Timedelta(days=1)).to_datetime64())
    start = start.astype("datetime64[D]")
    end = end.astype("datetime64[D]")
    weekmask = get_calendar(ds.calendar).weekmask
    return np.busday_count(start, np.maximum(start, end), weekmask=weekmask).astype("float64")


# ---------------------------------------------------------------- KPIs
@kpi("activities_per_rep", name="Activities per rep", unit="count", direction="higher", needs=["activities"],
     family=FAMILY, source="002 #2",
     options={
         "type": Option(None, (None, *TYPES), "count only this activity type; None (default) counts all four"),
         "per": Option("period", ("period", "day", "week"),
                       "period (default): per rep per period; day: per working day (Monday-Friday; "
                       "Saturday-Wednesday with calendar jalali) in the period; week: per five working days"),
     })
def activities_per_rep(ds: Dataset, freq: str = "M", by: Sequence[str] = (), type: str | None = None,
                       per: str = "period") -> pd.DataFrame:
    """Activities in the period / reps active in the period (a rep is active with an activity, or a deal
    created or closed, in the period, so a rep without activity counts with zero); with per="day" also
    divided by the working days (Monday-Friday; Saturday-Wednesday with the Jalali calendar) of the period,
    per="week" by working days / 5.

    Options: `type` None (default, every activity) or call / email / meeting / demo — the reps are
    still every active rep, so a rep who made no call counts with zero calls; `per` "period"
    (default), "day" or "week". Working days of the first and last period are counted only from the
    dataset's first date to its last, so a partial month at either end is not understated.
    Inbound and outbound activities both count.
    """
    by = list(by)
    acts = ds.activities
    num = _count(ds, freq, by, (lambda df: pd.Series(True, index=df.index)) if type is None
                 else (lambda df: _is(df, "type", type)))
    den = active_rep_count(ds, freq, by, acts)
    out = divide(num, den, by, "no active reps in the period")
    if per != "period":
        periods = grid(ds, freq)
        days = pd.Series(_working_days(ds, periods), index=periods)
        if per == "week":
            days = days / 5.0
        d = days.reindex(to_index(out["period"])).to_numpy()
        zero = d == 0
        out["value"] = np.where(zero, np.nan, out["value"].to_numpy() / np.where(zero, 1.0, d))
        out.loc[zero & out["note"].isna().to_numpy(), "note"] = "no working days in the period"
    return out


call_reach_rate = activity_rate(
    "call_reach_rate", name="Call reach rate", unit="ratio", direction="higher",
    needs=["activities", "activities.reached"], benchmark=Benchmark("≥ 30% (40–50% ideal)", low=0.30),
    source="000 #2: cold-call rule 30/50/50",
    numerator=flag("reached"), denominator=outbound_calls, reason="no outbound calls in the period",
    doc="""Outbound calls that reached the intended person / outbound calls, calls made in the period.

    Benchmark from seed 000's cold-call rule 30/50/50: at least 30% (40–50% ideal). The seed also
    writes the rule as 30/30/50; that variant is its cold-e-mail rule (see email_reply_rate).
    An empty `reached` counts as not reached; a missing direction as outbound.""")

call_qualification_rate = activity_rate(
    "call_qualification_rate", name="Call qualification rate", unit="ratio", direction="higher",
    needs=["activities", "activities.reached", "activities.qualified"], benchmark=Benchmark("≥ 50%", low=0.50),
    source="000 #2: cold-call rule 30/50/50",
    numerator=flag("qualified"), denominator=reached_calls, reason="no reached calls in the period",
    doc="""Reached outbound calls whose person was qualified / reached outbound calls, calls made in the period.

    Benchmark from seed 000's cold-call rule 30/50/50: at least 50% (the seed's other wording, 30/30/50,
    is its cold-e-mail rule). Empty flags count as False; a call marked qualified but not reached
    is not counted (the funnel is nested).""")

call_conversion_rate = activity_rate(
    "call_conversion_rate", name="Call conversion rate", unit="ratio", direction="higher",
    needs=["activities", "activities.qualified", "activities.converted"], benchmark=Benchmark("≥ 50%", low=0.50),
    source="000 #2: cold-call rule 30/50/50",
    numerator=flag("converted"), denominator=qualified_calls, reason="no qualified calls in the period",
    doc="""Qualified outbound calls that converted (took the desired next step) / qualified outbound calls,
    calls made in the period.

    Benchmark from seed 000's cold-call rule 30/50/50: at least 50% (both wordings of the seed's rule
    agree on 50% here). When the `reached` column is present, only reached calls count as qualified
    (nested funnel). Empty flags count as False.""")

email_open_rate = activity_rate(
    "email_open_rate", name="E-mail open rate", unit="ratio", direction="higher",
    needs=["activities", "activities.opened"], source="003 #4",
    numerator=flag("opened"), denominator=outbound_emails, reason="no outbound e-mails sent in the period",
    doc="""Outbound e-mails opened / outbound e-mails sent in the period.

    An empty `opened` counts as not opened; an e-mail with an empty direction is outbound unless it
    carries a response_minutes (then it is an inbound e-mail that was answered). No benchmark: the seeds
    give none for opens (seed 000's 30/30/50 cold-e-mail rule is about reach, replies and conversion).""")

email_reply_rate = activity_rate(
    "email_reply_rate", name="E-mail reply rate", unit="ratio", direction="higher",
    needs=["activities", "activities.reached"], benchmark=Benchmark("≥ 30%", low=0.30),
    source="000: cold e-mail rule 30/30/50",
    numerator=flag("reached"), denominator=outbound_emails, reason="no outbound e-mails sent in the period",
    doc="""Outbound e-mails that got a reply (reached) / outbound e-mails sent in the period.

    Benchmark: at least 30%, the reply figure of seed 000's 30/30/50 rule for cold e-mail (the seed
    also writes its rule as 30/50/50; that is the cold-call version, with 50% qualification).
    An empty `reached` counts as no reply; an empty direction as outbound, except on an e-mail that
    carries a response_minutes (an answered inbound e-mail).""")


def answered_inbound(acts: pd.DataFrame) -> pd.Series:
    """Inbound e-mails that carry a response time (see `_emails`)."""
    return _emails(acts)[1] & acts["response_minutes"].notna().to_numpy(dtype=bool)


email_response_minutes = simple(
    "email_response_minutes", name="E-mail response time", unit="minutes", direction="lower", family=FAMILY,
    needs=["activities", "activities.response_minutes"], benchmark=Benchmark("≤ 60 minutes", high=60.0),
    source="000: answer within an hour",
    table="activities", time="at", expr="response_minutes", where=answered_inbound,
    note="no answered inbound e-mails in the period",
    agg=Option("mean", ("mean", "median"), "mean (default) or median of the response times"),
    doc="""Mean response_minutes of the inbound e-mails received in the period (option statistic="median").

    Inbound e-mails are e-mails whose direction is inbound, or empty when they carry a response time
    (an outbound e-mail has none; the open and reply rates use the same split). Inbound e-mails never
    answered have no response time and are not counted. Benchmark: answer within 60 minutes (seed 000).""")


demos_booked = activity_count(
    "demos_booked", name="Meetings and demos", unit="count", direction="higher", source="002 #4",
    where=meetings_and_demos,
    doc="""Count of meetings and demos held in the period (activities of type meeting or demo, by `at`).

    The activities table records when a meeting takes place, not when it was booked, so the period
    is the meeting's date. A plain count, declared with `activity_count` rather than `simple`: it runs
    on this family's joint counting pass (one bincount of the activities per cell and per combination
    of the columns the family's filters read), which a declaration's own pass over the table cannot beat.""")
