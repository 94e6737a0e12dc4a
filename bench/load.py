"""Loading benchmark: the large sample from CSV and from Parquet, against the naive and a strong reference.

    .venv/bin/python bench/load.py [--out bench/results-load.md] [--repeat N] [--only NAME,...]

1. Writes the large sample (seed 0, 36 months to 2026-10) twice under bench/.data/ (git-ignored, reused when
   present): load-csv/ (CSV, as an export would be) and load-parquet/ (Parquet), each with its dataset.yml.
2. Each measurement runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own:
   - kpitools.load(dataset.yml): read, map, parse, validate, type (what a user calls), CSV and Parquet;
   - the same with validate=False (types still parsed): what validation costs;
   - kpitools.load with the CSV text read by pandas' parser instead of pyarrow's (the reader before
     pyarrow was used): what pyarrow brings;
   - naive: pd.read_csv / pd.read_parquet of every table file with default options (untyped for CSV:
     dates stay text, no checks);
   - reference: pyarrow.csv.read_csv / pyarrow.parquet.read_table of every file into Arrow tables
     (multi-threaded, typed by Arrow's own inference, no checks), and DuckDB read_csv / read_parquet
     into in-memory tables.
   The references do less than kpitools.load (no mapping, no checks, no canonical types); they bound
   what reading the bytes costs on this machine.
3. Writes the results (best wall time of --repeat runs, CPU time, peak RSS, ratios) with the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
END = "2026-10"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prepare() -> dict[str, Path]:
    from kpitools.data.sample import write_sample

    out = {}
    for fmt in ("csv", "parquet"):
        folder = DATA / f"load-{fmt}"
        if not (folder / "dataset.yml").is_file():
            t = time.time()
            write_sample(folder, scale="large", end=END, format=fmt)
            print(f"wrote {folder} in {time.time() - t:.0f} s", file=sys.stderr)
        out[fmt] = folder
    return out


def files(folder: Path, ext: str) -> list[Path]:
    return sorted(folder.glob(f"*.{ext}"))


# ----------------------------------------------------------------------------- workers (in a subprocess)


STEPS = ["read_source", "expand_events", "map_columns", "parse_table", "check_table", "check_links", "to_canonical",
         "derive_customers"]  # what kpitools.data.loader calls, in order


def _time_steps(spent: dict[str, float]) -> None:
    """Wrap the loader's steps with wall-clock timers (cheap: ten tables, a few calls each)."""
    import functools

    import kpitools.data.loader as loader

    for step in STEPS:
        fn = getattr(loader, step)

        @functools.wraps(fn)
        def timed(*args, _fn=fn, _step=step, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                spent[_step] = spent.get(_step, 0.0) + time.perf_counter() - t

        setattr(loader, step, timed)


def work(name: str, folder: str) -> dict:
    folder_p = Path(folder)
    spent: dict[str, float] = {}
    if name.startswith("kpitools"):
        _time_steps(spent)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = 0
    if name.startswith("kpitools"):
        import kpitools

        if "pandasreader" in name:  # the reader before pyarrow: pandas' own CSV parser for every file
            import kpitools.data.readers as readers

            readers._read_csv_arrow = lambda *args: None

        ds = kpitools.load(folder_p / "dataset.yml", validate="novalidate" not in name)
        rows = sum(len(df) for df in ds.tables.values())
    elif name == "naive_csv":
        import pandas as pd

        rows = sum(len(pd.read_csv(f)) for f in files(folder_p, "csv"))
    elif name == "naive_parquet":
        import pandas as pd

        rows = sum(len(pd.read_parquet(f)) for f in files(folder_p, "parquet"))
    elif name == "pyarrow_csv":
        import pyarrow.csv as pacsv

        rows = sum(pacsv.read_csv(f).num_rows for f in files(folder_p, "csv"))
    elif name == "pyarrow_parquet":
        import pyarrow.parquet as pq

        rows = sum(pq.read_table(f).num_rows for f in files(folder_p, "parquet"))
    elif name.startswith("duckdb"):
        import duckdb

        con = duckdb.connect()
        ext = "csv" if name.endswith("csv") else "parquet"
        reader = "read_csv" if ext == "csv" else "read_parquet"
        for f in files(folder_p, ext):
            con.execute(f"CREATE TABLE {f.stem} AS SELECT * FROM {reader}('{f}')")
            rows += con.execute(f"SELECT count(*) FROM {f.stem}").fetchone()[0]
    else:
        raise SystemExit(f"unknown measurement {name}")
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "peak_mb": peak_mb(), "rows": rows,
            "steps": spent}


MEASUREMENTS = [  # name, format, label
    ("kpitools_csv", "csv", "kpitools.load, CSV (read, parse, validate)"),
    ("kpitools_novalidate_csv", "csv", "kpitools.load(validate=False), CSV"),
    ("kpitools_pandasreader_csv", "csv", "kpitools.load, CSV, with pandas' CSV reader (before this change)"),
    ("naive_csv", "csv", "naive: pd.read_csv of every file (untyped text/numbers, no checks)"),
    ("pyarrow_csv", "csv", "reference: pyarrow.csv.read_csv of every file (Arrow types, no checks)"),
    ("duckdb_csv", "csv", "reference: DuckDB read_csv into tables"),
    ("kpitools_parquet", "parquet", "kpitools.load, Parquet (read, validate)"),
    ("kpitools_novalidate_parquet", "parquet", "kpitools.load(validate=False), Parquet"),
    ("naive_parquet", "parquet", "naive: pd.read_parquet of every file"),
    ("pyarrow_parquet", "parquet", "reference: pyarrow.parquet.read_table of every file"),
    ("duckdb_parquet", "parquet", "reference: DuckDB read_parquet into tables"),
]


def run(name: str, folder: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", name, str(folder)], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def versions() -> str:
    import duckdb
    import numpy
    import pandas
    import pyarrow

    return (f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}, "
            f"pyarrow {pyarrow.__version__}, DuckDB {duckdb.__version__}")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT).stdout.strip() or "?"
    except OSError:
        return "?"


def size_mb(folder: Path, ext: str) -> float:
    return sum(f.stat().st_size for f in files(folder, ext)) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "bench" / "results-load.md"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated measurement names")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(work(*args.worker)))
        return
    folders = prepare()
    chosen = [m for m in MEASUREMENTS if not args.only or m[0] in args.only.split(",")]
    load_start = os.getloadavg()
    results = {}
    for name, fmt, _ in chosen:
        runs = [run(name, folders[fmt]) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall"])
        best["runs"] = [r["wall"] for r in runs]
        results[name] = best
        print(f"{name}: {best['wall']:.2f} s wall, {best['cpu']:.2f} s CPU, {best['peak_mb']:.0f} MB", file=sys.stderr)
    load_end = os.getloadavg()
    write(Path(args.out), results, chosen, folders, load_start, load_end, args.repeat)


def write(out: Path, results: dict, chosen: list, folders: dict, load_start, load_end, repeat: int) -> None:  # noqa: ANN001
    import yaml

    meta = yaml.safe_load((folders["csv"] / "dataset.yml").read_text())
    lines = [
        "# Loading the data",
        "",
        f"Written by `bench/load.py` on {time.strftime('%Y-%m-%d %H:%M')}. Each row ran in a fresh process; wall "
        f"time is the best of {repeat} run(s). Peak RSS is the process's maximum resident set (Python and "
        "the libraries imported included).",
        "",
        "### Machine",
        "",
        f"- CPUs: {os.cpu_count()}; {versions()}",
        f"- load average at start / end: {load_start[0]:.2f} / {load_end[0]:.2f} (the machine is shared: "
        "wall time above CPU time means the process waited for a core; pyarrow and DuckDB use several "
        "threads, so their CPU time can exceed their wall time)",
        f"- code: {commit()}",
        "",
        "### Data",
        "",
        f"The large sample ({meta['name']}, 36 months to {END}): the same tables written as CSV "
        f"({size_mb(folders['csv'], 'csv'):,.0f} MB in {len(files(folders['csv'], 'csv'))} files) and as Parquet "
        f"({size_mb(folders['parquet'], 'parquet'):,.0f} MB).",
        "",
        "### Results",
        "",
        "Ratios are this row's time divided by `kpitools.load`'s for the same format (0.25 = a quarter of "
        "the time; 1.5 = half as long again), for wall and for CPU time; the CPU ratio is the steadier one "
        "on a shared machine.",
        "",
        "| measurement | wall s | CPU s | peak RSS MB | rows | wall ratio | CPU ratio | runs (wall s) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, fmt, label in chosen:
        r = results[name]
        base = results.get(f"kpitools_{fmt}")
        wr = f"{r['wall'] / base['wall']:.2f}" if base else ""
        cr = f"{r['cpu'] / base['cpu']:.2f}" if base else ""
        runs = ", ".join(f"{w:.2f}" for w in r["runs"])
        lines.append(f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['peak_mb']:,.0f} | {r['rows']:,} | "
                     f"{wr} | {cr} | {runs} |")
    if "kpitools_csv" in results and "kpitools_parquet" in results:
        c, p = results["kpitools_csv"], results["kpitools_parquet"]
        lines += ["", f"kpitools.load from Parquet against CSV: {p['wall']:.1f} s against {c['wall']:.1f} s wall, "
                      f"{p['cpu']:.1f} s against {c['cpu']:.1f} s CPU, {p['peak_mb']:,.0f} MB against "
                      f"{c['peak_mb']:,.0f} MB peak."]
    if "kpitools_csv" in results and "kpitools_pandasreader_csv" in results:
        a, b = results["kpitools_csv"], results["kpitools_pandasreader_csv"]
        ra, rb = a["steps"].get("read_source", 0), b["steps"].get("read_source", 0)
        lines += ["", f"Reading the CSV text with pyarrow instead of pandas: reading {ra:.1f} s against {rb:.1f} s "
                      f"({rb / ra:.1f}x faster); the whole load {a['wall']:.1f} s against {b['wall']:.1f} s wall, "
                      f"{a['cpu']:.1f} s against {b['cpu']:.1f} s CPU."]
    timed = [(name, label) for name, _, label in chosen if results[name].get("steps")]
    if timed:
        lines += ["", "### Where kpitools.load's time goes", "",
                  "Wall seconds in each step of `kpitools.data.loader` (summed over the tables; timers wrapped "
                  "round the loader's calls; the rest is the config, the cache check and building the Dataset).",
                  "", "| step | " + " | ".join(label.removeprefix("kpitools.load") or "kpitools.load"
                                                for _, label in timed) + " |",
                  "|---|" + "---:|" * len(timed)]
        for step in STEPS:
            cells = [results[name]["steps"].get(step) for name, _ in timed]
            if any(cells):
                lines.append(f"| {step} | " + " | ".join(f"{c:.1f}" if c else "" for c in cells) + " |")
        lines.append("| whole load | " + " | ".join(f"{results[name]['wall']:.1f}" for name, _ in timed) + " |")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
