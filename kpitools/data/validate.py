"""Validation rules of the canonical tables, as pandera schemas built from schema.py.

`check_table` runs one table's schema lazily (all failures at once) and turns
pandera's failure cases into `Problem`s that name file, column, rows and a fix.
`check_links` adds warnings for ids that point nowhere.
"""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa
import pyarrow.compute as pc

from .parse import MAX_ROWS_SHOWN, lines
from .problems import Problem
from .schema import TABLES, Table
from .types import arrow_text

if TYPE_CHECKING:
    from .dataset import Dataset

# Row-level rules that involve more than one column: name -> (column to blame, check, message, fix).
RULES: dict[str, list[tuple[str, pa.Check, str]]] = {
    "deals": [
        ("closed_at",
         pa.Check(lambda d: ~(d["status"].isin(["won", "lost"]) & d["closed_at"].isna()),
                  error="closed_missing", ignore_na=False),
         "set closed_at for every won or lost deal (or mark the deal open)"),
        ("closed_at",
         pa.Check(lambda d: ~(d["closed_at"] < d["created_at"]).fillna(False), error="closed_before_created",
                  ignore_na=False),
         "closed_at must not be before created_at: check the two dates (day-first vs month-first?)"),
    ],
}
# No sales number is this large; one that is comes from a wrong mapping (an id or a phone number read
# as an amount) or a lost decimal mark, and float64 sums lose whole units beyond it.
MAX_NUMBER = 1e15

MESSAGES = {
    "closed_missing": "won or lost deal without closed_at",
    "closed_before_created": "closed_at is before created_at",
}


@cache
def schema_for(table: str, columns: tuple[str, ...], check_key: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of a canonical table, for the columns present. `check_key=False`: without
    the key's uniqueness check, for a key already known to be unique (pandera's check is slow)."""
    spec: Table = TABLES[table]
    cols = {}
    for c in spec.columns:
        if c.name not in columns:
            continue
        checks = []
        if c.allowed:
            checks.append(pa.Check.isin(list(c.allowed), error=f"allowed:{','.join(c.allowed)}"))
        if c.kind == "money":
            checks.append(pa.Check.ge(0, error="negative"))
        if c.bounds:
            lo, hi = c.bounds
            checks.append(pa.Check.in_range(lo, hi, error=f"range:{lo}:{hi}"))
        if c.kind in ("money", "float", "int") and (not c.bounds or c.bounds[1] == float("inf")):
            checks.append(pa.Check(lambda s: s.abs() < MAX_NUMBER, error="too_large"))
        cols[c.name] = pa.Column(checks=checks, nullable=not c.required, unique=check_key and c.name == spec.key,
                                 required=False)
    rules = [rule for column, rule, _ in RULES.get(table, []) if column in columns and "status" in columns]
    return pa.DataFrameSchema(cols, checks=rules, name=table)


def _guess(value: str, allowed: list[str]) -> str:
    """The allowed value a source value most likely means ('Closed Won' -> won), else a placeholder."""
    words = value.lower().replace("-", " ").replace("_", " ").split()
    hits = [a for a in allowed if a in words or a.replace("_", " ") in value.lower()]
    return hits[0] if len(hits) == 1 else "<" + "|".join(allowed) + ">"


def _fix(table: str, column: str, check: str, values: tuple[str, ...]) -> tuple[str, str]:
    """What went wrong and how to fix it, for a pandera check name."""
    if check.startswith("allowed:"):
        allowed = check.split(":", 1)[1].split(",")
        example = ", ".join(f"{v!r}: {_guess(v, allowed)}" for v in values[:2])
        return (f"values outside the allowed set ({', '.join(allowed)})",
                f"map them in the config: values: {{{column}: {{{example}}}}}")
    if check == "negative":
        return "negative money amounts", "amounts must be 0 or more: refunds and credits belong in their own rows"
    if check.startswith("range:"):
        _, lo, hi = check.split(":")
        rng = f"{float(lo):g} to {float(hi):g}".replace("inf", "any")
        hint = "write probabilities as fractions (0.25, not 25)" if column == "probability" else f"keep values {rng}"
        return f"values outside {rng}", hint
    if check == "too_large":
        return (f"numbers of {MAX_NUMBER:,.0f} or more: not a plausible {column}",
                "check the column mapping (an id, phone number or date read as a number?) and the "
                "read: {decimal: ..., thousands: ...} settings")
    if check == "field_uniqueness":
        return "duplicate ids", f"each {column} must appear once: remove or merge the duplicate rows"
    if check == "not_nullable":
        return "required value is empty", f"fill {column} in every row (or drop those rows)"
    for _col, rule, hint in RULES.get(table, []):
        if rule.error == check:
            return MESSAGES[check], hint
    return check, ""


def _unique(s: pd.Series) -> bool:
    """No value twice (two blanks count as a repeat, as in pandera's check): by Arrow's hash kernel
    for text, one pass; pandera's own check then runs only on keys that have repeats, to report them."""
    text = arrow_text(s)
    if text is None:
        return bool(s.is_unique)
    if text.null_count == 0 and len(text) > 1 and pc.all(pc.greater(text[1:], text[:-1])).as_py():
        return True  # ids in increasing order, as exports are often sorted: unique at the cost of a compare
    return len(pc.unique(text)) == len(text)


def check_table(table: str, df: pd.DataFrame, where: str, first_line: int,
                unparsed: dict[str, pd.Index] | None = None) -> list[Problem]:
    """Every rule violation of one table, grouped per column and rule.

    Cells in `unparsed` were already reported as unreadable and are not reported as empty again."""
    unparsed = unparsed or {}
    problems: list[Problem] = []
    if table == "deals" and len(df) == 0:
        problems.append(Problem("the deals table has no rows", file=where, table=table,
                                hint="export some deals: every KPI starts from them"))
    elif len(df) == 0:
        problems.append(Problem(f"the {table} table has no rows: the KPIs that need it will have no values",
                                file=where, table=table, severity="warning",
                                hint=f"export the {table} again, or remove the table from the config"))
    try:
        key = TABLES[table].key
        repeats = key is not None and key in df.columns and not _unique(df[key])
        schema_for(table, tuple(df.columns), check_key=repeats).validate(df, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
        frame_level = fc["schema_context"].eq("DataFrameSchema")
        for check, cases in fc[frame_level].groupby("check", sort=False):
            column = next((c for c, rule, _ in RULES.get(table, []) if rule.error == check), None)
            rows = pd.Index(sorted(set(int(i) for i in cases["index"].dropna())))
            rows = rows.difference(unparsed.get("closed_at", pd.Index([]))).difference(
                unparsed.get("created_at", pd.Index([])))
            if rows.empty:
                continue
            message, hint = _fix(table, column or "", str(check), ())
            problems.append(Problem(message, file=where, table=table, column=column,
                                    rows=lines(rows, first_line), hint=hint, count=len(rows)))
        for (column, check), cases in fc[~frame_level].groupby(["column", "check"], sort=False):
            rows = pd.Index(sorted(set(int(i) for i in cases["index"].dropna())))
            if check == "not_nullable" or check in MESSAGES:
                rows = rows.difference(unparsed.get(str(column), pd.Index([])))
                if rows.empty:
                    continue
            values = tuple(dict.fromkeys(str(v) for v in cases["failure_case"]))[:MAX_ROWS_SHOWN]
            if check == "not_nullable":
                values = ()
            message, hint = _fix(table, str(column), str(check), values)
            problems.append(Problem(message, file=where, table=table, column=str(column),
                                    rows=lines(rows, first_line), values=values, hint=hint, count=len(rows)))
    return problems


def _found_in(s: pd.Series, known: pd.Series) -> pd.Series:
    """Whether each value of `s` is one of `known`'s: a hash lookup in the distinct known ids (Arrow's
    for text, pandas' otherwise), not isin on millions of text ids."""
    text, known_text = arrow_text(s), arrow_text(known)
    if text is not None and known_text is not None:
        found = pc.is_in(text, value_set=pc.unique(known_text.drop_null())).fill_null(False)
        return pd.Series(found.to_numpy(zero_copy_only=False), index=s.index)
    ids = pd.Index(known.dropna().unique())
    return pd.Series(ids.get_indexer(s) >= 0, index=s.index)


def check_links(tables: dict[str, pd.DataFrame], where: dict[str, str], first_line: dict[str, int]) -> list[Problem]:
    """Warnings for links to ids that do not exist (a deal's customer_id unknown)."""
    problems = []
    for name, df in tables.items():
        for column, target in TABLES[name].links.items():
            t_table, t_column = target.split(".")
            if column not in df.columns or t_table not in tables or t_table == name:
                continue
            dangling = df[column].notna() & ~_found_in(df[column], tables[t_table][t_column])
            if dangling.any():
                rows = dangling[dangling].index
                values = tuple(dict.fromkeys(str(v) for v in df.loc[rows[:50], column]))[:MAX_ROWS_SHOWN]
                problems.append(Problem(f"{int(dangling.sum())} {column} value(s) not found in {target}",
                                        file=where.get(name), table=name, column=column,
                                        rows=lines(rows, first_line.get(name, 1)), values=values,
                                        severity="warning", count=int(dangling.sum()),
                                        hint=f"KPIs that join {name} to {t_table} will leave these rows out"))
    return problems


def scope_problems(ds: Dataset, filters: dict[str, Any], spans: list[tuple[pd.Timestamp, pd.Timestamp]] | None,
                   *, where: str | None = None, period: str | None = None) -> list[Problem]:
    """Filter values the data does not have (region "Antarctica") and periods outside the data's
    dates: either would give an empty report or table, so they are errors naming what exists."""
    import difflib

    from .schema import DIMENSIONS

    problems = []
    source = where or (str(ds.source) if ds.source else None)
    for key, wanted in filters.items():
        if key not in DIMENSIONS:
            continue
        tables = [name for name, df in ds.tables.items() if key in df.columns]
        if not tables:
            continue  # no table has the column: the KPI layer says so
        known = ds.values(key)
        for value in wanted if isinstance(wanted, (list, tuple, set)) else [wanted]:
            if value in (None, "") or str(value) in known:
                continue
            lower = {k.lower(): k for k in known}
            close = [lower[str(value).lower()]] if str(value).lower() in lower else \
                difflib.get_close_matches(str(value), known, n=1)
            shown = ", ".join(known[:30]) + (f" and {len(known) - 30} more" if len(known) > 30 else "")
            problems.append(Problem(f"{key} {str(value)!r} has no data", file=source, table=tables[0], column=key,
                                    hint=(f"did you mean {close[0]!r}? " if close else "")
                                    + f"{key} values in the data: {shown or '(none)'}"))
    dates = ds.date_range
    if spans and dates is not None:
        first, last = dates
        if not any(start <= last and end >= first for start, end in spans):
            text = f"period {period!r}" if period else "the period"
            problems.append(Problem(f"{text} has no data: the data runs from {first.date()} to {last.date()}",
                                    file=source, hint="choose a period inside those dates (or refresh the data)"))
    return problems
