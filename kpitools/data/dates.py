"""Reading a date column: one reading for the whole column, never one per value.

A column's text dates are ISO (2024-12-31, 2024-12-31T10:00:00Z, 2024-03), day-first (31/12/2024,
31.12.2024, 31-12-2024 19:58), month-first (12/31/2024), text months read with one format inferred
for the column (5 Oct 2024), or a stated `read: {date_format: ...}`. Day-first or month-first is
decided by the values that allow only one reading (25/01/2024 is day-first), or stated with
`read: {dayfirst: ...}`. A guess would give wrong KPIs without a word, so a column whose values all
read both ways, or need both ways, is an error, and so is a two-digit year without a stated format.
Excel serial day numbers are dates only in Excel files.

The work is done on the column's distinct values, vectorised: a million-row column costs what its
distinct values cost, and nothing depends on the size of the file.
"""
from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.tseries.api import guess_datetime_format

from .config import ReadOptions
from .problems import Problem
from .types import arrow_text

EARLIEST, LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
RANGE = " between 1900 and 2200"
EXCEL_EPOCH = "1899-12-30"  # day 0 of Excel's serial days (right from March 1900 on)
ISO = r"^\d{4}[-/.]\d{1,2}"  # year first: one reading only
# day and month in either order, a 4- or 2-digit year, optionally a time (both separators equal: checked after)
NUMERIC = (r"^(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P<s2>[/.-])(?P<y>\d{4}|\d{2})"
           r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?)?$")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
EXAMPLES = 2
TEXT = "string[pyarrow]"  # string work in Arrow's compute kernels, not a Python loop

# An error of a whole column: the problem (the caller adds file, table and rows) and the rows it names.
ColumnError = tuple[Problem, pd.Index]


class Dates(NamedTuple):
    parsed: pd.Series  # datetime64[ns], NaT where blank or not read
    bad: pd.Series  # values the column's reading cannot read (reported as "cannot read")
    expected: str  # the column's reading, for that report
    errors: list[ColumnError]  # when any, the column is not read at all: parsed is all NaT


def read_dates(s: pd.Series, column: str, names: tuple[str, ...], opts: ReadOptions,
               excel: bool = False) -> Dates:
    """Read one date column. `names`: its names in the file, for per-column settings
    (read: {dayfirst: {Close Date: true}}) and for the fixes suggested; `excel`: numbers are
    Excel day numbers."""
    if pd.api.types.is_datetime64_any_dtype(s):  # Parquet, Excel date cells: dates already
        return _in_range(s.notna().to_numpy(), _naive(s), "a date (e.g. 2024-12-31)")
    if opts.date_format_of(column, *names) is None and (iso := _arrow_iso(s)) is not None:
        return _in_range(s.notna().to_numpy(), iso, "a date (e.g. 2024-12-31)")
    codes, uniques = pd.factorize(s)  # the distinct values in file order; code -1: missing
    values = pd.Series(uniques)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(values.cat.categories.dtype)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if isinstance(values.dtype, pd.StringDtype):
        text = values
    else:  # numbers, or (Excel) an object column of dates, numbers and text
        values = values.astype(object)
        is_date = values.map(lambda v: isinstance(v, (dt.date, np.datetime64))).astype(bool)
        is_number = values.map(lambda v: isinstance(v, (int, float, np.number))
                               and not isinstance(v, (bool, np.bool_))).astype(bool)
        if is_date.any():  # kept as they are
            parsed[is_date] = _naive(pd.to_datetime(values[is_date], utc=True, errors="coerce")).to_numpy()
        if excel and is_number.any():
            parsed[is_number] = _serials(values[is_number]).to_numpy()
        text = values[~is_date & ~is_number].astype(str)
    text = text.astype(TEXT).str.strip()
    blank = pd.Series(False, index=values.index)
    blank[text.index[(text == "").to_numpy(dtype=bool)]] = True  # missing, not bad
    text = text[~blank[text.index]]
    key = names[0] if names else column
    read, expected, errors = _read_text(text, opts.date_format_of(column, *names),
                                        opts.dayfirst_of(column, *names), key)
    if errors:  # the column is not read: which reading is right is for the user to say
        return Dates(pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), pd.Series(False, index=s.index),
                     expected + RANGE, [(p, s.index[np.isin(codes, mask.index[mask])]) for p, mask in errors])
    parsed[read.index] = read.to_numpy()
    present = np.append(~blank.to_numpy(dtype=bool), False)[codes]  # code -1 picks the appended value
    rows = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))[codes]
    return _in_range(present, pd.Series(rows, index=s.index), expected)


def _arrow_iso(s: pd.Series) -> pd.Series | None:
    """The dates of a text column whose every value is an ISO date or date-time without a zone
    (2024-12-31, 2024-12-31T10:00:00), read by Arrow in one pass; None when any value is not (the
    column is then read through its distinct values below). Arrow accepts only what the ISO reading
    below reads the same way, so the column's reading does not change."""
    text = arrow_text(s)
    if text is None:
        return None
    try:
        stamps = pc.cast(text, pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:
            stamps = pc.cast(pc.utf8_trim_whitespace(text), pa.timestamp("ns"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return pd.Series(stamps.to_numpy(), index=s.index, name=s.name).astype("datetime64[ns]")


def _in_range(present: np.ndarray, parsed: pd.Series, expected: str) -> Dates:
    """Dates outside 1900..2200 are typos (20240-01-25), not dates. `present`: the rows with a value."""
    parsed = parsed.where(parsed.isna() | ((parsed >= EARLIEST) & (parsed < LATEST)))
    return Dates(parsed, pd.Series(present, index=parsed.index) & parsed.isna(), expected + RANGE, [])


def _naive(parsed: pd.Series) -> pd.Series:
    """Time-zone-aware dates in UTC without the time zone, like the others."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _serials(numbers: pd.Series) -> pd.Series:
    """Excel's day numbers: days since 1899-12-30, the fraction the time of day."""
    days = pd.to_numeric(numbers, errors="coerce").astype("float64")
    days = days.where((days > 0) & (days < 200_000))  # beyond: no date, and too large to convert
    return pd.to_datetime(days, unit="D", origin=EXCEL_EPOCH, errors="coerce").astype("datetime64[ns]")


def _read_text(text: pd.Series, fmt: str | None, dayfirst: bool | None,
               key: str) -> tuple[pd.Series, str, list[tuple[Problem, pd.Series]]]:
    """Read the distinct, stripped, non-blank text values; an error names its values by a mask over `text`."""
    if fmt:  # stated: every value has exactly this format
        return _naive(pd.to_datetime(text, format=fmt, errors="coerce", utc=True)), f"a date as {fmt}", []
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    iso = text.str.match(ISO).to_numpy(dtype=bool)
    parsed[iso] = _naive(pd.to_datetime(text[iso], format="ISO8601", errors="coerce", utc=True)).to_numpy()
    parts = _numbers(text[~iso])
    numeric = parts["matched"].to_numpy(dtype=bool)
    p, other = parts[numeric], text[~iso][~numeric]
    parsed[other.index], text_format = _inferred(other)
    expected = f"a date as {text_format}" if text_format and not iso.any() else "a date (e.g. 2024-12-31)"
    if p.empty:
        return parsed, expected, []
    day_first, month_first = _compose(p, dayfirst=True), _compose(p, dayfirst=False)
    only_df = day_first.notna() & month_first.isna()
    only_mf = month_first.notna() & day_first.isna()
    two_digit = p["two_digit"]
    if two_digit.any():  # the century is not for us to guess, day-first or not
        told = dayfirst if dayfirst is not None else (
            True if only_df.any() and not only_mf.any() else False if only_mf.any() and not only_df.any() else None)
        return parsed, expected, [_two_digit_year(text, two_digit[two_digit].index, told, key)]
    if dayfirst is None:
        if only_df.any() and only_mf.any():
            return parsed, expected, [_needs_both(text, only_df, only_mf, key)]
        both = day_first.notna() & month_first.notna() & (day_first != month_first)  # not 05/05/2024
        if not (only_df.any() or only_mf.any()) and both.any():
            return parsed, expected, [_reads_both_ways(text, both, day_first, month_first, key)]
        dayfirst = not only_mf.any()  # decided by the values that allow one reading only
    parsed[p.index] = (day_first if dayfirst else month_first).to_numpy()
    expected = "a date, day first (e.g. 31/12/2024)" if dayfirst else "a date, month first (e.g. 12/31/2024)"
    return parsed, expected, []


def _numbers(text: pd.Series) -> pd.DataFrame:
    """The parts of the values that NUMERIC matches, as numbers (0 where absent), by Arrow's regex
    engine: no Python loop over a million values."""
    found = pc.extract_regex(pa.array(text, type=pa.large_string()), NUMERIC)
    part = {name: pc.struct_field(found, name) for name in ("a", "s1", "b", "s2", "y", "H", "M", "S", "ampm")}
    out = {name: pc.cast(pc.if_else(pc.equal(part[name], ""), None, part[name]), pa.int64()).fill_null(0)
           for name in ("a", "b", "y", "H", "M", "S")}
    out["matched"] = pc.and_(found.is_valid(), pc.equal(part["s1"], part["s2"])).fill_null(False)
    out["two_digit"] = pc.equal(pc.utf8_length(part["y"]), 2).fill_null(False)
    out["twelve"] = pc.not_equal(part["ampm"], "").fill_null(False)
    out["pm"] = pc.equal(pc.utf8_lower(part["ampm"]), "pm").fill_null(False)
    return pd.DataFrame({k: v.to_numpy(zero_copy_only=False) for k, v in out.items()}, index=text.index)


def _compose(p: pd.DataFrame, dayfirst: bool) -> pd.Series:
    """The dates of values matched by NUMERIC, read day first or month first; NaT where that reading
    is impossible (month 13, 30 February) or outside 1900..2200."""
    a, b, y, hour, minute, second = (p[k].to_numpy() for k in ("a", "b", "y", "H", "M", "S"))
    day, month = (a, b) if dayfirst else (b, a)
    year = np.where(p["two_digit"], y + 2000, y)  # a 2-digit year: to check day and month only
    twelve = p["twelve"].to_numpy()
    ok = ~twelve | ((hour >= 1) & (hour <= 12))
    hour = np.where(twelve, hour % 12 + 12 * p["pm"].to_numpy(), hour)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1900) & (year < 2200)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    first = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]").astype("datetime64[D]")
    after = np.where(ok, (year - 1970) * 12 + month, 1).astype("datetime64[M]").astype("datetime64[D]")
    ok &= day <= (after - first).astype("int64")  # the days of that month
    stamp = (first.astype("datetime64[ns]") + (day - 1).astype("timedelta64[D]") + hour.astype("timedelta64[h]")
             + minute.astype("timedelta64[m]") + second.astype("timedelta64[s]"))
    return pd.Series(np.where(ok, stamp, np.datetime64("NaT", "ns")), index=p.index)


def _inferred(text: pd.Series) -> tuple[np.ndarray, str | None]:
    """Dates neither ISO nor d/m/y (5 Oct 2024, October 5, 2024): one format for the column, pandas'
    guess from its first value that has one. A guess that depends on day-first is not taken."""
    with warnings.catch_warnings():  # pandas warns when a guess ignores dayfirst: we compare both
        warnings.simplefilter("ignore", UserWarning)
        for value in text:
            fmt = guess_datetime_format(value)
            if (fmt and fmt == guess_datetime_format(value, dayfirst=True) and "%Y" in fmt
                    and any(m in fmt for m in ("%m", "%b", "%B"))):
                return _naive(pd.to_datetime(text, format=fmt, errors="coerce", utc=True)).to_numpy(), fmt
    return np.full(len(text), np.datetime64("NaT", "ns")), None


def _format(value: str, dayfirst: bool, year: str = "%Y") -> str:
    """The strftime format of a value matched by NUMERIC (its separator, its time), day or month first."""
    p = re.match(NUMERIC, value)
    assert p is not None, value  # only called with values that matched
    sep, twelve = p["s1"], bool(p["ampm"])
    fmt = (f"%d{sep}%m" if dayfirst else f"%m{sep}%d") + f"{sep}{year}"
    if p["H"]:
        fmt += (" %I:%M" if twelve else " %H:%M") + (":%S" if p["S"] else "") + (" %p" if twelve else "")
    return fmt


def yaml_key(name: str) -> str:
    """A column name as a key of a YAML flow mapping, quoted when it has to be."""
    return name if re.fullmatch(r"[A-Za-z_][\w .()-]*", name) and not name.endswith(" ") else repr(name)


def _setting(name: str, key: str, value: str) -> str:
    return f"read: {{{name}: {{{yaml_key(key)}: {value}}}}}"


def _day(d: pd.Timestamp) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _shown(text: pd.Series, mask: pd.Series) -> str:
    return ", ".join(repr(v) for v in text[mask.index[mask.to_numpy(dtype=bool)]][:EXAMPLES])


def _reads_both_ways(text: pd.Series, both: pd.Series, day_first: pd.Series, month_first: pd.Series,
                     key: str) -> tuple[Problem, pd.Series]:
    which = both.index[both.to_numpy(dtype=bool)]
    shown = ", ".join(f"{text[i]!r} is {_day(day_first[i])} day-first and {_day(month_first[i])} month-first"
                      for i in which[:EXAMPLES])
    day_format = repr(_format(text[which[0]], dayfirst=True))
    hint = (f"set {_setting('dayfirst', key, 'true')} (or {_setting('date_format', key, day_format)}) if the dates "
            f"are day-first, {_setting('dayfirst', key, 'false')} if month-first")
    return Problem(f"every value of the column reads both ways: {shown}", hint=hint), both


def _needs_both(text: pd.Series, only_df: pd.Series, only_mf: pd.Series, key: str) -> tuple[Problem, pd.Series]:
    """Some values read day-first only, others month-first only. The rows named are those of the
    fewer: the likely mistakes."""
    few, many = ("month", "day") if only_mf.sum() <= only_df.sum() else ("day", "month")
    rows, others = (only_mf, only_df) if few == "month" else (only_df, only_mf)
    message = (f"the dates need both readings: some read only {few}-first ({_shown(text, rows)}, in the rows "
               f"named), others only {many}-first ({_shown(text, others)}); a column's dates are read one way")
    hint = (f"correct the {few}-first dates of these rows (or, if the column is {few}-first, the others); "
            f"{_setting('dayfirst', key, 'true' if many == 'day' else 'false')} would read the column "
            f"{many}-first and report these rows one by one")
    return Problem(message, hint=hint), rows


def _two_digit_year(text: pd.Series, which: pd.Index, dayfirst: bool | None, key: str) -> tuple[Problem, pd.Series]:
    first = text[which[0]]
    hint = f"state the format: {_setting('date_format', key, repr(_format(first, dayfirst is not False, '%y')))}"
    if dayfirst is None:  # the values do not tell the order either
        hint += f" if the dates are day-first, {_setting('date_format', key, repr(_format(first, False, '%y')))} " \
                "if month-first"
    shown = ", ".join(repr(v) for v in text[which][:EXAMPLES])
    return Problem(f"dates with a two-digit year ({shown}): the century is not clear", hint=hint), \
        pd.Series(text.index.isin(which), index=text.index)
