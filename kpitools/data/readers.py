"""Readers: one per source kind (CSV, Parquet, Excel), found by file extension.

Each returns the raw frame and the line number of its first data row, so that
problems can name the row a user sees in the file.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import pandas as pd

from .config import ReadOptions, TableConfig
from .problems import DataError, Problem

Reader = Callable[[Path, ReadOptions], tuple[pd.DataFrame, int]]
READERS: dict[str, Reader] = {}


def reader(*extensions: str) -> Callable[[Reader], Reader]:
    def register(fn: Reader) -> Reader:
        for ext in extensions:
            READERS[ext] = fn
        return fn

    return register


def _sniff_sep(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        head = f.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(head.split("\n", 20)[0] if head else ",", delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


@reader(".csv", ".txt", ".tsv")
def read_csv(path: Path, opts: ReadOptions) -> tuple[pd.DataFrame, int]:
    sep = opts.sep or ("\t" if path.suffix == ".tsv" else _sniff_sep(path, opts.encoding))
    # Text first: numbers and dates are parsed afterwards so bad values can be reported with their row.
    df = pd.read_csv(path, sep=sep, encoding=opts.encoding, header=opts.header, skiprows=opts.skiprows or None,
                     dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    return df, opts.skiprows + opts.header + 2


@reader(".parquet", ".pq")
def read_parquet(path: Path, opts: ReadOptions) -> tuple[pd.DataFrame, int]:
    return pd.read_parquet(path), 1


@reader(".xlsx", ".xlsm", ".xls")
def read_excel(path: Path, opts: ReadOptions) -> tuple[pd.DataFrame, int]:
    df = pd.read_excel(path, sheet_name=opts.sheet, header=opts.header, skiprows=opts.skiprows or None,
                       keep_default_na=False, na_values=[""])  # "n/a" is a value to report, not a blank
    return df, opts.skiprows + opts.header + 2


def read_source(table: str, cfg: TableConfig, base: Path) -> tuple[pd.DataFrame, int, str]:
    """Read one table's source; returns (raw frame, first data line, display name of the source)."""
    if cfg.url:
        from .sql import read_sql  # optional: only needed for database sources

        return read_sql(table, cfg)
    path = (base / cfg.path).resolve() if not Path(cfg.path).is_absolute() else Path(cfg.path)
    where = str(path)
    if not path.exists():
        near = sorted(p.name for p in path.parent.glob("*"))[:20] if path.parent.is_dir() else []
        hint = f"files in {path.parent}: {', '.join(near)}" if near else f"folder {path.parent} does not exist"
        raise DataError([Problem("file not found", file=where, table=table, hint=hint)])
    if path.is_dir():
        raise DataError([Problem("is a folder, not a file", file=where, table=table,
                                 hint="point `path:` at a CSV, Parquet or Excel file")])
    if path.stat().st_size == 0:
        raise DataError([Problem("file is empty", file=where, table=table,
                                 hint="export the table again, or remove it from the config")])
    read = READERS.get(path.suffix.lower())
    if read is None:
        raise DataError([Problem(f"cannot read {path.suffix or 'files without an extension'}", file=where,
                                 table=table, hint=f"use one of: {', '.join(sorted(READERS))}")])
    try:
        df, first_line = read(path, cfg.read)
    except UnicodeDecodeError as e:
        raise DataError([Problem(f"not readable as {cfg.read.encoding} text (byte {e.start})", file=where,
                                 table=table, hint="set the file's encoding, e.g. read: {encoding: latin-1} "
                                                   "or cp1252, or re-export as UTF-8")]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, ImportError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError([Problem(f"cannot read the file: {first}", file=where, table=table,
                                 hint="check that it is a real CSV/Parquet/Excel file and the `read:` options "
                                      "(sep, encoding, header) match it")]) from None
    except Exception as e:  # noqa: BLE001  readers of binary formats raise many kinds of errors on garbage
        raise DataError([Problem(f"cannot read the file ({type(e).__name__}: {str(e)[:200]})", file=where,
                                 table=table, hint="check that the file is not damaged and has the "
                                                   "extension of its real format")]) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, first_line, where
