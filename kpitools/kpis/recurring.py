"""F. Recurring revenue: MRR, its movements (ChartMogul), churn, retention, ARPU, cohorts.

Conventions shared by every KPI of this module:

- The `subscriptions` table has one row per customer per month. A customer with
  no row, or with mrr 0 (or missing), in a month is not paying that month.
  Several rows of one customer in one month (several plans) are added up.
- MRR movements between months m-1 and m (`mrr_movements`): new (first paying
  month ever), reactivation (paying again after at least one month at zero),
  expansion (MRR up), contraction (MRR down but > 0), churn (to zero; recorded in
  the first month not paying), none. Every movement's signed amount is
  mrr_m - mrr_{m-1}, so MRR_m = MRR_{m-1} + new + expansion + reactivation
  - contraction - churn holds every month, overall and per group. The KPIs
  contraction_mrr and churned_mrr report the (positive) size of the loss.
- A month's movements happen on its first day. For freq Q or Y, flows add up
  the months of the period and snapshots (mrr, arpu, customers at end) are at
  the period's last month; "at start of P" is the month before P's first month.
- Jalali periods (`calendar="jalali"`): every Jalali month holds exactly one
  Gregorian month's first day (Farvardin holds 1 April, Esfand 1 March), so a
  Jalali month reports that subscription month's movements and ends with its MRR;
  the identity holds per Jalali month as it does per Gregorian month.
- The table is taken to cover its first to its last month. A customer still
  paying in the last month is not churned. A period that starts after the last
  month gives NaN with the note "no subscriptions data after YYYY-MM"; a period
  that ends after it (the current quarter) uses the last month as its end.
  Before the first month nobody pays, so customers already paying in the first
  month of the table show as new business that month.
- Groups (`by`): any column of subscriptions (region, plan, segment); other
  columns (channel, ...) are read per customer from the customers table, else
  from the customer's first won deal. A customer is followed separately in each
  group it appears in: moving from plan A to plan B is churn from A and
  new business (or reactivation) in B, so the MRR identity holds in every group.
  When each customer stays in one group (region), groups add up to the total.
- Customer counts for rates are sets: "at start" = paying in the month before
  the period, "at end" = paying in its last month; lost = at start and not at
  end, so customers who join and leave inside a quarter count in neither part
  of the churn rate, and churn + retention = 1.
- One pass over the table per grouping is cached (keyed on the table object,
  held weakly): tables are treated as immutable.
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Unpack

import numpy as np
import pandas as pd

from ..calendars.periods import ordinals, period_ends, period_starts
from ..data import Dataset
from .declare import KPIFunction, Meta, declare
from .engine import as_by, combine, divide, flow, grid
from .memo import to_period
from .registry import Option, kpi

FAMILY = "recurring"

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "none")
_NONE, _NEW, _EXP, _CON, _CHURN, _REACT = 0, 1, 2, 3, 4, 5
_CODE_NAMES = np.array(["none", "new", "expansion", "contraction", "churn", "reactivation"], dtype=object)
_CODE = {name: code for code, name in enumerate(_CODE_NAMES)}
_VOLUNTARY, _PASSIVE = 1, 2

NO_START = "no paying customers at the start of the period"
NO_END = "no paying customers at the end of the period"
NO_START_MRR = "no MRR at the start of the period"


# --------------------------------------------------------------------------- helpers


def _month_index(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each date (int64)."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[M]").astype("int64")


def _month_label(m: int) -> str:
    return str(np.datetime64(int(m), "M"))


def _group_codes(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Code of each row's group (sorted, missing values kept) and the groups, one row per code."""
    if not by:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=[0])
    if len(by) == 1 and isinstance(frame[by[0]].dtype, pd.CategoricalDtype):
        raw = frame[by[0]].cat.codes.to_numpy().astype(np.int64)
        raw = np.where(raw < 0, len(frame[by[0]].cat.categories), raw)  # missing values last
        present = np.flatnonzero(np.bincount(raw, minlength=len(frame[by[0]].cat.categories) + 1))
        lut = np.zeros(len(frame[by[0]].cat.categories) + 1, dtype=np.int64)
        lut[present] = np.arange(len(present))
        codes = lut[raw]
        some_row = np.zeros(len(present), dtype=np.int64)
        some_row[codes] = np.arange(len(raw))  # any row of each group gives its label
        return codes, frame[by].iloc[some_row].reset_index(drop=True)
    codes = frame.groupby(by, observed=True, dropna=False, sort=True).ngroup().to_numpy(dtype=np.int64)
    uniq, first = np.unique(codes, return_index=True)
    groups = frame[by].iloc[first].reset_index(drop=True)
    return np.searchsorted(uniq, codes), groups


def _customer_attributes(ds: Dataset, columns: list[str], skip: str | None = None) -> pd.DataFrame:
    """One row per customer_id with each column, read from (in order) the customers table,
    the subscriptions table (the customer's last row) or the customer's first won deal.
    `skip` names the table the caller already looked in."""
    out: pd.DataFrame | None = None
    for col in columns:
        series = None
        for table in ("customers", "subscriptions", "deals"):
            if table == skip or not ds.has(table) or col not in ds.tables[table].columns:
                continue
            df = ds.tables[table]
            if "customer_id" not in df.columns:
                continue
            if table == "subscriptions":
                df = df.sort_values("month", kind="stable")
                series = df.drop_duplicates("customer_id", keep="last").set_index("customer_id")[col]
            elif table == "deals":
                won = df["status"].eq("won").fillna(False).to_numpy(dtype=bool)
                df = df[won & df["customer_id"].notna().to_numpy()]
                df = df.sort_values("closed_at", kind="stable")
                series = df.drop_duplicates("customer_id", keep="first").set_index("customer_id")[col]
            else:
                series = df.drop_duplicates("customer_id", keep="first").set_index("customer_id")[col]
            break
        if series is None:
            raise KeyError(f"no table gives {col} per customer (looked in customers, subscriptions and deals)")
        part = series.rename(col).to_frame()
        out = part if out is None else out.join(part, how="outer")
    assert out is not None
    out.index.name = "customer_id"
    return out


def _with_by(ds: Dataset, frame: pd.DataFrame, by: list[str], table: str) -> pd.DataFrame:
    """`frame` with every `by` column, joining per-customer attributes where it lacks one."""
    missing = [c for c in by if c not in frame.columns]
    if not missing:
        return frame
    attrs = _customer_attributes(ds, missing, skip=table)
    joined = frame[[c for c in frame.columns if c not in missing]].join(attrs, on="customer_id")
    for c in missing:  # keep the attribute's dtype (category) even when the join left gaps
        if isinstance(attrs[c].dtype, pd.CategoricalDtype):
            joined[c] = pd.Categorical(joined[c], categories=attrs[c].cat.categories)
    return joined


def _expand(row_months: np.ndarray, key_months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (row i, key j) with row_months[i] == key_months[j] (a vectorised equi-join)."""
    order = np.argsort(key_months, kind="stable")
    sorted_keys = key_months[order]
    lo = np.searchsorted(sorted_keys, row_months, "left")
    hi = np.searchsorted(sorted_keys, row_months, "right")
    n = hi - lo
    rows = np.repeat(np.arange(len(row_months)), n)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(n) - n, n)
    return rows, order[np.repeat(lo, n) + offsets]


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is slow on millions of int64 keys)."""
    a = np.sort(a, kind="stable")
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _reason_codes(reason: pd.Series) -> np.ndarray:
    """0 none, 1 voluntary, 2 passive for each churn_reason."""
    if not isinstance(reason.dtype, pd.CategoricalDtype):
        reason = reason.astype("string").astype("category")
    cats = [str(c) for c in reason.cat.categories]
    lut = np.array([_PASSIVE if c == "passive" else _VOLUNTARY if c == "voluntary" else 0 for c in cats] + [0],
                   dtype=np.int8)
    return lut[reason.cat.codes.to_numpy()]


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each key in sorted_keys and whether it is there."""
    pos = np.searchsorted(sorted_keys, keys)
    found = pos < len(sorted_keys)
    found[found] = sorted_keys[pos[found]] == keys[found]
    return pos, found


# --------------------------------------------------------------------------- the engine


@dataclass
class _Engine:
    """Customer-months and their movements for one grouping, as flat sorted arrays.

    Entities are (customer, group) pairs; keys are entity * span + (month - first).
    """

    by: list[str]
    groups: pd.DataFrame  # one row per group code
    ent_group: np.ndarray  # group code of each entity
    ent_customer: np.ndarray  # customer_id of each entity
    ent_first_pay: np.ndarray  # first paying month (absolute month index; huge when never paid)
    first: int  # first month of the table (absolute month index)
    last: int  # last month of the table
    span: int
    # one row per entity-month present in the table, sorted by key
    u_key: np.ndarray
    u_mrr: np.ndarray
    u_reason: np.ndarray
    # one row per transition (table rows + the month after each paying month), sorted by key
    t_key: np.ndarray
    t_mrr: np.ndarray
    t_prev: np.ndarray
    t_mov: np.ndarray
    t_reason: np.ndarray
    # dense per group x month arrays (month j = first - 1 + j; j = 0 is an empty pad month)
    mrr_gm: np.ndarray
    paying_gm: np.ndarray
    amount_gm: np.ndarray  # movement code x group x month: Σ |amount|
    count_gm: np.ndarray  # movement code x group x month: number of movements
    row_ok: np.ndarray  # rows of the table used (month and customer_id present)
    row_ent: np.ndarray  # entity of each used row
    memo: dict = field(default_factory=dict)  # customer-set results per period grid

    @property
    def empty(self) -> bool:
        return self.last < self.first

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def ent(self, keys: np.ndarray) -> np.ndarray:
        return keys // self.span

    def month(self, keys: np.ndarray) -> np.ndarray:
        return keys % self.span + self.first


def _build(frame: pd.DataFrame, by: list[str]) -> _Engine:
    ok = frame["month"].notna().to_numpy() & frame["customer_id"].notna().to_numpy()
    frame = frame[ok]
    m = _month_index(frame["month"])
    mrr = frame["mrr"].to_numpy(dtype="float64", na_value=np.nan)
    mrr = np.where(np.isnan(mrr), 0.0, np.maximum(mrr, 0.0))
    rcode = _reason_codes(frame["churn_reason"]) if "churn_reason" in frame.columns else np.zeros(len(frame), np.int8)
    cust_codes, cust_uniques = pd.factorize(frame["customer_id"])
    g_codes, groups = _group_codes(frame, by)
    ng = max(len(groups), 1)

    first = int(m.min()) if len(m) else 0
    last = int(m.max()) if len(m) else -1
    span = max(last - first + 2, 1)  # room for the month after the last one
    if ng == 1:  # one group: the entities are the customers (factorize numbers them 0..n-1, all used)
        ents = np.arange(len(cust_uniques), dtype=np.int64)
        ent_inv = cust_codes.astype(np.intp)
    else:
        ents, ent_inv = np.unique(cust_codes.astype(np.int64) * ng + g_codes, return_inverse=True)
    ent_group = ents % ng
    ent_customer = np.asarray(cust_uniques, dtype=object)[ents // ng]

    # one row per entity-month: add MRR of duplicate rows, keep the strongest churn reason
    key = ent_inv.astype(np.int64) * span + (m - first)
    u_key, inv = np.unique(key, return_inverse=True)
    u_mrr = np.bincount(inv, weights=mrr, minlength=len(u_key))
    u_reason = np.zeros(len(u_key), dtype=np.int8)
    np.maximum.at(u_reason, inv, rcode.astype(np.int8))
    paying = u_mrr > 0

    # first paying month of each entity
    ent_first_pay = np.full(len(ents), np.iinfo(np.int64).max // 4, dtype=np.int64)
    pay_ent = u_key[paying] // span
    pe, first_idx = np.unique(pay_ent, return_index=True)
    ent_first_pay[pe] = u_key[paying][first_idx] % span + first

    # transitions: every table row, plus the month after each paying month (a churn
    # unless the table has a row for it), up to the table's last month
    nxt = u_key[paying] + 1
    nxt = nxt[nxt % span + first <= last]
    t_key = _sorted_unique(np.concatenate([u_key, nxt]))
    pos, found = _lookup(u_key, t_key)
    t_mrr = np.where(found, u_mrr[np.minimum(pos, len(u_key) - 1)], 0.0) if len(u_key) else np.zeros(0)
    ppos, pfound = _lookup(u_key, t_key - 1)
    safe = np.minimum(ppos, max(len(u_key) - 1, 0))
    t_prev = np.where(pfound, u_mrr[safe], 0.0) if len(u_key) else np.zeros(0)
    t_reason = np.maximum(np.where(pfound, u_reason[safe], 0),
                          np.where(found, u_reason[np.minimum(pos, max(len(u_key) - 1, 0))], 0)
                          ).astype(np.int8) if len(u_key) else np.zeros(0, dtype=np.int8)
    t_month = t_key % span + first
    paid_before = t_month > ent_first_pay[t_key // span]
    up, down = t_mrr > 0, t_prev > 0
    t_mov = np.select(
        [up & ~down & ~paid_before, up & ~down & paid_before, up & down & (t_mrr > t_prev),
         up & down & (t_mrr < t_prev), ~up & down],
        [_NEW, _REACT, _EXP, _CON, _CHURN], _NONE).astype(np.int8)
    t_reason = np.where(t_mov == _CHURN, t_reason, 0).astype(np.int8)

    return _regroup(_Engine(
        by=by, groups=groups, ent_group=ent_group, ent_customer=ent_customer, ent_first_pay=ent_first_pay,
        first=first, last=last, span=span, u_key=u_key, u_mrr=u_mrr, u_reason=u_reason, t_key=t_key,
        t_mrr=t_mrr, t_prev=t_prev, t_mov=t_mov, t_reason=t_reason, mrr_gm=np.zeros(0), paying_gm=np.zeros(0),
        amount_gm=np.zeros(0), count_gm=np.zeros(0), row_ok=ok, row_ent=ent_inv), by, groups, ent_group)


def _regroup(eng: _Engine, by: list[str], groups: pd.DataFrame, ent_group: np.ndarray) -> _Engine:
    """The engine with entities assigned to groups, and its dense group x month arrays."""
    ng = max(len(groups), 1)
    span = eng.span
    nm = span + 1  # pad month + first..last+1 (the +1 column stays empty)
    size = ng * nm
    u_key, u_mrr, t_key = eng.u_key, eng.u_mrr, eng.t_key
    u_cell = ent_group[u_key // span] * nm + (u_key % span + 1)
    mrr_gm = np.bincount(u_cell, weights=u_mrr, minlength=size).reshape(ng, nm)
    paying_gm = np.bincount(u_cell[u_mrr > 0], minlength=size).reshape(ng, nm).astype("float64")
    t_cell = ent_group[t_key // span] * nm + (t_key % span + 1)
    amount = np.abs(eng.t_mrr - eng.t_prev)
    amount_gm = np.zeros((6, ng, nm))
    count_gm = np.zeros((6, ng, nm))
    for code in (_NEW, _EXP, _CON, _CHURN, _REACT):
        sel = eng.t_mov == code
        amount_gm[code] = np.bincount(t_cell[sel], weights=amount[sel], minlength=size).reshape(ng, nm)
        count_gm[code] = np.bincount(t_cell[sel], minlength=size).reshape(ng, nm)
    return replace(eng, by=list(by), groups=groups, ent_group=ent_group, mrr_gm=mrr_gm, paying_gm=paying_gm,
                   amount_gm=amount_gm, count_gm=count_gm, memo={})


def _derive(ds: Dataset, base: _Engine, by: list[str]) -> _Engine | None:
    """The engine for `by` from the ungrouped one, when every customer stays in one group (always
    true for columns read per customer; checked for subscriptions' own columns). None otherwise."""
    subs = ds.subscriptions
    own = [c for c in by if c in subs.columns]
    extra = [c for c in by if c not in subs.columns]
    n_ent = len(base.ent_customer)
    ent_frame = pd.DataFrame(index=pd.RangeIndex(n_ent))
    if own:
        codes, groups = _group_codes(subs.loc[base.row_ok, own], own)
        ent_code = np.zeros(n_ent, dtype=np.int64)
        ent_code[base.row_ent] = codes
        if not np.array_equal(ent_code[base.row_ent], codes):
            return None  # a customer moves between groups: follow it per group
        for c in own:
            ent_frame[c] = groups[c].array.take(ent_code)
    if extra:
        attrs = _customer_attributes(ds, extra, skip="subscriptions")
        index = attrs.index.astype("string")
        pos = index.get_indexer(pd.Index(pd.array(base.ent_customer, dtype="string")))
        for c in extra:
            ent_frame[c] = attrs[c].array.take(pos, allow_fill=True)
    g_codes, groups = _group_codes(ent_frame, by)
    return _regroup(base, by, groups, g_codes)


_CACHE: dict[tuple, tuple[tuple, _Engine]] = {}
_CACHE_SIZE = 16


def _engine(ds: Dataset, by: list[str]) -> _Engine:
    """The engine for the dataset's subscriptions grouped by `by`, cached per table object (weakly:
    the cache keeps no table alive), so every KPI of the family shares one pass over the table."""
    subs = ds.subscriptions
    extra = [c for c in by if c not in subs.columns]
    refs = (subs, ds.tables.get("customers") if extra else None, ds.tables.get("deals") if extra else None)
    key = (tuple(id(r) for r in refs), tuple(by))
    hit = _CACHE.get(key)
    if hit is not None and all((w is None and r is None) or (w is not None and w() is r)
                               for w, r in zip(hit[0], refs)):
        return hit[1]
    eng = _derive(ds, _engine(ds, []), by) if by else None
    if eng is None:
        cols = [c for c in ("customer_id", "month", "mrr", "churn_reason", *by) if c in subs.columns]
        eng = _build(_with_by(ds, subs[cols], by, "subscriptions"), by)
    for k in [k for k, (ws, _) in _CACHE.items() if any(w is not None and w() is None for w in ws)]:
        del _CACHE[k]  # tables that no longer exist
    while len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (tuple(None if r is None else weakref.ref(r) for r in refs), eng)
    return eng


def mrr_movements(subscriptions: pd.DataFrame, by: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per customer-month transition of a (canonical) subscriptions table.

    Columns: customer_id, *by, month, mrr, previous_mrr, movement (new, expansion,
    contraction, churn, reactivation, none), amount (signed: mrr - previous_mrr, so
    contraction and churn are negative) and churn_reason (churn rows only). Rows are
    every customer-month of the table plus the first month without a row after a paying
    month (the churn), up to the table's last month; sorted by customer and month.
    Summing `amount` over a month gives the change in total MRR.
    """
    by = as_by(by)
    cols = [c for c in ("customer_id", "month", "mrr", "churn_reason", *by) if c in subscriptions.columns]
    eng = _build(subscriptions[cols], by)
    ent = eng.ent(eng.t_key)
    out = pd.DataFrame({"customer_id": pd.array(eng.ent_customer[ent], dtype="string")})
    for c in by:
        out[c] = eng.groups[c].to_numpy()[eng.ent_group[ent]] if len(eng.groups) else []
        if isinstance(eng.groups[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(out[c], categories=eng.groups[c].cat.categories)
    months = eng.month(eng.t_key).astype("datetime64[M]").astype("datetime64[ns]")
    out["month"] = months
    out["mrr"] = eng.t_mrr
    out["previous_mrr"] = eng.t_prev
    out["movement"] = pd.Categorical(_CODE_NAMES[eng.t_mov], categories=list(MOVEMENTS))
    out["amount"] = eng.t_mrr - eng.t_prev
    out["churn_reason"] = pd.Categorical(
        np.where(eng.t_reason == _PASSIVE, "passive",
                 np.where(eng.t_reason == _VOLUNTARY, "voluntary", np.array(None, dtype=object))),
        categories=["voluntary", "passive"])
    return out.sort_values(["customer_id", *by, "month"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- periods and output


@dataclass
class _Spans:
    periods: pd.PeriodIndex
    covered: np.ndarray  # the period starts on or before the table's last month
    ms: np.ndarray  # month before the period (start state), absolute index
    me: np.ndarray  # the period's last month, capped at the table's last month
    js: np.ndarray  # column of ms in the dense arrays
    je: np.ndarray
    note: str


def _spans(ds: Dataset, freq: str, eng: _Engine) -> _Spans:
    periods = grid(ds, freq)
    start = period_starts(periods)
    sm = _month_index(start)
    ms = sm - (np.asarray(start.day) == 1)
    me = _month_index(period_ends(periods))
    if eng.empty:
        covered = np.zeros(len(periods), dtype=bool)
        note = "no subscriptions data"
    else:
        covered = sm <= eng.last
        note = f"no subscriptions data after {_month_label(eng.last)}"
    me = np.minimum(me, eng.last)
    ms = np.minimum(ms, me)
    nm = eng.span + 1
    js = np.clip(ms - eng.first + 1, 0, nm - 1)
    je = np.clip(me - eng.first + 1, 0, nm - 1)
    return _Spans(periods, covered, ms, me, js, je, note)


def _frame(eng: _Engine, sp: _Spans, values: np.ndarray, notes: np.ndarray | str | None = None,
           extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Tidy output from a (periods x groups) array: NaN cells get `notes` (an array of the
    same shape or one text), periods after the data get the coverage note."""
    if eng.by:  # an empty table has no groups
        values = values[:, :eng.n_groups]
        if isinstance(notes, np.ndarray):
            notes = notes[:, :eng.n_groups]
    np_, ng = values.shape
    values = values.astype("float64").copy()
    if notes is None or isinstance(notes, str):
        note = np.full(values.shape, notes, dtype=object)
    else:
        note = notes.astype(object).copy()
    note[~np.isnan(values)] = None
    values[~sp.covered] = np.nan
    note[~sp.covered] = sp.note
    gi = np.tile(np.arange(ng), np_)
    cols: dict[str, object] = {"period": sp.periods.repeat(ng)}
    for c in eng.by:
        cols[c] = eng.groups[c].array.take(gi)
    cols["value"] = values.ravel()
    cols["note"] = pd.array(note.ravel(), dtype="string")
    return pd.DataFrame(cols)


def _flow(eng: _Engine, sp: _Spans, arr: np.ndarray) -> np.ndarray:
    """Σ of a (group x month) array over the months of each period -> (periods x groups)."""
    cs = np.cumsum(arr, axis=1)
    return (cs[:, sp.je] - cs[:, sp.js]).T


def _at(arr: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return arr[:, cols].T


def _ratio(num: np.ndarray, den: np.ndarray, reason: str, note: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """num / den, NaN with `reason` where den is 0 or NaN (or `note` where already given)."""
    ok = (den != 0) & ~np.isnan(den) & ~np.isnan(num)
    value = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
    notes = np.full(value.shape, reason, dtype=object)
    if note is not None:
        notes = np.where(pd.isna(note), notes, note)
    return value, notes


def _setup(ds: Dataset, freq: str, by) -> tuple[_Engine, _Spans]:
    eng = _engine(ds, as_by(by))
    return eng, _spans(ds, freq, eng)


# --------------------------------------------------------------------------- customer sets


def _pairs(sp: _Spans, w0: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (start month, end month) pairs of the valid periods and each valid period's pair
    (daily and weekly periods share a few pairs per month)."""
    code = (w0[valid] - w0[valid].min()) * (1 << 24) + (sp.me[valid] - w0[valid])
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    return w0[valid][first], sp.me[valid][first], inverse


def _spread(values: list[np.ndarray], n_pairs: int, ng: int, np_: int, valid: np.ndarray, inverse: np.ndarray
            ) -> list[np.ndarray]:
    out = []
    for v in values:
        full = np.zeros((np_, ng))
        full[valid] = v.reshape(n_pairs, ng)[inverse]
        out.append(full)
    return out


def _memo_key(name: str, sp: _Spans, months: np.ndarray) -> tuple:
    return (name, str(sp.periods.dtype), len(sp.periods), sp.periods[0] if len(sp.periods) else None,
            months.tobytes(), sp.me.tobytes())


def _start_end(eng: _Engine, sp: _Spans) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per period x group: customers paying at start (S), of those still paying at the end
    (retained), and of the lost ones those whose churn reason is passive."""
    key = _memo_key("start_end", sp, sp.ms)
    if key not in eng.memo:
        eng.memo[key] = _start_end_compute(eng, sp)
    start, kept, passive_lost = eng.memo[key]
    return start.copy(), kept.copy(), passive_lost.copy()


def _start_end_compute(eng: _Engine, sp: _Spans) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ng, np_ = max(eng.n_groups, 1), len(sp.periods)
    paying = eng.u_mrr > 0
    pk = eng.u_key[paying]
    valid = np.flatnonzero(sp.covered & (sp.ms >= eng.first))
    if not len(pk) or not len(valid):
        z = np.zeros((np_, ng))
        return z, z.copy(), z.copy()
    ms, me, inverse = _pairs(sp, sp.ms, valid)
    rows, q = _expand(eng.month(pk), ms)
    ent = eng.ent(pk[rows])
    key_end = ent * eng.span + (me[q] - eng.first)
    pos, retained = _lookup(pk, key_end)
    cell = q * ng + eng.ent_group[ent]
    size = len(ms) * ng
    start = np.bincount(cell, minlength=size).astype("float64")
    kept = np.bincount(cell[retained], minlength=size).astype("float64")
    lost = ~retained
    last_paid = pk[pos[lost] - 1]  # the entity's last paying month before the period's end
    tpos, tfound = _lookup(eng.t_key, last_paid + 1)  # its churn transition
    passive = tfound & (eng.t_reason[np.minimum(tpos, len(eng.t_key) - 1)] == _PASSIVE)
    passive_lost = np.bincount(cell[lost][passive], minlength=size).astype("float64")
    start, kept, passive_lost = _spread([start, kept, passive_lost], len(ms), ng, np_, valid, inverse)
    return start, kept, passive_lost


def _window(eng: _Engine, sp: _Spans, w0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the entities paying in month w0 (per period): Σ MRR then, Σ MRR at the period's
    end, Σ min(then, now)."""
    key = _memo_key("window", sp, w0)
    if key not in eng.memo:
        eng.memo[key] = _window_compute(eng, sp, w0)
    then, now, kept = eng.memo[key]
    return then.copy(), now.copy(), kept.copy()


def _window_compute(eng: _Engine, sp: _Spans, w0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ng, np_ = max(eng.n_groups, 1), len(sp.periods)
    paying = eng.u_mrr > 0
    pk, pm = eng.u_key[paying], eng.u_mrr[paying]
    valid = np.flatnonzero(sp.covered & (w0 >= eng.first))
    if not len(pk) or not len(valid):
        z = np.zeros((np_, ng))
        return z, z.copy(), z.copy()
    ws, me, inverse = _pairs(sp, w0, valid)
    rows, q = _expand(eng.month(pk), ws)
    ent = eng.ent(pk[rows])
    then = pm[rows]
    pos, found = _lookup(eng.u_key, ent * eng.span + (me[q] - eng.first))
    now = np.where(found, eng.u_mrr[np.minimum(pos, len(eng.u_key) - 1)], 0.0)
    cell = q * ng + eng.ent_group[ent]
    size = len(ws) * ng
    sums = [np.bincount(cell, weights=w, minlength=size) for w in (then, now, np.minimum(then, now))]
    then_t, now_t, kept_t = _spread(sums, len(ws), ng, np_, valid, inverse)
    return then_t, now_t, kept_t


# --------------------------------------------------------------------------- KPIs: MRR

_SUBS = ["subscriptions"]
_SRC = "ChartMogul MRR movements"


# declaration shapes: a KPI that reads one array of the engine

def mrr_at_end(id: str, *, doc: str, factor: float = 1.0, **meta: Unpack[Meta]) -> KPIFunction:
    """Declare a snapshot KPI: factor × Σ MRR in the period's last month (the engine's MRR per group and
    month). Values add up over groups."""
    def at_end(ds: Dataset, freq: str, by: list[str]) -> pd.DataFrame:
        eng, sp = _setup(ds, freq, by)
        return _frame(eng, sp, factor * _at(eng.mrr_gm, sp.je))

    return declare("mrr_at_end", id, at_end, doc=doc, family=FAMILY, needs=_SUBS, kind="snapshot",
                   additive=True, **meta)


def mrr_movement(id: str, *, doc: str, kind: str | Mapping[str, int], measure: Literal["mrr", "count"] = "mrr",
                 **meta: Unpack[Meta]) -> KPIFunction:
    """Declare a KPI that adds up one kind of MRR movement (new, expansion, contraction, churn,
    reactivation) over the months of the period: its size (measure "mrr": Σ |mrr_m − mrr_{m−1}|) or how
    many there were ("count"). `kind` may map kinds to signs, e.g. {"new": 1, "churn": -1}, added in
    that order. Values add up over groups."""
    signs = {kind: 1} if isinstance(kind, str) else dict(kind)
    unknown = [k for k in signs if k not in MOVEMENTS[:-1]]
    if unknown or not signs or any(v not in (1, -1) for v in signs.values()):
        raise ValueError(f"{id}: kind must be a movement ({', '.join(MOVEMENTS[:-1])}) or a map of them to "
                         f"1 or -1, not {kind!r}")
    terms = [(_CODE[k], v) for k, v in signs.items()]

    def movements(ds: Dataset, freq: str, by: list[str]) -> pd.DataFrame:
        eng, sp = _setup(ds, freq, by)
        per_month = eng.amount_gm if measure == "mrr" else eng.count_gm
        code, sign = terms[0]
        total = per_month[code] if sign == 1 else -per_month[code]
        for code, sign in terms[1:]:
            total = total + per_month[code] if sign == 1 else total - per_month[code]
        return _frame(eng, sp, _flow(eng, sp, total))

    return declare("mrr_movement", id, movements, doc=doc, family=FAMILY, needs=_SUBS, additive=True, **meta)


_NET = {"new": 1, "expansion": 1, "reactivation": 1, "contraction": -1, "churn": -1}

mrr = mrr_at_end(
    "mrr", name="MRR", unit="money", direction="higher", source="000 #10; ChartMogul",
    doc="Σ mrr of the subscriptions in the period's last month (monthly recurring revenue at period end).")

arr = mrr_at_end(
    "arr", name="ARR", unit="money", direction="higher", source="000 #25", factor=12.0,
    doc="12 × MRR at the end of the period.")

new_mrr = mrr_movement(
    "new_mrr", name="New MRR", unit="money", direction="higher", source=_SRC, kind="new",
    doc="Σ MRR of customers in their first paying month ever, over the months of the period.")

expansion_mrr = mrr_movement(
    "expansion_mrr", name="Expansion MRR", unit="money", direction="higher", source=_SRC, kind="expansion",
    doc="Σ (mrr_m − mrr_{m−1}) of paying customers whose MRR went up, over the months of the period.")

contraction_mrr = mrr_movement(
    "contraction_mrr", name="Contraction MRR", unit="money", direction="lower", source=_SRC, kind="contraction",
    doc="""Σ (mrr_{m−1} − mrr_m) of customers whose MRR went down but stayed > 0, over the months of
    the period (a positive amount).""")

churned_mrr = mrr_movement(
    "churned_mrr", name="Churned MRR", unit="money", direction="lower", source=_SRC, kind="churn",
    doc="""Σ mrr_{m−1} of customers who stopped paying in month m (first month with no row or mrr 0),
    over the months of the period (a positive amount).""")

reactivation_mrr = mrr_movement(
    "reactivation_mrr", name="Reactivation MRR", unit="money", direction="higher", source=_SRC,
    kind="reactivation",
    doc="Σ MRR of customers paying again after at least one month at zero, over the months of the period.")

net_new_mrr = mrr_movement(
    "net_new_mrr", name="Net new MRR", unit="money", direction="higher", source="002 #10; ChartMogul", kind=_NET,
    doc="""new + expansion + reactivation − contraction − churned MRR in the period
    (= MRR at end − MRR at start).""")


@kpi("expansion_mrr_growth", name="Expansion MRR growth", unit="ratio", direction="higher", needs=_SUBS,
     family=FAMILY, source="002 #10")
def expansion_mrr_growth(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """(expansion MRR_P − expansion MRR_{P−1}) / expansion MRR_{P−1}."""
    eng, sp = _setup(ds, freq, by)
    cur = _flow(eng, sp, eng.amount_gm[_EXP])
    cur[~sp.covered] = np.nan
    prev = np.vstack([np.full((1, cur.shape[1]), np.nan), cur[:-1]])
    note = np.full(cur.shape, None, dtype=object)
    note[0] = "no previous period"
    if len(sp.covered) > 1:
        note[1:][~sp.covered[:-1]] = sp.note
    value, notes = _ratio(cur - prev, prev, "no expansion MRR in the previous period", note)
    return _frame(eng, sp, value, notes)


# --------------------------------------------------------------------------- KPIs: churn and retention


@kpi("customer_churn_rate", name="Customer churn rate", unit="ratio", direction="lower", needs=_SUBS,
     family=FAMILY, source="002 #16; 004 (corrected); ChartMogul",
     options={"basis": Option("period", ("period", "monthly"),
                              "period: customers paying at the start and not at the end of the period / "
                              "customers paying at the start; monthly: the average monthly rate over the "
                              "period's months, Σ churned customers / Σ customers at each month's start "
                              "(the same for freq M)")})
def customer_churn_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = (), basis: str = "period") -> pd.DataFrame:
    """Customers lost in the period / customers paying at the start of the period (lost = paying
    at the start, not paying at the end; customers who joined and left inside the period count in
    neither).

    Seed 004 writes this upside down (customers at start ÷ customers lost); the standard
    lost ÷ start is used. With basis="monthly" the rate is pooled over the period's months,
    which is the monthly churn CLV needs.

    Code, not an `mrr_movement`: its two bases are two computations (customer sets, pooled movements).
    """
    eng, sp = _setup(ds, freq, by)
    if basis == "monthly":
        lost = _flow(eng, sp, eng.count_gm[_CHURN])
        at_start = np.zeros_like(eng.paying_gm)
        at_start[:, 1:] = eng.paying_gm[:, :-1]  # customers paying the month before each month
        value, notes = _ratio(lost, _flow(eng, sp, at_start), NO_START)
    else:  # period
        start, kept, _ = _start_end(eng, sp)
        value, notes = _ratio(start - kept, start, NO_START)
    return _frame(eng, sp, value, notes)


@kpi("gross_mrr_churn_rate", name="Gross MRR churn rate", unit="ratio", direction="lower", needs=_SUBS,
     family=FAMILY, source="002 #16; ChartMogul")
def gross_mrr_churn_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """(churned + contraction MRR in the period) / MRR at the start of the period."""
    eng, sp = _setup(ds, freq, by)
    a = eng.amount_gm
    value, notes = _ratio(_flow(eng, sp, a[_CHURN] + a[_CON]), _at(eng.mrr_gm, sp.js), NO_START_MRR)
    return _frame(eng, sp, value, notes)


@kpi("net_mrr_churn_rate", name="Net MRR churn rate", unit="ratio", direction="lower", needs=_SUBS,
     family=FAMILY, source="ChartMogul")
def net_mrr_churn_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """(churned + contraction − expansion − reactivation MRR in the period) / MRR at the start of
    the period; negative when expansion outweighs losses."""
    eng, sp = _setup(ds, freq, by)
    a = eng.amount_gm
    num = _flow(eng, sp, a[_CHURN] + a[_CON] - a[_EXP] - a[_REACT])
    value, notes = _ratio(num, _at(eng.mrr_gm, sp.js), NO_START_MRR)
    return _frame(eng, sp, value, notes)


@kpi("passive_churn_rate", name="Passive churn rate", unit="ratio", direction="lower",
     needs=["subscriptions", "subscriptions.churn_reason"], family=FAMILY, source="002 #16")
def passive_churn_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """Customers lost in the period whose churn_reason is passive (failed payment) / customers paying
    at the start of the period (lost as in customer_churn_rate; the reason is read on the last
    paying month)."""
    eng, sp = _setup(ds, freq, by)
    start, _, passive = _start_end(eng, sp)
    value, notes = _ratio(passive, start, NO_START)
    return _frame(eng, sp, value, notes)


@kpi("customer_retention_rate", name="Customer retention rate", unit="ratio", direction="higher",
     needs=_SUBS, family=FAMILY, source="002 #22")
def customer_retention_rate(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """(E − N) / S: E customers paying at the end of the period, N of them not paying at its start
    (new or reactivated in the period), S paying at the start; = 1 − customer_churn_rate."""
    eng, sp = _setup(ds, freq, by)
    start, kept, _ = _start_end(eng, sp)
    value, notes = _ratio(kept, start, NO_START)
    return _frame(eng, sp, value, notes)


_WINDOW = Option("month", ("month", "trailing_12m", "period"),
                 "month: from the month before the period's last month to that month; trailing_12m: "
                 "from 12 months before the period's last month; period: from the month before the "
                 "period to its last month")


def _window_start(sp: _Spans, window: str) -> np.ndarray:
    if window == "month":
        return sp.me - 1
    if window == "trailing_12m":
        return sp.me - 12
    return sp.ms  # period


@kpi("nrr", name="Net revenue retention", unit="ratio", direction="higher", needs=_SUBS, family=FAMILY,
     options={"window": _WINDOW}, source="SaaS Capital")
def nrr(ds: Dataset, freq: str = "M", by: Sequence[str] = (), window: str = "month") -> pd.DataFrame:
    """For the customers paying at the start of the window: their MRR at the end / their MRR at the
    start (expansion included, new customers excluded)."""
    eng, sp = _setup(ds, freq, by)
    then, now, _ = _window(eng, sp, _window_start(sp, window))
    value, notes = _ratio(now, then, "no MRR at the start of the window")
    return _frame(eng, sp, value, notes)


@kpi("grr", name="Gross revenue retention", unit="ratio", direction="higher", needs=_SUBS, family=FAMILY,
     options={"window": _WINDOW}, source="SaaS Capital")
def grr(ds: Dataset, freq: str = "M", by: Sequence[str] = (), window: str = "month") -> pd.DataFrame:
    """For the customers paying at the start of the window: (MRR then − contraction − churn) / MRR then,
    each customer's change measured between the window's ends and expansion ignored (≤ 1)."""
    eng, sp = _setup(ds, freq, by)
    then, _, kept = _window(eng, sp, _window_start(sp, window))
    value, notes = _ratio(kept, then, "no MRR at the start of the window")
    return _frame(eng, sp, value, notes)


# --------------------------------------------------------------------------- KPIs: customers


new_customers = mrr_movement(
    "new_customers", name="New customers", unit="count", direction="higher", source="003",
    kind="new", measure="count",
    doc="Customers whose first paying month ever falls in the period (reactivations excluded).")

lost_customers = mrr_movement(
    "lost_customers", name="Lost customers", unit="count", direction="lower", source="003",
    kind="churn", measure="count",
    doc="""Churn movements in the period: customers paying in a month and not in the next one (a customer
    who churns twice in a quarter counts twice).""")


@kpi("arpu", name="ARPU", unit="money", direction="higher", needs=_SUBS, family=FAMILY, kind="snapshot",
     options={"source": Option("subscriptions", ("subscriptions", "deals"),
                               "subscriptions: MRR / paying customers at the end of the period (ARPA); "
                               "deals: revenue of won deals closed in the period / distinct customers "
                               "who bought (deals with a customer_id; needs deals.customer_id)")},
     source="004 #4")
def arpu(ds: Dataset, freq: str = "M", by: Sequence[str] = (), source: str = "subscriptions") -> pd.DataFrame:
    """MRR at the end of the period / customers paying at the end of the period (average revenue per
    account, monthly)."""
    by = as_by(by)
    if source == "deals":
        if not ds.has("deals", "customer_id"):
            raise KeyError("arpu with source='deals' needs deals.customer_id")
        d = ds.deals
        where = d["status"].eq("won") & d["customer_id"].notna()
        revenue = flow(ds, d, "closed_at", freq, by, "amount", where=where)
        buyers = flow(ds, d, "closed_at", freq, by, "customer_id", agg="nunique", where=where)
        return divide(revenue, buyers, by, "no customer bought in the period")
    eng, sp = _setup(ds, freq, by)
    value, notes = _ratio(_at(eng.mrr_gm, sp.je), _at(eng.paying_gm, sp.je), NO_END)
    return _frame(eng, sp, value, notes)


@kpi("cohort_retention", name="Cohort retention", unit="table", direction="higher", needs=_SUBS,
     family=FAMILY, kind="table", dimensions=("months_since",), source="ChartMogul cohorts")
def cohort_retention(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """Per acquisition cohort (the period of each customer's first paying month) and months since
    acquisition k: share of the cohort paying k months after its own first month (measure
    "retention"; reactivated customers count as paying) and how many that is (measure "customers")."""
    eng, sp = _setup(ds, freq, by)
    by = eng.by
    ng, np_ = (eng.n_groups if by else 1), len(sp.periods)
    k_max = max(eng.last - eng.first, 0) if not eng.empty else 0
    nk = k_max + 1
    paying = eng.u_mrr > 0
    pk = eng.u_key[paying]
    ent = eng.ent(pk)
    fp = eng.ent_first_pay[ent]
    k = eng.month(pk) - fp
    # period (grid position) of each cohort month
    cohort_ts = pd.DatetimeIndex(fp.astype("datetime64[M]").astype("datetime64[ns]"))
    p = ordinals(to_period(pd.Series(cohort_ts), freq, ds.fiscal_year_start, ds.calendar)) - (
        ordinals(sp.periods)[0] if np_ else 0)
    cell = p * ng + eng.ent_group[ent]
    counts = np.bincount(cell * nk + k, minlength=np_ * ng * nk).reshape(np_, ng, nk).astype("float64")
    size = counts[:, :, 0]
    latest_flat = np.full(np_ * ng, np.iinfo(np.int64).min)
    first = k == 0
    np.maximum.at(latest_flat, cell[first], fp[first])
    latest = latest_flat.reshape(np_, ng)
    ks = np.arange(nk)
    observed = latest[:, :, None] + ks[None, None, :] <= eng.last
    has = size > 0
    share = np.where(has[:, :, None] & observed, counts / np.where(has, size, 1.0)[:, :, None], np.nan)
    share_note = np.where(np.broadcast_to(~has[:, :, None], share.shape), "no customers acquired in the period",
                          "not observed yet: past the last month of subscriptions data").astype(object)
    cust = np.where(~has[:, :, None] | observed, counts, np.nan)
    cust_note = np.full(cust.shape, "not observed yet: past the last month of subscriptions data", dtype=object)

    def tidy(values: np.ndarray, notes: np.ndarray) -> pd.DataFrame:
        values = values.astype("float64")
        notes = notes.astype(object)
        notes[~np.isnan(values)] = None
        covered = np.broadcast_to(sp.covered[:, None, None], values.shape)
        values = np.where(covered, values, np.nan)
        notes = np.where(covered, notes, sp.note)
        out = pd.DataFrame({"period": sp.periods.repeat(ng * nk)})
        gi = np.tile(np.repeat(np.arange(ng), nk), np_)
        for c in by:
            out[c] = eng.groups[c].take(gi).reset_index(drop=True)
        out["months_since"] = np.tile(ks, np_ * ng)
        out["value"] = values.ravel()
        out["note"] = pd.array(notes.ravel(), dtype="string")
        return out

    return combine({"retention": tidy(share, share_note), "customers": tidy(cust, cust_note)},
                   [*by, "months_since"])
