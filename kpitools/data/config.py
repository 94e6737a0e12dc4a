"""The dataset config (YAML): where each canonical table comes from and how to map it.

    name: Acme sales
    currency: USD
    tables:
      deals:
        path: exports/opportunities.csv
        read: {sep: ";", encoding: latin-1, dayfirst: true}
        columns: {deal_id: Opportunity ID, amount: Amount}   # canonical: source
        values: {status: {Closed Won: won, Closed Lost: lost}}
        defaults: {deal_type: new}

YAML and schema mistakes become `Problem`s with the file and line.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .problems import DataError, Problem
from .schema import TABLES

CONFIG_NAMES = ("dataset.yml", "dataset.yaml")
READABLE = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls")


class ReadOptions(BaseModel):
    """Reader options, passed on to pandas where they have the same meaning."""

    model_config = ConfigDict(extra="forbid")
    sep: str | None = Field(None, description="field separator; default: sniffed (, ; tab |)")
    encoding: str = "utf-8"
    header: int = Field(0, ge=0, description="0-based row holding the column names")
    skiprows: int = Field(0, ge=0, description="rows to skip before the header")
    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = Field(None, description="strftime format, e.g. %d/%m/%Y")
    dayfirst: bool = False
    sheet: str | int = 0


class TableConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    url: str | None = None
    sql: str | None = None
    table: str | None = None
    preset: str | None = None
    read: ReadOptions = ReadOptions()
    columns: dict[str, str] = {}
    values: dict[str, dict[str, Any]] = {}
    defaults: dict[str, Any] = {}

    @model_validator(mode="after")
    def one_source(self) -> "TableConfig":
        if not (self.path or self.url):
            raise ValueError("give the table a `path:` (a CSV, Parquet or Excel file) or a `url:` with `sql:`")
        if self.path and self.url:
            raise ValueError("give either `path:` or `url:`, not both")
        if self.url and not (self.sql or self.table):
            raise ValueError("a `url:` needs `sql:` (a query) or `table:` (a table name)")
        return self


class DatasetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "dataset"
    currency: str = "USD"
    fiscal_year_start: int = Field(1, ge=1, le=12)
    stage_probabilities: dict[str, float] = {}
    tables: dict[str, TableConfig]


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc`, or of its closest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        for k, v in node.value:
            if k.value == str(key):
                node, line = v, k.start_mark.line + 1
                break
        else:
            break
    return line


def read_yaml(path: Path, *, missing: str = "file not found", hint: str = "check the path",
              error: type[DataError] = DataError) -> tuple[Any, yaml.Node | None]:
    """A YAML file's data and node tree (for line numbers); unreadable files and syntax errors
    become a DataError (or `error`) naming the file and line."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error([Problem(missing, file=where, hint=hint)]) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.reason if isinstance(e, UnicodeDecodeError) else (e.strerror or str(e))
        raise error([Problem(f"cannot read it as UTF-8 text ({reason})", file=where,
                             hint="save it as UTF-8 YAML")]) from None
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise error([Problem(f"YAML syntax error: {line}{problem}", file=where,
                             hint="fix the YAML (indentation, a missing colon or quote)")]) from None


def read_config(path: Path) -> DatasetConfig:
    """Parse and check a dataset config; every problem found is raised at once."""
    where = str(path)
    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise DataError([Problem("the config is empty or not a mapping of settings", file=where,
                                 hint="start from the example in the README: name, currency, tables")])
    problems = []
    for name in (data.get("tables") or {}) if isinstance(data.get("tables"), dict) else {}:
        if name not in TABLES:
            close = difflib.get_close_matches(str(name), TABLES, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known tables: {', '.join(TABLES)}"
            problems.append(Problem(f"unknown table {name!r} (line {_line_of(node, ('tables', name))})",
                                    file=where, table=str(name), hint=hint))
    if problems:
        raise DataError(problems)
    try:
        return DatasetConfig.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            table = str(loc[1]) if len(loc) > 1 and loc[0] == "tables" else None
            field = ".".join(str(x) for x in loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                model = TableConfig if table and len(loc) == 3 else (ReadOptions if "read" in loc else DatasetConfig)
                close = difflib.get_close_matches(str(loc[-1]), model.model_fields, n=1)
                msg = f"unknown setting {loc[-1]!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                hint = f"allowed here: {', '.join(model.model_fields)}"
            else:
                hint = ""
            problems.append(Problem(f"line {line}: {field}: {msg}", file=where, table=table, hint=hint))
        raise DataError(problems) from None
