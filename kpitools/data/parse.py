"""Mapping a raw source frame onto a canonical table and parsing its types.

Problems are collected, not raised one by one, so a user sees every mistake in
a file at once.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .config import ReadOptions, TableConfig
from .dates import ColumnError, read_dates, yaml_key
from .problems import Problem
from .schema import TABLES, Column, Table
from .types import arrow_text, drop_unused

MAX_ROWS_SHOWN = 5
MAX_UNUSED_SHOWN = 10
SEPARATORS = (";", "\t", "|", ",")
TRUE = {"true", "t", "yes", "y", "1", "1.0"}
FALSE = {"false", "f", "no", "n", "0", "0.0"}


def lines(index: pd.Index, first_line: int) -> tuple[int, ...]:
    """The file line numbers of the first few rows of `index`."""
    return tuple(int(i) + first_line for i in index[:MAX_ROWS_SHOWN])


def map_columns(table: str, raw: pd.DataFrame, cfg: TableConfig, where: str,
                spec: Table | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Rename (canonical: source), fill defaults; one source may feed several canonical columns.
    `spec`: the columns to map onto, when the source has another shape than the table (events)."""
    spec = spec or TABLES[table]
    problems: list[Problem] = []
    found = list(raw.columns)
    if len(found) == 1 and len(spec.names) > 1:
        sep = next((s for s in SEPARATORS if s in found[0]), None)
        if sep is not None:  # the whole header is one column: the file uses another separator
            shown = {"\t": "\\t"}.get(sep, sep)
            return pd.DataFrame(index=raw.index), [Problem(
                f"the header was read as one column ({found[0][:80]!r}): the file's separator is {shown!r}",
                file=where, table=table, hint=f"set read: {{sep: '{shown}'}} for the {table} table (or remove a "
                                              "wrong `sep:`)")]
    out: dict[str, pd.Series] = {}
    reported: set[str] = set()
    used = {source for source in cfg.columns.values()} | set(spec.names) | set(cfg.fill.values())
    for name in found:  # pandas renames a repeated header "region" to "region.1"
        m = re.fullmatch(r"(.+)\.(\d+)", name)
        if m and m.group(1) in found and m.group(1) in used:
            copies = 1 + sum(1 for f in found if re.fullmatch(re.escape(m.group(1)) + r"\.\d+", f))
            if name == f"{m.group(1)}.1":
                problems.append(Problem(f"the header has {copies} columns named {m.group(1)!r}: it is not clear "
                                        "which one to use", file=where, table=table, column=m.group(1),
                                        hint="rename or remove the extra columns so that each name appears once"))
                reported.add(m.group(1))
            used.add(name)  # reported here, not again as unused
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
    unused = [c for c in found if c not in used]
    for name in spec.required:
        if name not in out and name not in reported:
            near = difflib.get_close_matches(name, unused, n=1, cutoff=0.6) or [
                c for c in unused if c.strip().lower().replace(" ", "_") == name]
            source = near[0] if near else "<your column>"
            shape = "" if spec.name == table else f" of {spec.name}"  # e.g. of subscription events
            problems.append(Problem(f"required column {name!r}{shape} is missing", file=where, table=table, column=name,
                                    hint=f"map it with `columns: {{{name}: {source}}}` or give "
                                         f"`defaults: {{{name}: ...}}`; columns found: {', '.join(map(repr, found))}"))
    if unused:  # not an error: nothing is lost, but a typo in a header or mapping shows up here
        shown = ", ".join(map(repr, unused[:MAX_UNUSED_SHOWN]))
        more = f" and {len(unused) - MAX_UNUSED_SHOWN} more" if len(unused) > MAX_UNUSED_SHOWN else ""
        problems.append(Problem(f"{len(unused)} column(s) not used: {shown}{more}", file=where, table=table,
                                severity="warning",
                                hint=f"nothing to do if they are not {table} columns; otherwise map them with "
                                     f"`columns: {{<canonical name>: <your column>}}` ({', '.join(spec.names)})"))
    return pd.DataFrame(out, index=raw.index), problems


def _apply_values(s: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    m = {str(k): v for k, v in mapping.items()}
    text = s.astype("string").str.strip()
    return text.map(lambda v: m.get(v, v) if v is not pd.NA else v, na_action="ignore")


def _arrow_numbers(s: pd.Series, opts: ReadOptions) -> pd.Series | None:
    """The numbers of a text column by Arrow's cast, when every value is a plain finite number (the
    common case, read in one pass without copies); None otherwise: the pandas path then reads the
    column and reports the values it cannot read, with their rows."""
    text = arrow_text(s)
    if text is None or opts.thousands or opts.decimal != ".":
        return None
    try:
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:  # blanks around a number are allowed (pandas' path strips them too)
            numbers = pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    if pc.any(pc.invert(pc.is_finite(numbers))).as_py():  # nan, inf: reported by the pandas path
        return None
    # + 0.0: a "-0" reads as 0.0, as pandas reads it
    return pd.Series(numbers.to_numpy() + 0.0, index=s.index, name=s.name)


def _bad(s: pd.Series, parsed: pd.Series) -> pd.Series:
    return s.notna() & parsed.isna()


def parse_column(col: Column, s: pd.Series, opts: ReadOptions, names: tuple[str, ...] = (), *,
                 excel: bool = False) -> tuple[pd.Series, pd.Series, str, list[ColumnError]]:
    """Parse one column; returns (parsed, mask of unparseable rows, what was expected, errors of the
    whole column, each with the rows it names: the column is then not read).
    `names`: the column's names in the source (per-column read settings); `excel`: the source is an
    Excel file, whose date columns may hold day numbers."""
    if col.kind in ("money", "float", "int"):
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parsed = s.astype("float64")
        elif (fast := _arrow_numbers(s, opts)) is not None:  # plain numbers: read by Arrow
            parsed = fast
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
        return parsed.where(~bad), bad, expected, []
    if col.kind in ("date", "month"):
        return read_dates(s, col.name, names, opts, excel)
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), pd.Series(False, index=s.index), "true/false", []
        text = s.astype("string").str.strip().str.lower()
        parsed = pd.Series(pd.NA, index=s.index, dtype="boolean")
        parsed[text.isin(TRUE).fillna(False)] = True
        parsed[text.isin(FALSE).fillna(False)] = False
        return parsed, _bad(s, parsed), "true/false (or yes/no, 1/0)", []
    if col.kind == "category" and isinstance(s.dtype, pd.CategoricalDtype):
        return _strip_categories(s), pd.Series(False, index=s.index), "text", []
    if col.kind == "category" and (text := arrow_text(s)) is not None:
        return _strip_categories(_arrow_categories(s, text)), pd.Series(False, index=s.index), "text", []
    if (clean := _clean_arrow_text(s)) is not None:
        return clean, pd.Series(False, index=s.index), "text", []
    text = s.astype("string").str.strip()
    text = text.where(text != "")
    return text, pd.Series(False, index=s.index), "text", []


def _clean_arrow_text(s: pd.Series) -> pd.Series | None:
    """A text column that is already clean (no value blank or with blanks around it: ids as exported),
    as "string" without a copy, checked on first and last characters only; None otherwise."""
    text = arrow_text(s)
    if text is None:
        return None
    for chunk in text.chunks:  # chunk by chunk: the ends of a whole column would be a copy of its size
        for end in (pc.utf8_slice_codeunits(chunk, 0, 1), pc.utf8_slice_codeunits(chunk, -1, None)):
            if pc.any(pc.utf8_is_space(end)).as_py() or pc.any(pc.equal(end, "")).as_py():
                return None
    return pd.Series(pd.arrays.ArrowStringArray(text), index=s.index, name=s.name)


def _arrow_categories(s: pd.Series, text: pa.ChunkedArray) -> pd.Series:
    """A text column as a categorical by Arrow's dictionary encoding (one hashing pass), so that
    cleaning and typing then work on its distinct values."""
    encoded = pc.dictionary_encode(text).combine_chunks()  # one dictionary for every chunk
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    values = pd.Categorical.from_codes(codes, categories=pd.Index(encoded.dictionary.to_pandas(), dtype="string"))
    return pd.Series(values, index=s.index, name=s.name)


def _strip_categories(s: pd.Series) -> pd.Series:
    """A categorical column (Parquet's dictionary columns) cleaned through its few categories, not
    its millions of rows: categories stripped, equal ones merged, blank ones missing."""
    names = pd.Series(s.cat.categories.astype("string")).str.strip()
    names = names.where(names != "")
    codes, uniques = pd.factorize(names, sort=True, use_na_sentinel=True)  # sorted, as astype("category")
    remap = np.append(codes, -1)  # row code -1 (missing) stays missing
    rows = remap[s.cat.codes.to_numpy()]
    categories = pd.Index(uniques, dtype="string")  # as a CSV column of text gets
    values = pd.Categorical.from_codes(rows, categories=categories)
    return drop_unused(pd.Series(values, index=s.index, name=s.name))  # as from text


def parse_table(table: str, frame: pd.DataFrame, cfg: TableConfig, where: str, first_line: int,
                spec: Table | None = None, *, excel: bool = False, consume: bool = False
                ) -> tuple[pd.DataFrame, list[Problem], dict[str, pd.Index]]:
    """Apply value mappings and parse every column to its kind (of `spec`, default the table's).
    `excel`: the source is an Excel file (date columns may hold Excel's day numbers). `consume`: take
    each column out of `frame` as it is parsed, so that (if the caller holds it nowhere else) its text
    is let go then, not at the end: `frame` is left with no columns.

    Also returns, per column, the rows that did not parse (so later checks do not
    report them a second time as empty)."""
    spec = spec or TABLES[table]
    problems: list[Problem] = []
    out = {}
    unparsed: dict[str, pd.Index] = {}
    for name in cfg.values:
        if name not in spec.names:
            problems.append(Problem(f"value mapping for {name!r}, which is not a column of {table}", file=where,
                                    table=table, hint=f"columns: {', '.join(spec.names)}"))
        elif name not in frame.columns:
            problems.append(Problem(f"a `values:` mapping for {name!r}, but the file has no {name} column",
                                    file=where, table=table, column=name,
                                    hint=f"map the column first: `columns: {{{name}: <your column>}}`, "
                                         "or remove the mapping"))
    for name in list(frame.columns):
        s = frame.pop(name) if consume else frame[name]
        if name in cfg.values:
            s = _apply_values(s, cfg.values[name])
        names = (cfg.columns[name],) if name in cfg.columns else ()  # the column's name in the file
        parsed, bad, expected, errors = parse_column(spec.column(name), s, cfg.read, names, excel=excel)
        for problem, rows in errors:
            problems.append(replace(problem, file=where, table=table, column=name, rows=lines(rows, first_line),
                                    count=len(rows)))
        if errors:  # the column is not read: its rows are not reported again (as empty, say)
            unparsed[name] = s.index[s.notna().to_numpy()]
        if bad.any():
            rows = bad[bad].index
            unparsed[name] = rows
            values = tuple(dict.fromkeys(str(v) for v in s[rows[:50]]))[:MAX_ROWS_SHOWN]
            hint = f"make every value {expected}, or leave it blank"
            if spec.column(name).kind in ("date", "month") and cfg.read.date_format_of(name, *names) is None:
                key = names[0] if names else name
                example = "%Y-%m" if spec.column(name).kind == "month" else "%d/%m/%Y"
                hint += (f"; if the column's dates are written another way, state how: "
                         f"read: {{date_format: {{{yaml_key(key)}: '{example}'}}}}")
            if spec.column(name).kind in ("money", "float") and cfg.read.decimal == ".":
                hint += "; for decimal commas set read: {decimal: ','}"
            problems.append(Problem(f"cannot read {len(rows)} value(s) as {expected}", file=where, table=table,
                                    column=name, rows=lines(rows, first_line), values=values, hint=hint,
                                    count=len(rows)))
        out[name] = parsed
        del s, parsed, bad  # the text (and its parsed copy, now in `out`) let go before the next column
    # copy=False: the parsed columns as they are, not copied into blocks (to_canonical makes the blocks)
    return pd.DataFrame(out, index=frame.index, copy=False), problems, unparsed
