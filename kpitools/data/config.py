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

A table may instead come from a database (`url:` with `sql:` or `table:`; `${NAME}`
in the URL is read from the environment, so passwords stay out of the file), use a
CRM export preset (`preset: hubspot`), or, for subscriptions, an event-style export
(`shape: events` or `shape: periods`, expanded to one row per customer per month).

YAML and schema mistakes become `Problem`s with the file and line.
"""
from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .presets import PRESETS, unknown_preset
from .problems import DataError, Problem, setting_hint
from .schema import TABLES

CONFIG_NAMES = ("dataset.yml", "dataset.yaml")
READABLE = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".xlsx", ".xlsm", ".xls")
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MONTH = r"^\d{4}-(0?[1-9]|1[0-2])$"  # YYYY-MM


def missing_env(text: str | None) -> list[str]:
    """The `${NAME}` variables of `text` that are not set in the environment."""
    return [m for m in dict.fromkeys(ENV_VAR.findall(text or "")) if m not in os.environ]


def interpolate(text: str) -> str:
    """`text` with every `${NAME}` replaced by the environment variable NAME (KeyError if unset)."""
    return ENV_VAR.sub(lambda m: os.environ[m.group(1)], text)


class ReadOptions(BaseModel):
    """Reader options, passed on to pandas where they have the same meaning."""

    model_config = ConfigDict(extra="forbid")
    sep: str | None = Field(None, description="field separator; default: sniffed (, ; tab |)")
    encoding: str = "utf-8"
    header: int = Field(0, ge=0, description="0-based row holding the column names")
    skiprows: int = Field(0, ge=0, description="rows to skip before the header")
    decimal: str = "."
    thousands: str | None = None
    date_format: str | dict[str, str] | None = Field(
        None, description="strftime format of the dates, e.g. %d/%m/%Y; or per column: {Won Date: '%d-%m-%Y %H:%M'}")
    dayfirst: bool | dict[str, bool] | None = Field(
        None, description="true: dates are day-first (31/12/2024), false: month-first (12/31/2024); unset: read "
                          "from the values; or per column: {Created: true}")
    sheet: str | int = 0

    def date_format_of(self, column: str, *names: str) -> str | None:
        """The date format stated for a column (known by any of its names: canonical, source)."""
        return _per_column(self.date_format, (column, *names))

    def dayfirst_of(self, column: str, *names: str) -> bool | None:
        """True / False when stated for the column (or the whole table), None when the values must tell."""
        return _per_column(self.dayfirst, (column, *names))

    @field_validator("encoding")
    @classmethod
    def known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}: use utf-8, cp1252, latin-1 or utf-16") from None
        return value

    @field_validator("date_format")
    @classmethod
    def known_date_format(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        import datetime as dt

        for fmt in (value.values() if isinstance(value, dict) else [value] if value else []):
            try:  # strptime rejects unknown %-codes (strftime does not everywhere)
                sample = dt.datetime(2024, 12, 31, 23, 59, 58, tzinfo=dt.UTC)  # %z needs a time zone
                dt.datetime.strptime(sample.strftime(fmt), fmt)
            except (ValueError, TypeError) as e:
                raise ValueError(f"{fmt!r} is not a date format ({e}): write it with %-codes, "
                                 "e.g. '%d/%m/%Y' or '%Y-%m-%d %H:%M'") from None
        return value


def _per_column(setting: Any, names: tuple[str, ...]) -> Any:
    """A reader setting for one column: the table-wide value, or the entry of a per-column mapping under
    any of the column's names."""
    if not isinstance(setting, dict):
        return setting
    return next((setting[n] for n in names if n in setting), None)


class JoinConfig(BaseModel):
    """A many-to-one lookup: another file (or database table) whose columns join this table's rows."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    url: str | None = None
    sql: str | None = None
    table: str | None = None
    read: ReadOptions = ReadOptions()
    on: str | dict[str, str] = Field(
        description="the key: a column both files have (Owner), or {this file's column: the other file's column}")
    keys: dict[str, str] = Field({}, description="this file's key values spelled as the other file spells them: "
                                                 "{GTXPro: GTX Pro}")

    @model_validator(mode="before")
    @classmethod
    def on_is_a_key(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare `on` as the boolean true, also as a key
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def one_source(self) -> JoinConfig:
        _check_source(self.path, self.url, self.sql, self.table, "a join")
        if isinstance(self.on, dict) and not self.on:
            raise ValueError("`on:` needs a key column: `on: Owner` or `on: {Product: Name}`")
        if self.read.dayfirst is not None or self.read.date_format is not None:
            # joined columns are parsed with the table's own columns, by the table's `read:`
            raise ValueError("dates of a joined file are read with the table: move dayfirst/date_format to the "
                             "table's read:, per column, e.g. read: {date_format: {won_date: '%d-%m-%Y %H:%M'}}")
        return self

    @property
    def pairs(self) -> dict[str, str]:
        """{this table's column: the looked-up file's column}."""
        return {self.on: self.on} if isinstance(self.on, str) else dict(self.on)

    def source(self) -> TableConfig:
        """The looked-up file as a table source, to read it with the table readers."""
        return TableConfig(path=self.path, url=self.url, sql=self.sql, table=self.table, read=self.read)


def _check_source(path: str | None, url: str | None, sql: str | None, table: str | None, what: str) -> None:
    if not (path or url):
        raise ValueError(f"give {what} a `path:` (a CSV, Parquet or Excel file) or a `url:` with `sql:`")
    if path and url:
        raise ValueError("give either `path:` or `url:`, not both")
    if url and not (sql or table):
        raise ValueError("a `url:` needs `sql:` (a query) or `table:` (a table name)")
    if sql and table:
        raise ValueError("give either `sql:` (a query) or `table:` (a table name), not both")
    if (sql or table) and not url:
        raise ValueError("`sql:` and `table:` read from a database: add its `url:` (e.g. sqlite:///sales.db)")


class TableConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    url: str | None = None
    sql: str | None = None
    table: str | None = None
    preset: str | None = Field(None, description="a CRM export preset: salesforce, hubspot, close")
    shape: Literal["monthly", "events", "periods"] = Field(
        "monthly", description="subscriptions only: one row per customer and month (monthly), one row per "
                               "start/change/cancel (events) or per period at one amount (periods)")
    until: str | None = Field(None, pattern=MONTH, description="events/periods: last month to expand to (YYYY-MM)")
    read: ReadOptions = ReadOptions()
    join: list[JoinConfig] = Field([], description="many-to-one lookups applied before `columns:`: a list of "
                                                   "{path: users.csv, on: Owner}")
    columns: dict[str, str] = {}
    values: dict[str, dict[str, Any]] = {}
    defaults: dict[str, Any] = {}
    fill: dict[str, str] = Field({}, description="blanks of a canonical column taken from another source column: "
                                                 "{amount: List Price}")
    exclude: dict[str, list[Any]] = Field({}, description="rows to leave out, by source column and value: "
                                                          "{Stage: [Test, Duplicate]}")
    incomplete: Literal["error", "drop"] = Field(
        "error", description="rows missing a required value: error (the default) or drop (counted and reported)")

    @field_validator("exclude", mode="before")
    @classmethod
    def values_as_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):  # {Stage: Test} means {Stage: [Test]}
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def one_source(self) -> TableConfig:
        _check_source(self.path, self.url, self.sql, self.table, "the table")
        if self.until and self.shape == "monthly":
            raise ValueError("`until:` is for `shape: events` or `shape: periods`")
        return self


class DatasetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "dataset"
    currency: str = "USD"
    fiscal_year_start: int = Field(1, ge=1, le=12)
    calendar: Literal["gregorian", "jalali"] = Field(
        "gregorian", description="period system: gregorian, or jalali (Solar Hijri; fiscal_year_start is then a "
                                 "Jalali month, 1 = Farvardin)")
    stage_probabilities: dict[str, float] = {}
    tables: dict[str, TableConfig]
    notes: list[dict[str, Any]] = Field([], description="written by `kpitools run` in the copy it prepares: what "
                                                        "was joined, filled, left out or dropped in the source")


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
    except ValueError as e:  # a scalar YAML reads as a date that does not exist, e.g. 2024-02-31
        bad = _impossible_date(text)
        line = f"line {bad.start_mark.line + 1}: " if bad is not None else ""
        value = f"{bad.value!r} " if bad is not None else ""
        raise error([Problem(f"{line}{value}looks like a date but is not one ({e})", file=where,
                             hint="correct the date, or quote the value to keep it as text")]) from None


def _impossible_date(text: str) -> yaml.ScalarNode | None:
    """The first scalar YAML reads as a date but cannot build (the node has its line)."""
    stack = [yaml.compose(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:timestamp":
                try:
                    yaml.SafeLoader("").construct_yaml_timestamp(node)
                except ValueError:
                    return node
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for kv in reversed(node.value) for v in reversed(kv))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


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
        config = DatasetConfig.model_validate(data)
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
                if model is TableConfig and not close:  # e.g. `sep:` next to `path:`, not under `read:`
                    hint += f"; reader options go under read: ({', '.join(ReadOptions.model_fields)})"
            else:
                model = ReadOptions if "read" in loc else (TableConfig if table and len(loc) >= 3 else DatasetConfig)
                info = model.model_fields.get(str(loc[-1])) if loc else None
                hint = setting_hint(err, str(loc[-1]) if loc else "tables", info.description if info else None)
                if err["type"] == "value_error":
                    msg = "invalid setting"
            problems.append(Problem(f"line {line}: {field}: {msg}", file=where, table=table, hint=hint))
        raise DataError(problems) from None
    for name, table_cfg in config.tables.items():
        problems.extend(check_table_config(name, table_cfg, where, node))
    if problems:
        raise DataError(problems)
    return config


def check_table_config(name: str, cfg: TableConfig, where: str | None = None,
                       node: yaml.Node | None = None) -> list[Problem]:
    """What a table's settings can only be checked against: the environment, the presets, its name."""
    problems = []

    def line(key: str) -> str:
        return f"line {_line_of(node, ('tables', name, key))}: " if node is not None else ""

    for var in missing_env(cfg.url):
        problems.append(Problem(f"{line('url')}the url uses ${{{var}}}, but the environment variable {var} "
                                "is not set", file=where, table=name,
                                hint=f"set it before running kpitools, e.g. `export {var}=...` (or in the "
                                     "scheduler's environment); the value never appears in output"))
    if cfg.preset is not None and cfg.preset not in PRESETS:
        problems.append(unknown_preset(cfg.preset, name, where, line("preset")))
    elif cfg.preset is not None and PRESETS[cfg.preset].table != name:
        problems.append(Problem(f"{line('preset')}the {cfg.preset} preset is for the "
                                f"{PRESETS[cfg.preset].table} table, not {name}", file=where, table=name,
                                hint=f"move `preset: {cfg.preset}` to tables: {PRESETS[cfg.preset].table}"))
    if cfg.shape != "monthly" and cfg.fill:
        problems.append(Problem(f"{line('fill')}`fill:` works on tables with one row per record; with "
                                f"`shape: {cfg.shape}` the rows are made by kpitools", file=where, table=name,
                                hint="remove `fill:` (give the missing values in the export, or `defaults:`)"))
    if cfg.shape != "monthly" and name != "subscriptions":
        problems.append(Problem(f"{line('shape')}`shape: {cfg.shape}` is only for the subscriptions table",
                                file=where, table=name, hint="remove `shape:` from this table"))
    return problems
