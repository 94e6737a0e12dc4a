"""Mapping a raw source frame onto a canonical table and parsing its types.

Problems are collected, not raised one by one, so a user sees every mistake in
a file at once.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .config import ReadOptions, TableConfig
from .problems import Problem
from .schema import TABLES, Column

MAX_ROWS_SHOWN = 5
TRUE = {"true", "t", "yes", "y", "1", "1.0"}
FALSE = {"false", "f", "no", "n", "0", "0.0"}


def lines(index: pd.Index, first_line: int) -> tuple[int, ...]:
    """The file line numbers of the first few rows of `index`."""
    return tuple(int(i) + first_line for i in index[:MAX_ROWS_SHOWN])


def map_columns(table: str, raw: pd.DataFrame, cfg: TableConfig, where: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename (canonical: source), fill defaults; one source may feed several canonical columns."""
    spec = TABLES[table]
    problems: list[Problem] = []
    found = list(raw.columns)
    out: dict[str, pd.Series] = {}
    reported: set[str] = set()
    for canonical, source in cfg.columns.items():
        if canonical not in spec.names:
            problems.append(Problem(f"{canonical!r} is not a column of the {table} table", file=where, table=table,
                                    column=canonical, hint=f"map onto one of: {', '.join(spec.names)}"))
        elif source not in raw.columns:
            problems.append(Problem(f"the mapping {canonical}: {source!r} names a column the file does not have",
                                    file=where, table=table, column=canonical,
                                    hint=f"columns found: {', '.join(map(repr, found))}"))
            reported.add(canonical)
        else:
            out[canonical] = raw[source]
    for name in spec.names:  # columns already named canonically need no mapping
        if name not in out and name not in cfg.columns and name in raw.columns:
            out[name] = raw[name]
    for canonical, value in cfg.defaults.items():
        if canonical not in spec.names:
            problems.append(Problem(f"default for {canonical!r}, which is not a column of the {table} table",
                                    file=where, table=table, hint=f"columns: {', '.join(spec.names)}"))
        elif canonical not in out:
            out[canonical] = pd.Series([value] * len(raw), index=raw.index, dtype=object)
        else:  # an existing column: the default fills its blanks
            out[canonical] = out[canonical].where(out[canonical].notna(), value)
    for name in spec.required:
        if name not in out and name not in reported:
            problems.append(Problem(f"required column {name!r} is missing", file=where, table=table, column=name,
                                    hint=f"map it with `columns: {{{name}: <your column>}}` or give "
                                         f"`defaults: {{{name}: ...}}`; columns found: {', '.join(map(repr, found))}"))
    return pd.DataFrame(out, index=raw.index), problems


def _apply_values(s: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    m = {str(k): v for k, v in mapping.items()}
    text = s.astype("string").str.strip()
    return text.map(lambda v: m.get(v, v) if v is not pd.NA else v, na_action="ignore")


def _bad(s: pd.Series, parsed: pd.Series) -> pd.Series:
    return s.notna() & parsed.isna()


def parse_column(col: Column, s: pd.Series, opts: ReadOptions) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column; returns (parsed, mask of unparseable rows, what was expected)."""
    if col.kind in ("money", "float", "int"):
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parsed = s.astype("float64")
        else:
            text = s.astype("string").str.strip().str.replace("\u00a0", "", regex=False)
            if opts.thousands:
                text = text.str.replace(opts.thousands, "", regex=False)
            if opts.decimal != ".":
                text = text.str.replace(opts.decimal, ".", regex=False)
            parsed = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = _bad(s, parsed) | np.isinf(parsed)
        expected = "a number" + (f" with {opts.decimal!r} as decimal mark" if opts.decimal != "." else "")
        if col.kind == "int":
            fractional = parsed.notna() & (parsed % 1 != 0)
            bad |= fractional
            expected = "a whole number"
        return parsed.where(~bad), bad, expected
    if col.kind in ("date", "month"):
        if pd.api.types.is_datetime64_any_dtype(s):
            parsed = s
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                parsed = s.dt.tz_convert("UTC").dt.tz_localize(None)
        else:
            text = s.astype("string").str.strip()
            kw: dict[str, Any] = {"format": opts.date_format} if opts.date_format else {"dayfirst": opts.dayfirst}
            if not opts.date_format:
                kw["format"] = "mixed" if len(text) < 200_000 else None  # per-value parsing is slow on big files
                if kw["format"] is None:
                    del kw["format"]
            parsed = pd.to_datetime(text, errors="coerce", utc=True, **kw).dt.tz_localize(None)
        in_range = parsed.isna() | ((parsed >= pd.Timestamp("1900-01-01")) & (parsed < pd.Timestamp("2200-01-01")))
        parsed = parsed.where(in_range).astype("datetime64[ns]")
        hint = f"a date as {opts.date_format}" if opts.date_format else (
            "a date (day first, e.g. 31/12/2024)" if opts.dayfirst else "a date (e.g. 2024-12-31)")
        return parsed, _bad(s, parsed), hint + " between 1900 and 2200"
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), pd.Series(False, index=s.index), "true/false"
        text = s.astype("string").str.strip().str.lower()
        parsed = pd.Series(pd.NA, index=s.index, dtype="boolean")
        parsed[text.isin(TRUE).fillna(False)] = True
        parsed[text.isin(FALSE).fillna(False)] = False
        return parsed, _bad(s, parsed), "true/false (or yes/no, 1/0)"
    text = s.astype("string").str.strip()
    text = text.where(text != "")
    return text, pd.Series(False, index=s.index), "text"


def parse_table(table: str, frame: pd.DataFrame, cfg: TableConfig, where: str,
                first_line: int) -> tuple[pd.DataFrame, list[Problem], dict[str, pd.Index]]:
    """Apply value mappings and parse every column to its kind.

    Also returns, per column, the rows that did not parse (so later checks do not
    report them a second time as empty)."""
    spec = TABLES[table]
    problems: list[Problem] = []
    out = {}
    unparsed: dict[str, pd.Index] = {}
    for name, mapping in cfg.values.items():
        if name not in spec.names:
            problems.append(Problem(f"value mapping for {name!r}, which is not a column of {table}", file=where,
                                    table=table, hint=f"columns: {', '.join(spec.names)}"))
    for name in frame.columns:
        s = frame[name]
        if name in cfg.values:
            s = _apply_values(s, cfg.values[name])
        parsed, bad, expected = parse_column(spec.column(name), s, cfg.read)
        if bad.any():
            rows = bad[bad].index
            unparsed[name] = rows
            values = tuple(dict.fromkeys(str(v) for v in s[rows[:50]]))[:MAX_ROWS_SHOWN]
            hint = f"make every value {expected}, or leave it blank"
            if spec.column(name).kind in ("date", "month") and not (cfg.read.date_format or cfg.read.dayfirst):
                hint += "; for day-first dates set read: {dayfirst: true} or read: {date_format: '%d/%m/%Y'}"
            if spec.column(name).kind in ("money", "float") and cfg.read.decimal == ".":
                hint += "; for decimal commas set read: {decimal: ','}"
            problems.append(Problem(f"cannot read {len(rows)} value(s) as {expected}", file=where, table=table,
                                    column=name, rows=lines(rows, first_line), values=values, hint=hint,
                                    count=len(rows)))
        out[name] = parsed
    return pd.DataFrame(out, index=frame.index), problems, unparsed
