"""Batch specs (`params/*.yml`): one notebook x many parameter sets.

    notebook: notebooks/sales_report.ipynb
    output: reports/{period}/{region}.html   # filled from each run's parameters
    parameters: {data: data/sample}          # shared by every run
    grid:                                    # cross product: one run per combination
      region: [EMEA, North America, APAC, LATAM, ""]
      period: [last_complete_month]          # relative periods resolve at run time
    runs:                                    # and/or explicit runs (added to the grid's)
      - {region: EMEA, period: 2024Q4}
    timeout: 600        # seconds per run (per attempt)
    retries: 1          # further attempts after a failure, with back-off
    title: "Sales {period}: {region}"
    pdf: true           # also write each report as <report>.pdf beside its HTML
    deliver:            # e-mail each report to its scope's recipients (deliver.py)
      smtp: {host: smtp.acme.example, port: 587, starttls: true, username: reports, password: "${SMTP_PASSWORD}"}
      from: "Sales reports <reports@acme.example>"
      to: {"": [ceo@acme.example], EMEA: [emea-lead@acme.example], "*": [sales-ops@acme.example]}
      attach: pdf       # pdf | html | none
      when: always      # always | off_track
      failures: [ops@acme.example]

Relative paths (notebook, output, data) are read from the folder `kpitools run`
is started in. Everything is checked before anything runs; every problem found
is raised at once as a `BatchError` naming the spec file, the key and the fix.
An empty parameter value means "all" and is written as `all` in file names.
"""
from __future__ import annotations

import ast
import contextlib
import datetime as dt
import difflib
import hashlib
import io
import itertools
import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from kpitools import clock
from kpitools.calendars.relative import RELATIVE, is_relative, resolve_period
from kpitools.data.config import ENV_VAR, _line_of, read_yaml
from kpitools.data.problems import DataError, Problem, setting_hint
from kpitools.masking import has_secret, mask_parameters, mask_value

from .errors import BatchError
from .prepared import CACHE_DIR, read_prepared

ALL_LABEL = "all"  # an empty value ("" = all regions) in file names and run ids
# parameters that are not a scope (region, team, rep...)
NOT_FILTERS = ("data", "period", "calendar", "locale", "currency")


COMPANY_WIDE = "Company-wide"  # Run.scope of a run without filters; `deliver.to` calls it ""
EVERY_RUN = "*"               # `deliver.to` key: recipients of every run
# An address as mail servers take it: no spaces, one @, a domain of letters, digits, dots and dashes.
ADDRESS = re.compile(r'[^@\s<>(),;:"\[\]\\]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*')


def _address(value: Any) -> Any:
    if isinstance(value, str) and not ADDRESS.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not an e-mail address\nwrite it as name@example.com")
    return value.strip() if isinstance(value, str) else value


def _addresses(value: Any) -> Any:
    """One address or a list of them; each checked."""
    items = [value] if isinstance(value, str) else value
    return [_address(v) for v in items] if isinstance(items, list) else value


Addresses = Annotated[list[str], BeforeValidator(_addresses)]


class SmtpSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1, description="the mail server, e.g. smtp.acme.example")
    port: int = Field(587, ge=1, le=65535, description="its port: 587 with STARTTLS, 25 without")
    starttls: bool = Field(True, description="upgrade the connection to TLS before logging in")
    username: str | None = Field(None, description="log in with this user name (and `password:`)")
    password: str | None = Field(None, description='"${NAME}": read from the environment variable NAME '
                                                   "when the mail is sent")
    timeout: float = Field(30, gt=0, description="seconds to wait for the server")

    @field_validator("password")
    @classmethod
    def _from_environment(cls, value: str | None) -> str | None:
        # A password written into the spec would sit in version control and in every copy of it.
        if value is not None and not ENV_VAR.fullmatch(value.strip()):
            raise ValueError("a password written in the spec (it would sit in every copy of the file)\n"
                             'write password: "${SMTP_PASSWORD}" and set SMTP_PASSWORD in the environment '
                             "that runs kpitools")
        return value.strip() if value is not None else None


class DeliverSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    smtp: SmtpSpec = Field(description="the mail server: {host, port, starttls, username, password}")
    sender: str = Field(alias="from", description='the sender, e.g. "Sales reports <reports@acme.example>"')
    to: dict[str, Addresses] = Field({}, description='recipients by the run\'s scope value: "" company-wide, '
                                                     '"*" every run, e.g. EMEA: [emea-lead@acme.example]')
    attach: Literal["pdf", "html", "none"] | None = Field(
        None, description="pdf, html or none (default: pdf with `pdf: true`, else html)")
    when: Literal["always", "off_track"] = Field(
        "always", description="always, or off_track: only when a headline KPI is off track")
    failures: Addresses = Field([], description="told about each failed run, with its error")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        from email.utils import parseaddr

        _address(parseaddr(value)[1] or value)
        return value.strip()


class BatchSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notebook: str = Field(description="the parameterised notebook to run")
    output: str = Field(description="HTML path template, e.g. reports/{period}/{region}.html")
    parameters: dict[str, Any] = Field({}, description="parameters shared by every run")
    grid: dict[str, list[Any]] = Field({}, description="one run per combination of these values")
    runs: list[dict[str, Any]] = Field([], description="explicit runs, added to the grid's")
    title: str | None = Field(None, description="report title template, e.g. 'Sales {period}'")
    timeout: float | None = Field(None, gt=0, description="seconds per run attempt")
    retries: int = Field(0, ge=0, le=10, description="further attempts after a failure")
    workers: int | None = Field(None, ge=1, description="parallel runs (default: CPU count)")
    kernel: str | None = Field(None, description="kernel name (default: the notebook's)")
    fiscal_year_start: int = Field(1, ge=1, le=12, description="month fiscal quarters/years start in")
    calendar: Literal["gregorian", "jalali"] | None = Field(
        None, description="period system of the reports and their relative periods: gregorian or jalali; passed "
                          "to the notebook as parameter `calendar` (default: the dataset's)")
    warmup: list[str] = Field([], description="extra modules to import in each kernel ahead of its run")
    pdf: bool = Field(False, description="also write each report as PDF beside its HTML")
    deliver: DeliverSpec | None = Field(None, description="e-mail the reports: smtp, from, to, attach, when, "
                                                          "failures")


@dataclass(frozen=True)
class Run:
    id: str                      # stable across batches: names the run's folder
    parameters: dict[str, Any]   # what the notebook gets (relative periods resolved)
    html: str                    # output path relative to the output root (posix)
    scope: str                   # "EMEA", "EMEA · Enterprise", "Company-wide"
    title: str | None


@dataclass
class Batch:
    spec_path: Path
    spec: BatchSpec
    notebook: Path               # absolute
    root: Path                   # absolute output root: index.html, manifest.json, .runs/, .cache/
    declared: dict[str, Any]     # the notebook's parameters and their defaults
    runs: list[Run] = field(default_factory=list)
    today: dt.date = field(default_factory=clock.today)


class _Unknown:
    """A declared parameter whose default is not a literal: any type is accepted."""

    def __repr__(self) -> str:
        return "<expression>"


UNKNOWN = _Unknown()


def load_batch(spec_path: str | Path, *, today: dt.date | None = None, base: Path | None = None,
               check_data: bool = False) -> Batch:
    """Read, check and expand a batch spec; raises BatchError listing every problem.

    `check_data` also loads each run's dataset and checks it, its scope values (a region the
    data does not have) and its period (no data in it), so that bad data stops the batch
    before anything is written (`kpitools run` does this)."""
    spec_path = Path(spec_path)
    where = str(spec_path)
    base = (base or Path.cwd()).absolute()
    today = today or clock.today()
    spec, node = _read_spec(spec_path)

    def problem(loc: tuple, message: str, hint: str = "") -> Problem:
        key = ".".join(str(k) for k in loc)
        line = _line_of(node, loc)
        return Problem(f"line {line}: {key}: {message}" if line else f"{key}: {message}", file=where, hint=hint)

    problems: list[Problem] = []
    notebook = base / spec.notebook
    declared: dict[str, Any] = {}
    try:
        declared = notebook_parameters(notebook)
    except BatchError as e:
        problems += [problem(("notebook",), p.message, p.hint) for p in e.problems]
    root, template_problems = _check_template(spec.output)
    problems += [problem(("output",), msg, hint) for msg, hint in template_problems]
    problems += [problem(loc, msg, hint) for loc, msg, hint in _check_parameters(spec, declared, notebook, base)]
    combos = _expand(spec)
    title_problems = _template_problems(spec.title, {k: 1 for p, _ in combos for k in p}) if spec.title else []
    problems += [problem(("title",), msg, "use {name} with a parameter name, e.g. 'Sales {period}'")
                 for msg in title_problems]
    runs: list[Run] = []
    if root is not None:
        runs, found = _make_runs(spec, combos, root, today, fill_title=not title_problems, base=base)
        problems += [problem(loc, msg, hint) for loc, msg, hint in found]
        problems += [problem(loc, msg, hint) for loc, msg, hint in _check_deliver(spec, runs)]
    if problems:
        raise BatchError(list(dict.fromkeys(problems)))  # a template problem repeats for every run
    assert root is not None  # _check_template gives a root or a problem, raised above
    if check_data:  # no problem above: one run per combination, in order
        problems = _check_data(list(zip(runs, (locs for _, locs in combos))), base, base / root, problem)
        if problems:
            raise BatchError(problems)
    return Batch(spec_path=spec_path, spec=spec, notebook=notebook, root=base / root,
                 declared=declared, runs=runs, today=today)


Located = tuple[tuple, str, str]  # (where in the spec, what is wrong, how to fix it)


def _expand(spec: BatchSpec) -> list[tuple[dict[str, Any], dict[str, tuple]]]:
    """Every run's parameters, with the spec location each value came from (for messages):
    the grid's cross product, then the explicit runs; shared parameters under both."""
    shared_loc: dict[str, tuple] = {k: ("parameters", k) for k in spec.parameters}
    combos: list[tuple[dict[str, Any], dict[str, tuple]]] = []
    if spec.grid:
        keys = list(spec.grid)
        for indexes in itertools.product(*(range(len(spec.grid[k])) for k in keys)):
            combo = {k: spec.grid[k][i] for k, i in zip(keys, indexes)}
            locs = {k: ("grid", k, i) for k, i in zip(keys, indexes)}
            combos.append(({**spec.parameters, **combo}, {**shared_loc, **locs}))
    for i, run in enumerate(spec.runs):
        combos.append(({**spec.parameters, **run}, {**shared_loc, **{k: ("runs", i, k) for k in run}}))
    if not spec.grid and not spec.runs:
        combos.append((dict(spec.parameters), shared_loc))
    return combos


def _check_parameters(spec: BatchSpec, declared: dict[str, Any], notebook: Path, base: Path) -> list[Located]:
    """Each parameter name against the notebook's parameters cell, each value's type and content."""
    values: list[tuple[tuple, str, Any]] = [(("parameters", k), k, v) for k, v in spec.parameters.items()]
    values += [(("grid", k, i), k, v) for k, vs in spec.grid.items() for i, v in enumerate(vs)]
    values += [(("runs", i, k), k, v) for i, run in enumerate(spec.runs) for k, v in run.items()]
    out: list[Located] = []
    for key, items in spec.grid.items():
        if not items:
            out.append((("grid", key), "empty list: the grid would have no runs",
                        "give at least one value, or remove the key"))
    reported: set[tuple] = set()
    for loc, name, value in values:
        if not declared:  # the notebook could not be read: reported already
            break
        if name not in declared:
            key_loc = loc[:2] if loc[0] == "grid" else loc  # once per grid key, not per value
            if key_loc not in reported:
                reported.add(key_loc)
                close = difflib.get_close_matches(name, declared, n=1)
                out.append((key_loc, f"the notebook does not declare a parameter {name!r}"
                            + (f"; did you mean {close[0]!r}?" if close else ""),
                            f"parameters of {notebook.name}: {', '.join(declared)}"))
            continue
        out += [(loc, msg, hint) for msg, hint in _check_value(name, value, declared[name], base)]
    return out


def _make_runs(spec: BatchSpec, combos: list[tuple[dict[str, Any], dict[str, tuple]]], root: str,
               today: dt.date, fill_title: bool, base: Path | None = None) -> tuple[list[Run], list[Located]]:
    """Resolve relative periods, fill the output template (values must stay inside the
    output folder) and make sure no two runs write one file."""
    fields = _template_fields(spec.output)
    runs: list[Run] = []
    problems: list[Located] = []
    by_path: dict[str, dict[str, Any]] = {}
    data_calendars: dict[Any, str] = {}
    for params, locs in combos:
        cal = _run_calendar(spec, params, base, data_calendars)
        resolved = {k: resolve_period(v, today, spec.fiscal_year_start, cal) for k, v in params.items()}
        if spec.calendar and not params.get("calendar"):  # the spec's calendar reaches the notebook
            resolved["calendar"] = spec.calendar
        missing = [f for f in fields if f not in resolved]
        if missing:
            problems.append((("output",), f"{{{missing[0]}}} is not a parameter of every run",
                             f"add {missing[0]} to `parameters:`, `grid:` or each entry of `runs:`"))
            continue
        unsafe = [(f, _unsafe_in_path(resolved[f])) for f in fields if _unsafe_in_path(resolved[f])]
        for f, msg in unsafe:
            problems.append((locs[f], f"value {mask_value(f, resolved[f])!r} {msg}, and it names the output file",
                             f"use a value without / \\ .. or control characters, or leave {{{f}}} out of `output:`"))
        secret = [f for f in fields if has_secret(f, resolved[f])]
        for f in secret:  # its value would be the file's name, in the portal and the manifest
            problems.append((locs[f], f"{{{f}}} holds a secret: it cannot name the output file",
                             f"leave {{{f}}} out of `output:`"))
        if unsafe or secret:
            continue
        html = _fill(spec.output, resolved)
        rel = str(PurePosixPath(html).relative_to(root)) if root != "." else html
        first = by_path.setdefault(rel.lower(), params)  # case-insensitive file systems too
        if first is not params:
            problems.append((locs.get(fields[0], ("output",)), f"two runs write {html}: {_describe(first)} and "
                             f"{_describe(params)}", "put the parameter that tells them apart into `output:`, "
                                                     "or remove the duplicate run"))
            continue
        title = _fill(spec.title, mask_parameters(resolved)) if spec.title and fill_title else spec.title
        runs.append(Run(id=_run_id(rel), parameters=resolved, html=rel, scope=scope_of(resolved), title=title))
    return runs, problems


def select(batch: Batch, only: tuple[str, ...] | list[str]) -> list[Run]:
    """The runs matching every `KEY=VALUE` (a key given twice matches either value).
    VALUE is compared with the spec's value, the resolved one, and the file-name label."""
    if not only:
        return list(batch.runs)
    wanted: dict[str, set[str]] = {}
    problems = []
    for item in only:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem(f"--only {item!r}: write it as KEY=VALUE, e.g. region=EMEA",
                                    file=str(batch.spec_path)))
            continue
        if not any(key in r.parameters for r in batch.runs):
            keys = sorted({k for r in batch.runs for k in r.parameters})
            problems.append(Problem(f"--only {item!r}: no run has a parameter {key!r}", file=str(batch.spec_path),
                                    hint=f"parameters: {', '.join(keys)}"))
            continue
        wanted.setdefault(key, set()).add(value.strip())
    if problems:
        raise BatchError(problems)

    def matches(run: Run) -> bool:
        for key, values in wanted.items():
            v = run.parameters.get(key)
            names = {str(v), label(v)}
            if not names & values:
                return False
        return True

    chosen = [r for r in batch.runs if matches(r)]
    if not chosen:
        options = "; ".join(f"{k}: {', '.join(sorted({label(r.parameters.get(k)) for r in batch.runs}))}"
                            for k in wanted)
        raise BatchError([Problem(f"--only {' '.join(only)}: no run matches", file=str(batch.spec_path),
                                  hint=f"values in this batch: {options}")])
    return chosen


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and default values declared in the notebook's cell tagged `parameters`
    (UNKNOWN for a default that is not a literal). Raises BatchError."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BatchError([Problem(f"{path}: no such notebook",
                                  hint="relative paths are read from the folder you run kpitools in")]) from None
    except (OSError, ValueError) as e:
        raise BatchError([Problem(f"{path}: not a readable notebook ({e})", hint="give an .ipynb file")]) from None
    cells = [c for c in nb.get("cells", []) if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if not cells:
        raise BatchError([Problem(f"{path} has no cell tagged `parameters`",
                                  hint="tag the cell that sets the defaults (region = \"\", ...) `parameters` "
                                       "in JupyterLab's property inspector")])
    source = cells[0].get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    # Magics and shell escapes are not Python: blank them so the rest still parses.
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        compile(source, str(path), "exec")
    except SyntaxError as e:
        raise BatchError([Problem(f"{path}: the parameters cell is not valid Python (line {e.lineno}: {e.msg})",
                                  hint="fix the parameters cell")]) from None
    # The parameters as papermill itself reads them (`papermill --help-notebook`): one reading for both.
    import papermill  # only here: importing it costs a few tenths of a second

    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Unable to parse line" for what it skips
        found = papermill.inspect_notebook(str(path))
    declared: dict[str, Any] = {}
    for name, parameter in found.items():
        try:
            declared[name] = ast.literal_eval(parameter["default"])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            declared[name] = UNKNOWN
    return declared


def label(value: Any) -> str:
    """How a parameter value appears in file names, run ids and --only."""
    return ALL_LABEL if value in (None, "") else str(value)


def scope_of(parameters: dict[str, Any]) -> str:
    """The report's audience: its non-empty filter values (region, team, ...)."""
    parts = [str(v) for k, v in parameters.items()
             if k not in NOT_FILTERS and isinstance(v, str) and v and not has_secret(k, v)]
    return " · ".join(parts) or COMPANY_WIDE


def _read_spec(path: Path) -> tuple[BatchSpec, yaml.Node | None]:
    where = str(path)
    data, node = read_yaml(path, missing="no such batch spec", hint="give a params/*.yml file", error=BatchError)
    if not isinstance(data, dict):
        raise BatchError([Problem("the spec is empty or not a mapping", file=where,
                                  hint="start from params/demo.yml: notebook, output, parameters, grid")])
    try:
        return BatchSpec.model_validate(data), node
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(k) for k in loc)
            line = _line_of(node, loc)
            at = f"line {line}: " if line else ""
            if err["type"] == "extra_forbidden":
                allowed = _keys(_model_at(loc[:-1]))
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                msg = f"unknown key {loc[-1]!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                hint = f"allowed keys: {', '.join(allowed)}"
            elif err["type"] == "missing":
                msg, hint = "missing", f"add `{key}:` ({_field_at(loc).description})"
            elif loc and loc[0] == "grid":
                msg, hint = err["msg"], "each grid key takes a list of values: region: [EMEA, APAC]"
            elif loc and loc[0] == "runs":
                msg, hint = err["msg"], "each run is a mapping of parameters: - {region: EMEA, period: 2024-03}"
            else:
                field_info = _field_at(loc) if loc else None
                msg = err["msg"]
                hint = setting_hint(err, key, field_info.description if field_info else None)
                if err["type"] == "value_error":  # our validators say "what is wrong\nhow to fix it"
                    msg, _, fix = msg.removeprefix("Value error, ").partition("\n")
                    hint = fix or hint
            problems.append(Problem(f"{at}{key}: {msg}", file=where, hint=hint))
        raise BatchError(problems) from None


def _model_at(loc: tuple) -> type[BaseModel]:
    """The spec model that holds the keys at `loc` (("deliver", "smtp") -> SmtpSpec); BatchSpec at the top."""
    model: type[BaseModel] = BatchSpec
    for key in loc:
        field_info = _fields(model).get(str(key))
        inner = getattr(field_info, "annotation", None)
        inner = next((a for a in getattr(inner, "__args__", (inner,)) if isinstance(a, type)
                      and issubclass(a, BaseModel)), None)
        if inner is None:
            break
        model = inner
    return model


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the name the spec uses (`from`, not `sender`)."""
    return {f.alias or name: f for name, f in model.model_fields.items()}


def _keys(model: type[BaseModel]) -> list[str]:
    return list(_fields(model))


def _field_at(loc: tuple) -> Any:
    return _fields(_model_at(loc[:-1])).get(str(loc[-1])) or BatchSpec.model_fields.get(str(loc[0]))


def _check_deliver(spec: BatchSpec, runs: list[Run]) -> list[Located]:
    """What pydantic cannot see: `attach: pdf` needs `pdf: true`, the `to:` keys are scopes of this batch,
    someone is told, a user name comes with a password."""
    d = spec.deliver
    if d is None:
        return []
    out: list[Located] = []
    if d.attach == "pdf" and not spec.pdf:
        out.append((("deliver", "attach"), "attach: pdf, but the batch writes no PDF",
                    "add `pdf: true` at the top level of the spec, or write attach: html"))
    scopes = {COMPANY_WIDE if r.scope == COMPANY_WIDE else r.scope for r in runs}
    for key in d.to:
        if key in ("", EVERY_RUN, COMPANY_WIDE) or key in scopes:
            continue
        close = difflib.get_close_matches(key, sorted(scopes - {COMPANY_WIDE}), n=1)
        out.append((("deliver", "to", key), f"no run of this batch has the scope {key!r}"
                    + (f"; did you mean {close[0]!r}?" if close else ""),
                    "use a run's scope value (its region, team...: "
                    + ", ".join(repr(s) for s in sorted(scopes - {COMPANY_WIDE}))
                    + '), "" for the company-wide report or "*" for every run'))
    if not any(d.to.values()) and not d.failures:
        out.append((("deliver",), "no recipients: nobody would get anything",
                    'add `to:` (e.g. "*": [sales-ops@acme.example]) or `failures:`'))
    if bool(d.smtp.username) != bool(d.smtp.password):
        missing = "password" if d.smtp.username else "username"
        out.append((("deliver", "smtp", missing), "missing: a login needs both username and password",
                    'add `username:` and `password: "${SMTP_PASSWORD}"`, or neither when the server '
                    "takes mail without a login"))
    return out


def recipients(deliver: DeliverSpec, scope: str) -> list[str]:
    """Who gets the report of a run with this scope: its scope's list, then every run's; each once."""
    keys = ("", COMPANY_WIDE) if scope == COMPANY_WIDE else (scope,)
    out: dict[str, str] = {}
    for address in (a for k in (*keys, EVERY_RUN) for a in deliver.to.get(k, [])):
        out.setdefault(address.lower(), address)
    return list(out.values())


def _check_value(name: str, value: Any, default: Any, base: Path) -> list[tuple[str, str]]:
    """A value against the type of the notebook's default; no control characters; `data` exists."""
    out = []
    if not _type_ok(value, default):
        want = type(default).__name__
        hint = (f"quote it: {name}: \"{mask_value(name, value)}\""
                if isinstance(default, str) and not isinstance(value, (list, dict))
                else f"the notebook's default is {default!r}")
        got = type(value).__name__
        out.append((f"{mask_value(name, value)!r} is {_a(got)} {got}, the notebook expects {_a(want)} {want}", hint))
    if isinstance(value, str) and any(ord(c) < 32 and c not in "\t" for c in value):
        out.append(("contains control characters (NUL, line breaks...)", "remove them"))
    if name == "period" and isinstance(value, str) and value.strip() and not is_relative(value):
        from kpitools.calendars.periods import parse_period

        try:
            try:
                parse_period(value)
            except ValueError:  # a Jalali date such as 1405-02-31
                parse_period(value, calendar="jalali")
        except ValueError:
            close = difflib.get_close_matches(value.strip().lower().replace(" ", "_"), RELATIVE, n=1)
            out.append((f"{value!r} is not a period", (f"did you mean {close[0]}? " if close else "")
                        + "write a month 2026-10, a quarter 2026Q3, a year 2026, or a relative period such as "
                          "last_complete_month or last_complete_quarter-1"))
    if name in ("calendar", "locale") and isinstance(value, str) and value.strip():
        from kpitools.calendars.periods import CALENDARS, calendar_name
        from kpitools.i18n import LANGUAGES, normalize

        checks: dict[str, tuple[Callable[[Any], Any], str, str]] = {
            "calendar": (calendar_name, "a calendar", f"use one of {', '.join(CALENDARS)}, or \"\" for the dataset's"),
            "locale": (normalize, "a locale", f"use a language code such as {', '.join(LANGUAGES)} (or with a "
                                              "country: ar_SA), or \"\" for English"),
        }
        check, what, fix = checks[name]
        try:
            check(value)
        except ValueError:
            out.append((f"{value!r} is not {what}", fix))
    if name == "data" and isinstance(value, str) and value:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = base / path
        if not path.exists():
            out.append((f"no dataset at {value}", "give a dataset.yml or a folder of tables "
                                                  "(relative to the folder you run kpitools in); "
                                                  "`kpitools sample data/sample` writes the demo data"))
    return out


def _check_data(runs: list[tuple[Run, dict[str, tuple]]], base: Path, root: Path, problem: Any) -> list[Problem]:
    """Load each run's dataset once (the batch's prepared copy when the data is unchanged) and check
    the run's scope values and period against it. `data: ""` (the built-in sample) is not checked."""
    import kpitools
    from kpitools.data.validate import scope_problems
    from kpitools.kpis.compute import period_spans

    out: list[Problem] = []
    datasets: dict[str, Any] = {}
    seen: set[tuple] = set()
    for run, locs in runs:
        data = run.parameters.get("data")
        if not isinstance(data, str) or not data:
            continue
        if data not in datasets:
            datasets[data] = None
            try:
                source = _absolute(data, base)
                datasets[data] = read_prepared(source, root / CACHE_DIR) or kpitools.load(source)
            except DataError as e:  # the data's own problems name its files, tables, columns and rows
                out += [p for p in e.problems if p.severity == "error"]
        ds = datasets[data]
        if ds is None:
            continue
        period = run.parameters.get("period")
        spans = None
        if isinstance(period, str) and period.strip():
            try:
                cal = run.parameters.get("calendar") or getattr(ds, "calendar", "gregorian")
                spans = period_spans(period, ds.fiscal_year_start, str(cal))
            except ValueError:
                pass  # reported with the spec's values
        filters = {k: v for k, v in run.parameters.items() if k not in NOT_FILTERS}
        for p in scope_problems(ds, filters, spans, period=str(period)):
            loc = locs.get(p.column or "period", ("parameters", p.column or "period"))
            if (loc, p.message) not in seen:
                seen.add((loc, p.message))
                out.append(problem(loc, f"{p.message} (data: {data})", p.hint))
    return out


def _run_calendar(spec: BatchSpec, params: dict[str, Any], base: Path | None, cache: dict[Any, str]) -> str:
    """The calendar a run's relative periods resolve in: its `calendar` parameter, else the spec's
    `calendar:`, else its dataset.yml's `calendar:`, else gregorian."""
    from kpitools.calendars.periods import calendar_name

    value = params.get("calendar") or spec.calendar
    if not value:
        data = params.get("data")
        if data not in cache:
            cache[data] = _data_calendar(data, base)
        value = cache[data]
    try:
        return calendar_name(value)
    except ValueError:  # reported by _check_value
        return "gregorian"


def _data_calendar(data: Any, base: Path | None) -> str:
    """The `calendar:` of a dataset.yml (of a folder holding one); "" when there is none."""
    if not isinstance(data, str) or not data or base is None:
        return ""
    folder = _absolute(data, base)
    path: Path | None = folder
    if folder.is_dir():
        path = next((folder / n for n in ("dataset.yml", "dataset.yaml") if (folder / n).is_file()), None)
    if path is None or path.suffix.lower() not in (".yml", ".yaml") or not path.is_file():
        return ""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""  # the data check reports a broken config
    value = config.get("calendar") if isinstance(config, dict) else None
    return value if isinstance(value, str) else ""


def _absolute(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _type_ok(value: Any, default: Any) -> bool:
    if default is UNKNOWN or default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _template_fields(template: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError:
        return []


def _template_problems(template: str, params: dict[str, Any]) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        return [f"{template!r} is not a valid template ({e})"]
    out = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            out.append(f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                       "is not a plain {parameter}")
        elif params and name not in params:
            out.append(f"{{{name}}} is not a parameter")
    return out


def _check_template(template: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The fixed folder the outputs go under (the output root), and any problems."""
    problems = [(m, "write {parameter} placeholders, e.g. reports/{period}/{region}.html")
                for m in _template_problems(template, {})]
    path = template.replace("\\", "/")
    parts = PurePosixPath(path).parts
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path):
        problems.append(("an absolute path: outputs must stay inside the project",
                         "write a relative path such as reports/{period}/{region}.html"))
    if any(p in ("..", ".") for p in path.split("/")):
        problems.append(("'..' or '.' would leave (or blur) the output folder",
                         "write a plain relative path such as reports/{period}/{region}.html"))
    if any(p.startswith(".") and p not in (".", "..") for p in path.split("/")):
        problems.append(("a folder or file name starting with '.' (kept for .runs/ and .cache/)",
                         "drop the leading dot"))
    if not path.lower().endswith(".html"):
        problems.append(("must end in .html", "e.g. reports/{period}/{region}.html"))
    if not _template_fields(template):
        problems.append(("has no {parameter}: every run would write the same file",
                         "add the parameters that tell runs apart, e.g. {region}"))
    if problems:
        return None, problems
    fixed = [p for p in itertools.takewhile(lambda p: "{" not in p, parts[:-1])]
    return (str(PurePosixPath(*fixed)) if fixed else "."), []


def _unsafe_in_path(value: Any) -> str | None:
    text = label(value)
    if "\0" in text:
        return "contains a NUL character"
    if "/" in text or "\\" in text:
        return "contains a path separator"
    if ".." in text or text.startswith("."):
        return "contains '..' or starts with '.'"
    if any(ord(c) < 32 for c in text):
        return "contains control characters"
    if len(text.encode()) > 200:
        return "is too long for a file name"
    return None


def _fill(template: str, params: dict[str, Any]) -> str:
    return template.format_map({k: label(v) for k, v in params.items()})


def _describe(params: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in mask_parameters(params).items() if k != "data") + "}"


def _run_id(rel_html: str) -> str:
    """Readable and stable (it names the run folder), unique thanks to the hash."""
    stem = rel_html[: -len(".html")] if rel_html.lower().endswith(".html") else rel_html
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:60] or "run"
    return f"{slug}-{hashlib.sha1(rel_html.encode()).hexdigest()[:6]}"
