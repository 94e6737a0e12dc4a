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
3. Writes the results (best wall time of --repeat runs, CPU time, peak RSS, the data in memory, ratios to the
   pyarrow reference, wall and CPU seconds per loader step) with the load average, and whether the targets
   are met: kpitools.load at most 2x pyarrow's time, peak memory (above the imports' baseline) at most 2x
   the data in memory.
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


def _time_steps(spent: dict[str, float], cpu: dict[str, float]) -> None:
    """Wrap the loader's steps with wall-clock and CPU timers (cheap: ten tables, a few calls each)."""
    import functools

    import kpitools.data.loader as loader

    for step in STEPS:
        fn = getattr(loader, step)

        @functools.wraps(fn)
        def timed(*args, _fn=fn, _step=step, **kwargs):
            t, c = time.perf_counter(), time.process_time()
            try:
                return _fn(*args, **kwargs)
            finally:
                spent[_step] = spent.get(_step, 0.0) + time.perf_counter() - t
                cpu[_step] = cpu.get(_step, 0.0) + time.process_time() - c

        setattr(loader, step, timed)


BASELINE_MB = 0.0  # the worker's RSS after its imports, before any data: Python and the libraries


def work(name: str, folder: str) -> dict:
    folder_p = Path(folder)
    spent: dict[str, float] = {}
    cpu: dict[str, float] = {}
    if name.startswith("kpitools"):
        _time_steps(spent, cpu)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = 0
    data_mb = 0.0
    if name.startswith("kpitools"):
        import kpitools

        if "pandasreader" in name:  # the reader before pyarrow: pandas' own CSV parser for every file
            import kpitools.data.readers as readers

            readers._read_csv_arrow = lambda *args: None

        ds = kpitools.load(folder_p / "dataset.yml", validate="novalidate" not in name)
        rows = sum(len(df) for df in ds.tables.values())
        # the data in memory: the loaded Dataset's frames, every buffer counted (text included)
        data_mb = sum(int(df.memory_usage(deep=True).sum()) for df in ds.tables.values()) / 1e6
    elif name == "naive_csv":
        import pandas as pd

        rows = sum(len(pd.read_csv(f)) for f in files(folder_p, "csv"))
    elif name == "naive_parquet":
        import pandas as pd

        rows = sum(len(pd.read_parquet(f)) for f in files(folder_p, "parquet"))
    elif name == "pyarrow_csv":
        import pyarrow.csv as pacsv

        tables = [pacsv.read_csv(f) for f in files(folder_p, "csv")]  # all kept, as a load keeps them
        rows = sum(t.num_rows for t in tables)
        data_mb = sum(t.nbytes for t in tables) / 1e6
    elif name == "pyarrow_parquet":
        import pyarrow.parquet as pq

        tables = [pq.read_table(f) for f in files(folder_p, "parquet")]
        rows = sum(t.num_rows for t in tables)
        data_mb = sum(t.nbytes for t in tables) / 1e6
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
            "data_mb": data_mb, "steps": spent, "steps_cpu": cpu, "baseline_mb": BASELINE_MB}


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
        global BASELINE_MB
        import duckdb  # noqa: F401  the imports every measurement may make, before the baseline
        import pyarrow.csv
        import pyarrow.parquet  # noqa: F401

        import kpitools  # noqa: F401
        BASELINE_MB = peak_mb()
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


def write(out: Path, results: dict, chosen: list, folders: dict, load_start, load_end, repeat: int) -> None:
    import yaml

    meta = yaml.safe_load((folders["csv"] / "dataset.yml").read_text())
    lines = [
        "# Loading the data",
        "",
        f"Written by `bench/load.py` on {time.strftime('%Y-%m-%d %H:%M')}. Each row ran in a fresh process; wall "
        f"time is the best of {repeat} run(s). Peak RSS is the process's maximum resident set (Python and "
        "the libraries imported included; the baseline is that RSS after the imports, before any data).",
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
        "**Data in memory** is, for kpitools.load, the loaded Dataset's frames (`memory_usage(deep=True)`: "
        "every buffer, text included); for the pyarrow rows, the Arrow tables read (`Table.nbytes`).",
        "",
        "### Results",
        "",
        "Ratios are this row's time divided by the pyarrow reference's for the same format (2.0 = twice as "
        "long), for wall and for CPU time; the CPU ratio is the steadier one on a shared machine.",
        "",
        "| measurement | wall s | CPU s | peak RSS MB | data in memory MB | rows | wall / pyarrow | "
        "CPU / pyarrow | runs (wall s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, fmt, label in chosen:
        r = results[name]
        base = results.get(f"pyarrow_{fmt}")
        wr = f"{r['wall'] / base['wall']:.2f}" if base else ""
        cr = f"{r['cpu'] / base['cpu']:.2f}" if base else ""
        data = f"{r['data_mb']:,.0f}" if r.get("data_mb") else ""
        runs = ", ".join(f"{w:.2f}" for w in r["runs"])
        lines.append(f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['peak_mb']:,.0f} | {data} | {r['rows']:,} | "
                     f"{wr} | {cr} | {runs} |")
    lines += ["", "### Targets", ""]
    for fmt in ("csv", "parquet"):
        k, ref = results.get(f"kpitools_{fmt}"), results.get(f"pyarrow_{fmt}")
        if not k:
            continue
        if ref:
            wr, cr = k["wall"] / ref["wall"], k["cpu"] / ref["cpu"]
            verdict = "met" if max(wr, cr) <= 2 else ("met on CPU time, not on wall time" if cr <= 2 else "not met")
            lines.append(f"- {fmt.upper()} time, kpitools.load at most 2x pyarrow's read: {wr:.2f}x wall, {cr:.2f}x "
                         f"CPU: **{verdict}**.")
        above = k["peak_mb"] - k["baseline_mb"]
        ratio = above / k["data_mb"]
        lines.append(f"- {fmt.upper()} memory, peak at most 2x the data in memory ({k['data_mb']:,.0f} MB): peak "
                     f"{k['peak_mb']:,.0f} MB, {k['peak_mb'] - k['baseline_mb']:,.0f} MB above the "
                     f"{k['baseline_mb']:,.0f} MB baseline, {ratio:.2f}x the data "
                     f"({k['peak_mb'] / k['data_mb']:.2f}x counting the baseline): "
                     f"**{'met' if ratio <= 2 else 'not met'}** (judged above the baseline).")
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
                  "Seconds in each step of `kpitools.data.loader`, wall / CPU (summed over the tables; timers "
                  "wrapped round the loader's calls; the rest is the config, the cache check and building the "
                  "Dataset).",
                  "", "| step | " + " | ".join(label.removeprefix("kpitools.load") or "kpitools.load"
                                                for _, label in timed) + " |",
                  "|---|" + "---:|" * len(timed)]
        for step in STEPS:
            cells = [(results[name]["steps"].get(step), results[name].get("steps_cpu", {}).get(step))
                     for name, _ in timed]
            if any(w for w, _ in cells):
                lines.append(f"| {step} | " + " | ".join(f"{w:.1f} / {c:.1f}" if w else "" for w, c in cells) + " |")
        lines.append("| whole load | " + " | ".join(f"{results[name]['wall']:.1f} / {results[name]['cpu']:.1f}"
                                                    for name, _ in timed) + " |")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
