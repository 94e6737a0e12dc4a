"""Event-style subscription exports, expanded to the monthly `subscriptions` table.

Billing systems export subscriptions as what happened, not as one row per month.
Two shapes are read (`shape:` in the subscriptions table's config):

`shape: events`, one row per start, change or cancellation:

    customer_id, date, type, amount, interval, subscription_id, plan, region, segment, churn_reason
    C1, 2024-01-10, start, 100, month
    C1, 2024-03-15, change, 1800, year      # from 15 March: 1800 a year = 150 a month
    C1, 2024-06-20, cancel                  # from 20 June: nothing

`shape: periods`, one row per stretch of time at one amount:

    customer_id, start, end, amount, interval, plan, region, segment, churn_reason
    C1, 2024-01-10, 2024-03-14, 100, month
    C1, 2024-03-15, 2024-06-19, 1800, year

The monthly rule (ChartMogul's): a month's MRR is the MRR in force on its last day.
So a customer who starts mid-month pays that month; a change mid-month counts in
full from that month (the movement is booked in the month of the change); a
cancellation takes effect on its date, so the last paying month is the month
before the cancellation's month (cancel on 1 April: March is the last paying
month; cancel on 20 June: May is). A period's `end` is its last day of service
(inclusive), i.e. a cancellation on the day after. Amounts are normalised to a
month: year / 12, quarter / 3, week x 52 / 12, "6 months" / 6.

Each subscription (`subscription_id`; without it, the customer) is followed on
its own and a customer's subscriptions are added up per month, plan, region and
segment. Rows of a `periods` file are independent: overlapping periods add up.
Events of one subscription in one month: the last one (by date, then file order)
sets that month. `type` may be left out: an amount > 0 starts or changes, an
amount of 0 or blank cancels. `churn_reason` of a cancellation goes on the last
paying month, when the customer pays nothing after it (a cancellation dated in the
month after `until` still marks `until` as the last paying month). The monthly rows run from
each subscription's first event to `until:` (YYYY-MM), by default the month of the
latest date in the file.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .config import TableConfig
from .parse import MAX_ROWS_SHOWN, lines, map_columns, parse_table
from .problems import Problem
from .schema import CHURN_REASONS, Column, Table

EVENT_TYPES = ("start", "change", "cancel")
TYPE_ALIASES = {
    "start": "start", "new": "start", "subscribe": "start", "subscribed": "start", "activate": "start",
    "reactivate": "start", "reactivation": "start", "resume": "start",
    "change": "change", "update": "change", "upgrade": "change", "downgrade": "change", "plan_change": "change",
    "cancel": "cancel", "cancellation": "cancel", "cancelled": "cancel", "canceled": "cancel", "end": "cancel",
    "ended": "cancel", "churn": "cancel", "stop": "cancel", "pause": "cancel",
}
UNIT_MONTHS = {"month": 1.0, "quarter": 3.0, "year": 12.0, "week": 12 / 52, "day": 12 / 365}
INTERVAL_ALIASES = {
    "monthly": "month", "mo": "month", "m": "month", "quarterly": "quarter", "q": "quarter",
    "yearly": "year", "annual": "year", "annually": "year", "y": "year", "yr": "year",
    "weekly": "week", "w": "week", "daily": "day", "semiannual": "6 months", "half-year": "6 months",
    "half_year": "6 months", "biannual": "6 months",
}
_N_UNITS = re.compile(r"^(\d+(?:\.\d+)?)\s*(day|week|month|quarter|year)s?$")

C = Column
_COMMON = (C("amount", "money"), C("interval", "str"), C("plan", "category"), C("region", "category"),
           C("segment", "category"), C("churn_reason", "category", allowed=CHURN_REASONS))
SHAPES: dict[str, Table] = {
    "events": Table("subscription events", (C("customer_id", "id", True), C("date", "date", True),
                                            C("type", "str"), C("subscription_id", "id"), *_COMMON)),
    "periods": Table("subscription periods", (C("customer_id", "id", True), C("start", "date", True),
                                              C("end", "date"), *_COMMON)),
}
del C
ATTRIBUTES = ("plan", "region", "segment")


def interval_months(value: Any) -> float | None:
    """Months in one billing interval ('year' -> 12, 'quarterly' -> 3, '6 months' -> 6); None if unknown."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return 1.0
    text = " ".join(str(value).strip().lower().split())
    if text == "":
        return 1.0
    text = INTERVAL_ALIASES.get(text, text)
    if text in UNIT_MONTHS:
        return UNIT_MONTHS[text]
    m = _N_UNITS.match(text)
    if m and float(m.group(1)) > 0:
        return float(m.group(1)) * UNIT_MONTHS[m.group(2)]
    return None


def _map_and_parse(spec: Table, raw: pd.DataFrame, cfg: TableConfig, where: str,
                   first_line: int) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename (canonical: source), fill defaults, map values and parse each column: the loader's
    steps for a canonical table, for the shapes of this module."""
    mapped, problems = map_columns("subscriptions", raw, cfg, where, spec=spec)
    parsed, more, _ = parse_table("subscriptions", mapped, cfg, where, first_line, spec=spec)
    return parsed, problems + more


def _bad_rows(mask: pd.Series, df: pd.DataFrame, column: str, message: str, hint: str, where: str,
              first_line: int) -> list[Problem]:
    if not mask.any():
        return []
    rows = mask[mask].index
    values = tuple(dict.fromkeys(str(v) for v in df.loc[rows[:50], column]))[:MAX_ROWS_SHOWN] \
        if column in df.columns else ()
    return [Problem(message, file=where, table="subscriptions", column=column, rows=lines(rows, first_line),
                    count=len(rows), values=values, hint=hint)]


def _monthly_amount(df: pd.DataFrame, where: str, first_line: int) -> tuple[pd.Series, list[Problem]]:
    """Each row's amount per month (NaN where the amount is blank)."""
    amount = df["amount"] if "amount" in df.columns else pd.Series(np.nan, index=df.index)
    problems = _bad_rows(amount.lt(0).fillna(False), df, "amount", "negative amount",
                         "amounts are what the customer pays per interval: 0 or more (a cancellation is "
                         "type cancel, or an amount of 0)", where, first_line)
    if "interval" in df.columns:
        text = df["interval"].astype("string")
        uniq = {v: interval_months(v) for v in text.dropna().unique()}
        months = text.map(uniq).astype("float64").fillna(1.0)
        unknown = text.notna() & text.map(lambda v: uniq.get(v, 1.0) is None).astype(bool)
        problems += _bad_rows(unknown, df, "interval", "billing interval not understood",
                              "write month, quarter, year or week (or '6 months'; monthly, annual, ... also work), "
                              "or map yours with `values: {interval: {Jahr: year}}`", where, first_line)
        months = months.where(~unknown, 1.0)
    else:
        months = pd.Series(1.0, index=df.index)
    return amount / months, problems


def _event_types(df: pd.DataFrame, amount: pd.Series, where: str, first_line: int) -> tuple[pd.Series, list[Problem]]:
    has_amount = amount.fillna(0).gt(0)
    implied = pd.Series(np.where(has_amount, "change", "cancel"), index=df.index, dtype=object)
    if "type" not in df.columns:
        return implied, []
    text = df["type"].astype("string").str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)
    kind = text.map(lambda v: TYPE_ALIASES.get(v, "?") if v is not pd.NA else None, na_action="ignore")
    problems = _bad_rows(kind.eq("?").fillna(False), df, "type", "event type not understood",
                         "use start, change or cancel, or map yours with `values: {type: {Upgrade: change}}`",
                         where, first_line)
    kind = kind.where(kind.notna() & kind.ne("?"), implied)
    problems += _bad_rows(kind.isin(["start", "change"]) & amount.isna(), df, "amount",
                          "a start or change without an amount",
                          "give the new amount (per interval), or make the event a cancel", where, first_line)
    return kind, problems


def _to_events(df: pd.DataFrame, shape: str, where: str, first_line: int) -> tuple[pd.DataFrame, list[Problem]]:
    """One row per event: key, customer_id, date, mrr (after the event), attributes, reason."""
    mrr, problems = _monthly_amount(df, where, first_line)
    attrs = [c for c in ATTRIBUTES if c in df.columns]
    reason = df["churn_reason"] if "churn_reason" in df.columns else pd.Series(pd.NA, index=df.index, dtype=object)
    if shape == "events":
        kind, found = _event_types(df, mrr, where, first_line)
        problems += found
        key = df["subscription_id"].fillna(df["customer_id"]) if "subscription_id" in df.columns \
            else df["customer_id"]
        ev = pd.DataFrame({"key": key.astype("string"), "customer_id": df["customer_id"], "date": df["date"],
                           "mrr": mrr.where(kind.ne("cancel"), 0.0).fillna(0.0),
                           "reason": reason.where(kind.eq("cancel")), "order": np.arange(len(df))})
        for a in attrs:
            ev[a] = df[a]
        return ev, problems
    problems += _bad_rows((df["end"] < df["start"]).fillna(False) if "end" in df.columns else
                          pd.Series(False, index=df.index), df, "end", "the period ends before it starts",
                          "end is the last day of service, on or after start", where, first_line)
    problems += _bad_rows(mrr.isna() & df["start"].notna(), df, "amount", "a period without an amount",
                          "give the amount paid per interval", where, first_line)
    n = len(df)
    key = pd.Series([f"row {i}" for i in range(n)], index=df.index, dtype="string")
    starts = pd.DataFrame({"key": key, "customer_id": df["customer_id"], "date": df["start"],
                           "mrr": mrr.fillna(0.0), "reason": pd.Series(pd.NA, index=df.index, dtype=object),
                           "order": np.arange(n) * 2})
    end = df["end"] if "end" in df.columns else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    ended = end.notna()
    stops = pd.DataFrame({"key": key, "customer_id": df["customer_id"], "date": end + pd.Timedelta(days=1),
                          "mrr": 0.0, "reason": reason, "order": np.arange(n) * 2 + 1})[ended]
    for a in attrs:
        starts[a] = df[a]
        stops[a] = df[a][ended]
    return pd.concat([starts, stops], ignore_index=True), problems


def _month_number(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype(np.int64)


def expand_events(ev: pd.DataFrame, until: int) -> pd.DataFrame:
    """The monthly subscriptions table (customer_id, month, mrr, attributes, churn_reason) of
    events with columns key, customer_id, date, mrr, order, reason and any of plan/region/segment.
    `until` is the last month (months since 1970-01)."""
    attrs = [a for a in ATTRIBUTES if a in ev.columns]
    ev = ev[ev["date"].notna()].copy()
    ev["m"] = _month_number(ev["date"])
    # a cancellation in the month after `until` still says why the last month was the last
    cancels_after = ev[(ev["m"] == until + 1) & ev["reason"].notna()]
    ev = ev[ev["m"] <= until].sort_values(["key", "date", "order"], kind="stable")
    for a in attrs:  # a cancellation (or change) that leaves the plan blank keeps the plan in force
        ev[a] = ev.groupby("key", sort=False)[a].ffill()
    last = ev.drop_duplicates(["key", "m"], keep="last").reset_index(drop=True)
    # each (key, month) value holds until the key's next event month, the last one until `until`
    nxt = last["m"].shift(-1).fillna(until + 1).to_numpy(dtype=np.int64)
    same = last["key"].eq(last["key"].shift(-1)).fillna(False).to_numpy(dtype=bool)
    span = np.where(same, nxt, until + 1) - last["m"].to_numpy(dtype=np.int64)
    rows = np.repeat(np.arange(len(last)), span)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(span) - span, span)
    monthly = last.iloc[rows][["customer_id", "mrr", *attrs]].reset_index(drop=True)
    monthly["m"] = last["m"].to_numpy()[rows] + offset
    monthly = monthly[monthly["mrr"] > 0]
    for a in attrs:  # group on text so that missing values form their own group
        monthly[a] = monthly[a].astype(object)
    out = (monthly.groupby(["customer_id", "m", *attrs], dropna=False, sort=True, observed=True)["mrr"]
           .sum().reset_index())
    out = out[out["mrr"] > 0]
    if ev["reason"].notna().any() or len(cancels_after):
        out["churn_reason"] = _churn_reasons(pd.concat([ev, cancels_after]), out)
    out.insert(1, "month", out.pop("m").to_numpy().astype("datetime64[M]").astype("datetime64[ns]"))
    cols = ["customer_id", "month", "mrr", *attrs] + (["churn_reason"] if "churn_reason" in out.columns else [])
    return out[cols].reset_index(drop=True)


def _churn_reasons(ev: pd.DataFrame, out: pd.DataFrame) -> pd.Series:
    """A cancellation's reason on the customer's last paying month before it, when the customer
    pays nothing in the cancellation's month."""
    cancels = ev[ev["reason"].notna()][["customer_id", "m", "reason"]].copy()
    cancels["m"] = cancels["m"] - 1
    paying = set(zip(out["customer_id"], out["m"]))
    keep = [(c, m) in paying and (c, m + 1) not in paying for c, m in zip(cancels["customer_id"], cancels["m"])]
    cancels = cancels[keep].drop_duplicates(["customer_id", "m"], keep="last")
    joined = out[["customer_id", "m"]].merge(cancels, on=["customer_id", "m"], how="left")
    return pd.Series(joined["reason"].to_numpy(), index=out.index, dtype=object)


def expand(raw: pd.DataFrame, cfg: TableConfig, where: str, first_line: int) -> tuple[pd.DataFrame, list[Problem]]:
    """The subscriptions table of an event-style source (`cfg.shape` events or periods), and the
    problems found in the source (rows are the source's lines)."""
    spec = SHAPES[cfg.shape]
    df, problems = _map_and_parse(spec, raw, cfg, where, first_line)
    if any(p.severity == "error" for p in problems):
        return pd.DataFrame(), problems
    required = [c for c in spec.required if c in df.columns]
    problems += [p for col in required for p in _bad_rows(df[col].isna(), df, col, f"{col} is empty",
                                                          f"every row needs a {col}", where, first_line)]
    if "churn_reason" in df.columns:
        bad = df["churn_reason"].notna() & ~df["churn_reason"].isin(CHURN_REASONS)
        problems += _bad_rows(bad, df, "churn_reason", "churn_reason not allowed",
                              f"use {' or '.join(CHURN_REASONS)}, or map yours with "
                              "`values: {churn_reason: {Card declined: passive}}`", where, first_line)
    ev, found = _to_events(df, cfg.shape, where, first_line)
    problems += found
    if any(p.severity == "error" for p in problems):
        return pd.DataFrame(), problems
    if cfg.until:
        until = int(np.datetime64(pd.Period(cfg.until, "M").start_time, "M").astype(np.int64))
    else:
        dates = [df[c] for c in ("date", "start", "end") if c in df.columns]
        latest = max((d.max() for d in dates if d.notna().any()), default=None)
        if latest is None:
            return pd.DataFrame(columns=["customer_id", "month", "mrr"]), problems
        until = int(np.datetime64(latest, "M").astype(np.int64))
    return expand_events(ev, until), problems
