"""Validation rules of the canonical tables, as pandera schemas built from schema.py.

`check_table` runs one table's schema lazily (all failures at once) and turns
pandera's failure cases into `Problem`s that name file, column, rows and a fix.
`check_links` adds warnings for ids that point nowhere.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pandera.pandas as pa

from .problems import Problem
from .parse import MAX_ROWS_SHOWN, lines
from .schema import TABLES, Table

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
MESSAGES = {
    "closed_missing": "won or lost deal without closed_at",
    "closed_before_created": "closed_at is before created_at",
}


@lru_cache(maxsize=None)
def schema_for(table: str, columns: tuple[str, ...]) -> pa.DataFrameSchema:
    """The pandera schema of a canonical table, for the columns present."""
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
        cols[c.name] = pa.Column(checks=checks, nullable=not c.required, unique=c.name == spec.key,
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
    if check == "field_uniqueness":
        return "duplicate ids", f"each {column} must appear once: remove or merge the duplicate rows"
    if check == "not_nullable":
        return "required value is empty", f"fill {column} in every row (or drop those rows)"
    for col, rule, hint in RULES.get(table, []):
        if rule.error == check:
            return MESSAGES[check], hint
    return check, ""


def check_table(table: str, df: pd.DataFrame, where: str, first_line: int,
                unparsed: dict[str, pd.Index] | None = None) -> list[Problem]:
    """Every rule violation of one table, grouped per column and rule.

    Cells in `unparsed` were already reported as unreadable and are not reported as empty again."""
    unparsed = unparsed or {}
    problems: list[Problem] = []
    if table == "deals" and df.empty:
        problems.append(Problem("the deals table has no rows", file=where, table=table,
                                hint="export some deals: every KPI starts from them"))
    try:
        schema_for(table, tuple(df.columns)).validate(df, lazy=True)
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


def check_links(tables: dict[str, pd.DataFrame], where: dict[str, str], first_line: dict[str, int]) -> list[Problem]:
    """Warnings for links to ids that do not exist (a deal's customer_id unknown)."""
    problems = []
    for name, df in tables.items():
        for column, target in TABLES[name].links.items():
            t_table, t_column = target.split(".")
            if column not in df.columns or t_table not in tables or t_table == name:
                continue
            known = tables[t_table][t_column]
            dangling = df[column].notna() & ~df[column].isin(known)
            if dangling.any():
                rows = dangling[dangling].index
                values = tuple(dict.fromkeys(str(v) for v in df.loc[rows[:50], column]))[:MAX_ROWS_SHOWN]
                problems.append(Problem(f"{int(dangling.sum())} {column} value(s) not found in {target}",
                                        file=where.get(name), table=name, column=column,
                                        rows=lines(rows, first_line.get(name, 1)), values=values,
                                        severity="warning", count=int(dangling.sum()),
                                        hint=f"KPIs that join {name} to {t_table} will leave these rows out"))
    return problems
