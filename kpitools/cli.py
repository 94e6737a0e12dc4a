"""The `kpitools` command. Every command validates its input first: a user mistake
ends with the problems listed and exit code 2, never a traceback."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, overload

import typer

from .data import DataError, Dataset, Problem

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Sales KPIs, forecasts and HTML reports. Exit codes: 0 ok, 1 some runs failed, 2 bad input.")

EXIT_BAD_INPUT = 2


class Scale(str, Enum):
    small = "small"
    medium = "medium"
    large = "large"


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def fail(problems: list[Problem] | str) -> NoReturn:
    """Print problems to stderr and exit 2."""
    if isinstance(problems, str):
        problems = [Problem(problems)]
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        typer.echo(str(p), err=True)
    typer.echo(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s); nothing was written.", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def load_or_fail(config: Path) -> Dataset:
    from .data import load

    try:
        return load(config)
    except DataError as e:
        fail(list(e.problems))


ConfigArg = Annotated[Path, typer.Argument(help="dataset.yml, or a folder with dataset.yml or canonical table files")]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="write to this file instead of the screen")]


@app.command()
def sample(
    directory: Annotated[Path, typer.Argument(help="folder to write the tables and dataset.yml into")],
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same data")] = 0,
    months: Annotated[int, typer.Option(min=1, max=240, help="months of history")] = 36,
    scale: Annotated[Scale, typer.Option(
        help="small (~8k deals), medium (10x), large (1M deals, 5M activities)")] = Scale.small,
    end: Annotated[str | None, typer.Option(help="last month, e.g. 2026-10 (default: last complete month)")] = None,
) -> None:
    """Write the demo dataset (every canonical table + dataset.yml)."""
    import time

    import pandas as pd

    from .data.sample import write_sample

    if end is not None:
        try:
            end_ts = pd.Period(end, "M").to_timestamp()
        except (ValueError, TypeError):
            fail(f"--end {end!r} is not a month: write it as 2026-10")
    else:
        end_ts = None
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} exists and is not a folder")
    started = time.perf_counter()
    try:
        path = write_sample(directory, seed=seed, months=months, scale=scale.value, end=end_ts)
    except OSError as e:
        fail(f"cannot write to {directory}: {e.strerror or e}")
    typer.echo(f"wrote {path} ({scale.value}, seed {seed}, {months} months) in {time.perf_counter() - started:.1f} s")


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a dataset: exit 0 with a summary (and warnings), or exit 2 listing every problem."""
    ds = load_or_fail(config)
    for w in ds.warnings:
        typer.echo(str(w), err=True)
    typer.echo(render_summary(ds))


@app.command()
def init(
    exports: Annotated[Path, typer.Argument(help="the folder of CSV, Excel and Parquet exports")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="the config to write (default: EXPORTS/dataset.yml)")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="ask nothing: take the safest answers, marked TODO")] = False,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing config")] = False,
) -> None:
    """Draft a dataset.yml from a folder of exports, every guess commented, then validate it.

    Exit 0: the draft validates (check its TODOs); 2: it does not (the problems are listed), or bad input."""
    from . import init as drafting
    from .data import load

    target = output or exports / "dataset.yml"
    if target.is_dir():
        fail(f"{target} is a folder: give a file name, e.g. -o {target / 'dataset.yml'}")
    if target.exists() and not force:
        fail([Problem("a config already exists here", file=str(target),
                      hint="pass --force to overwrite it, or -o to write the draft elsewhere")])
    try:
        draft = drafting.make_draft(exports, target, ask=None if yes or not drafting.is_terminal() else drafting.prompt)
    except DataError as e:
        fail(list(e.problems))
    _emit(draft.text(), target)
    tables = ", ".join(f"{t.table} ({t.file.name}" + "".join(f" + {j.file.name}" for j in t.join) + ")"
                       for t in draft.tables)
    typer.echo(f"drafted {tables}")
    if draft.todos:
        typer.echo(f"check these TODOs in {target}:")
        typer.echo("\n".join(f"  - {todo}" for todo in draft.todos))
    try:
        ds = load(target)
    except DataError as e:
        for p in e.problems:
            typer.echo(str(p), err=True)
        typer.echo(f"the draft does not validate yet ({len(e.errors)} error(s)): fix {target} as said above, "
                   f"then run `kpitools validate {target}`", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    for w in ds.warnings:
        typer.echo(str(w), err=True)
    typer.echo(render_summary(ds))


def render_summary(ds: Dataset) -> str:
    s = ds.summary()
    width = max(len(t) for t in s["rows"])
    lines = [f"{s['name']}: valid ({len(ds.warnings)} warning(s))",
             f"  currency   {s['currency']}",
             f"  dates      {s['from']} to {s['to']}",
             f"  regions    {', '.join(s['regions']) or '-'}",
             f"  teams      {s['teams']}    reps {s['reps']}    products {s['products']}",
             "  rows"]
    lines += [f"    {t.ljust(width)}  {n:>10,}" for t, n in s["rows"].items()]
    if s["notes"]:  # what the numbers rest on: joins, fills, exclusions, dropped rows
        lines.append("  on the way in")
        lines += [f"    {note}" for note in s["notes"]]
    return "\n".join(lines)


def _key_values(pairs: list[str] | None, flag: str) -> dict[str, str | list[str]]:
    """KEY=VALUE pairs; a key given twice (or VALUE with commas) becomes a list."""
    out: dict[str, str | list[str]] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"{flag} {pair!r}: write it as KEY=VALUE, e.g. {flag} region=EMEA")
        key, value = key.strip(), value.strip()
        values = [v.strip() for v in value.split(",")] if "," in value else [value]
        if key in out:
            prev = out[key]
            out[key] = [*(prev if isinstance(prev, list) else [prev]), *values]
        else:
            out[key] = values if len(values) > 1 else values[0]
    return out


OptionScalar = bool | int | float | str


@overload
def _option_value(text: str) -> OptionScalar: ...
@overload
def _option_value(text: list[str]) -> list[OptionScalar]: ...
def _option_value(text: str | list[str]) -> OptionScalar | list[OptionScalar]:
    """CLI option values are text: read numbers and booleans as such."""
    if isinstance(text, list):
        return [_option_value(t) for t in text]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


@app.command()
def kpis(
    config: ConfigArg,
    kpi: Annotated[list[str] | None, typer.Option(
        "--kpi", help="KPI id(s): --kpi revenue win_rate (default: all the data supports)")] = None,
    freq: Annotated[str, typer.Option(help="period: D, W, M, Q or Y")] = "M",
    by: Annotated[str | None, typer.Option(help="group by column(s): region or region,product")] = None,
    period: Annotated[str | None, typer.Option(
        help="2024-03, 2024Q1, 2024, 2024-01:2024-06, or 'last' (last complete)")] = None,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="filter KEY=VALUE, e.g. --where region=EMEA")] = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", help="KPI option KEY=VALUE, e.g. --option basis=cohort")] = None,
    fiscal_year_start: Annotated[int | None, typer.Option(
        min=1, max=12, help="month the fiscal year starts in")] = None,
    calendar: Annotated[str | None, typer.Option(
        help="gregorian or jalali (Solar Hijri periods: 1403-01, 1403Q1; default: the dataset's)")] = None,
    format: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
    output: OutputOpt = None,
) -> None:
    """Compute KPIs: tidy output with the columns period, <by...>, kpi, value."""
    from .kpis.compare import last_complete_period
    from .kpis.compute import compute
    from .kpis.output import format_frame

    _check_output(output)
    ds = load_or_fail(config)
    if calendar:
        from dataclasses import replace

        from .calendars.periods import calendar_name

        try:
            ds = replace(ds, calendar=calendar_name(calendar))
        except ValueError as e:
            fail(f"--calendar: {e}")
    # both go to compute()'s **options: Any
    filters: dict[str, Any] = _key_values(where, "--where")
    options: dict[str, Any] = {k: _option_value(v) for k, v in _key_values(option, "--option").items()}
    clash = set(filters) & set(options)
    if clash:
        fail(f"{', '.join(sorted(clash))} given both as --where and --option")
    if period == "last":
        try:
            period = str(last_complete_period(ds, freq.upper()))
        except ValueError as e:
            fail(str(e))
    _check_scope(ds, filters, period, fiscal_year_start)
    try:
        result = compute(ds, _split_ids(kpi), freq=freq.upper(), by=by, period=period,
                         fiscal_year_start=fiscal_year_start, **filters, **options)
    except (ValueError, KeyError) as e:
        fail(str(e).strip("'\""))
    for kpi_id, reason in result.attrs.get("skipped", {}).items():
        typer.echo(f"skipped {kpi_id}: {reason}", err=True)
    _emit(format_frame(result, format.value), output)


def _check_scope(ds: Dataset, filters: dict[str, Any], period: str | None, fiscal_year_start: int | None) -> None:
    """--period must read as periods, --where values must exist and the period must hold data:
    otherwise the output would be empty, which a script could take for real zeros."""
    from .data.validate import scope_problems
    from .kpis.compute import period_spans

    spans = None
    if period:
        try:
            spans = period_spans(period, fiscal_year_start or ds.fiscal_year_start,
                                 getattr(ds, "calendar", "gregorian"))
        except ValueError as e:
            y = 1403 if getattr(ds, "calendar", "gregorian") == "jalali" else 2024
            fail([Problem(f"--period {period!r}: {e}", hint=f"write a month {y}-03, a quarter {y}Q1, a year {y}, "
                                                          f"a week {y}-W10, a range {y}-01:{y}-06, or last")])
    problems = scope_problems(ds, filters, spans, period=period)
    if problems:
        fail(problems)


def _check_output(output: Path | None) -> None:
    if output is not None and output.is_dir():
        fail(f"--output {output} is a folder: give a file name, e.g. {output / 'kpis.csv'}")


def _emit(text: str, output: Path | None) -> None:
    """Print, or write the whole file at once (a temporary file renamed): never half a file."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from .files import atomic_write_text

    try:
        atomic_write_text(output, text)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}")
    typer.echo(f"wrote {output}", err=True)


def _split_ids(ids: list[str] | None) -> list[str] | None:
    if not ids:
        return None
    return [i.strip() for group in ids for i in group.split(",") if i.strip()]


@app.command()
def catalogue(
    format: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
) -> None:
    """Every KPI: id, name, unit, direction, needs, formula, options, benchmark."""
    from .kpis.output import catalogue_frame, format_frame

    frame = catalogue_frame()
    if format is Format.table:
        frame = frame[[c for c in ("id", "name", "unit", "direction", "needs", "benchmark") if c in frame.columns]]
    typer.echo(format_frame(frame, format.value), nl=False)


@app.command()
def forecast(
    config: ConfigArg,
    kpi: Annotated[str, typer.Option("--kpi", help="the KPI to forecast, e.g. revenue")],
    by: Annotated[str | None, typer.Option(help="forecast each group: region or region,product")] = None,
    horizon: Annotated[int, typer.Option(min=1, max=60, help="periods ahead")] = 6,
    freq: Annotated[str, typer.Option(help="period: W, M, Q or Y")] = "M",
    model: Annotated[str, typer.Option(help="auto, or one model family: snaive, ets, sarima, theta")] = "auto",
    where: Annotated[list[str] | None, typer.Option("--where", help="filter KEY=VALUE")] = None,
    format: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
    output: OutputOpt = None,
) -> None:
    """Forecast a KPI: columns period, <by...>, kpi, mean, lo_80, hi_80, lo_95, hi_95, model."""
    from .forecast import forecast_table
    from .kpis import REGISTRY
    from .kpis.compare import last_complete_period
    from .kpis.compute import compute
    from .kpis.output import format_frame

    _check_output(output)
    ds = load_or_fail(config)
    if kpi in REGISTRY and REGISTRY[kpi].kind == "table":
        fail(f"{kpi} is a table of several measures, not one series: forecast one of its parts, e.g. revenue")
    filters: dict[str, Any] = _key_values(where, "--where")  # compute()'s **options: Any
    _check_scope(ds, filters, None, None)
    try:
        # only complete periods: a half-finished month would drag the forecast down
        last = last_complete_period(ds, freq.upper())
        series = compute(ds, kpi, freq=freq.upper(), by=by, **filters)
        series = series[series["period"] <= last]
    except (ValueError, KeyError) as e:
        fail(str(e).strip("'\""))
    if kpi in series.attrs.get("skipped", {}):
        fail(f"cannot forecast {kpi}: {series.attrs['skipped'][kpi]}")
    if series["value"].notna().sum() == 0:
        fail(f"{kpi} has no values to forecast from")
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = forecast_table(series, horizon=horizon, model=model)
    except ValueError as e:
        fail(str(e))
    for w in caught:  # e.g. a short series falling back to the naive model: say so plainly
        typer.echo(f"warning: {w.message}", err=True)
    _emit(format_frame(result, format.value), output)


@app.command()
def run(
    batch: Annotated[Path, typer.Argument(help="a batch spec, e.g. params/demo.yml")],
    workers: Annotated[int | None, typer.Option(min=1, help="parallel runs (default: CPU count)")] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or dask")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (default: a local cluster)")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="run only KEY=VALUE runs, e.g. --only region=EMEA")] = None,
    force: Annotated[bool, typer.Option("--force", help="redo runs whose inputs are unchanged")] = False,
    retries: Annotated[int | None, typer.Option(min=0, help="extra attempts after a failure")] = None,
    timeout: Annotated[float | None, typer.Option(min=1, help="seconds per run")] = None,
    outbox: Annotated[Path | None, typer.Option(
        "--outbox",
        help="write the spec's `deliver:` mail as .eml files into this folder instead of sending it")] = None,
    no_deliver: Annotated[bool, typer.Option("--no-deliver", help="skip the spec's `deliver:` mail")] = False,
) -> None:
    """Run a notebook for every parameter set of a batch: HTML reports, index.html and manifest.json,
    and the mail of its `deliver:` block.

    Exit 0: all ok; 1: some runs failed (the rest were rendered) or some mail could not be sent (the
    reports stay; a re-run sends it); 2: bad input (nothing ran)."""
    from .runner.batch import run_batch

    if not batch.is_file():
        fail([Problem("batch spec not found", file=str(batch), hint="give a YAML file such as params/demo.yml")])
    try:
        code = run_batch(batch, workers=workers, executor=executor, scheduler=scheduler, only=tuple(only or ()),
                         force=force, retries=retries, timeout=timeout, progress=True, deliver=not no_deliver,
                         outbox=outbox)
    except DataError as e:
        fail(list(e.problems))
    raise typer.Exit(code)


@app.command()
def render(
    notebook: Annotated[Path, typer.Argument(help="an executed notebook (.ipynb)")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="HTML file (default: next to the notebook)")] = None,
    title: Annotated[str | None, typer.Option(help="report title (default: from the notebook)")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="also write the report as PDF, beside the HTML (OUT.pdf)")] = False,
) -> None:
    """Render an executed notebook to the house HTML: no code, self-contained, safe to e-mail; --pdf: a PDF too."""
    import nbformat

    from .files import atomic_write_text
    from .report.render import render as render_html

    if not notebook.is_file():
        fail([Problem("no such notebook", file=str(notebook),
                      hint="give the path of an executed notebook (.ipynb), e.g. one papermill wrote")])
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "cell is missing an id field": not the user's concern
            nb = nbformat.read(notebook, as_version=4)
            nbformat.validate(nb)
    except nbformat.ValidationError as e:
        path = list(getattr(e, "absolute_path", []))
        where = (f"cell {path[1] + 1}" if path[:1] == ["cells"] and len(path) > 1 and isinstance(path[1], int)
                 else "") + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[2:])
        fail([Problem(f"not a valid notebook: {where.lstrip('.') + ': ' if where else ''}"
                      f"{str(getattr(e, 'message', e)).splitlines()[0][:200]}", file=str(notebook),
                      hint="open and save it in JupyterLab, or execute it again with papermill")])
    except Exception as e:  # nbformat raises several kinds on a damaged file
        fail([Problem(f"not a readable notebook ({type(e).__name__})", file=str(notebook),
                      hint="give an .ipynb file saved by Jupyter or papermill")])
    target = output or notebook.with_suffix(".html")
    if target.exists() and target.is_dir():
        fail(f"{target} is a folder: give a file name, e.g. -o {target / notebook.with_suffix('.html').name}")
    html = render_html(nb, title=title)
    pdf_target = target.with_suffix(".pdf")
    try:
        if pdf:  # first: if it fails, neither file is written
            from .report.pdf import write_pdf

            write_pdf(html, pdf_target)
        atomic_write_text(target, html)
    except OSError as e:
        fail(f"cannot write {e.filename or target}: {e.strerror or e}")
    typer.echo(f"wrote {target}")
    if pdf:
        typer.echo(f"wrote {pdf_target}")


MULTI_VALUE_OPTIONS = ("--kpi",)


def _expand_multi_value(argv: list[str]) -> list[str]:
    """Let `--kpi revenue win_rate` mean `--kpi revenue --kpi win_rate` (click options take one value)."""
    out: list[str] = []
    current = None
    for arg in argv:
        if arg in MULTI_VALUE_OPTIONS:
            current = arg
            out.append(arg)
            continue
        if current and not arg.startswith("-") and out[-1] != current:
            out.append(current)
        elif arg.startswith("-"):
            current = None
        out.append(arg)
    return out


def main() -> None:
    """Entry point: never let a user mistake end in a traceback."""
    from . import clock

    try:
        clock.today()  # a bad KPITOOLS_TODAY is the user's setting: say so before any work
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    try:
        app(args=_expand_multi_value(sys.argv[1:]), prog_name="kpitools")
    except DataError as e:  # raised outside a command's own handling
        for p in e.problems:
            print(p, file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
