"""`exclude:`, `fill:` and `incomplete: drop`: rows left out, blanks filled and incomplete rows dropped on
the way in, each counted in a `DataNote` so a reader knows what the numbers rest on.
"""
from __future__ import annotations

import difflib

import pandas as pd

from .config import TableConfig
from .join import key_text
from .problems import DataNote, Problem
from .schema import Table

__all__ = ["exclude_rows", "fill_blanks", "drop_incomplete"]


def _unknown(kind: str, column: str, found: list[str], where: str, table: str, hint: str) -> Problem:
    close = difflib.get_close_matches(column, found, n=1)
    return Problem(f"`{kind}:` names {column!r}, which is not a column of the file" +
                   (f"; did you mean {close[0]!r}?" if close else ""), file=where, table=table, column=column,
                   hint=f"{hint}; columns found: {', '.join(map(repr, found))}")


def exclude_rows(table: str, raw: pd.DataFrame, cfg: TableConfig, where: str
                 ) -> tuple[pd.DataFrame, list[Problem], list[DataNote]]:
    """`raw` without the rows whose source column holds one of the excluded values (compared as stripped
    text, so `Test` matches " Test" and 7 matches "7")."""
    problems: list[Problem] = []
    notes: list[DataNote] = []
    keep = pd.Series(True, index=raw.index)
    for column, values in cfg.exclude.items():
        if column not in raw.columns:
            problems.append(_unknown("exclude", column, list(raw.columns), where, table,
                                     "name a column as it is in the file (before `columns:` maps it)"))
            continue
        wanted = [str(v).strip() for v in values]
        hit = key_text(raw[column]).isin(wanted).fillna(False).astype(bool)
        notes.append(DataNote(table, "excluded", int((hit & keep).sum()), column=column, values=tuple(wanted)))
        keep &= ~hit
    return raw[keep.to_numpy()], problems, notes


def fill_blanks(table: str, raw: pd.DataFrame, cfg: TableConfig, spec: Table, where: str
                ) -> tuple[pd.DataFrame, TableConfig, list[Problem], list[DataNote]]:
    """Blanks of each `fill:` canonical column taken from another source column, before mapping: the column
    `columns:` maps onto it gets the other column's value where it is blank. A canonical column with no
    source column at all is taken whole from the fill column (each of its values counts as filled)."""
    problems: list[Problem] = []
    notes: list[DataNote] = []
    if not cfg.fill:
        return raw, cfg, problems, notes
    raw = raw.copy()
    columns = dict(cfg.columns)
    for canonical, source in cfg.fill.items():
        if canonical not in spec.names:
            problems.append(Problem(f"`fill:` names {canonical!r}, which is not a column of the {table} table",
                                    file=where, table=table, column=canonical,
                                    hint=f"fill one of: {', '.join(spec.names)}"))
            continue
        if source not in raw.columns:
            problems.append(_unknown("fill", source, list(raw.columns), where, table,
                                     f"take {canonical} from a column the file (or a joined file) has"))
            continue
        target = columns.get(canonical, canonical)
        if target not in raw.columns:  # nothing maps onto it: the fill column is the whole column
            columns[canonical] = source
            filled = raw[source].notna()
        else:
            blank = raw[target].isna() | (raw[target].astype("string").str.strip() == "").fillna(False)
            filled = blank & raw[source].notna()
            raw[target] = raw[target].astype(object).where(~filled, raw[source].astype(object))
        notes.append(DataNote(table, "filled", int(filled.sum()), column=canonical, source=source))
    return raw, cfg.model_copy(update={"columns": columns}), problems, notes


def drop_incomplete(table: str, parsed: pd.DataFrame, cfg: TableConfig, spec: Table,
                    unparsed: dict[str, pd.Index]) -> tuple[pd.DataFrame, list[DataNote]]:
    """With `incomplete: drop`, the rows missing a required value left out (one note per column: a row
    missing two counts under the first). Values that did not parse are errors, not blanks: they stay."""
    if cfg.incomplete != "drop":
        return parsed, []
    notes = []
    keep = pd.Series(True, index=parsed.index)
    for name in spec.required:
        if name not in parsed.columns:
            continue
        blank = parsed[name].isna() & ~parsed.index.isin(unparsed.get(name, pd.Index([])))
        dropped = blank & keep
        if dropped.any():
            notes.append(DataNote(table, "dropped", int(dropped.sum()), column=name))
        keep &= ~blank
    return parsed[keep.to_numpy()], notes

