"""Shapes of data a report must render on, made from the sample: each written as a folder of canonical
Parquet files that `kpitools.load` reads without a config. Real datasets rarely have every table; the
sample does, so without these the reports are only ever tried on one shape.

    write_shapes(folder)  ->  {"deals_only": folder / "deals_only", ...}
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

import kpitools
from kpitools.data.schema import TABLES

Tables = dict[str, pd.DataFrame]
END = "2026-10"  # the sample's last month (tests run as on 2026-11-15)
FACTS = ("deals", "leads", "subscriptions")


def sample_tables(months: int = 12) -> Tables:
    ds = kpitools.sample(months=months, end=END)
    return {name: df for name, df in ds.tables.items() if name != "customers"}  # derived again on load


def _keep(tables: Tables, *names: str) -> Tables:
    return {n: tables[n] for n in names if n in tables}


def _filtered(tables: Tables, column: str, value: str) -> Tables:
    return {n: (df[df[column] == value] if column in df.columns else df) for n, df in tables.items()}


def _required_deal_columns(tables: Tables) -> Tables:
    deals = tables["deals"]
    return {"deals": deals[[c for c in TABLES["deals"].required] + ["closed_at"]]}


def _won_ledger(tables: Tables) -> Tables:
    deals = tables["deals"]
    won = deals[deals["status"] == "won"][["deal_id", "created_at", "closed_at", "status", "amount", "region",
                                           "rep", "product"]]
    return {"deals": won}


def _no_deals_in_the_last_month(tables: Tables) -> Tables:
    deals = tables["deals"]
    last = pd.Period(END, "M")
    touched = (deals["created_at"].dt.to_period("M") == last) | (deals["closed_at"].dt.to_period("M") == last)
    return {**tables, "deals": deals[~touched.fillna(False)]}


def shape_builders() -> dict[str, Callable[[Tables], Tables]]:
    """name -> how to make that shape from the sample's tables."""
    optional = [t for t in sample_tables(2) if t != "deals"]
    shapes: dict[str, Callable[[Tables], Tables]] = {"full": lambda t: t}
    for name in optional:
        shapes[f"no_{name}"] = lambda t, name=name: {k: v for k, v in t.items() if k != name}
        shapes[f"deals_and_{name}"] = lambda t, name=name: _keep(t, "deals", name)
    shapes.update({
        "deals_only": lambda t: _keep(t, "deals"),
        "required_deal_columns_only": _required_deal_columns,
        "won_only_ledger": _won_ledger,
        "leads_only": lambda t: _keep(t, "leads"),
        "subscriptions_only": lambda t: _keep(t, "subscriptions"),
        "one_region": lambda t: _filtered(t, "region", "EMEA"),
        "only_open_deals": lambda t: {**t, "deals": t["deals"][t["deals"]["status"] == "open"]},
        "one_rep": lambda t: {n: df for n, df in _filtered(t, "rep", str(t["deals"]["rep"].iloc[0])).items()
                              if n in ("deals", "activities", "targets", "stages")},
        "no_deals_in_the_period": _no_deals_in_the_last_month,
    })
    return shapes


def write_tables(tables: Tables, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.reset_index(drop=True).to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def write_shapes(folder: Path) -> dict[str, Path]:
    tables = sample_tables()
    out = {name: write_tables(build(tables), folder / name) for name, build in shape_builders().items()}
    out["three_months_of_history"] = write_tables(sample_tables(3), folder / "three_months_of_history")
    return out
