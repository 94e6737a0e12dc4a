"""The KPI catalogue as a frame, and frames as text (table, CSV, JSON) for the command line."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from ..calendars.periods import is_period, is_period_dtype, period_text
from .registry import REGISTRY

# catalogue order of the families (kpi-catalogue.md); unknown families come last
FAMILIES = ("growth", "targets", "pipeline", "funnel", "activity", "recurring", "customers", "reps")
CATALOGUE_COLUMNS = ["id", "name", "family", "unit", "direction", "kind", "needs", "formula", "options", "benchmark"]
FORMATS = ("table", "csv", "json")


def _option_text(name: str, option: Any) -> str:
    text = f"{name}={option.default}"
    if option.choices:
        text += f" ({'|'.join(str(c) for c in option.choices)})"
    return text


def catalogue_frame() -> pd.DataFrame:
    """Every registered KPI: id, name, family, unit, direction, kind, needs, formula, options (with their
    defaults and choices, "compare=previous (previous|yoy)"), benchmark. Ordered by family, as in the
    catalogue, then as registered."""
    rows = []
    for order, k in enumerate(REGISTRY.values()):
        rows.append({
            "id": k.id, "name": k.name, "family": k.family, "unit": k.unit, "direction": k.direction,
            "kind": k.kind, "needs": ", ".join(k.needs), "formula": k.formula,
            "options": "; ".join(_option_text(n, o) for n, o in k.options.items()),
            "benchmark": k.benchmark.text if k.benchmark else "",
            "_family": FAMILIES.index(k.family) if k.family in FAMILIES else len(FAMILIES), "_order": order,
        })
    if not rows:
        return pd.DataFrame(columns=CATALOGUE_COLUMNS)
    df = pd.DataFrame(rows).sort_values(["_family", "_order"], kind="stable")
    return df[CATALOGUE_COLUMNS].reset_index(drop=True)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Periods as text; categories as objects."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if is_period_dtype(s.dtype):
            out[c] = s.map(period_text).astype(object)
        elif s.dtype == object and s.map(is_period).any():
            out[c] = s.map(period_text)
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(object)
    return out


def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _cell(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}"
        if abs(v) >= 100:
            return f"{v:,.2f}"
        return f"{v:.4g}"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    return str(v)


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def format_frame(df: pd.DataFrame, fmt: str = "table") -> str:
    """A frame as text: "csv" (exactly its columns, periods like 2024-03 / 2024Q1), "json" (a list of
    records, NaN as null) or "table" (a plain aligned text table)."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    plain = _plain(df)
    if fmt == "csv":
        return plain.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        records = [{str(k): _json_value(v) for k, v in row.items()} for row in plain.to_dict("records")]
        return json.dumps(records, ensure_ascii=False, indent=1, default=str) + "\n"
    headers = [str(c) for c in plain.columns]
    body = [[_cell(v) for v in plain[c]] for c in plain.columns]
    right = [_is_number(df[c]) for c in df.columns]
    widths = [max([len(h), *(len(x) for x in col)]) for h, col in zip(headers, body)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    lines = [line(headers), "  ".join("-" * w for w in widths)]
    lines += [line([col[i] for col in body]) for i in range(len(plain))]
    return "\n".join(lines) + "\n"
