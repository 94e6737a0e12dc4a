"""`join:` many-to-one lookups: the columns of another file (users, products, accounts) added to a
table's rows by a key, before `columns:` maps them.

A lookup must be many-to-one: a looked-up file with two rows for one key would copy a deal and double its
revenue, so that stops the load, naming the keys. Rows are never duplicated or lost; keys with no match
are a warning with their counts and the closest keys the other file has; a key that matches nothing at all
is an error (the wrong column, almost surely).
"""
from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from .config import JoinConfig, TableConfig
from .parse import MAX_ROWS_SHOWN, lines
from .problems import DataError, DataNote, Problem
from .readers import read_source

__all__ = ["apply_joins"]

SEP = "\x1f"  # between the parts of a key of several columns


def key_text(s: pd.Series) -> pd.Series:
    """A key column as stripped text, the same for "1001" from a CSV and 1001.0 from Excel; blank -> NA."""
    if pd.api.types.is_float_dtype(s) and bool(((s % 1) == 0).fillna(True).all()):
        s = s.astype("Int64")
    text = s.astype("string").str.strip()
    return text.where(text != "")


def _keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    parts = [key_text(frame[c]) for c in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + SEP + part  # NA in any part: no key
    return key


def _show(key: str) -> str:
    return repr(key.replace(SEP, " / "))


def apply_joins(table: str, raw: pd.DataFrame, cfg: TableConfig, base: Path, where: str,
                first_line: int) -> tuple[pd.DataFrame, list[Problem], list[DataNote]]:
    """`raw` with the columns of each `join:` entry added, in order (a later join may use a column an
    earlier one brought). Problems are errors (missing key column, duplicate keys, nothing matches) or
    warnings (some keys unmatched); notes count the matched and unmatched rows."""
    problems: list[Problem] = []
    notes: list[DataNote] = []
    for entry in cfg.join:
        try:
            lookup, lookup_first, lookup_where = read_source(table, entry.source(), base)
        except DataError as e:
            problems.extend(e.problems)
            continue
        joined, found, noted = _join_one(table, raw, entry, lookup, where, first_line, lookup_where, lookup_first)
        problems.extend(found)
        notes.extend(noted)
        if any(p.severity == "error" for p in found):
            continue
        raw = joined
    return raw, problems, notes


def _join_one(table: str, raw: pd.DataFrame, entry: JoinConfig, lookup: pd.DataFrame, where: str,
              first_line: int, lookup_where: str, lookup_first: int
              ) -> tuple[pd.DataFrame, list[Problem], list[DataNote]]:
    pairs = entry.pairs
    name = Path(lookup_where).name
    problems = []
    for mine, theirs in pairs.items():
        if mine not in raw.columns:
            problems.append(Problem(f"the join key {mine!r} is not a column of this file", file=where, table=table,
                                    column=mine,
                                    hint=f"join `on:` a column it has: {', '.join(map(repr, raw.columns))}"))
        if theirs not in lookup.columns:
            problems.append(Problem(f"the join key {theirs!r} is not a column of {name}", file=lookup_where,
                                    table=table, column=theirs,
                                    hint=f"write `on: {{{mine}: <its column>}}` with one of: "
                                         f"{', '.join(map(repr, lookup.columns))}"))
    if problems:
        return raw, problems, []
    left = _keys(raw, list(pairs))
    if entry.keys:
        left = left.replace({str(k): str(v) for k, v in entry.keys.items()})
    right = _keys(lookup, list(pairs.values()))
    on = ", ".join(pairs) if len(pairs) > 1 else next(iter(pairs))

    repeated = right[right.notna() & right.duplicated(keep=False)]
    if len(repeated):
        counts = repeated.value_counts()
        shown = ", ".join(f"{_show(k)} ({n} rows)" for k, n in counts.head(MAX_ROWS_SHOWN).items())
        more = f" and {len(counts) - MAX_ROWS_SHOWN} more" if len(counts) > MAX_ROWS_SHOWN else ""
        return raw, [Problem(f"{len(counts)} key(s) appear more than once in {name}: {shown}{more}; joining would "
                             f"copy every {table} row with such a key and count it twice", file=lookup_where,
                             table=table, column=", ".join(pairs.values()),
                             rows=lines(repeated.index, lookup_first), count=len(repeated),
                             hint=f"keep one row per key in {name} (or join on a column that is unique there)")], []

    known = pd.Index(right.dropna())
    has_key = left.notna()
    matched = has_key & left.isin(known)
    unmatched = has_key & ~matched
    if has_key.any() and not matched.any():
        examples = tuple(dict.fromkeys(left[has_key].head(50)))[:3]
        theirs_examples = tuple(dict.fromkeys(known[:50]))[:3]
        return raw, [Problem(f"no {table} row finds its {on} in {name}: the keys look like "
                             f"{', '.join(map(_show, examples))} here and "
                             f"{', '.join(map(_show, theirs_examples))} there",
                             file=where, table=table, column=on, count=int(has_key.sum()),
                             hint=f"join on the column that holds the same values in both files "
                                  f"(`on: {{<this file's column>: <{name}'s column>}}`)")], []

    columns = [c for c in lookup.columns if c not in pairs.values()]
    added = lookup[columns].copy()
    added.columns = [f"{Path(lookup_where).stem}.{c}" if c in raw.columns else c for c in columns]
    added.index = right.to_numpy()
    added = added[right.notna().to_numpy()]
    # Look each row's key up in the (unique) keys: rows keep their order and index, none is added or lost.
    picked = added.reindex(left.to_numpy())
    picked.index = raw.index
    out = pd.concat([raw, picked], axis=1)

    notes = [DataNote(table, "joined", int(matched.sum()), column=on, source=name)]
    if unmatched.any():
        counts = left[unmatched].value_counts()
        candidates = known.astype(str).tolist()[:20_000]  # bounded: difflib compares each key with each
        described = []
        for key, n in counts.head(MAX_ROWS_SHOWN).items():
            close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
            described.append(f"{_show(key)}: {n:,} row{'s' if n > 1 else ''}"
                             + (f", closest: {_show(close[0])}" if close else ""))
        more = f"; and {len(counts) - MAX_ROWS_SHOWN} more key(s)" if len(counts) > MAX_ROWS_SHOWN else ""
        example = next((d for d in described if "closest" in d), None)
        spelling = ""
        if example:
            key, closest = counts.index[described.index(example)], example.rsplit("closest: ", 1)[1]
            spelling = f", or map the spelling: `keys: {{{_show(key)}: {closest}}}` in the join"
        problems.append(Problem(f"{int(unmatched.sum()):,} row(s) have a {on} with no match in {name}: "
                                f"{'; '.join(described)}{more}", file=where, table=table, column=on,
                                rows=lines(unmatched[unmatched].index, first_line), count=int(unmatched.sum()),
                                severity="warning",
                                hint=f"their {name} columns stay empty: nothing to do if these rows have no entry "
                                     f"there (a lead not yet won, a rep who has left); otherwise add the keys to "
                                     f"{name}{spelling}"))
        notes.append(DataNote(table, "unmatched", int(unmatched.sum()), column=on, source=name))
    return out, problems, notes
