"""Benchmark: `kpitools run` against the naive shell loop, same notebook, data and parameters.

    .venv/bin/python bench/batch.py                       # notebooks/sales_report.ipynb on the sample data
                                                          # -> bench/results-batch-real.md
    .venv/bin/python bench/batch.py --stand-in            # a stand-in notebook (pandas + matplotlib + kpitools
                                                          # import, a groupby over a generated CSV, one chart)
                                                          # -> bench/results-batch.md
    .venv/bin/python bench/batch.py --regions 4 --months 6 --workers 2 --out results.md

The naive loop is what a cron job would do without kpitools: for each parameter set
one `papermill` process, then one `jupyter nbconvert --to html --no-input` process.
Both methods run here, in one run, on the same parameter sets, for two batches: the demo
batch (params/demo.yml: the whole company and 4 regions, last complete month; 5 reports) and
a grid (4 regions x 6 months = 24 reports by default). Reported: wall time, time per report,
CPU time of the processes started, and the ratios; the marginal CPU of one more report in a
running batch (`kpitools run` of the grid minus `kpitools run` of its first half of the months,
per report); then the KPI values (every text output of every executed notebook) of both methods
are compared and must be identical.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REGIONS = ["EMEA", "North America", "APAC", "LATAM"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebook", default="notebooks/sales_report.ipynb", help="report notebook to run")
    ap.add_argument("--stand-in", action="store_true", help="use a generated stand-in notebook and CSV instead")
    ap.add_argument("--regions", type=int, default=4, help="regions (max 4)")
    ap.add_argument("--months", type=int, default=6, help="complete months back from the last one")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="results file (default bench/results-batch-real.md, "
                                                 "or bench/results-batch.md with --stand-in)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    args.out = args.out or str(ROOT / "bench" / ("results-batch.md" if args.stand_in else "results-batch-real.md"))

    work = Path(tempfile.mkdtemp(prefix="kpitools-bench-batch-"))
    try:
        if args.stand_in:
            notebook, data_param, data_value = stand_in(work)
            label = "stand-in notebook (pandas, matplotlib, kpitools import; groupby over a 120k-row CSV; 1 chart)"
        else:
            notebook = (ROOT / args.notebook).resolve()
            if not notebook.is_file():
                sys.exit(f"{args.notebook} does not exist yet: run with --stand-in, or give --notebook PATH")
            data_param, data_value = "data", str(work / "data")
            run([str(BIN / "kpitools"), "sample", data_value], cwd=work)
            label = f"{args.notebook} on the sample data (kpitools sample, small)"
        regions = REGIONS[: args.regions]

        def months(n: int) -> list[str]:
            return [f"last_complete_month-{i}" if i else "last_complete_month" for i in range(n - 1, -1, -1)]

        print(f"{label}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}", flush=True)
        cases = [("demo", ["", *REGIONS], months(1)), ("grid", regions, months(args.months))]
        results = {name: compare(work / name, notebook, data_param, data_value, grid_regions, periods, args.workers)
                   for name, grid_regions, periods in cases}
        # The marginal CPU of a report: the grid again with the first half of its months, then the difference.
        half = max(1, args.months // 2)
        smaller = ours_only(work / "half", notebook, data_param, data_value, regions, months(args.months)[:half],
                            args.workers)
        grid = results["grid"]
        extra = grid["n"] - smaller["n"]
        marginal = (grid["ours"]["cpu"] - smaller["cpu"]) / extra if extra else float("nan")
        report(args, label, results, smaller, marginal)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def write_spec(folder: Path, notebook: Path, data_param: str, data_value: str, regions: list[str],
               periods: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "bench.yml"
    spec.write_text(json.dumps({
        "notebook": str(notebook), "output": "ours/{period}/{region}.html",
        "parameters": {data_param: data_value}, "grid": {"region": regions, "period": periods},
    }, indent=2), encoding="utf-8")
    return spec


def ours_only(folder: Path, notebook: Path, data_param: str, data_value: str, regions: list[str],
              periods: list[str], workers: int) -> dict[str, Any]:
    """`kpitools run` alone: its wall and CPU time and the number of reports."""
    from kpitools.runner.spec import load_batch

    spec = write_spec(folder, notebook, data_param, data_value, regions, periods)
    n = len(load_batch(spec, base=folder).runs)
    ours = timed(lambda: run(ours_command(spec, workers), cwd=folder))
    print(f"{n} reports, kpitools run: {ours['wall']:.1f} s wall, {ours['cpu']:.1f} s CPU", flush=True)
    return {**ours, "n": n}


def compare(folder: Path, notebook: Path, data_param: str, data_value: str, regions: list[str],
            periods: list[str], workers: int) -> dict[str, Any]:
    """`kpitools run` and the naive loop on one batch, and whether their KPI values are identical."""
    from kpitools.runner.spec import load_batch

    spec = write_spec(folder, notebook, data_param, data_value, regions, periods)
    runs = load_batch(spec, base=folder).runs
    ours = timed(lambda: run(ours_command(spec, workers), cwd=folder))
    print(f"{len(runs)} reports, kpitools run: {ours['wall']:.1f} s wall, {ours['cpu']:.1f} s CPU", flush=True)

    naive_dir = folder / "naive"
    naive_dir.mkdir()

    def naive() -> None:
        for i, r in enumerate(runs):
            out = naive_dir / f"{i:03d}.ipynb"
            cmd = [str(BIN / "papermill"), str(notebook), str(out), "--no-progress-bar", "-k", "python3"]
            for k, v in r.parameters.items():
                cmd += ["-p", k, str(v)]
            run(cmd, cwd=folder)
            run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)], cwd=folder)

    slow = timed(naive)
    print(f"{len(runs)} reports, naive loop:   {slow['wall']:.1f} s wall, {slow['cpu']:.1f} s CPU", flush=True)

    manifest = json.loads((folder / "ours" / "manifest.json").read_text())
    by_html = {r["html"]: r for r in manifest["runs"]}
    same, diffs = 0, []
    for i, r in enumerate(runs):
        record = by_html[r.html]
        mine = outputs(folder / "ours" / record["executed"], data_value)
        theirs = outputs(naive_dir / f"{i:03d}.ipynb", data_value)
        if mine == theirs and record["status"] == "ok":
            same += 1
        else:
            diffs.append(r.html)
    ok = sum(r["status"] in ("ok", "skipped") for r in manifest["runs"])
    return {"n": len(runs), "ours": ours, "slow": slow, "same": same, "diffs": diffs, "ok": ok,
            "fast_start": manifest.get("fast_start"), "regions": len(regions), "months": len(periods)}


def ours_command(spec: Path, workers: int) -> list[str]:
    """`kpitools run` once the CLI has it; the same function through Python until then."""
    probe = subprocess.run([str(BIN / "kpitools"), "run", "--help"], capture_output=True)
    if probe.returncode == 0:
        return [str(BIN / "kpitools"), "run", str(spec), "--workers", str(workers), "--force"]
    return [sys.executable, "-c", "import sys; from kpitools.runner.batch import run_batch; "
            f"sys.exit(run_batch({str(spec)!r}, workers={workers}, force=True, progress=False))"]


def run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode not in (0,):
        sys.exit(f"{' '.join(cmd[:3])}... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def timed(fn) -> dict[str, float]:
    """Wall time, CPU time of every child process (robust to a busy machine), and the
    load average before and after (other work on the machine slows the wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load": f"{load:.1f} → {os.getloadavg()[0]:.1f}"}


def outputs(path: Path, data_value: str) -> list[str]:
    """Every text a notebook showed (stdout, text/plain, text/html): the KPI values.
    The data path differs by design (ours reads the prepared copy), so it is blanked."""
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "injected-parameters" in cell["metadata"].get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                texts.append("".join(out["text"]))
            for mime in ("text/plain", "text/html"):
                if mime in out.get("data", {}):
                    texts.append("".join(out["data"][mime]))
    cache = str(path.parents[2] / ".cache") if ".runs" in path.parts else "\0"
    return [_blank(t, data_value, cache) for t in texts]


def _blank(text: str, data_value: str, cache: str) -> str:
    import re

    text = text.replace(data_value, "<data>")
    text = re.sub(re.escape(cache) + r"/data-[0-9a-f]+", "<data>", text)
    return re.sub(r"<Figure size [^>]*>|at 0x[0-9a-f]+", "", text)


def report(args, label: str, results: dict[str, dict[str, Any]], smaller: dict[str, Any],
           marginal: float) -> None:
    lines = [
        "# Batch benchmark: `kpitools run` vs the naive loop",
        "",
        f"Command: `python bench/batch.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"Notebook: {label}; `kpitools run --workers {args.workers} --force`.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        "The load average is that of the whole machine (other jobs ran too): wall times are noisy, the CPU "
        "time of the processes each method started is less so.",
        "",
        "| batch | method | wall s | s per report | CPU s (all its processes) | load avg | speed-up wall "
        "| speed-up CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        n, ours, slow = r["n"], r["ours"], r["slow"]
        what = (f"demo ({n} reports: whole company + {n - 1} regions, last month)" if name == "demo"
                else f"{r['regions']} regions x {r['months']} months ({n} reports)")
        lines += [
            f"| {what} | naive loop (`papermill` + `jupyter nbconvert --no-input`, one process each) | "
            f"{slow['wall']:.1f} | {slow['wall'] / n:.2f} | {slow['cpu']:.1f} | {slow['load']} | 1.0x | 1.0x |",
            f"| {what} | `kpitools run` | {ours['wall']:.1f} | {ours['wall'] / n:.2f} | {ours['cpu']:.1f} | "
            f"{ours['load']} | **{slow['wall'] / ours['wall']:.1f}x** | **{slow['cpu'] / ours['cpu']:.1f}x** |",
        ]
    grid = results["grid"]
    targets = [("demo batch, 5 reports", "demo", 6.0), ("24 reports", "grid", 10.0)]
    lines += ["", "Targets (issue 16), wall-time ratios of this run:", "", "| measure | target | measured | met |",
              "|---|---|---|---|"]
    for what, name, want in targets:
        if name in results:
            r = results[name]
            got = r["slow"]["wall"] / r["ours"]["wall"]
            lines.append(f"| {what} | >= {want:.0f}x the naive loop | {got:.1f}x | {'yes' if got >= want else 'no'} |")
    lines.append(f"| one more report in a running batch | <= 0.6 s of CPU | {marginal:.2f} s | "
                 f"{'yes' if marginal <= 0.6 else 'no'} |")
    lines += [
        "",
        f"One more report in a running batch: **{marginal:.2f} s of CPU** (`kpitools run` of the "
        f"{grid['n']}-report grid, {grid['ours']['cpu']:.1f} s of CPU, minus the same grid with "
        f"{smaller['n']} reports, {smaller['cpu']:.1f} s, per extra report).",
        "",
    ]
    for name, r in results.items():
        lines.append(f"KPI values, {name}: identical in {r['same']} of {r['n']} reports (every stdout, text/plain "
                     f"and text/html output of the executed notebooks compared); {r['ok']} of {r['n']} runs ok; "
                     f"fast start: {r['fast_start']}." + (f" Different: {', '.join(r['diffs'][:5])}" if r["diffs"]
                                                          else ""))
    lines += [
        "",
        "Why: each report still gets a fresh kernel of its own, but forked from a per-worker server that has",
        "already imported IPython, ipykernel, pandas, matplotlib and kpitools, loaded the prepared data, drawn",
        "a chart (fonts, renderer, PNG encoder loaded) and computed, once per worker, what the reports share",
        "(kpitools.report.prime: the cards' KPIs of all scopes in one grouped pass per period, and the region",
        "scopes' section tables), which its kernels inherit; the next kernel starts while a run executes;",
        "HTML is rendered in the worker (one exporter per process); charts go from the renderer to a",
        "256-colour PNG directly; two workers use both cores. The fixed cost (starting 2 workers and their",
        "fork servers, about 10 s of CPU) weighs less as a batch grows.",
        "",
        "What bounds one more report (profiled once in a forked kernel set up as the fork server's, CPU per",
        "report): the 7 charts about 0.55 s (each about 24 ms drawing, 24 ms constrained layout, 17 ms for the",
        "256-colour PNG); section computations that differ per scope (leaderboard, stages, products, customers)",
        "about 0.3 s; the runner's own work (fork and start the kernel, nbclient, write the notebook, render",
        "the HTML, the manifest) about 0.33 s; the trend forecast about 0.12 s (each scope's history differs:",
        "nothing to share); the cards 0.09 s. The naive loop pays 9.6-10 s a report, mostly starting Python,",
        "importing the libraries and a kernel, twice (papermill, then nbconvert).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def stand_in(work: Path) -> tuple[Path, str, str]:
    """A notebook with the real one's costs: imports (pandas, matplotlib, kpitools), a
    groupby over a CSV, a table, a chart, a published headline."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    end = pd.Timestamp.today().to_period("M") - 1
    n = 120_000
    dates = pd.date_range((end - 23).start_time, end.end_time, freq="h")
    df = pd.DataFrame({"date": rng.choice(dates, n), "region": rng.choice(REGIONS, n),
                       "product": rng.choice([f"P{i}" for i in range(8)], n),
                       "amount": rng.gamma(2.0, 500.0, n).round(2)})
    csv = work / "sales.csv"
    df.sort_values("date").to_csv(csv, index=False)
    cells = [
        ("markdown", "# Sales (stand-in report)", []),
        ("code", 'region = ""\nperiod = ""\ncsv = ""', ["parameters"]),
        ("code", "import pandas as pd\nimport matplotlib.pyplot as plt\n"
                 "from kpitools.report.headline import publish_headline", []),
        ("code", 'df = pd.read_csv(csv, parse_dates=["date"])\n'
                 "if region:\n    df = df[df.region == region]\n"
                 'if period:\n    df = df[df.date.dt.strftime("%Y-%m") == period]\n'
                 'by_product = df.groupby("product")["amount"].agg(["count", "sum"]).round(2)\n'
                 'print(f"revenue {df.amount.sum():.2f}, deals {len(df)}")\nby_product', []),
        ("code", 'ax = by_product["sum"].plot.bar(title=f"Revenue by product: {region or \'all\'}, {period}")\n'
                 "plt.show()", []),
        ("code", 'publish_headline({"revenue": {"name": "Revenue", "value": float(df.amount.sum()), '
                 '"display": f"${df.amount.sum():,.0f}"}, "deals": len(df)})', []),
    ]
    nb = {"cells": [{"cell_type": t, "metadata": {"tags": tags}, "source": src,
                     **({"outputs": [], "execution_count": None} if t == "code" else {})} for t, src, tags in cells],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = work / "stand_in.ipynb"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path, "csv", str(csv)


if __name__ == "__main__":
    main()
