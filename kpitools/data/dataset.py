"""`Dataset`: the validated, typed tables that every KPI works on."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .problems import DataNote, Problem
from .schema import TABLES


def _min_max(s: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(min, max) of a date column, None when it has no value (numpy passes for numpy datetimes:
    pandas' min and max copy the column to skip missing values)."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind == "M" and len(s):
        v = s.to_numpy()
        i = v.view(np.int64)
        hi = i.max()
        if hi == _NAT:  # every value missing (NaT is the smallest int64)
            return None
        lo = (i - 1).min() + 1  # NaT - 1 wraps round to the largest int64
        lo_hi = np.array([lo, hi], dtype=np.int64).view(v.dtype)
        return pd.Timestamp(lo_hi[0]), pd.Timestamp(lo_hi[1])
    if not s.notna().any():
        return None
    return s.min(), s.max()


_NAT = np.iinfo(np.int64).min


@dataclass
class Dataset:
    """Typed canonical tables (see data-model.md) plus what the config says about them.

    Dates are datetime64[ns], money float64, dimensions category, ids string.
    Only `deals` is required; other tables switch on the KPIs that need them.
    Treat the tables as read-only: derived values such as `date_range` and `as_of` are cached.
    """

    tables: dict[str, pd.DataFrame]
    name: str = "dataset"
    currency: str = "USD"
    fiscal_year_start: int = 1  # month the fiscal year starts in
    calendar: str = "gregorian"  # period system (kpis/periods.py CALENDARS): gregorian or jalali
    stage_probabilities: dict[str, float] = field(default_factory=dict)
    source: Path | None = None  # config file or directory it was loaded from
    warnings: list[Problem] = field(default_factory=list)
    notes: list[DataNote] = field(default_factory=list)  # rows joined, unmatched, filled, excluded, dropped

    def __getattr__(self, name: str) -> pd.DataFrame:
        # Attribute access for tables (ds.deals); only called when normal lookup fails.
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in TABLES:
            raise AttributeError(f"this dataset has no {name} table")
        raise AttributeError(name)

    def has(self, table: str, column: str | None = None) -> bool:
        """True when the table is present (and, if given, the column has at least one value)."""
        df = self.tables.get(table)
        if df is None:
            return False
        if column is None:
            return True
        return column in df.columns and bool(df[column].notna().any())

    def missing(self, needs: list[str]) -> list[str]:
        """The subset of `needs` ("table" or "table.column") this dataset lacks."""
        out = []
        for need in needs:
            table, _, column = need.partition(".")
            if not self.has(table, column or None):
                out.append(need)
        return out

    def filter(self, **where: Any) -> Dataset:
        """Keep only rows whose dimension equals the value (or is in the list) in every
        table that has that column; e.g. ds.filter(region="EMEA", product=["A", "B"]).
        Empty values ("" or None) mean all."""
        where = {k: v for k, v in where.items() if v not in (None, "", [], ())}
        if not where:
            return self
        tables = {}
        for name, df in self.tables.items():
            mask = None
            for column, value in where.items():
                if column not in df.columns:
                    continue
                values = list(value) if isinstance(value, (list, tuple, set)) else [value]
                m = df[column].isin(values)
                mask = m if mask is None else mask & m
            tables[name] = df if mask is None else df[mask.fillna(False).to_numpy()]
        return replace(self, tables=tables)

    @cached_property
    def _event_spans(self) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
        """(kind "date" or "month", first, last) of every event column with a value; planned dates such as
        deals.expected_close_at are not events. Cached: a Dataset's tables are not modified in place
        (filter() returns a new one)."""
        spans: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
        for name, df in self.tables.items():
            for col in TABLES[name].columns if name in TABLES else ():
                if col.kind in ("date", "month") and not col.planned and col.name in df.columns:
                    found = _min_max(df[col.name])
                    if found is not None:
                        spans.append((col.kind, *found))
        return spans

    @property
    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last event date over every table (a month column counts from its first day)."""
        spans = self._event_spans
        return (min(lo for _, lo, _ in spans), max(hi for _, _, hi in spans)) if spans else None

    @property
    def as_of(self) -> pd.Timestamp | None:
        """The dataset's "as of" date, the one every layer shows (report headers, the runner's data
        freshness, the last complete period): the latest event date over every date column, or the end
        of the latest month of a month column (a billing row for October covers October), whichever is
        later. None without any date."""
        ends = [hi if kind == "date" else (hi + pd.offsets.MonthEnd(0)).normalize()
                for kind, _, hi in self._event_spans]
        return max(ends) if ends else None

    def _overview(self) -> tuple[str, list[tuple[str, int, int]], str]:
        """(title line, (table, rows, columns) per table, warnings and notes line) for the reprs."""
        dr = self.date_range
        dates = f"{dr[0].date()} to {dr[1].date()}" if dr else "no dates"
        title = f"Dataset {self.name!r}: {self.currency}, {self.calendar} calendar, {dates}"
        tables = [(name, len(df), df.shape[1]) for name, df in self.tables.items()]
        counts = f"{len(self.warnings)} warning(s), {len(self.notes)} note(s)"
        return title, tables, counts

    def __repr__(self) -> str:
        # a few lines, not the tables: a notebook shows this for `ds`
        title, tables, counts = self._overview()
        width = max((len(name) for name, _, _ in tables), default=0)
        rows = [f"  {name:<{width}}  {n:>12,} rows x {c} columns" for name, n, c in tables]
        return "\n".join([title, *rows, f"  {counts}"])

    def _repr_html_(self) -> str:
        import html

        title, tables, counts = self._overview()
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{n:,}</td>"
                       f"<td style='text-align:right'>{c}</td></tr>" for name, n, c in tables)
        return (f"<div><b>{html.escape(title)}</b><table><thead><tr><th>table</th><th>rows</th>"
                f"<th>columns</th></tr></thead><tbody>{rows}</tbody></table>{html.escape(counts)}</div>")

    def values(self, column: str) -> list[str]:
        """Sorted distinct values of a dimension over every table that has it."""
        seen: set[str] = set()
        for df in self.tables.values():
            if column in df.columns:
                seen.update(str(v) for v in df[column].dropna().unique())
        return sorted(seen)

    def summary(self) -> dict[str, Any]:
        """What loaded: rows per table, date range, regions, reps, currency."""
        dr = self.date_range
        return {
            "name": self.name,
            "currency": self.currency,
            "rows": {name: len(df) for name, df in self.tables.items()},
            "from": dr[0].date().isoformat() if dr else None,
            "to": dr[1].date().isoformat() if dr else None,
            "regions": self.values("region"),
            "teams": len(self.values("team")),
            "reps": len(self.values("rep")),
            "products": len(self.values("product")),
            "notes": [str(n) for n in self.notes],  # rows joined, unmatched, filled, excluded, dropped
        }
