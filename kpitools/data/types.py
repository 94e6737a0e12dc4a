"""The pandas dtype of each canonical column kind, and conversion of clean frames to it."""
from __future__ import annotations

import pandas as pd

from .schema import TABLES

DTYPES: dict[str, str] = {
    "id": "string",
    "str": "string",
    "category": "category",
    "date": "datetime64[ns]",
    "month": "datetime64[ns]",
    "money": "float64",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
}


def to_canonical(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Cast an already-clean frame to the canonical dtypes and column order.

    Columns not in the schema are dropped; `month` columns are moved to the first
    day of their month. Raises on values that do not convert: the loader parses
    and reports bad values before it calls this.
    """
    spec = TABLES[table]
    out = {}
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        dtype = DTYPES[col.kind]
        if col.kind in ("date", "month"):
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            s = pd.to_datetime(s).astype(dtype)
            if col.kind == "month":
                s = s.dt.to_period("M").dt.to_timestamp().astype(dtype)
        elif col.kind == "category":
            if not isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype("string").astype("category")
        elif s.dtype != dtype:
            s = s.astype(dtype)
        out[col.name] = s
    return pd.DataFrame(out, index=df.index)
