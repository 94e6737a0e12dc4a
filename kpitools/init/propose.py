"""Proposing each table's settings from what was recognised, each with its evidence: joins through shared
keys, `fill:`, `exclude:`, `incomplete:`, value mappings and date readings. An open question (a date
column that reads both ways, a status nobody recognised) is asked through `ask`, or, without it, given
the safest answer and marked TODO.
"""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kpitools.data.dates import MONTHS, NUMERIC, _format
from kpitools.data.join import key_text
from kpitools.data.schema import TABLES
from kpitools.data.sniff import ENCODING_NAMES

from .recognise import (
    FACTS,
    ColumnProfile,
    DateStyle,
    FileProfile,
    Pick,
    Recognised,
    match_columns,
    name_score,
    named_as,
)
from .words import CURRENCY_NAMES, EXCLUDE_VALUES, LOOKUP_NAMES, MONEY, PRICE_NAMES, SAFE_VALUE, TEST_WORD, VALUES, norm

PRICES = {norm(w) for w in PRICE_NAMES}
DAY, MONTH = "day-first", "month-first"
MAX_ASKED = 12  # values of one column asked about; the others get the safe value and a TODO
NON_LATIN = re.compile("[\u0400-\u04ff\u0600-\u06ff]")


@dataclass(frozen=True)
class Question:
    """An open question of the draft, with its answers and the safest one (None: there is none)."""

    table: str
    column: str  # the column of the file it is about
    text: str
    choices: tuple[str, ...]
    default: str | None


Ask = Callable[[Question], str]


@dataclass
class Setting:
    """A value of the config and why it was chosen (a why starting with TODO is an open question)."""

    value: Any
    why: str = ""


@dataclass
class JoinDraft:
    file: FileProfile
    path: str
    mine: str
    theirs: str
    why: str
    keys: dict[str, str] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)  # TODO lines under the join
    price: str | None = None  # a price column it brings (its name in the joined table)

    @property
    def on(self) -> str | dict[str, str]:
        return self.mine if self.mine == self.theirs else {self.mine: self.theirs}


@dataclass
class TableDraft:
    table: str
    file: FileProfile
    path: str
    why: str
    frame: pd.DataFrame  # the file with the joined columns, as the loader builds it
    sources: dict[str, tuple[ColumnProfile, FileProfile]]  # a source column's profile and file
    preset: Setting | None = None
    preset_columns: dict[str, str] = field(default_factory=dict)
    read: dict[str, Setting] = field(default_factory=dict)
    dates: dict[str, dict[str, Setting]] = field(default_factory=dict)  # dayfirst / date_format per column
    join: list[JoinDraft] = field(default_factory=list)
    columns: dict[str, Setting] = field(default_factory=dict)
    values: dict[str, dict[str, Setting]] = field(default_factory=dict)
    exclude: dict[str, list[Setting]] = field(default_factory=dict)
    fill: dict[str, Setting] = field(default_factory=dict)
    incomplete: Setting | None = None
    todos: list[str] = field(default_factory=list)  # every open question, for the summary
    notes: list[str] = field(default_factory=list)  # TODO lines at the end of the table

    def todo(self, text: str) -> str:
        self.todos.append(text)
        return f"TODO: {text}"

    @property
    def mapped(self) -> dict[str, str]:
        """canonical -> source column, by the preset or `columns:`."""
        return {**self.preset_columns, **{c: s.value for c, s in self.columns.items()}}


def answer(question: Question, ask: Ask | None) -> tuple[str | None, bool]:
    """(the answer, whether someone gave it): the asker's, or the safe default."""
    if ask is None:
        return question.default, False
    return ask(question), True


def relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def blank(s: pd.Series) -> pd.Series:
    return key_text(s).isna()


# --------------------------------------------------------------------------- one table


def propose(rec: Recognised, files: list[FileProfile], chosen: dict[str, Recognised], base: Path,
            ask: Ask | None) -> TableDraft:
    file = rec.file
    sources = {name: (col, file) for name, col in file.columns.items()}
    t = TableDraft(rec.table, file, relative(file.path, base), _why_table(rec), file.frame, sources)
    if file.encoding:
        t.read["encoding"] = Setting(file.encoding, f"the file is {ENCODING_NAMES.get(file.encoding, file.encoding)}"
                                                    ", not UTF-8")
    if file.comma:
        example = next(v for c in file.columns.values() if c.comma for v in c.top)
        t.read["decimal"] = Setting(",", f"numbers with a decimal comma ({example})")
        if file.thousands:
            t.read["thousands"] = Setting(file.thousands, "between thousands")
    if rec.preset:
        if rec.preset.prepare is not None:  # as the loader does: a report's footer lines are not rows
            t.frame = rec.preset.prepare(t.frame)
            t.why = f"{rows(len(t.frame))}"
        shown = ", ".join(repr(c) for c in list(dict.fromkeys(rec.preset_columns.values()))[:4])
        t.preset = Setting(rec.preset.name, f"{rec.preset.title.split(' (')[0]}: {shown}, ... "
                                            f"({len(rec.preset_columns)} columns it reads)")
        t.preset_columns = dict(rec.preset_columns)
        used = set(rec.preset_columns.values())
        extra = match_columns(file, rec.table, skip=set(rec.preset_columns),
                              sources=[c for c in file.columns if c not in used])
        t.columns = {c: Setting(p.source, p.why) for c, p in extra.items() if p.score == 1}
    else:
        t.columns = {c: Setting(p.source, p.why) for c, p in rec.picks.items()}
    _exclude(t)
    if rec.table in FACTS:
        facts = {r.file.name for name, r in chosen.items() if name in FACTS}
        _joins(t, [f for f in files if f.name != file.name and f.name not in facts], base)
    _fill(t)
    _values(t, rec, ask)
    _dates(t, files, ask)
    for name in TABLES[t.table].required:
        if name not in t.mapped and name not in t.fill:
            t.notes.append(t.todo(f"no column found for {name}: map it with `columns: {{{name}: <your column>}}`"))
    _incomplete(t)
    _tests(t)
    order = TABLES[t.table].names
    t.columns = dict(sorted(t.columns.items(), key=lambda item: order.index(item[0])))
    return t


def _why_table(rec: Recognised) -> str:
    n = rows(len(rec.file.frame))
    if rec.preset:
        return n
    spec = TABLES[rec.table]
    shown = ", ".join(rec.picks[c].source for c in spec.required if c in rec.picks)
    return f"{n}; {rec.table} by its columns ({shown})" + (" and its name" if rec.named else "")


def _kept(t: TableDraft) -> pd.Series:
    """The rows `exclude:` keeps."""
    keep = pd.Series(True, index=t.frame.index)
    for column, values in t.exclude.items():
        keep &= ~key_text(t.frame[column]).isin([str(s.value) for s in values]).fillna(False).astype(bool)
    return keep


def _exclude(t: TableDraft) -> None:
    """Rows whose status-like column says they are not business (void, test, duplicate)."""
    for name, col in t.file.columns.items():
        if col.numeric or col.date or col.distinct > 20:
            continue
        hits = [v for v in col.top if norm(v) in EXCLUDE_VALUES]
        if hits:
            counts = key_text(t.frame[name]).value_counts()
            t.exclude[name] = [Setting(v, f"{rows(int(counts.get(v, 0)))}: not business") for v in hits]


def _tests(t: TableDraft) -> None:
    """Names that look like test records: a TODO each, not excluded on a guess."""
    excluded = {(c, str(s.value)) for c, values in t.exclude.items() for s in values}
    found = []
    for name, col in t.file.columns.items():
        if col.numeric or col.date:
            continue
        values = key_text(t.frame[name]).dropna().unique()
        found += [(name, v) for v in values if TEST_WORD.search(v) and (name, v) not in excluded][:3]
    for name, value in found[:3]:
        n = int((key_text(t.frame[name]) == value).sum())
        t.notes.append(t.todo(f"{value!r} ({rows(n)} in {name}) looks like a test record: to leave it out, "
                              f"add `exclude: {{{name}: [{value}]}}`"))


# --------------------------------------------------------------------------- joins


def _squash(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


def _joins(t: TableDraft, others: list[FileProfile], base: Path) -> None:
    """Many-to-one lookups of the other files through the key column they share with the table, each kept
    when it brings a column the table lacks (a rep's team and region) or a price for blank amounts. Where two
    files could bring a column, the better-named one does."""
    found = [j for other in others if (j := _join(t, other, base)) is not None]
    offers = sorted(((pick.score, n, canonical, pick) for n, (_, picks, _) in enumerate(found)
                     for canonical, pick in picks.items()), key=lambda o: (-o[0], o[1]))
    taken: dict[int, dict[str, Pick]] = {}
    for _, n, canonical, pick in offers:
        if all(canonical not in p for p in taken.values()):
            taken.setdefault(n, {})[canonical] = pick
    for n, (join, _, price) in enumerate(found):
        if n in taken or price:
            _apply(t, join, taken.get(n, {}), price)


def _join(t: TableDraft, other: FileProfile, base: Path) -> tuple[JoinDraft, dict[str, Pick], str | None] | None:
    """The join of `other` on the key both files share (most rows matched), with what it could bring."""
    kinds = {source: TABLES[t.table].column(c).kind for c, source in t.mapped.items()}
    best = None
    for mine, col in t.file.columns.items():
        if (col.date or (col.numeric and not col.integer)
                or kinds.get(mine) in ("money", "float", "int", "date", "bool")):
            continue
        left = t.file.key_values(mine)
        for theirs, ocol in other.columns.items():
            if ocol.date or (ocol.numeric and not ocol.integer) or ocol.share < 0.9:
                continue
            right = other.key_values(theirs)
            if len(right) < 2 or len(right) != ocol.filled:  # a key: unique, as the join compares keys
                continue
            squashed: dict[str, list[str]] = {}
            for r in right:
                squashed.setdefault(_squash(r), []).append(r)
            near = {v: squashed[_squash(v)][0] for v in left - right if len(squashed.get(_squash(v), [])) == 1}
            n = len(left & right) + len(near)
            if n == 0 or n < 0.5 * min(len(left), len(right)):
                continue
            rows = int(key_text(t.file.frame[mine]).replace(near).isin(right).sum())
            candidate = (rows, mine == theirs, mine, theirs, near)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None:
        return None
    rows, _, mine, theirs, near = best
    rest = [c for c in other.columns if c != theirs]
    brought = {c: p for c, p in match_columns(other, t.table, skip=set(t.mapped), sources=rest).items()
               if p.score == 1}  # named as such: a looked-up file has many columns that are not the table's
    price = next((c for c in rest if name_score(c, PRICES) and other.columns[c].numeric
                  and not other.columns[c].negative), None) if t.table in MONEY else None
    label = named_as(other.path, LOOKUP_NAMES) or "looked up"
    with_key = int(key_text(t.file.frame[mine]).notna().sum())
    j = JoinDraft(other, relative(other.path, base), mine, theirs,
                  f"{label}: {rows} of {with_key} rows find their {mine} there", dict(near))
    return j, brought, price


def _apply(t: TableDraft, j: JoinDraft, brought: dict[str, Pick], price: str | None) -> None:
    """Add the join: its columns to the table's frame (named as the loader names them), what it brings to
    `columns:`, and a TODO for each key with no match."""
    other, mine, theirs = j.file, j.mine, j.theirs
    keys = key_text(t.frame[mine]).replace(j.keys)
    unmatched = keys[keys.notna() & ~keys.isin(other.key_values(theirs))].value_counts()
    for key, n in unmatched.head(20).items():  # a key with no match is a warning of the load; a misspelt one a TODO
        close = difflib.get_close_matches(key, sorted(other.key_values(theirs)), n=1, cutoff=0.8)
        if close and len(j.todos) < 3:
            j.todos.append(t.todo(f"{key!r} ({rows(n)}) has no match in {other.name}; if it is {close[0]!r}, add "
                                  f"`{key}: {close[0]}` under keys:"))
    rest = [c for c in other.columns if c != theirs]
    names = {c: (c if c not in t.frame.columns else f"{other.path.stem}.{c}") for c in rest}
    lookup = other.frame[rest].copy()
    right = key_text(other.frame[theirs])
    lookup.index = right.to_numpy()
    lookup = lookup[right.notna().to_numpy()]
    added = lookup.reindex(keys.to_numpy())
    added.index = t.frame.index
    added.columns = [names[c] for c in rest]
    t.frame = pd.concat([t.frame, added], axis=1)
    for c in rest:
        t.sources[names[c]] = (other.columns[c], other)
    for canonical, pick in brought.items():
        t.columns[canonical] = Setting(names[pick.source], f"from {other.name}: {pick.why}")
    j.price = names[price] if price else None
    t.join.append(j)


def rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _fill(t: TableDraft) -> None:
    """A blank amount (mrr) taken from a joined price: open deals often have no value yet."""
    money = MONEY.get(t.table)
    join = next((j for j in t.join if j.price), None)
    if money is None or join is None:
        return
    keep = _kept(t)
    price = t.frame[join.price]
    source = t.mapped.get(money)
    if source is None:
        t.fill[money] = Setting(join.price, t.todo(f"no {money} column: every row's {money} is {join.price} of "
                                                   f"{join.file.name}, the list price"))
        return
    empty = blank(t.frame[source]) & keep
    filled = int((empty & price.notna()).sum())
    if filled:
        t.fill[money] = Setting(join.price, f"{rows(int(empty.sum()))} have no {source}: {filled} take "
                                            f"{join.price} of {join.file.name}, the list price")


def _incomplete(t: TableDraft) -> None:
    """`incomplete: drop` when rows miss a required value (prospecting deals with no created date)."""
    keep = _kept(t)
    missing: list[tuple[int, str]] = []
    for name in TABLES[t.table].required:
        source = t.mapped.get(name)
        if source is None or source not in t.frame.columns:
            continue
        empty = blank(t.frame[source])
        if name in t.fill:
            empty &= blank(t.frame[t.fill[name].value])
        n = int((empty & keep).sum())
        if n:
            missing.append((n, f"{n} without {name} ({source})"))
    if missing:
        kept = int(keep.sum())
        why = f"{', '.join(m for _, m in missing)} of {kept} rows: dropped, and counted in the summary"
        share = sum(n for n, _ in missing) / max(kept, 1)
        t.incomplete = Setting("drop", t.todo(why) if share > 0.2 else why)


# --------------------------------------------------------------------------- values


def _values(t: TableDraft, rec: Recognised, ask: Ask | None) -> None:
    """Values of the columns with a closed set (status: won / lost / open) mapped onto it: the known words
    by `words.VALUES`, the others asked or, without a terminal, given the safe value and a TODO."""
    spec = TABLES[t.table]
    keep = _kept(t)
    for column in spec.columns:
        canonical, allowed = column.name, column.allowed
        source = t.mapped.get(canonical)
        if not allowed or source is None:
            continue
        preset = rec.preset
        if preset and canonical in t.preset_columns:
            if canonical in preset.otherwise or canonical not in preset.values:
                continue  # the preset maps every value
            known = {norm(k): v for k, v in preset.values[canonical].items()}
        else:
            known = VALUES.get(canonical, {})
        counts = key_text(t.frame[source])[keep].value_counts()
        mapping: dict[str, Setting] = {}
        questions = 0
        for value, n in counts.items():
            if value in allowed:
                continue
            if norm(value) in known:
                if not (preset and canonical in t.preset_columns):
                    mapping[value] = Setting(known[norm(value)])
                continue
            asking = ask if questions < MAX_ASKED else None  # past that: the safe value, and a TODO
            q = Question(t.table, source, f"{t.table}: {source} holds {value!r} ({rows(n)}). Which {canonical} "
                                          "is it?", allowed, SAFE_VALUE.get(canonical))
            given, asked = answer(q, asking)
            questions += asked
            if given is None:
                t.notes.append(t.todo(f"{value!r} in {source} ({rows(n)}) is not a {canonical} kpitools knows: "
                                      f"map it under values: {canonical}: ({', '.join(q.choices)})"))
            elif asked:
                mapping[value] = Setting(given, "as you answered")
            else:
                mapping[value] = Setting(given, t.todo(f"{value!r} in {source} ({rows(n)}) is not a {canonical} "
                                                       f"word kpitools knows: counted as {given}"))
        if mapping:
            t.values[canonical] = mapping


# --------------------------------------------------------------------------- dates


def _dates(t: TableDraft, files: list[FileProfile], ask: Ask | None) -> None:
    """A reading for each date column the values do not decide. The loader reads the others from their
    values, the same way, so nothing is written for them."""
    spec = TABLES[t.table]
    done: set[str] = set()
    for canonical, source in list(t.mapped.items()):
        if spec.column(canonical).kind not in ("date", "month") or source in done or source not in t.sources:
            continue
        done.add(source)
        col, file = t.sources[source]
        style = col.date
        if style is None or style.style in ("iso", "dayfirst", "monthfirst", "text", "typed"):
            continue
        if style.style == "mixed":
            t.notes.append(t.todo(f"{source}: some dates read only day-first, others only month-first: correct "
                                  "the file (`kpitools validate` names the rows)"))
            continue
        if style.style == "two_digit" and style.dayfirst is not None:
            fmt = _format(style.example, style.dayfirst, "%y")
            t.dates.setdefault("date_format", {})[source] = Setting(fmt, f"two-digit years ({style.example}): "
                                                                         "the century is 2000")
            continue
        evidence = _date_evidence(style, file, files)
        guess = DAY if evidence is None or evidence[0] else MONTH
        q = Question(t.table, source, f"{t.table}: {source} ({file.name}) has dates like {_readings(style.example)}. "
                                      "Day-first or month-first?", (DAY, MONTH), guess if evidence else None)
        given, asked = answer(q, ask)
        required = canonical in spec.required or canonical in t.preset_columns
        if given is None and not required:  # no evidence either way: not mapped until someone says
            for c in [c for c, s in t.columns.items() if s.value == source]:
                del t.columns[c]
            t.notes.append(t.todo(f"{source} ({canonical}) reads both ways ({style.example!r}) and nothing says "
                                  f"which: map it with `columns: {{{canonical}: {source}}}` and "
                                  f"`read: {{dayfirst: {{{source}: true}}}}` (or false)"))
            continue
        dayfirst = (given or DAY) == DAY
        if asked:
            why = "as you answered"
        elif evidence:
            why = t.todo(f"{source}: every date reads both ways ({style.example}); read "
                         f"{'day' if dayfirst else 'month'}-first because {evidence[1]}")
        else:
            why = t.todo(f"{source}: every date reads both ways ({style.example}) and nothing says which: read "
                         "day-first, a guess; check a date you know")
        if style.style == "two_digit":
            t.dates.setdefault("date_format", {})[source] = Setting(_format(style.example, dayfirst, "%y"), why)
        else:
            t.dates.setdefault("dayfirst", {})[source] = Setting(dayfirst, why)


def _readings(example: str) -> str:
    """'05.02.2024' (5 February day-first, 2 May month-first)."""
    m = re.match(NUMERIC, example)
    if not m:
        return repr(example)
    a, b = int(m["a"]), int(m["b"])
    return f"{example!r} ({a} {MONTHS[b - 1]} day-first, {b} {MONTHS[a - 1]} month-first)"


def _date_evidence(style: DateStyle, file: FileProfile, files: list[FileProfile]) -> tuple[bool, str] | None:
    """Day-first (True) or month-first for a column of `file` with dates of `style`, and why, from what else
    the exports say; None when nothing does."""
    decided = [(c.name, c.date, f) for f in [file, *(f for f in files if f is not file)] for c in f.columns.values()
               if c.date and c.date.style in ("dayfirst", "monthfirst")]
    decided.sort(key=lambda cdf: (cdf[2] is not file, cdf[1].sep != style.sep))
    if decided:
        name, date, f = decided[0]
        where = "in the same file" if f is file else f"in {f.name}"
        return date.style == "dayfirst", f"{name} {where} is {date.style.replace('first', '-first')} " \
                                         f"({date.example})"
    if style.sep == ".":
        return True, "dates written with dots (31.12.2024) are day-first"
    if NON_LATIN.search(" ".join(file.columns)):
        return True, "the headers are Russian, Persian or Arabic, where dates are written day-first"
    return None


def currency(tables: list[TableDraft]) -> tuple[str, str]:
    """The currency a column of the exports names, or USD as a placeholder (the why then is a TODO)."""
    names = {norm(w) for w in CURRENCY_NAMES}
    for t in tables:
        for name, col in t.file.columns.items():
            if norm(name) in names and col.distinct == 1 and re.fullmatch(r"[A-Za-z]{3}", col.top[0]):
                return col.top[0].upper(), f"{name} in {t.file.name} says so"
    return "USD", "TODO: the files do not say which currency the amounts are in: USD is a placeholder"
