"""F. Customers: acquisition cost, payback, lifetime value, churn after the sale, NPS.

New customers, churn and ARPU come from `recurring` (one pass over the subscriptions
table shared by every KPI); this module combines them with spend, deals' margin and
survey answers. Frames from different tables are matched on period and the `by`
columns; a value that cannot be computed is NaN with the reason of the first missing
input (e.g. "no new customers in the period").

Gross margin (cac_payback_months, clv, clv_net, ltv_to_cac): by default the margin of
the won deals closed in the period that carry a cost, (Σ amount − Σ cost) / Σ amount,
per group when deals have the `by` columns; where no such deal exists (or deals have
no cost column) the constant `gross_margin` (default 0.8, a typical SaaS margin) is
used. `margin="constant"` always uses the constant.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import numpy as np
import pandas as pd

from ..data import Dataset
from . import recurring
from .engine import as_by, divide, flow, grid
from .registry import Benchmark, Option, kpi

FAMILY = "customers"

SPEND_CATEGORIES = ("marketing", "sales", "salaries", "tools")

_CATEGORIES = Option(SPEND_CATEGORIES, None,
                     "spend categories that count as acquisition cost (default marketing, sales, salaries, "
                     "tools; overhead excluded); a list or comma-separated text; rows without a category are left "
                     "out, and a spend table without a category column counts in full")
_MARGIN = Option("deals", ("deals", "constant"),
                 "deals: margin of the won deals closed in the period that have a cost, "
                 "(Σ amount − Σ cost) / Σ amount, falling back to gross_margin where there are none; "
                 "constant: always gross_margin")
_GROSS_MARGIN = Option(0.8, None, "gross margin used when deals give none (fraction, default 0.8)")
_DISCOUNTED = Option(False, (False, True),
                     "False: arpu × margin / churn; True: m·r / (1 + d − r) with m = arpu × margin, "
                     "r = 1 − monthly churn, d = discount_rate")
_DISCOUNT_RATE = Option(0.01, None, "monthly discount rate d when discounted (default 0.01, about 12.7% a year)")


# --------------------------------------------------------------------------- frame helpers


def _keys(by: list[str]) -> list[str]:
    return ["period", *by]


def _unify(frames: Sequence[pd.DataFrame], by: list[str]) -> list[pd.DataFrame]:
    """Give the `by` columns of several frames one dtype so that merges match (categories
    of different tables differ). Frames without a column are left as they are."""
    frames = [f.copy() for f in frames]
    for c in by:
        having = [f for f in frames if c in f.columns]
        if all(isinstance(f[c].dtype, pd.CategoricalDtype) for f in having):
            cats = reduce(lambda a, b: a.union(b, sort=False), [f[c].cat.categories for f in having])
            dtype: object = pd.CategoricalDtype(cats)
        else:
            dtype = "string"
        for f in having:
            f[c] = f[c].astype("string").astype(dtype)
    return frames


def _join(base: pd.DataFrame, others: dict[str, pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """`base` (its rows kept) with each other frame's value and note as `<name>` / `<name>_note`;
    a frame may lack some `by` columns (it is then the same for every group)."""
    frames = _unify([base, *others.values()], by)
    out = frames[0].rename(columns={"value": "base", "note": "base_note"})
    for (name, _), f in zip(others.items(), frames[1:]):
        keys = [k for k in _keys(by) if k in f.columns]
        part = f[[*keys, "value", "note"]].rename(columns={"value": name, "note": f"{name}_note"})
        out = out.merge(part, on=keys, how="left")
    return out


def _result(frame: pd.DataFrame, by: list[str], value: np.ndarray, reasons: list[tuple[np.ndarray, object]]
            ) -> pd.DataFrame:
    """Tidy output; where value is NaN the note is the first reason whose mask is true (a reason
    is a text or a Series of notes)."""
    out = frame[_keys(by)].copy()
    value = np.asarray(value, dtype="float64")
    value = np.where(np.isfinite(value), value, np.nan)
    note = pd.Series(pd.NA, index=frame.index, dtype="string")
    for mask, reason in reasons:
        mask = np.asarray(mask, dtype=bool) & note.isna().to_numpy() & np.isnan(value)
        if isinstance(reason, pd.Series):
            note[mask] = reason[mask]
        else:
            note[mask] = reason
    note[np.isnan(value) & note.isna().to_numpy()] = "not computable"
    note[~np.isnan(value)] = pd.NA
    out["value"] = value
    out["note"] = note.astype("string")
    return out.reset_index(drop=True)


def _nan(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, pd.Series]:
    """(mask where column `col` is NaN, its notes)."""
    return frame[col].isna().to_numpy(), frame[f"{col}_note"] if f"{col}_note" in frame else frame["base_note"]


def _categories(categories) -> list[str]:
    if isinstance(categories, str):
        return [c.strip() for c in categories.split(",") if c.strip()]
    return list(categories)


# --------------------------------------------------------------------------- building blocks


def _spend(ds: Dataset, freq: str, by: list[str], categories) -> pd.DataFrame:
    """Σ acquisition spend per period (and group). Raises KeyError when spend lacks a `by` column."""
    spend = ds.spend
    missing = [c for c in by if c not in spend.columns]
    if missing:
        raise KeyError(f"spend has no column {', '.join(missing)}: CAC cannot be split by it")
    where = None
    if "category" in spend.columns:
        where = spend["category"].isin(_categories(categories))
    return flow(ds, spend, "month", freq, by, "amount", where=where)


def _cac(ds: Dataset, freq: str, by: list[str], categories, strict: bool) -> pd.DataFrame:
    """CAC per period and group (spend ∪ customer groups). When not `strict`, a `by` column
    missing from spend gives NaN with the reason instead of an error."""
    new = recurring.new_customers(ds, freq, by)
    try:
        spend = _spend(ds, freq, by, categories)
    except KeyError as e:
        if strict:
            raise
        out = new[_keys(by)].copy()
        out["value"] = np.nan
        out["note"] = pd.Series(str(e).strip("'\""), index=out.index, dtype="string")
        return out
    spend, new = _unify([spend, new], by)
    out = divide(spend, new, by, "no new customers in the period")
    return out.sort_values(_keys(by), kind="stable").reset_index(drop=True)


def _margin(ds: Dataset, freq: str, by: list[str], margin: str, gross_margin: float) -> pd.DataFrame:
    """Gross margin per period (and group when deals have the `by` columns); never NaN."""
    deals = ds.deals
    if margin == "constant" or not ds.has("deals", "cost"):
        periods = grid(ds, freq)
        return pd.DataFrame({"period": periods, "value": float(gross_margin),
                             "note": pd.Series(pd.NA, index=range(len(periods)), dtype="string")})
    keys = [c for c in by if c in deals.columns]
    where = deals["status"].eq("won") & deals["cost"].notna()
    amount = flow(ds, deals, "closed_at", freq, keys, "amount", where=where)
    cost = flow(ds, deals, "closed_at", freq, keys, "cost", where=where)
    m = amount[["period", *keys]].copy()
    a = amount["value"].to_numpy()
    m["value"] = np.where(a > 0, (a - cost["value"].to_numpy()) / np.where(a > 0, a, 1.0), float(gross_margin))
    m["note"] = pd.Series(pd.NA, index=m.index, dtype="string")
    return m


def _clv_frame(ds: Dataset, freq: str, by: list[str], discounted: bool, discount_rate: float,
               margin: str, gross_margin: float) -> pd.DataFrame:
    base = recurring.arpu(ds, freq, by)
    churn = recurring.customer_churn_rate(ds, freq, by, basis="monthly")
    f = _join(base, {"churn": churn, "margin": _margin(ds, freq, by, margin, gross_margin)}, by)
    m = f["base"].to_numpy() * f["margin"].to_numpy()
    c = f["churn"].to_numpy()
    if discounted:
        d = float(discount_rate)
        den = d + c  # 1 + d − r with r = 1 − c
        ok = den > 0
        value = np.where(ok, m * (1 - c) / np.where(ok, den, 1.0), np.nan)
        zero = "no customers lost and no discount: lifetime value unbounded"
    else:
        ok = c > 0
        value = np.where(ok, m / np.where(ok, c, 1.0), np.nan)
        zero = "no customers lost in the period (churn 0): lifetime value unbounded"
    arpu_nan, arpu_note = _nan(f, "base")
    churn_nan, churn_note = _nan(f, "churn")
    out = _result(f, by, value, [(arpu_nan, arpu_note), (churn_nan, churn_note), (np.ones(len(f), bool), zero)])
    return out


# --------------------------------------------------------------------------- KPIs


@kpi("cac", name="Customer acquisition cost", unit="money", direction="lower", needs=["spend", "subscriptions"],
     family=FAMILY, options={"categories": _CATEGORIES}, source="002 #8; 003 #10")
def cac(ds: Dataset, freq: str = "M", by: Sequence[str] = (), categories=SPEND_CATEGORIES) -> pd.DataFrame:
    """Σ sales and marketing spend in the period / new customers in the period (first paying month);
    per channel (or campaign, region) when spend has that column — new customers are then split by
    the customer's channel (customers table, else first won deal).

    Code, not a `ratio`: acquisition spend is not a registered KPI, and it is matched with new customers
    across tables."""
    return _cac(ds, freq, as_by(by), categories, strict=True)


@kpi("cac_payback_months", name="CAC payback", unit="months", direction="lower",
     needs=["spend", "subscriptions"], family=FAMILY, benchmark=Benchmark("< 12 months", high=12),
     options={"categories": _CATEGORIES, "margin": _MARGIN, "gross_margin": _GROSS_MARGIN}, source="004 #3")
def cac_payback_months(ds: Dataset, freq: str = "M", by: Sequence[str] = (), categories=SPEND_CATEGORIES,
                       margin: str = "deals", gross_margin: float = 0.8) -> pd.DataFrame:
    """cac / (arpu × gross margin): months of a new customer's gross profit needed to earn back what
    acquiring it cost."""
    by = as_by(by)
    base = _cac(ds, freq, by, categories, strict=True)
    f = _join(base, {"arpu": recurring.arpu(ds, freq, by),
                     "margin": _margin(ds, freq, by, margin, gross_margin)}, by)
    monthly = f["arpu"].to_numpy() * f["margin"].to_numpy()
    ok = monthly > 0
    value = np.where(ok, f["base"].to_numpy() / np.where(ok, monthly, 1.0), np.nan)
    cac_nan, cac_note = _nan(f, "base")
    arpu_nan, arpu_note = _nan(f, "arpu")
    return _result(f, by, value, [(cac_nan, cac_note), (arpu_nan, arpu_note),
                                  (np.ones(len(f), bool), "gross profit per customer is not positive: "
                                                          "CAC is never paid back")])


@kpi("clv", name="Customer lifetime value", unit="money", direction="higher", needs=["subscriptions"],
     family=FAMILY, options={"discounted": _DISCOUNTED, "discount_rate": _DISCOUNT_RATE, "margin": _MARGIN,
                             "gross_margin": _GROSS_MARGIN}, source="002 #9; 003 #8")
def clv(ds: Dataset, freq: str = "M", by: Sequence[str] = (), discounted: bool = False, discount_rate: float = 0.01,
        margin: str = "deals", gross_margin: float = 0.8) -> pd.DataFrame:
    """arpu × gross margin / monthly customer churn rate (churn pooled over the period's months);
    NaN when churn is 0. Discounted: m·r / (1 + d − r), m = arpu × margin, r = 1 − churn.

    Code: a formula of three inputs (arpu, monthly churn, margin) with a reason for each missing one."""
    return _clv_frame(ds, freq, as_by(by), discounted, discount_rate, margin, gross_margin)


def _clv_vs_cac(ds: Dataset, freq: str, by: list[str], op: str, categories, discounted: bool,
                discount_rate: float, margin: str, gross_margin: float) -> pd.DataFrame:
    base = _clv_frame(ds, freq, by, discounted, discount_rate, margin, gross_margin)
    f = _join(base, {"cac": _cac(ds, freq, by, categories, strict=False)}, by)
    clv_nan, clv_note = _nan(f, "base")
    cac_nan, cac_note = _nan(f, "cac")
    if op == "minus":
        value = f["base"].to_numpy() - f["cac"].to_numpy()
        return _result(f, by, value, [(clv_nan, clv_note), (cac_nan, cac_note)])
    c = f["cac"].to_numpy()
    ok = c > 0
    value = np.where(ok, f["base"].to_numpy() / np.where(ok, c, 1.0), np.nan)
    return _result(f, by, value, [(clv_nan, clv_note), (cac_nan, cac_note),
                                  (np.ones(len(f), bool), "CAC is 0 (no acquisition spend in the period)")])


@kpi("clv_net", name="Net customer lifetime value", unit="money", direction="higher",
     needs=["subscriptions", "spend"], family=FAMILY,
     options={"categories": _CATEGORIES, "discounted": _DISCOUNTED, "discount_rate": _DISCOUNT_RATE,
              "margin": _MARGIN, "gross_margin": _GROSS_MARGIN}, source="004 #5")
def clv_net(ds: Dataset, freq: str = "M", by: Sequence[str] = (), categories=SPEND_CATEGORIES, discounted: bool = False,
            discount_rate: float = 0.01, margin: str = "deals", gross_margin: float = 0.8) -> pd.DataFrame:
    """clv − cac (the expected gross profit of a new customer net of what acquiring it cost).

    Code: a difference, where a `by` column that spend lacks gives NaN with the reason (cac raises)."""
    return _clv_vs_cac(ds, freq, as_by(by), "minus", categories, discounted, discount_rate, margin, gross_margin)


@kpi("ltv_to_cac", name="LTV to CAC", unit="ratio", direction="higher", needs=["subscriptions", "spend"],
     family=FAMILY, benchmark=Benchmark("≥ 3", low=3),
     options={"categories": _CATEGORIES, "discounted": _DISCOUNTED, "discount_rate": _DISCOUNT_RATE,
              "margin": _MARGIN, "gross_margin": _GROSS_MARGIN}, source="rule of thumb ≥ 3")
def ltv_to_cac(ds: Dataset, freq: str = "M", by: Sequence[str] = (), categories=SPEND_CATEGORIES,
               discounted: bool = False, discount_rate: float = 0.01, margin: str = "deals",
               gross_margin: float = 0.8) -> pd.DataFrame:
    """clv / cac.

    Code, not a `ratio`: a `by` column that spend lacks gives NaN with the reason (cac raises), and a
    CAC ≤ 0 gives NaN."""
    return _clv_vs_cac(ds, freq, as_by(by), "ratio", categories, discounted, discount_rate, margin, gross_margin)


@kpi("churn_after_sale", name="Churn after sale", unit="ratio", direction="lower",
     needs=["deals", "deals.rep", "deals.customer_id", "subscriptions"], family=FAMILY,
     options={"months": Option(6, None, "a customer counts as lost when it stops paying within this many "
                                        "months after the sale's month (default 6)")},
     source="003 #3")
def churn_after_sale(ds: Dataset, freq: str = "M", by: Sequence[str] = (), months: int = 6) -> pd.DataFrame:
    """Share of the new customers won in the period (won deals of type new, one per customer and group,
    by closed_at) that stop paying within `months` months of the sale (a churn movement in the months
    after the sale's month, up to sale month + months). Use by=["rep"] for the per-rep view. Sales whose
    window reaches past the last month of subscriptions data are left out."""
    by = as_by(by)
    months = int(months)
    deals = ds.deals
    won = deals["status"].eq("won").fillna(False) & deals["customer_id"].notna() & deals["closed_at"].notna()
    if "deal_type" in deals.columns:
        won &= deals["deal_type"].isna() | deals["deal_type"].eq("new").fillna(False)
    # only the columns used below (sorting every column of the won deals costs more than the rest)
    cols = list(dict.fromkeys(["closed_at", "customer_id", *(c for c in by if c in deals.columns)]))
    sales = deals.loc[won.to_numpy(dtype=bool), cols].sort_values("closed_at", kind="stable")
    sales = sales.drop_duplicates(["customer_id", *by], keep="first")

    eng = recurring._engine(ds, [])
    sale_m = recurring._month_index(sales["closed_at"])
    if eng.empty:
        mature = np.zeros(len(sales), dtype=bool)
        lost = np.zeros(len(sales), dtype=bool)
        data_note = "no subscriptions data"
    else:
        mature = sale_m + months <= eng.last
        customers = eng.memo.get("customer_index")  # hashed once per engine
        if customers is None:
            customers = eng.memo["customer_index"] = pd.Index(pd.array(eng.ent_customer, dtype="string"))
        ent = customers.get_indexer(sales["customer_id"].astype("string"))
        churn_keys = eng.t_key[eng.t_mov == recurring._CHURN]
        base = ent.astype(np.int64) * eng.span
        lo = base + np.clip(sale_m - eng.first + 1, 0, eng.span)
        hi = base + np.clip(sale_m + months - eng.first, -1, eng.span - 1)
        lost = (ent >= 0) & (np.searchsorted(churn_keys, lo, "left") < np.searchsorted(churn_keys, hi, "right"))
        data_note = (f"the {months}-month window after these sales is not over "
                     f"(subscriptions data ends {recurring._month_label(eng.last)})")
    sold_all = flow(ds, sales, "closed_at", freq, by, agg="count")
    sold = flow(ds, sales, "closed_at", freq, by, agg="count", where=pd.Series(mature, index=sales.index))
    lost_n = flow(ds, sales, "closed_at", freq, by, agg="count",
                  where=pd.Series(mature & lost, index=sales.index))
    out = divide(lost_n, sold, by, "no new customers won in the period")
    immature = (sold["value"].to_numpy() == 0) & (sold_all["value"].to_numpy() > 0)
    out = out.merge(sold[_keys(by)].assign(_immature=immature), on=_keys(by), how="left")
    out.loc[out["_immature"].fillna(False).to_numpy(dtype=bool), "note"] = data_note
    return out.drop(columns="_immature")


@kpi("nps", name="Net promoter score", unit="score", direction="higher", needs=["surveys"], family=FAMILY,
     per_customer=True, source="000 #25")
def nps(ds: Dataset, freq: str = "M", by: Sequence[str] = ()) -> pd.DataFrame:
    """% promoters (score 9–10) − % detractors (0–6) over the survey answers given in the period,
    from −100 to 100. Groups (region, segment...) are read per customer."""
    by = as_by(by)
    surveys = recurring._with_by(ds, ds.surveys, by, "surveys")
    score = surveys["score"].to_numpy(dtype="float64", na_value=np.nan)
    answered = pd.Series(~np.isnan(score), index=surveys.index)
    answers = flow(ds, surveys, "at", freq, by, agg="count", where=answered)
    net = surveys.assign(_net=np.where(score >= 9, 1.0, np.where(score <= 6, -1.0, 0.0)))
    net_sum = flow(ds, net, "at", freq, by, "_net", where=answered)
    out = divide(net_sum, answers, by, "no survey answers in the period")
    out["value"] = out["value"] * 100.0
    return out
