"""A. Revenue and growth."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..calendars.periods import is_period_dtype, like, shift_months
from ..data import Dataset
from ._common import combine, complete, divide, flow
from .memo import to_period
from .registry import Option, kpi

FAMILY = "growth"


def _won(ds: Dataset) -> pd.Series:
    return ds.deals["status"].eq("won")


@kpi("revenue", name="Revenue", unit="money", direction="higher", needs=["deals"], family=FAMILY,
     additive=True, source="all seeds")
def revenue(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Σ amount of won deals with closed_at in the period."""
    return flow(ds, ds.deals, "closed_at", freq, list(by), "amount", where=_won(ds))


@kpi("won_deals", name="Won deals", unit="count", direction="higher", needs=["deals"], family=FAMILY,
     additive=True)
def won_deals(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Count of won deals with closed_at in the period."""
    return flow(ds, ds.deals, "closed_at", freq, list(by), agg="count", where=_won(ds))


# ----------------------------------------------------------------------------- helpers

def _na_notes(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")


def _base_periods(periods: pd.Series, freq: str, fiscal_year_start: int, months: int) -> pd.Series:
    """For each period, the period holding the date `months` months before its start (months of the
    periods' calendar)."""
    return shift_months(periods, months)


def _with_base(frame: pd.DataFrame, by: list[str], base: pd.Series) -> pd.Series:
    """The value of `frame` at period `base` of the same group (NaN when that period
    is outside the data)."""
    keys = ["period", *by]
    left = frame[by].copy()
    left["period"] = base.to_numpy()
    right = frame[keys + ["value"]].rename(columns={"value": "_base"})
    for c in by:  # merge on plain objects: NaN group keys match NaN
        left[c] = left[c].astype(object)
        right[c] = right[c].astype(object)
    merged = left.merge(right, on=keys, how="left")
    return pd.Series(merged["_base"].to_numpy(), index=frame.index, dtype="float64")


def _against_base(rev: pd.DataFrame, by: list[str], base: pd.Series, value: np.ndarray,
                  no_base: str, zero_base: str) -> pd.DataFrame:
    """A KPI frame of `value` per row of `rev`, noting why a value is missing: no base period or a zero base."""
    out = rev[["period", *by]].copy()
    out["value"] = value
    note = _na_notes(out.index)
    note[base.isna()] = no_base
    note[base.eq(0)] = zero_base
    out["note"] = note
    return out


def _ordered(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Rows ordered by group then period (for shifts within a group)."""
    return frame.sort_values([*by, "period"], kind="stable")


# ----------------------------------------------------------------------------- growth

@kpi("sales_growth", name="Sales growth", unit="ratio", direction="higher", needs=["deals"], family=FAMILY,
     options={"compare": Option("previous", ("previous", "yoy"),
                                "previous: vs the period before (default); yoy: vs the same period a year earlier")},
     source="002 #1")
def sales_growth(ds: Dataset, freq: str = "M", by: list[str] = (), compare: str = "previous") -> pd.DataFrame:
    """(revenue_P − revenue_base) / revenue_base, base = the previous period (compare="previous") or the
    same period a year earlier (compare="yoy"); NaN when the base revenue is 0 or outside the data."""
    by = list(by)
    rev = revenue(ds, freq, by)
    if compare == "previous":
        base_p = rev["period"] - 1
        what = "the previous period"
    elif compare == "yoy":
        base_p = _base_periods(rev["period"], freq, ds.fiscal_year_start, 12)
        what = "the same period a year earlier"
    else:
        raise ValueError(f"compare must be 'previous' or 'yoy', not {compare!r}")
    base = _with_base(rev, by, base_p)
    ok = base.notna() & (base != 0)
    value = np.where(ok, (rev["value"] - base) / base.where(ok, 1.0), np.nan)
    return _against_base(rev, by, base, value, f"no data for {what}", f"revenue was 0 in {what}")


@kpi("cmgr", name="Compounded monthly growth rate", unit="ratio", direction="higher", needs=["deals"],
     family=FAMILY,
     options={"months": Option(12, None, "window length T in months (default 12); at freq Q or Y a multiple "
                                         "of 3 or 12")},
     source="002 #1 (CMGR)")
def cmgr(ds: Dataset, freq: str = "M", by: list[str] = (), months: int = 12) -> pd.DataFrame:
    """(S_T / S_0)^(1/T) − 1 with T = `months`, S_T = revenue of the period and S_0 = revenue of the period
    T months earlier (both at the chosen frequency); NaN when S_0 is 0 or before the data."""
    by = list(by)
    months = int(months)
    f = freq.upper()
    if months < 1:
        raise ValueError("months must be at least 1")
    if (f == "Q" and months % 3) or (f == "Y" and months % 12):
        raise ValueError(f"months={months} is not a whole number of {'quarters' if f == 'Q' else 'years'}")
    rev = revenue(ds, freq, by)
    base = _with_base(rev, by, _base_periods(rev["period"], freq, ds.fiscal_year_start, months))
    ok = base.notna() & (base > 0)
    ratio = rev["value"] / base.where(ok, 1.0)
    value = np.where(ok, np.power(ratio.clip(lower=0), 1.0 / months) - 1.0, np.nan)
    return _against_base(rev, by, base, value, f"no data {months} months earlier",
                         f"revenue was 0 {months} months earlier")


@kpi("avg_purchase_value", name="Average purchase value", unit="money", direction="higher", needs=["deals"],
     family=FAMILY, source="002 #14, 004 #13")
def avg_purchase_value(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """revenue / won_deals over deals won in the period."""
    by = list(by)
    return divide(revenue(ds, freq, by), won_deals(ds, freq, by), by, "no won deals in the period")


@kpi("avg_profit_margin", name="Average profit margin", unit="ratio", direction="higher",
     needs=["deals", "deals.cost"], family=FAMILY,
     options={"weighting": Option("revenue", ("revenue", "mean_of_deals"),
                                  "revenue: (Σ amount − Σ cost) / Σ amount (default); "
                                  "mean_of_deals: mean of each deal's (amount − cost) / amount")},
     source="002 #15; per rep 004 #15")
def avg_profit_margin(ds: Dataset, freq: str = "M", by: list[str] = (), weighting: str = "revenue") -> pd.DataFrame:
    """(Σ amount − Σ cost) / Σ amount over won deals closed in the period that have a cost (revenue-weighted;
    weighting="mean_of_deals" averages each deal's margin). Won deals without a cost are left out of both sums
    and the note counts them."""
    by = list(by)
    d = ds.deals
    won = _won(ds)
    has_cost = d["cost"].notna()
    if weighting == "revenue":
        amount = flow(ds, d, "closed_at", freq, by, "amount", where=won & has_cost)
        cost = flow(ds, d, "closed_at", freq, by, "cost", where=won & has_cost)
        margin = amount.copy()
        margin["value"] = amount["value"] - cost["value"]
        out = divide(margin, amount, by, "no revenue from won deals with a cost in the period")
    elif weighting == "mean_of_deals":
        positive = d["amount"] > 0
        per_deal = ((d["amount"] - d["cost"]) / d["amount"].where(positive)).rename("_margin")
        out = flow(ds, d.assign(_margin=per_deal), "closed_at", freq, by, "_margin", agg="mean",
                   where=won & has_cost & positive, note="no won deals with a cost in the period")
    else:
        raise ValueError(f"weighting must be 'revenue' or 'mean_of_deals', not {weighting!r}")
    excluded = flow(ds, d, "closed_at", freq, by, agg="count", where=won & ~has_cost)
    out = out.merge(excluded[["period", *by, "value"]].rename(columns={"value": "_excluded"}),
                    on=["period", *by], how="left")
    n = out.pop("_excluded").fillna(0).astype(int)
    has_excl = n > 0
    text = n.astype(str) + " won deal(s) without cost excluded"
    note = out["note"].astype("string")
    note = note.where(~(has_excl & note.notna()), note + " (" + text + ")")
    note = note.where(~(has_excl & note.isna()), text)
    out["note"] = note.astype("string")
    return out


@kpi("revenue_per_rep", name="Revenue per rep", unit="money", direction="higher", needs=["deals", "deals.rep"],
     family=FAMILY, source="004 #14")
def revenue_per_rep(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """revenue / number of reps with a won deal or an activity in the period.

    An activity counts toward a group through its own by-columns, else through its deal (deal_id);
    activities that cannot be placed in a group are left out of that grouping."""
    by = list(by)
    d = ds.deals
    won = d[_won(ds).fillna(False).to_numpy(dtype=bool) & d["closed_at"].notna().to_numpy() & d["rep"].notna().to_numpy()]
    parts = [_active_reps(to_period(won["closed_at"], freq, ds.fiscal_year_start, ds.calendar), won, by)]
    if ds.has("activities", "rep") and "at" in ds.activities.columns:
        a = ds.activities
        a = a[(a["at"].notna() & a["rep"].notna()).to_numpy()]
        cols = {}
        for c in by:
            if c in a.columns:
                cols[c] = a[c]
            elif "deal_id" in a.columns and c in d.columns:  # place the activity through its deal
                lookup = d.drop_duplicates("deal_id").set_index("deal_id")[c]
                cols[c] = a["deal_id"].map(lookup)
            else:
                cols = None
                break
        if cols is not None:
            act = pd.DataFrame({**cols, "rep": a["rep"]}, index=a.index)
            placed = pd.Series(True, index=act.index)
            for c in by:
                if c not in a.columns:  # an activity whose deal is unknown has no group
                    placed &= act[c].notna()
            act = act[placed.to_numpy()]
            parts.append(_active_reps(to_period(a.loc[act.index, "at"], freq, ds.fiscal_year_start, ds.calendar),
                                      act, by))
    reps = pd.concat(parts, ignore_index=True).drop_duplicates()
    counts = reps.groupby(["period", *by], dropna=False).size().astype("float64")
    active = complete(counts, ds, freq, by, d, 0.0)
    return divide(revenue(ds, freq, by), active, by, "no active reps in the period")


def _codes(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..n-1 of a column and the value of each code (missing values get a code too)."""
    if is_period_dtype(s.dtype):
        ordinals = s.array.asi8
        low = int(ordinals.min()) if len(ordinals) else 0
        codes = ordinals - low
        n = int(codes.max()) + 1 if len(codes) else 0
        return codes, pd.Index(like(np.arange(low, low + n), s.dtype))
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        cats = s.cat.categories
        codes = np.where(codes < 0, len(cats), codes)
        return codes, pd.Index(list(cats.astype(object)) + [np.nan], dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return codes.astype(np.int64), pd.Index(uniques, dtype=object)


def _active_reps(period: pd.Series, rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Distinct (period, *by, rep) of some rows, by columns and rep as plain objects. Works on integer
    codes (the activities table can hold millions of rows)."""
    names = ["period", *by, "rep"]
    parts = [_codes(period)] + [_codes(rows[c]) for c in by] + [_codes(rows["rep"])]
    sizes = [max(len(u), 1) for _, u in parts]
    if float(np.prod([float(x) for x in sizes])) >= 2.0 ** 62:  # too many combinations for one int64 key
        frame = pd.DataFrame({n: c for n, (c, _) in zip(names, parts)}).drop_duplicates()
        digits = [frame[n].to_numpy() for n in names]
    else:
        key = np.zeros(len(rows), dtype=np.int64)
        for (c, _), size in zip(parts, sizes):
            key = key * size + c
        key = pd.unique(key)
        digits = []
        for size in reversed(sizes):
            digits.append(key % size)
            key = key // size
        digits.reverse()
    out = {}
    for n, (_, u), d in zip(names, parts, digits):
        out[n] = u[d] if n == "period" else u[d].to_numpy(dtype=object)
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- tables by dimension

def _dims(by: list[str], dims: tuple[str, ...]) -> list[str]:
    return [*by, *[c for c in dims if c not in by]]


def _share(values: pd.DataFrame, by: list[str], reason: str) -> pd.DataFrame:
    """Each row's value / the total of its (period, *by) cell."""
    total = values.groupby(["period", *by], observed=True, dropna=False)["value"].transform("sum")
    out = values.copy()
    ok = total.notna() & (total != 0)
    out["value"] = np.where(ok, values["value"] / total.where(ok, 1.0), np.nan)
    out["note"] = _na_notes(out.index)
    out.loc[~ok, "note"] = reason
    return out


@kpi("product_performance", name="Product performance", unit="table", direction="higher",
     needs=["deals", "deals.product"], family=FAMILY, kind="table", dimensions=("product",),
     source="002 #17")
def product_performance(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Per product, over won deals closed in the period: revenue, won_deals, quantity (Σ units), share
    (product revenue / revenue of all products in the period and group) and rank (1 = highest revenue)."""
    by = list(by)
    g = _dims(by, ("product",))
    d = ds.deals
    won = _won(ds)
    rev = flow(ds, d, "closed_at", freq, g, "amount", where=won)
    count = flow(ds, d, "closed_at", freq, g, agg="count", where=won)
    if ds.has("deals", "quantity"):
        qty = flow(ds, d, "closed_at", freq, g, "quantity", where=won)
    else:
        qty = rev.assign(value=np.nan, note="needs deals.quantity")
        qty["note"] = qty["note"].astype("string")
    share = _share(rev, by, "no revenue in the period")
    rank = rev.copy()
    rank["value"] = rev.groupby(["period", *by], observed=True, dropna=False)["value"].rank(
        ascending=False, method="min")
    return combine({"revenue": rev, "won_deals": count, "quantity": qty, "share": share, "rank": rank}, g)


@kpi("sales_by_region", name="Sales by region", unit="table", direction="higher",
     needs=["deals", "deals.region"], family=FAMILY, kind="table", dimensions=("region",), source="002 #13")
def sales_by_region(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Per region: revenue of won deals closed in the period and its share of the period's (and group's)
    revenue."""
    by = list(by)
    g = _dims(by, ("region",))
    rev = flow(ds, ds.deals, "closed_at", freq, g, "amount", where=_won(ds))
    return combine({"revenue": rev, "share": _share(rev, by, "no revenue in the period")}, g)


@kpi("sales_by_channel", name="Sales by channel", unit="table", direction="higher",
     needs=["deals", "deals.channel"], family=FAMILY, kind="table", dimensions=("channel",), source="002 #6")
def sales_by_channel(ds: Dataset, freq: str = "M", by: list[str] = ()) -> pd.DataFrame:
    """Per channel (contact method): revenue and won_deals of deals won in the period, win_rate = won / (won +
    lost) over deals closed in the period, and avg_purchase_value = revenue / won_deals."""
    by = list(by)
    g = _dims(by, ("channel",))
    d = ds.deals
    won = _won(ds)
    rev = flow(ds, d, "closed_at", freq, g, "amount", where=won)
    count = flow(ds, d, "closed_at", freq, g, agg="count", where=won)
    closed = flow(ds, d, "closed_at", freq, g, agg="count", where=d["status"].isin(["won", "lost"]))
    return combine({
        "revenue": rev,
        "won_deals": count,
        "win_rate": divide(count, closed, g, "no deals closed in the period"),
        "avg_purchase_value": divide(rev, count, g, "no won deals in the period"),
    }, g)


# ----------------------------------------------------------------------------- upsell / cross-sell

def _deal_type_rate(ds: Dataset, freq: str, by: list[str], kind: str, basis: str) -> pd.DataFrame:
    by = list(by)
    d = ds.deals
    won = _won(ds)
    dtype = d["deal_type"].astype("string").fillna("new")  # missing deal_type = new (data model default)
    existing = won & dtype.ne("new")
    if basis == "count":
        num = flow(ds, d, "closed_at", freq, by, agg="count", where=existing & dtype.eq(kind))
        den = flow(ds, d, "closed_at", freq, by, agg="count", where=existing)
    elif basis == "revenue":
        num = flow(ds, d, "closed_at", freq, by, "amount", where=existing & dtype.eq(kind))
        den = flow(ds, d, "closed_at", freq, by, "amount", where=existing)
    else:
        raise ValueError(f"basis must be 'count' or 'revenue', not {basis!r}")
    what = "won deals" if basis == "count" else "revenue from won deals"
    return divide(num, den, by, f"no {what} to existing customers in the period")


_BASIS = Option("count", ("count", "revenue"),
                "count: share of won deals (default); revenue: share of their revenue")


@kpi("upsell_rate", name="Upsell rate", unit="ratio", direction="higher", needs=["deals", "deals.deal_type"],
     family=FAMILY, options={"basis": _BASIS}, source="004 #16")
def upsell_rate(ds: Dataset, freq: str = "M", by: list[str] = (), basis: str = "count") -> pd.DataFrame:
    """Won upsell deals / won deals to existing customers (deal_type other than "new"), closed in the period;
    basis="revenue" uses their amounts. A missing deal_type counts as "new"."""
    return _deal_type_rate(ds, freq, by, "upsell", basis)


@kpi("cross_sell_rate", name="Cross-sell rate", unit="ratio", direction="higher",
     needs=["deals", "deals.deal_type"], family=FAMILY, options={"basis": _BASIS}, source="004 #16")
def cross_sell_rate(ds: Dataset, freq: str = "M", by: list[str] = (), basis: str = "count") -> pd.DataFrame:
    """Won cross_sell deals / won deals to existing customers (deal_type other than "new"), closed in the
    period; basis="revenue" uses their amounts. A missing deal_type counts as "new"."""
    return _deal_type_rate(ds, freq, by, "cross_sell", basis)


# ----------------------------------------------------------------------------- incremental sales

@kpi("incremental_sales", name="Incremental sales", unit="money", direction="higher", needs=["deals"],
     family=FAMILY, additive=True,
     options={"k": Option(3, None, "number of periods before the period whose mean revenue is the baseline "
                                   "(default 3)")},
     source="004 #17")
def incremental_sales(ds: Dataset, freq: str = "M", by: list[str] = (), k: int = 3) -> pd.DataFrame:
    """revenue_P − baseline, baseline = mean revenue of the k periods before P (k = 3), computed for every
    period: for a campaign period it is the campaign's incremental revenue (95,000 − 75,000 = 20,000).
    NaN for the first k periods of the data."""
    by = list(by)
    k = int(k)
    if k < 1:
        raise ValueError("k must be at least 1")
    rev = _ordered(revenue(ds, freq, by), by)
    if by:
        grouped = rev.groupby(by, observed=True, dropna=False)
        cum = grouped["value"].cumsum()
        position = grouped.cumcount()
        cum_g = cum.groupby([rev[c] for c in by], observed=True, dropna=False)
        upto_prev = cum_g.shift(1)
        upto_before = cum_g.shift(k + 1)
    else:
        cum = rev["value"].cumsum()
        position = pd.Series(np.arange(len(rev)), index=rev.index)
        upto_prev = cum.shift(1)
        upto_before = cum.shift(k + 1)
    enough = position >= k
    baseline = (upto_prev - upto_before.fillna(0.0)) / k
    out = rev[["period", *by]].copy()
    out["value"] = np.where(enough, rev["value"] - baseline, np.nan)
    out["note"] = _na_notes(out.index)
    out.loc[~enough, "note"] = f"fewer than {k} periods before this one in the data"
    return out.sort_index()
