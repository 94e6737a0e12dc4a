"""Readers: one per source kind (CSV, Parquet, Excel), found by file extension.

Each returns the raw frame and the line number of its first data row, so that
problems can name the row a user sees in the file.
"""
from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .config import ReadOptions, TableConfig
from .preset_config import read_options
from .problems import DataError, Problem
from .sniff import decode_problem, format_problem, mojibake_problem, read_problem

if TYPE_CHECKING:
    import pyarrow as pa

Reader = Callable[[Path, ReadOptions], tuple[pd.DataFrame, int]]
READERS: dict[str, Reader] = {}
EXCEL = (".xlsx", ".xlsm", ".xls")  # read by read_excel; their date columns may hold Excel serial days


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


_TEXT = pd.Series([], dtype=str).dtype  # pandas 3: the Arrow-backed "str" dtype; pandas 2: object


def _read_csv_arrow(path: Path, sep: str, opts: ReadOptions) -> pd.DataFrame | None:
    """Every column as text through pyarrow's multi-threaded CSV reader (several times faster than
    pandas' on large files), the same frame pandas' text read gives. None when the file is one for
    pandas: a header below the first line, an unusual separator, a space before a quote, ragged
    rows, bytes the encoding cannot read; pandas then reads it and words any error."""
    if opts.header or opts.skiprows or len(sep) != 1 or sep in "\"\r\n":
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    with open(path, encoding=opts.encoding, errors="replace", newline="") as f:
        head = f.read(64 * 1024)
    if re.search(re.escape(sep) + r'[ \t]+"', head):  # pandas' skipinitialspace reads such quotes, Arrow not
        return None
    try:
        names = next(csv.reader(io.StringIO(head.removeprefix("\ufeff")), delimiter=sep))
    except (StopIteration, csv.Error):
        return None
    if len(set(names)) != len(names) or any(not n.strip() for n in names):
        return None  # pandas renames duplicate and empty names
    try:
        table = pacsv.read_csv(
            path, memory_pool=_text_pool(), read_options=pacsv.ReadOptions(encoding=opts.encoding),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            # large_string: the type pandas' Arrow-backed text keeps, so to_pandas() does not copy it
            convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True))
    except (pa.ArrowException, OSError, ValueError, LookupError):
        return None
    if table.column_names != names or any(t != pa.large_string() for t in table.schema.types):
        return None
    columns = []
    for col in table.columns:  # pandas' skipinitialspace: leading blanks go, a blank value is missing
        # looking at first characters only is cheaper than trimming every column to compare
        if pc.any(pc.utf8_is_space(pc.utf8_slice_codeunits(col, 0, 1))).as_py():
            trimmed = pc.utf8_ltrim_whitespace(col)
            col = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)
        columns.append(col)
    table = pa.table(columns, names=names)
    return table.to_pandas(types_mapper=(lambda t: _TEXT) if isinstance(_TEXT, pd.StringDtype) else None)


@functools.cache
def _text_pool() -> pa.MemoryPool | None:
    """The memory pool for a CSV file's text: jemalloc where pyarrow has it, else Arrow's default.

    The text is let go column by column as it is parsed, and jemalloc (told to purge at once) hands
    what is freed back to the system. Arrow's default, mimalloc, keeps it for the reader's worker
    threads, which allocated it: the next file's text reuses it, but numpy's parsed columns cannot,
    and it stays counted in the process's memory (bench/load.py: the large sample's CSV load peaked
    about 500 MB higher with mimalloc, 110 MB higher with jemalloc's default decay of a second)."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return None
    if pa.default_memory_pool().backend_name != "jemalloc":  # nobody else's allocations: ours to tune
        pa.jemalloc_set_decay_ms(0)
    return pool


@reader(".csv", ".txt", ".tsv")
def read_csv(path: Path, opts: ReadOptions) -> tuple[pd.DataFrame, int]:
    sep = opts.sep or ("\t" if path.suffix == ".tsv" else _sniff_sep(path, opts.encoding))
    # Text first: numbers and dates are parsed afterwards so bad values can be reported with their row.
    df = _read_csv_arrow(path, sep, opts)
    if df is None:
        df = pd.read_csv(path, sep=sep, encoding=opts.encoding, header=opts.header, skiprows=opts.skiprows or None,
                         dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    return df, opts.skiprows + opts.header + 2


@reader(".parquet", ".pq")
def read_parquet(path: Path, opts: ReadOptions) -> tuple[pd.DataFrame, int]:
    return pd.read_parquet(path), 1


@reader(*EXCEL)
def read_excel(path: Path, opts: ReadOptions) -> tuple[pd.DataFrame, int]:
    # python-calamine reads .xls (openpyxl cannot) and reads .xlsx faster, to the same frame.
    df = pd.read_excel(path, engine="calamine", sheet_name=opts.sheet, header=opts.header,
                       skiprows=opts.skiprows or None, keep_default_na=False,
                       na_values=[""])  # "n/a" is a value to report, not a blank
    return df, opts.skiprows + opts.header + 2


def read_source(table: str, cfg: TableConfig, base: Path) -> tuple[pd.DataFrame, int, str]:
    """Read one table's source; returns (raw frame, first data line, display name of the source)."""
    if cfg.url:
        from .sql import read_sql  # imported only for database sources

        return read_sql(table, cfg, base)
    assert cfg.path is not None  # the config requires path: or url:
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
    opts = read_options(cfg)
    # a PNG named .parquet, a CSV named .xlsx, garbage; cp1251 text read as latin-1 (Ìîñêâà for Москва)
    mismatch = format_problem(path, table, opts) or mojibake_problem(path, table, opts)
    if mismatch:
        raise DataError([mismatch])
    try:
        df, first_line = read(path, opts)
    except UnicodeDecodeError as e:
        raise DataError([decode_problem(path, table, opts, e)]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, ImportError, LookupError) as e:
        raise DataError([read_problem(path, table, opts, e)]) from None
    except Exception as e:  # noqa: BLE001  readers of binary formats raise many kinds of errors on garbage
        raise DataError([Problem(f"cannot read the file ({type(e).__name__}: {str(e)[:200]})", file=where,
                                 table=table, hint="check that the file is not damaged and has the "
                                                   "extension of its real format")]) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, first_line, where
