"""A. Revenue and growth."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import numpy as np
import pandas as pd

from ..calendars.periods import shift_months
from ..data import Dataset
from .activity import active_rep_count
from .declare import KPIFunction, Meta, declare, ratio, simple
from .engine import combine, divide, flow, won
from .registry import Option, kpi

FAMILY = "growth"


def _won(ds: Dataset) -> pd.Series:
    return won(ds.deals)


revenue = simple(
    "revenue", name="Revenue", unit="money", direction="higher", family=FAMILY, additive=True, source="all seeds",
    table="deals", time="closed_at", agg="sum", expr="amount", where=won,
    doc="Σ amount of won deals with closed_at in the period.")

won_deals = simple(
    "won_deals", name="Won deals", unit="count", direction="higher", family=FAMILY, additive=True,
    table="deals", time="closed_at", agg="count", where=won,
    doc="Count of won deals with closed_at in the period.")


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
def sales_growth(ds: Dataset, freq: str = "M", by: Sequence[str] = (), compare: str = "previous") -> pd.DataFrame:
    """(revenue_P − revenue_base) / revenue_base, base = the previous period (compare="previous") or the
    same period a year earlier (compare="yoy"); NaN when the base revenue is 0 or outside the data."""
    by = list(by)
    rev = revenue(ds, freq, by)
    if compare == "previous":
        base_p = rev["period"] - 1
        what = "the previous period"
    else:  # yoy
        base_p = _base_periods(rev["period"], freq, ds.fiscal_year_start, 12)
        what = "the same period a year earlier"
    base = _with_base(rev, by, base_p)
    ok = base.notna() & (base != 0)
    value = np.where(ok, (rev["value"] - base) / base.where(ok, 1.0), np.nan)
    return _against_base(rev, by, base, value, f"no data for {what}", f"revenue was 0 in {what}")


@kpi("cmgr", name="Compounded monthly growth rate", unit="ratio", direction="higher", needs=["deals"],
     family=FAMILY,
     options={"months": Option(12, None, "window length T in months (default 12); at freq Q or Y a multiple "
                                         "of 3 or 12")},
     source="002 #1 (CMGR)")
def cmgr(ds: Dataset, freq: str = "M", by: Sequence[str] = (), months: int = 12) -> pd.DataFrame:
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


avg_purchase_value = ratio(
    "avg_purchase_value", name="Average purchase value", unit="money", direction="higher", family=FAMILY,
    source="002 #14, 004 #13", numerator="revenue", denominator="won_deals", reason="no won deals in the period",
    doc="revenue / won_deals over deals won in the period.")


@kpi("avg_profit_margin", name="Average profit margin", unit="ratio", direction="higher",
     needs=["deals", "deals.cost"], family=FAMILY,
     options={"weighting": Option("revenue", ("revenue", "mean_of_deals"),
                                  "revenue: (Σ amount − Σ cost) / Σ amount (default); "
                                  "mean_of_deals: mean of each deal's (amount − cost) / amount")},
     source="002 #15; per rep 004 #15")
def avg_profit_margin(ds: Dataset, freq: str = "M", by: Sequence[str] = (), weighting: str = "revenue") -> pd.DataFrame:
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
    else:  # mean_of_deals
        positive = d["amount"] > 0
        per_deal = ((d["amount"] - d["cost"]) / d["amount"].where(positive)).rename("_margin")
        out = flow(ds, d.assign(_margin=per_deal), "closed_at", freq, by, "_margin", agg="mean",
                   where=won & has_cost & positive, note="no won deals with a cost in the period")
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
def revenue_per_rep(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """revenue / number of reps active in the period: reps with an activity, or a deal created or closed
    (won or lost), in it (the rule of activities_per_rep and the rep leaderboard, `active_reps`).

    An activity counts toward a group through its own by-columns, else through its deal (deal_id);
    activities that cannot be placed in a group are left out of that grouping.

    Code, not a `ratio`: its denominator (active reps) is not a registered KPI."""
    by = list(by)
    active = active_rep_count(ds, freq, by, ds.deals)
    return divide(revenue(ds, freq, by), active, by, "no active reps in the period")


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
def product_performance(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
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
def sales_by_region(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """Per region: revenue of won deals closed in the period and its share of the period's (and group's)
    revenue."""
    by = list(by)
    g = _dims(by, ("region",))
    rev = flow(ds, ds.deals, "closed_at", freq, g, "amount", where=_won(ds))
    return combine({"revenue": rev, "share": _share(rev, by, "no revenue in the period")}, g)


@kpi("sales_by_channel", name="Sales by channel", unit="table", direction="higher",
     needs=["deals", "deals.channel"], family=FAMILY, kind="table", dimensions=("channel",), source="002 #6")
def sales_by_channel(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
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

def _deal_type_rate(ds: Dataset, freq: str, by: Sequence[str], kind: str, basis: str) -> pd.DataFrame:
    by = list(by)
    d = ds.deals
    won = _won(ds)
    dtype = d["deal_type"].astype("string").fillna("new")  # missing deal_type = new (data model default)
    existing = won & dtype.ne("new")
    if basis == "count":
        num = flow(ds, d, "closed_at", freq, by, agg="count", where=existing & dtype.eq(kind))
        den = flow(ds, d, "closed_at", freq, by, agg="count", where=existing)
    else:  # revenue
        num = flow(ds, d, "closed_at", freq, by, "amount", where=existing & dtype.eq(kind))
        den = flow(ds, d, "closed_at", freq, by, "amount", where=existing)
    what = "won deals" if basis == "count" else "revenue from won deals"
    return divide(num, den, by, f"no {what} to existing customers in the period")


_BASIS = Option("count", ("count", "revenue"),
                "count: share of won deals (default); revenue: share of their revenue")


def deal_type_rate(id: str, *, deal_type: str, doc: str, needs: Sequence[str] = ("deals", "deals.deal_type"),
                   **meta: Unpack[Meta]) -> KPIFunction:
    """Declare a KPI that is the share of one deal_type among the won deals to existing customers
    (deal_type other than "new"; missing = "new"), closed in the period; option `basis`, count (default)
    or revenue."""
    def rate(ds: Dataset, freq: str, by: list[str], basis: str) -> pd.DataFrame:
        return _deal_type_rate(ds, freq, by, deal_type, basis)

    return declare("deal_type_rate", id, rate, doc=doc, family=FAMILY, needs=needs, options={"basis": _BASIS},
                   **meta)


upsell_rate = deal_type_rate(
    "upsell_rate", name="Upsell rate", unit="ratio", direction="higher", source="004 #16", deal_type="upsell",
    doc="""Won upsell deals / won deals to existing customers (deal_type other than "new"), closed in the period;
    basis="revenue" uses their amounts. A missing deal_type counts as "new".""")

cross_sell_rate = deal_type_rate(
    "cross_sell_rate", name="Cross-sell rate", unit="ratio", direction="higher", source="004 #16",
    deal_type="cross_sell",
    doc="""Won cross_sell deals / won deals to existing customers (deal_type other than "new"), closed in the
    period; basis="revenue" uses their amounts. A missing deal_type counts as "new".""")


# ----------------------------------------------------------------------------- incremental sales

@kpi("incremental_sales", name="Incremental sales", unit="money", direction="higher", needs=["deals"],
     family=FAMILY, additive=True,
     options={"k": Option(3, None, "number of periods before the period whose mean revenue is the baseline "
                                   "(default 3)")},
     source="004 #17")
def incremental_sales(ds: Dataset, freq: str = "M", by: Sequence[str] = (), k: int = 3) -> pd.DataFrame:
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
