"""The `kpitools` command. Every command validates its input first: a user mistake
ends with the problems listed and exit code 2, never a traceback."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .data import DataError, Problem

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


def fail(problems: list[Problem] | str) -> None:
    """Print problems to stderr and exit 2."""
    if isinstance(problems, str):
        problems = [Problem(problems)]
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        typer.echo(str(p), err=True)
    typer.echo(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s); nothing was written.", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def load_or_fail(config: Path):
    from .data import load

    try:
        return load(config)
    except DataError as e:
        fail(list(e.problems))


ConfigArg = Annotated[Path, typer.Argument(help="dataset.yml, or a folder with dataset.yml or canonical table files")]


@app.command()
def sample(
    directory: Annotated[Path, typer.Argument(help="folder to write the tables and dataset.yml into")],
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same data")] = 0,
    months: Annotated[int, typer.Option(min=1, max=240, help="months of history")] = 36,
    scale: Annotated[Scale, typer.Option(help="small (~8k deals), medium (10x), large (1M deals, 5M activities)")] = Scale.small,
    end: Annotated[Optional[str], typer.Option(help="last month, e.g. 2026-10 (default: last complete month)")] = None,
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


def render_summary(ds) -> str:  # noqa: ANN001
    s = ds.summary()
    width = max(len(t) for t in s["rows"])
    lines = [f"{s['name']}: valid ({len(ds.warnings)} warning(s))",
             f"  currency   {s['currency']}",
             f"  dates      {s['from']} to {s['to']}",
             f"  regions    {', '.join(s['regions']) or '-'}",
             f"  teams      {s['teams']}    reps {s['reps']}    products {s['products']}",
             "  rows"]
    lines += [f"    {t.ljust(width)}  {n:>10,}" for t, n in s["rows"].items()]
    return "\n".join(lines)


def main() -> None:
    """Entry point: never let a user mistake end in a traceback."""
    try:
        app()
    except DataError as e:  # raised outside a command's own handling
        for p in e.problems:
            print(p, file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
