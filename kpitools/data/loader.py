"""`load(config_or_dir)`: read, map, parse and validate every table of a dataset."""
from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from . import preset_config as presets
from .cleaning import drop_incomplete, exclude_rows, fill_blanks
from .config import CONFIG_NAMES, READABLE, DatasetConfig, TableConfig, read_config
from .dataset import Dataset
from .events import expand as expand_events
from .join import apply_joins
from .parse import lines, map_columns, parse_table
from .problems import DataError, DataNote, Problem
from .readers import EXCEL, read_source
from .schema import TABLES
from .sql import session as sql_session
from .types import to_canonical
from .validate import check_links, check_table

FACT_TABLES = ("deals", "leads", "subscriptions")  # any one of them is enough for a dataset
TARGET_PERIOD = r"^\d{4}(-(0?[1-9]|1[0-2])|-?[Qq][1-4])?$"  # month 1-12, quarter 1-4


def resolve(config_or_dir: str | Path) -> tuple[DatasetConfig, Path, str]:
    """The config to use and the folder its paths are relative to.

    A directory holding dataset.yml uses it; a directory of canonical-named files
    (deals.csv, leads.parquet, ...) gets a config made up on the spot.
    """
    path = Path(config_or_dir).expanduser()
    if path.is_dir():
        for name in CONFIG_NAMES:
            if (path / name).is_file():
                return read_config(path / name), path, str(path / name)
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in READABLE and not p.name.startswith("."))
        tables: dict[str, TableConfig] = {}
        problems = []
        for f in files:
            if f.stem in TABLES and f.stem not in tables:
                tables[f.stem] = TableConfig(path=f.name)
            else:
                close = difflib.get_close_matches(f.stem, TABLES, n=1)
                problems.append(Problem(f"{f.name} is not named after a canonical table", file=str(f),
                                        hint=(f"rename it to {close[0]}{f.suffix}? " if close else "")
                                        + "or write a dataset.yml that maps it"))
        if not tables and not problems:
            problems.append(Problem("no dataset.yml and no table files (deals.csv, ...) in this folder",
                                    file=str(path), hint="run `kpitools sample DIR` to see the expected layout"))
        if problems:
            raise DataError(problems)
        return DatasetConfig(name=path.resolve().name, tables=tables), path, str(path)
    if not path.exists():
        raise DataError([Problem("no such file or folder", file=str(path),
                                 hint="give a dataset.yml or a folder of table files")])
    if path.suffix.lower() not in (".yml", ".yaml"):
        raise DataError([Problem("not a dataset config", file=str(path),
                                 hint="give a dataset.yml (YAML) or the folder holding the table files")])
    return read_config(path), path.parent, str(path)


_CACHE: dict[tuple, Dataset] = {}
_CACHE_SIZE = 4


def source_files(config: DatasetConfig, base: Path) -> list[Path]:
    """Every file a dataset reads: its tables' and their joins' (database sources are not files)."""
    files = [t.path for t in config.tables.values() if t.path]
    files += [j.path for t in config.tables.values() for j in t.join if j.path]
    return [(base / f).resolve() for f in files]


def reads_a_database(config: DatasetConfig) -> bool:
    return any(t.url for t in config.tables.values()) or any(j.url for t in config.tables.values() for j in t.join)


def _fingerprint(config: DatasetConfig, base: Path, source: str) -> tuple | None:
    """Sizes and modification times of the config and every table file; None for database sources."""
    parts: list[tuple] = []
    for path in [Path(source), *source_files(config, base)]:
        try:
            st = path.resolve().stat()
        except OSError:
            return None
        parts.append((str(path.resolve()), st.st_size, st.st_mtime_ns))
    if reads_a_database(config):
        return None
    return tuple(parts)


def load(config_or_dir: str | Path, *, validate: bool = True) -> Dataset:
    """Load a dataset; raises DataError listing every problem found.

    `validate=False` skips the rule checks (types are still parsed): for data
    already validated, such as a prepared copy.

    Loading the same unchanged files again returns the Dataset already loaded in this
    process (its tables are read-only): report kernels forked from a process that
    loaded the batch's data get it without reading or validating it again.
    """
    config, base, source = resolve(config_or_dir)
    key = _fingerprint(config, base, source)
    if key is not None and (key, validate) in _CACHE:
        return _CACHE[(key, validate)]
    with sql_session():  # a database that refused one table is not asked again for the next
        ds = _load(config, base, source, validate)
    if key is not None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[(key, validate)] = ds
    return ds


def _load(config: DatasetConfig, base: Path, source: str, validate: bool) -> Dataset:
    if not any(t in config.tables for t in FACT_TABLES):
        raise DataError([Problem(f"the config has none of the tables KPIs start from ({', '.join(FACT_TABLES)})",
                                 file=source, hint="add at least one: tables: {deals: {path: ...}} (or leads: "
                                                   "for a lead funnel, subscriptions: for a billing export)")])
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    first_lines: dict[str, int] = {}
    # a copy prepared by `kpitools run` carries the notes of the load it was made from
    notes: list[DataNote] = [DataNote(**{**n, "values": tuple(n.get("values", ()))}) for n in config.notes]
    # Largest files first: a table's text is gone, parsed, before the next is read, so the big text never
    # sits next to many parsed tables. The order changes nothing: each table's results are its own and are
    # gathered below in the config's order, as if read in it.
    done = {name: _load_table(name, config.tables[name], base, validate) for name in reading_order(config, base)}
    for name in config.tables:
        one = done.pop(name)
        problems.extend(one.problems)
        notes.extend(one.notes)
        if one.where is not None:
            where[name], first_lines[name] = one.where, one.first_line
        if one.parsed is not None:
            tables[name] = one.parsed
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError(problems)
    if validate:
        problems.extend(check_links(tables, where, first_lines))
    # each parsed table let go as its typed copy is made: the two exist together for one table only
    typed = {name: to_canonical(name, tables.pop(name)).reset_index(drop=True) for name in list(tables)}
    if "customers" not in typed:
        derived = derive_customers(typed)
        if derived is not None:
            typed["customers"] = derived
    return Dataset(tables=typed, name=config.name, currency=config.currency,
                   fiscal_year_start=config.fiscal_year_start, calendar=config.calendar,
                   stage_probabilities=dict(config.stage_probabilities),
                   source=Path(source), warnings=[p for p in problems if p.severity == "warning"],
                   notes=notes)


class _Table(NamedTuple):
    """What loading one table gives: its problems and notes (in the order found), where its rows are
    (None when it was not read that far) and the parsed table (None after an error)."""
    problems: list[Problem]
    notes: list[DataNote]
    where: str | None
    first_line: int
    parsed: pd.DataFrame | None


def reading_order(config: DatasetConfig, base: Path) -> list[str]:
    """The tables by decreasing file size (then in the config's order); the config's order when a table
    reads a database (a database that refused one table is not asked again: order could change that)."""
    names = list(config.tables)
    if reads_a_database(config):
        return names

    def size(name: str) -> int:
        path = config.tables[name].path
        try:
            return (base / path).stat().st_size if path else 0
        except OSError:
            return 0  # missing: reported when read

    return sorted(names, key=lambda name: -size(name))


def _load_table(name: str, cfg: TableConfig, base: Path, validate: bool) -> _Table:
    """Read, map, parse and check one table. Its text is let go column by column as parsed."""
    problems: list[Problem] = []
    notes: list[DataNote] = []
    try:
        raw, first_line, display = read_source(name, cfg, base)
    except DataError as e:
        return _Table(list(e.problems), notes, None, 1, None)
    excel = Path(display).suffix.lower() in EXCEL
    raw, found, noted = apply_joins(name, raw, cfg, base, display, first_line)
    raw, more, excluded = exclude_rows(name, raw, cfg, display)
    problems.extend(found + more)
    notes.extend(noted + excluded)
    if any(p.severity == "error" for p in found + more):
        return _Table(problems, notes, None, 1, None)
    if cfg.shape != "monthly":  # event-style subscriptions: expand to one row per customer and month
        raw, found = expand_events(raw, cfg, display, first_line)
        problems.extend(found)
        if any(p.severity == "error" for p in found):
            return _Table(problems, notes, None, 1, None)
        display, first_line = f"{display} (expanded to monthly rows)", 1
        cfg = cfg.model_copy(update={"columns": {}, "values": {}, "defaults": {}, "fill": {}})
    raw, cfg = presets.apply(raw, cfg)
    raw, cfg, found, filled = fill_blanks(name, raw, cfg, TABLES[name], display)
    problems.extend(found)
    notes.extend(filled)
    mapped, found = map_columns(name, raw, cfg, display)
    del raw  # its columns live on in `mapped` only, which parse_table empties as it parses
    problems.extend(_with_preset_hint(found, cfg))
    parsed, found, unparsed = parse_table(name, mapped, cfg, display, first_line, excel=excel, consume=True)
    del mapped
    problems.extend(found)
    parsed, dropped = drop_incomplete(name, parsed, cfg, TABLES[name], unparsed)
    notes.extend(dropped)
    parsed = presets.finish(parsed, cfg)
    if validate:
        problems.extend(_check_extra(name, parsed, display, first_line))
        problems.extend(check_table(name, parsed, display, first_line, unparsed))
    return _Table(problems, notes, display, first_line, parsed)


def _with_preset_hint(found: list[Problem], cfg: TableConfig) -> list[Problem]:
    """A missing required column of a preset's table: say which export column the preset expected."""
    out = []
    for p in found:
        expected = presets.expected_columns(cfg, p.column) if p.column and cfg.preset else ""
        if expected and p.message.startswith("required column"):
            p = replace(p, hint=f"{expected} (is the file an export of the preset's kind, with that column "
                                f"included?); or {p.hint}")
        out.append(p)
    return out


def _check_extra(name: str, df: pd.DataFrame, where: str, first_line: int) -> list[Problem]:
    """Rules the pandera schema cannot express generically."""
    problems = []
    if name == "targets" and "period" in df.columns:
        bad = df["period"].notna() & ~df["period"].astype("string").str.match(TARGET_PERIOD).fillna(False)
        if bad.any():
            rows = bad[bad].index
            problems.append(Problem("target period not understood", file=where, table=name, column="period",
                                    rows=lines(rows, first_line), count=len(rows),
                                    values=tuple(dict.fromkeys(df.loc[rows[:5], "period"].astype(str))),
                                    hint="write months as 2024-03, quarters as 2024Q1, years as 2024"))
    return problems


def derive_customers(tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """customers from won deals (first close) and subscriptions (first paying month)."""
    parts = []
    deals = tables.get("deals")
    if deals is not None and "customer_id" in deals.columns:
        won = deals[deals["status"].eq("won") & deals["customer_id"].notna()]
        cols = [c for c in ("region", "channel") if c in won.columns]
        first = won.sort_values("closed_at").drop_duplicates("customer_id")
        parts.append(first[["customer_id", "closed_at", *cols]].rename(columns={"closed_at": "acquired_at"}))
    subs = tables.get("subscriptions")
    if subs is not None:
        paying = subs[subs["mrr"] > 0].sort_values("month").drop_duplicates("customer_id")
        cols = [c for c in ("region", "segment") if c in paying.columns]
        parts.append(paying[["customer_id", "month", *cols]].rename(columns={"month": "acquired_at"}))
    if not parts:
        return None
    both = pd.concat([p.astype({c: "object" for c in p.columns if c != "acquired_at"}) for p in parts],
                     ignore_index=True)
    both = both.sort_values("acquired_at").groupby("customer_id", sort=False).first().reset_index()
    return to_canonical("customers", both)
