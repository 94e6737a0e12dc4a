"""Reading a folder of exports and recognising what each file and column is.

Every file is read with the loader's own readers (`read_source`: separators sniffed, wrong encodings
refused); a file that is not UTF-8 is read in the encoding `guess_encoding` names. Each column is then
profiled on its first `SAMPLE_ROWS` rows: filled share, distinct values, numbers, dates (read by the
loader's own rule: `kpitools.data.dates.read_dates`). A file is matched against each canonical table by
its column names (`words.COLUMN_NAMES`) checked against the content: a date column must hold dates, an
amount non-negative numbers, a table's id unique values.
"""
from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from kpitools.data.config import READABLE, ReadOptions, TableConfig
from kpitools.data.dates import NUMERIC, _format, read_dates  # _format: the loader's format of a d/m/y value
from kpitools.data.join import key_text
from kpitools.data.parse import FALSE, TRUE
from kpitools.data.presets import DERIVED, PRESETS, Preset
from kpitools.data.problems import DataError, Problem
from kpitools.data.readers import read_source
from kpitools.data.schema import TABLES, Column
from kpitools.data.sniff import TEXT_EXTENSIONS, guess_encoding

from .words import COLUMN_NAMES, TABLE_NAMES, VALUES, norm

SAMPLE_ROWS = 2_000
KINDS = ("deals", "leads", "activities", "subscriptions", "customers")  # the tables a file may be
FACTS = ("deals", "leads", "activities", "subscriptions")
# Required columns a file must show to be taken for the table (one fewer when its name says so).
MIN_REQUIRED = {"deals": 3, "leads": 2, "activities": 4, "subscriptions": 2, "customers": 1}
NAMES = {table: {column: {norm(column), *(norm(w) for w in words)} for column, words in columns.items()}
         for table, columns in COLUMN_NAMES.items()}


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class DateStyle:
    """How a column's dates are written: iso, dayfirst, monthfirst (decided by its values), ambiguous
    (every value reads both ways), mixed (needs both readings), two_digit (a year of two digits), text
    (5 Oct 2024) or typed (date cells of Excel or Parquet)."""

    style: str
    example: str = ""
    sep: str = ""  # the separator of d/m/y dates: / . -
    dayfirst: bool | None = None  # two_digit: the order, when the values tell

    def describe(self) -> str:
        return {
            "iso": f"dates, ISO ({self.example})",
            "dayfirst": f"dates, day-first: {self.example} reads only day-first",
            "monthfirst": f"dates, month-first: {self.example} reads only month-first",
            "ambiguous": f"dates that read both ways ({self.example})",
            "mixed": f"dates that need both readings ({self.example})",
            "two_digit": f"dates with a two-digit year ({self.example})",
            "text": f"dates ({self.example})",
            "typed": "dates",
        }[self.style]


@dataclass
class ColumnProfile:
    name: str
    rows: int
    filled: int
    distinct: int
    numeric: bool = False
    integer: bool = False
    negative: bool = False
    comma: bool = False  # numbers with a decimal comma (1 234,50)
    date: DateStyle | None = None
    flags: bool = False  # true/false, yes/no, 1/0
    top: tuple[str, ...] = ()  # the most frequent values, most frequent first

    @property
    def unique(self) -> bool:
        return self.filled > 0 and self.distinct == self.filled

    @property
    def share(self) -> float:
        return self.filled / self.rows if self.rows else 0.0

    def filled_text(self) -> str:
        return f"{self.share:.0%} filled"


@dataclass
class FileProfile:
    path: Path
    frame: pd.DataFrame  # the whole file as the loader reads it
    columns: dict[str, ColumnProfile]
    encoding: str | None = None  # when not UTF-8
    thousands: str | None = None  # with a decimal comma: the thousands separator, if any
    keys: dict[str, set[str]] = field(default_factory=dict)  # a column's distinct values as join keys

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def comma(self) -> bool:
        return any(c.comma for c in self.columns.values())

    def key_values(self, column: str) -> set[str]:
        if column not in self.keys:
            self.keys[column] = set(key_text(self.frame[column]).dropna())
        return self.keys[column]


def read_folder(folder: Path) -> list[FileProfile]:
    """Every table file of the folder, read and profiled; a DataError when there is none, or one will not
    read (naming the file and the fix)."""
    if not folder.is_dir():
        raise DataError([Problem("no such folder" if not folder.exists() else "not a folder", file=str(folder),
                                 hint="give the folder that holds your CSV, Excel or Parquet exports")])
    paths = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in READABLE and not p.name.startswith((".", "~$")))
    if not paths:
        raise DataError([Problem("no CSV, Excel or Parquet files in this folder", file=str(folder),
                                 hint=f"put the exports here (one of: {', '.join(READABLE)}), or give the "
                                      "folder that holds them")])
    files: list[FileProfile] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            files.append(read_file(path))
        except DataError as e:
            problems.extend(e.problems)
    if problems:
        raise DataError([*problems, Problem("a file of the folder cannot be read", file=str(folder),
                                            hint="fix the file as said above, or move it out of the folder")])
    return files


def read_file(path: Path) -> FileProfile:
    read = ReadOptions()
    encoding = None
    if path.suffix.lower() in TEXT_EXTENSIONS:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        head = head[: head.rfind(b"\n") + 1] or head  # whole lines: a character is not cut in two
        guess = guess_encoding(head)
        if guess and guess != "utf-8":
            encoding, read = guess, ReadOptions(encoding=guess)
    frame, _, _ = read_source(path.stem, TableConfig(path=str(path), read=read), path.parent)
    sample = frame.head(SAMPLE_ROWS)
    columns = {name: profile_column(name, frame[name], sample[name]) for name in frame.columns}
    profile = FileProfile(path, frame, columns, encoding)
    if profile.comma:
        spaced = any(re.search(r"\d \d", v) for c in columns.values() if c.comma for v in c.top)
        dotted = any(re.search(r"\d\.\d{3}", v) for c in columns.values() if c.comma for v in c.top)
        profile.thousands = " " if spaced else "." if dotted else None
    return profile


def _text(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip()
    return text.where(text != "")


def profile_column(name: str, whole: pd.Series, sample: pd.Series) -> ColumnProfile:
    text = _text(whole)
    filled = int(text.notna().sum())
    counts = text.value_counts()
    out = ColumnProfile(name, len(whole), filled, len(counts), top=tuple(str(v) for v in counts.index[:30]))
    values = _text(sample).dropna()
    if pd.api.types.is_bool_dtype(sample):
        out.flags = True
    elif pd.api.types.is_datetime64_any_dtype(sample):
        out.date = DateStyle("typed")
    elif pd.api.types.is_numeric_dtype(sample):
        _numbers(out, pd.to_numeric(sample, errors="coerce").dropna())
    elif len(values):
        plain = pd.to_numeric(values.str.replace("\u00a0", "", regex=False), errors="coerce")
        if plain.notna().all():
            _numbers(out, plain)
        elif values.str.fullmatch(r"-?\d{1,3}([ \u00a0.]\d{3})*(,\d+)?|-?\d+(,\d+)?").all() and \
                values.str.contains(",", regex=False).any():
            out.comma = True
            _numbers(out, pd.to_numeric(values.str.replace(r"[ \u00a0.]", "", regex=True)
                                        .str.replace(",", ".", regex=False)))
        elif values.str.lower().isin(TRUE | FALSE).all():
            out.flags = True
        else:
            out.date = date_style(sample, values)
    return out


def _numbers(out: ColumnProfile, numbers: pd.Series) -> None:
    out.numeric = True
    out.integer = bool((numbers % 1 == 0).all())
    out.negative = bool((numbers < 0).any())


def date_style(sample: pd.Series, values: pd.Series) -> DateStyle | None:
    """The column's dates by the loader's rule, or None when it does not hold dates."""
    if values.str.contains(r"\d", regex=True).mean() < 0.8:
        return None
    first = str(values.iloc[0])
    read = read_dates(sample, "date", (), ReadOptions())
    if not read.errors:
        if read.parsed.notna().sum() < 0.9 * len(values):
            return None
        if "day first" in read.expected:
            return DateStyle("dayfirst", _deciding(values, dayfirst=True), _sep(first))
        if "month first" in read.expected:
            return DateStyle("monthfirst", _deciding(values, dayfirst=False), _sep(first))
        return DateStyle("text" if "a date as" in read.expected else "iso", first)
    both = {flag: read_dates(sample, "date", (), ReadOptions(dayfirst=flag)) for flag in (True, False)}
    if all(r.errors for r in both.values()):  # two-digit years: the century must be stated
        numeric = next((v for v in values if re.match(NUMERIC, v)), None)
        if numeric is None:
            return None
        fits = [flag for flag in (True, False)
                if pd.to_datetime(values, format=_format(numeric, flag, "%y"), errors="coerce").notna().all()]
        if not fits:
            return None
        return DateStyle("two_digit", numeric, _sep(numeric), fits[0] if len(fits) == 1 else None)
    bad = {flag: int(r.bad.sum()) for flag, r in both.items()}
    if min(bad.values()) > 0.5 * len(values):
        return None
    if not any(bad.values()):
        return DateStyle("ambiguous", first, _sep(first))
    return DateStyle("mixed", first, _sep(first))


def _sep(value: str) -> str:
    m = re.match(NUMERIC, value)
    return m["s1"] if m else ""


def _deciding(values: pd.Series, dayfirst: bool) -> str:
    """A value that allows only the column's reading (25/01/2024 for day-first)."""
    for value in values.unique():
        m = re.match(NUMERIC, str(value))
        if m and int(m["a" if dayfirst else "b"]) > 12:
            return str(value)
    return str(values.iloc[0])


# --------------------------------------------------------------------------- columns


@dataclass
class Pick:
    """A canonical column's source column, and why."""

    source: str
    why: str
    score: float = 1.0


def name_score(name: str, words: set[str]) -> float:
    """1 for a name that is one of `words`, 0.6 for one that holds one of them (Deal Amount), else 0."""
    n = norm(name)
    if n in words:
        return 1.0
    padded = f" {n} "
    return 0.6 if any(len(w) >= 4 and f" {w} " in padded for w in words) else 0.0


def fits(col: ColumnProfile, spec: Column, key: bool = False) -> str | None:
    """Why the column's content fits the canonical column, or None when it does not."""
    if col.filled == 0:
        return None
    if spec.kind in ("date", "month"):
        return f"{col.date.describe()}, {col.filled_text()}" if col.date else None
    if spec.kind in ("money", "float", "int"):
        if not col.numeric and not col.comma:
            return None
        if spec.kind == "money":
            return None if col.negative else f"money, no negatives, {col.filled_text()}"
        return f"numbers, {col.filled_text()}"
    if spec.kind == "bool":
        return f"yes/no, {col.filled_text()}" if col.flags else None
    if col.date is not None or (col.numeric and not col.integer):
        return None  # a date or a measure is not a name or an id
    if spec.kind == "id":
        if key and not col.unique:
            return None
        kind = "whole numbers" if col.numeric else "text"
        return f"unique, {kind}, {col.filled_text()}" if key else f"ids, {col.filled_text()}"
    if spec.allowed:
        known = VALUES.get(spec.name, {})
        return plural(col.distinct, "value") if any(v in spec.allowed or norm(v) in known for v in col.top) else None
    shown = ", ".join(col.top[:3]) + (", ..." if col.distinct > 3 else "")
    return f"{plural(col.distinct, 'value')}: {shown}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def match_columns(file: FileProfile, table: str, skip: AbstractSet[str] = frozenset(),
                  sources: list[str] | None = None) -> dict[str, Pick]:
    """The best source column for each canonical column of `table` (other than `skip`), by name and content;
    one source column feeds one canonical column (status and stage may share one, see `propose`)."""
    spec = TABLES[table]
    found = []
    for name in sources if sources is not None else file.columns:
        col = file.columns[name]
        for canonical, words in NAMES[table].items():
            if canonical in skip:
                continue
            score = name_score(name, words)
            why = fits(col, spec.column(canonical), key=canonical == spec.key) if score else None
            if why:
                found.append((score, canonical, name, why if score == 1 else f"named like {canonical}; {why}"))
    # an id column not named after the table: unique, named *id
    if table in FACTS and spec.key and spec.key not in skip:
        for name in sources if sources is not None else file.columns:
            col = file.columns[name]
            if re.search(r"(^| )(id|№)$", norm(name)) and col.unique and col.share > 0.99:
                found.append((0.5, spec.key, name, f"unique, {col.filled_text()}"))
    found.sort(key=lambda f: -f[0])
    picks: dict[str, Pick] = {}
    for score, canonical, name, why in found:
        if canonical not in picks and name not in {p.source for p in picks.values()}:
            picks[canonical] = Pick(name, why, score)
    if {"status", "stage"} <= set(NAMES[table]) - set(skip):  # one column may say both
        status, stage = picks.get("status"), picks.get("stage")
        if status is None and stage is not None:
            why = fits(file.columns[stage.source], spec.column("status"))
            if why:
                picks["status"] = Pick(stage.source, f"the stage says the status; {why}, mapped below", stage.score)
        elif stage is None and status is not None and names_stages(file.columns[status.source]):
            picks["stage"] = Pick(status.source, "the status column names the stages of open deals")
    return picks


def names_stages(col: ColumnProfile) -> bool:
    """Whether a status column also names the stages of open deals (Prospecting, Negotiation)."""
    return any(VALUES["status"].get(norm(v), "open") == "open" and norm(v) != "open" for v in col.top)


# --------------------------------------------------------------------------- tables


@dataclass
class Recognised:
    table: str
    file: FileProfile
    picks: dict[str, Pick]
    score: float
    named: bool  # the file's name says which table it is
    preset: Preset | None = None
    preset_columns: dict[str, str] = field(default_factory=dict)  # canonical -> the export column it reads


def named_as(path: Path, names: dict[str, tuple[str, ...]]) -> str | None:
    stem = f" {norm(path.stem)} "
    for kind, words in names.items():
        if any(f" {norm(w)} " in stem for w in words):
            return kind
    return None


def recognise(file: FileProfile, table: str) -> Recognised | None:
    """The file as `table`, when enough of the table's required columns are there."""
    named = named_as(file.path, {table: TABLE_NAMES[table]}) == table
    picks = match_columns(file, table)
    spec = TABLES[table]
    required = [c for c in spec.required if c in picks]
    if len(required) < MIN_REQUIRED[table] - named:
        return None
    if table == "customers" and not named and len(picks) < 2:
        return None  # a unique name column alone is not a list of customers
    score = sum(p.score * (3 if c in spec.required else 1) for c, p in picks.items()) + 3 * named
    return Recognised(table, file, picks, score, named)


def recognise_preset(file: FileProfile) -> Recognised | None:
    """The file as a CRM export a preset reads: every required column and at least six in all found."""
    best = None
    for preset in PRESETS.values():
        found = {}
        for canonical, candidates in preset.columns.items():
            source = next((c for c in candidates if not c.startswith(DERIVED) and c in file.columns), None)
            if source:
                found[canonical] = source
        if all(c in found for c in TABLES[preset.table].required) and len(found) >= 6:
            if best is None or len(found) > len(best.preset_columns):
                best = Recognised(preset.table, file, {}, 100.0 + len(found), True, preset, found)
    return best


def recognise_canonical(file: FileProfile) -> Recognised | None:
    """A file named after one of the other canonical tables (targets.csv, spend.csv) with its columns."""
    spec = TABLES.get(file.path.stem.lower())
    if spec is None or spec.name in KINDS or not set(spec.required) <= set(file.columns):
        return None
    picks = {c: Pick(c, "its canonical name") for c in spec.names if c in file.columns}
    return Recognised(spec.name, file, picks, 50.0, True)


def choose_tables(files: list[FileProfile]) -> dict[str, Recognised]:
    """One file per canonical table, the best-scoring first; a file is one table at most."""
    options: list[Recognised] = []
    for file in files:
        options.extend(r for r in (recognise_preset(file), recognise_canonical(file)) if r is not None)
        options.extend(r for t in KINDS if (r := recognise(file, t)) is not None)
    options.sort(key=lambda r: -r.score)
    chosen: dict[str, Recognised] = {}
    taken: set[str] = set()
    for r in options:
        if r.table not in chosen and r.file.name not in taken:
            chosen[r.table] = r
            taken.add(r.file.name)
    return {t: chosen[t] for t in TABLES if t in chosen}


def also_like(files: list[FileProfile], chosen: dict[str, Recognised]) -> dict[str, str]:
    """Files not chosen that look like a table another file was chosen for: {file name: table}."""
    taken = {r.file.name for r in chosen.values()}
    out = {}
    for file in files:
        if file.name in taken:
            continue
        for table in FACTS:
            if table in chosen and recognise(file, table) is not None:
                out[file.name] = table
                break
    return out
