"""The pandas dtype of each canonical column kind, and conversion of clean frames to it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

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
            if s.dtype != dtype:  # already parsed dates are kept as they are: to_datetime would copy them
                s = pd.to_datetime(s).astype(dtype)
            if col.kind == "month":
                # the first of the month, by numpy's month unit (to_period makes Period objects: slow)
                s = pd.Series(s.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype("datetime64[ns]"),
                              index=s.index, name=s.name)
        elif col.kind == "category":
            if not isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype("string").astype("category")
            else:  # the values present, as from text (rows left out or blanked may have held others)
                s = drop_unused(s)
        elif s.dtype != dtype:
            s = s.astype(dtype)
        out[col.name] = s
    return pd.DataFrame(out, index=df.index)


def drop_unused(s: pd.Series) -> pd.Series:
    """A categorical without the categories no row uses, order kept (as remove_unused_categories,
    which sorts every row's code to find them: this counts them in one pass)."""
    codes = s.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(s.cat.categories)) > 0
    return s if used.all() else s.cat.remove_categories(s.cat.categories[~used])


def arrow_text(s: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow array under a text column read by pyarrow (pandas' Arrow-backed strings), without a
    copy; None for any other column. Lets parsing run in Arrow's compute kernels."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        return s.array.__arrow_array__()  # the ChunkedArray itself (the Arrow protocol, no copy)
    return None
