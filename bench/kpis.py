"""KPI engine benchmark: the whole catalogue by month and by month x region on the sample dataset.

    .venv/bin/python bench/kpis.py [--scale large] [--out bench/results-kpis.md] [--repeat N] [--reuse-load]

1. Writes the sample dataset once as Parquet under bench/.data/<scale>/ (git-ignored, reused when present).
2. Times `kpitools.load` on it (with validation, as a user would call it) and keeps the loaded Dataset as a
   pickle, bench/.data/<scale>.pkl, from which every measurement starts (unpickling takes ~1 s; it is
   not part of any timing below). --reuse-load skips the load measurement and reuses the pickle.
3. Each measurement runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own:
   - month:          kpitools.compute(ds, freq="M")                 (the whole catalogue)
   - month_region:   kpitools.compute(ds, freq="M", by="region")   (+ the time of each KPI)
   - naive:          for each region r, compute(ds.filter(region=r), freq="M"), concatenated
                     (the notebook way: filter one region, compute, repeat)
   - subset_kpitools: compute(ds, <the KPIs below>, freq="M", by="region")
   - subset_duckdb:  DuckDB SQL for the same KPIs by month x region over the same Parquet files:
                     revenue, win_rate, pipeline_value (open at month end), the ChartMogul MRR movements
                     (new, expansion, contraction, churned, reactivation) and customer_churn_rate;
                     timed as "load the Parquet columns into DuckDB tables" + "queries", and also as
                     the queries straight over read_parquet().
4. The SQL and kpitools values are compared cell by cell (relative tolerance 1e-9); every mismatch is
   listed in the results.

Timings are wall clock (and CPU) on this machine; other jobs running at the same time slow them down: the
load average is printed beside them. Peak RSS includes the dataset itself (the "data" column gives the
peak right after unpickling it).
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
sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / ".data"
SUBSET = ["revenue", "win_rate", "pipeline_value", "new_mrr", "expansion_mrr", "contraction_mrr",
          "churned_mrr", "reactivation_mrr", "customer_churn_rate"]
RTOL = 1e-9


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ----------------------------------------------------------------------------- workers (subprocesses)

def _unpickle(pkl: Path):
    import pickle

    with open(pkl, "rb") as f:
        return pickle.load(f)


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def worker_load(args: argparse.Namespace) -> dict:
    import pickle

    import kpitools

    ds, wall, cpu = _timed(lambda: kpitools.load(args.data))
    tmp = args.pkl.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(ds, f, protocol=5)
    os.replace(tmp, args.pkl)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak_mb(), "rows": {n: len(df) for n, df in ds.tables.items()},
            "memory_mb": sum(df.memory_usage(deep=True).sum() for df in ds.tables.values()) / 2**20}


def worker_compute(args: argparse.Namespace) -> dict:
    """month / month_region / subset_kpitools."""
    import dataclasses

    import kpitools.kpis  # noqa: F401  (registers every KPI)
    from kpitools.kpis import REGISTRY
    from kpitools.kpis.compute import compute

    ds = _unpickle(args.pkl)
    data_mb = peak_mb()
    per_kpi: dict[str, list[float]] = {}
    depth = [0]

    def wrap(kid, fn):
        def timed(*a, **k):
            depth[0] += 1
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:  # KPIs called by other KPIs count in their caller
                    w = per_kpi.setdefault(kid, [0.0, 0.0])
                    w[0] += time.perf_counter() - t
                    w[1] += time.process_time() - c
        timed.__name__ = fn.__name__
        return timed

    if args.worker == "month_region":
        for kid, k in list(REGISTRY.items()):
            REGISTRY[kid] = dataclasses.replace(k, function=wrap(kid, k.function))
    kpis = SUBSET if args.worker == "subset_kpitools" else None
    by = None if args.worker == "month" else "region"
    out, wall, cpu = _timed(lambda: compute(ds, kpis, freq="M", by=by))
    result = {"wall": wall, "cpu": cpu, "peak_mb": peak_mb(), "data_mb": data_mb, "rows": len(out),
              "skipped": out.attrs.get("skipped", {})}
    if per_kpi:
        result["per_kpi"] = per_kpi
        result["kpi_sum"] = sum(v[0] for v in per_kpi.values())
    if args.worker == "subset_kpitools":
        out.drop(columns=[c for c in out.columns if c not in ("period", "region", "kpi", "value")]).to_pickle(
            DATA / "subset-kpitools.pkl")
    return result


def worker_naive(args: argparse.Namespace) -> dict:
    import pandas as pd

    from kpitools.kpis.compute import compute

    ds = _unpickle(args.pkl)
    data_mb = peak_mb()

    def run() -> pd.DataFrame:
        parts = []
        for r in ds.values("region"):
            part = compute(ds.filter(region=r), freq="M")
            if "region" in part.columns:  # sales_by_region already has one (the filtered region)
                part["region"] = r
            else:
                part.insert(1, "region", r)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    out, wall, cpu = _timed(run)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak_mb(), "data_mb": data_mb, "rows": len(out),
            "regions": ds.values("region")}


# --- DuckDB reference ---------------------------------------------------------------------------------

# `{deals}` / `{subs}` are table names or read_parquet(...) calls.
SQL = {
    "grid": """
        CREATE OR REPLACE TEMP TABLE grid AS
        SELECT CAST(m AS TIMESTAMP) AS month FROM range(
            (SELECT date_trunc('month', least(min(d.lo), min(s.lo))) FROM
                (SELECT least(min(created_at), min(closed_at)) AS lo FROM {deals}) d,
                (SELECT min(month) AS lo FROM {subs}) s),
            (SELECT date_trunc('month', greatest(max(d.hi), max(s.hi))) FROM
                (SELECT greatest(max(created_at), max(closed_at)) AS hi FROM {deals}) d,
                (SELECT max(month) AS hi FROM {subs}) s) + INTERVAL 1 MONTH,
            INTERVAL 1 MONTH) t(m)""",
    # revenue and win rate: won deals (and won + lost deals) closed in the month
    "deals_flow": """
        WITH regions AS (SELECT DISTINCT region FROM {deals}),
        closed AS (
            SELECT date_trunc('month', closed_at) AS month, region,
                   sum(amount) FILTER (WHERE status = 'won') AS revenue,
                   count(*) FILTER (WHERE status = 'won') AS won,
                   count(*) FILTER (WHERE status IN ('won', 'lost')) AS closed
            FROM {deals} WHERE closed_at IS NOT NULL GROUP BY ALL)
        SELECT g.month, r.region, coalesce(c.revenue, 0) AS revenue,
               CASE WHEN c.closed > 0 THEN c.won / c.closed END AS win_rate
        FROM grid g CROSS JOIN regions r
        LEFT JOIN closed c ON c.month = g.month AND c.region IS NOT DISTINCT FROM r.region""",
    # pipeline value: deals open at the end of the month (created before the next month starts, not closed
    # before it; a deal whose status is open counts as open whatever its closed_at says)
    "pipeline": """
        WITH regions AS (SELECT DISTINCT region FROM {deals}),
        spans AS (
            SELECT region, amount, CAST(created_at AS TIMESTAMP) AS opened,
                   coalesce(CAST(CASE WHEN status = 'open' THEN NULL ELSE closed_at END AS TIMESTAMP),
                            TIMESTAMP '9999-12-31') AS closed
            FROM {deals} WHERE created_at IS NOT NULL),
        open_at_end AS (
            SELECT g.month, s.region, sum(s.amount) AS pipeline_value
            FROM grid g JOIN spans s
              ON s.opened < g.month + INTERVAL 1 MONTH AND s.closed >= g.month + INTERVAL 1 MONTH
            GROUP BY ALL)
        SELECT g.month, r.region, coalesce(o.pipeline_value, 0) AS pipeline_value
        FROM grid g CROSS JOIN regions r
        LEFT JOIN open_at_end o ON o.month = g.month AND o.region IS NOT DISTINCT FROM r.region""",
    # MRR movements (ChartMogul) between months m-1 and m per customer (and region), and the customer
    # churn rate: customers paying in m-1 and not in m / customers paying in m-1
    "mrr": """
        WITH s AS (
            SELECT customer_id, region, date_trunc('month', month) AS month,
                   sum(greatest(coalesce(mrr, 0), 0)) AS mrr
            FROM {subs} WHERE customer_id IS NOT NULL AND month IS NOT NULL GROUP BY ALL),
        bounds AS (SELECT min(month) AS first, max(month) AS last FROM s),
        first_pay AS (SELECT customer_id, region, min(month) AS first_pay FROM s WHERE mrr > 0 GROUP BY ALL),
        t AS (
            SELECT customer_id, region, month FROM s
            UNION
            SELECT customer_id, region, month + INTERVAL 1 MONTH FROM s, bounds
            WHERE mrr > 0 AND month + INTERVAL 1 MONTH <= bounds.last),
        x AS (
            SELECT t.month, t.region, coalesce(c.mrr, 0) AS cur, coalesce(p.mrr, 0) AS prev,
                   f.first_pay IS NOT NULL AND t.month > f.first_pay AS paid_before
            FROM t
            LEFT JOIN s c ON c.customer_id = t.customer_id AND c.region IS NOT DISTINCT FROM t.region
                         AND c.month = t.month
            LEFT JOIN s p ON p.customer_id = t.customer_id AND p.region IS NOT DISTINCT FROM t.region
                         AND p.month = t.month - INTERVAL 1 MONTH
            LEFT JOIN first_pay f ON f.customer_id = t.customer_id AND f.region IS NOT DISTINCT FROM t.region),
        moves AS (
            SELECT month, region,
                   sum(cur) FILTER (WHERE cur > 0 AND prev = 0 AND NOT paid_before) AS new_mrr,
                   sum(cur - prev) FILTER (WHERE cur > prev AND prev > 0) AS expansion_mrr,
                   sum(prev - cur) FILTER (WHERE cur < prev AND cur > 0) AS contraction_mrr,
                   sum(prev) FILTER (WHERE cur = 0 AND prev > 0) AS churned_mrr,
                   sum(cur) FILTER (WHERE cur > 0 AND prev = 0 AND paid_before) AS reactivation_mrr
            FROM x GROUP BY ALL),
        paying AS (SELECT customer_id, region, month FROM s WHERE mrr > 0),
        churn AS (
            SELECT p.month + INTERVAL 1 MONTH AS month, p.region, count(*) AS at_start,
                   count(*) FILTER (WHERE n.customer_id IS NULL) AS lost
            FROM paying p
            LEFT JOIN paying n ON n.customer_id = p.customer_id AND n.region IS NOT DISTINCT FROM p.region
                              AND n.month = p.month + INTERVAL 1 MONTH
            GROUP BY ALL),
        regions AS (SELECT DISTINCT region FROM s)
        SELECT g.month, r.region,
               CASE WHEN g.month <= b.last THEN coalesce(m.new_mrr, 0) END AS new_mrr,
               CASE WHEN g.month <= b.last THEN coalesce(m.expansion_mrr, 0) END AS expansion_mrr,
               CASE WHEN g.month <= b.last THEN coalesce(m.contraction_mrr, 0) END AS contraction_mrr,
               CASE WHEN g.month <= b.last THEN coalesce(m.churned_mrr, 0) END AS churned_mrr,
               CASE WHEN g.month <= b.last THEN coalesce(m.reactivation_mrr, 0) END AS reactivation_mrr,
               CASE WHEN g.month <= b.last AND ch.at_start > 0 THEN ch.lost / ch.at_start END
                   AS customer_churn_rate
        FROM grid g CROSS JOIN regions r CROSS JOIN bounds b
        LEFT JOIN moves m ON m.month = g.month AND m.region IS NOT DISTINCT FROM r.region
        LEFT JOIN churn ch ON ch.month = g.month AND ch.region IS NOT DISTINCT FROM r.region""",
}
DEAL_COLUMNS = "created_at, closed_at, status, amount, region"
SUB_COLUMNS = "customer_id, month, mrr, region"


def _duckdb_queries(con, deals: str, subs: str):
    import pandas as pd

    con.execute(SQL["grid"].format(deals=deals, subs=subs))
    frames = [con.execute(SQL[q].format(deals=deals, subs=subs)).df() for q in ("deals_flow", "pipeline", "mrr")]
    tidy = []
    for f in frames:
        tidy.append(f.melt(id_vars=["month", "region"], var_name="kpi", value_name="value"))
    out = pd.concat(tidy, ignore_index=True)
    out["period"] = pd.PeriodIndex(pd.DatetimeIndex(out.pop("month")), freq="M")
    return out[["period", "region", "kpi", "value"]]


def worker_duckdb(args: argparse.Namespace) -> dict:
    import duckdb

    files = {t: str(Path(args.data) / f"{t}.parquet") for t in ("deals", "subscriptions")}
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    # (a) the queries straight over the Parquet files
    _, wall_pq, cpu_pq = _timed(lambda: _duckdb_queries(
        con, f"read_parquet('{files['deals']}')", f"read_parquet('{files['subscriptions']}')"))
    con.close()
    # (b) the columns loaded into DuckDB tables first, then the queries (the pair of the kpitools timing,
    # which starts from a Dataset in memory)
    con = duckdb.connect()

    def load() -> None:
        con.execute(f"CREATE TABLE deals AS SELECT {DEAL_COLUMNS} FROM read_parquet('{files['deals']}')")
        con.execute(f"CREATE TABLE subs AS SELECT {SUB_COLUMNS} FROM read_parquet('{files['subscriptions']}')")

    _, wall_load, cpu_load = _timed(load)
    out, wall, cpu = _timed(lambda: _duckdb_queries(con, "deals", "subs"))
    out.to_pickle(DATA / "subset-duckdb.pkl")
    return {"wall": wall, "cpu": cpu, "load_wall": wall_load, "load_cpu": cpu_load, "parquet_wall": wall_pq,
            "parquet_cpu": cpu_pq, "peak_mb": peak_mb(), "rows": len(out), "threads": threads}


WORKERS = {"load": worker_load, "month": worker_compute, "month_region": worker_compute,
           "subset_kpitools": worker_compute, "naive": worker_naive, "subset_duckdb": worker_duckdb}


# ----------------------------------------------------------------------------- driver

def run_worker(name: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--scale", args.scale]
    load = os.getloadavg()[0]
    print(f"  {name} ...", end="", flush=True, file=sys.stderr)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        print(" failed", file=sys.stderr)
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker {name} failed")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_avg"] = load
    print(f" {result['wall']:.2f} s wall, {result['cpu']:.2f} s CPU, peak {result['peak_mb']:.0f} MB"
          f" (load average {load:.1f})", file=sys.stderr)
    return result


def best(name: str, args: argparse.Namespace) -> dict:
    """The run with the least wall time of --repeat runs (each in a fresh process)."""
    runs = [run_worker(name, args) for _ in range(args.repeat)]
    out = min(runs, key=lambda r: r["wall"])
    out["walls"] = [r["wall"] for r in runs]
    return out


def ensure_data(args: argparse.Namespace) -> None:
    from kpitools.data.sample import write_sample

    if not (Path(args.data) / "dataset.yml").is_file():
        print(f"writing the {args.scale} sample to {args.data} ...", file=sys.stderr)
        t = time.perf_counter()
        write_sample(args.data, scale=args.scale, format="parquet")
        print(f"  {time.perf_counter() - t:.1f} s", file=sys.stderr)


def compare_subset() -> tuple[int, int, list[str], dict[str, int]]:
    """Cells compared, cells equal, mismatch descriptions, rows found on one side only (per side)."""
    import numpy as np
    import pandas as pd

    k = pd.read_pickle(DATA / "subset-kpitools.pkl")
    d = pd.read_pickle(DATA / "subset-duckdb.pkl")
    k = k.assign(region=k["region"].astype(object).where(k["region"].notna(), None))
    d = d.assign(region=d["region"].astype(object).where(d["region"].notna(), None))
    m = k.merge(d, on=["period", "region", "kpi"], how="outer", suffixes=("_kpitools", "_sql"), indicator=True)
    one_side = {"kpitools only": int((m["_merge"] == "left_only").sum()),
                "SQL only": int((m["_merge"] == "right_only").sum())}
    both = m[m["_merge"] == "both"]
    a = both["value_kpitools"].to_numpy(dtype=float)
    b = both["value_sql"].to_numpy(dtype=float)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    close = np.abs(a - b) <= RTOL * np.maximum(np.abs(a), np.abs(b))
    ok = (nan_a & nan_b) | (~nan_a & ~nan_b & close)
    bad = both[~ok]
    lines = []
    for kid, g in bad.groupby("kpi"):
        ex = g.iloc[0]
        lines.append(f"{kid}: {len(g)} cells differ, e.g. {ex['period']} {ex['region']}: "
                     f"kpitools {ex['value_kpitools']!r} vs SQL {ex['value_sql']!r}")
    return len(both), int(ok.sum()), lines, one_side


def machine() -> dict:
    import duckdb
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GB"
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kpitools"], capture_output=True,
                               text=True, cwd=ROOT).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except OSError:
        commit = "?"
    return {"cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "model": model, "memory": mem,
            "python": platform.python_version(), "pandas": pd.__version__, "numpy": np.__version__,
            "pyarrow": pa.__version__, "duckdb": duckdb.__version__, "commit": commit,
            "platform": platform.platform()}


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def report(args: argparse.Namespace, r: dict, cmp: tuple, facts: dict, loads: tuple[float, float]) -> str:
    month, mr, naive = r["month"], r["month_region"], r["naive"]
    sk, sd = r["subset_kpitools"], r["subset_duckdb"]
    n_cmp, n_ok, mismatches, one_side = cmp
    lines = [
        f"# KPI engine benchmark ({args.scale} sample)",
        "",
        f"Written by `bench/kpis.py --scale {args.scale}` on {time.strftime('%Y-%m-%d %H:%M')}. "
        f"Each row ran in a fresh process; wall time is the best of {args.repeat} run(s) "
        f"(all runs: see 'runs'). Peak RSS is the process's maximum resident set, dataset included; "
        f"'data' is the peak right after loading the pickled Dataset, before computing.",
        "",
        "## Machine",
        "",
        f"- CPUs: {facts['cpus']} ({facts['usable_cpus']} usable by this process), {facts['model']}; "
        f"memory {facts['memory']}",
        f"- load average at start / end of the run: {loads[0]:.2f} / {loads[1]:.2f} (other jobs share the "
        f"machine: wall times above CPU times mean the process waited for a core)",
        f"- Python {facts['python']}, pandas {facts['pandas']}, numpy {facts['numpy']}, pyarrow "
        f"{facts['pyarrow']}, DuckDB {facts['duckdb']} ({sd.get('threads')} threads); kpitools runs on one "
        f"thread",
        f"- code: {facts['commit']}",
        "",
        "## Data",
        "",
    ]
    if "load" in r:
        ld = r["load"]
        rows = ", ".join(f"{n} {v:,}" for n, v in ld["rows"].items())
        lines += [f"Rows: {rows}.", "",
                  f"`kpitools.load` (read Parquet, map, parse, validate): **{ld['wall']:.1f} s** wall "
                  f"({ld['cpu']:.1f} s CPU), peak RSS {ld['peak_mb']:.0f} MB; the loaded Dataset holds "
                  f"{ld['memory_mb']:.0f} MB.", ""]
    else:
        lines += ["`kpitools.load` not measured in this run (--reuse-load: the pickled Dataset of an earlier "
                  "run was used).", ""]
    lines += [
        "## Results",
        "",
        "| measurement | wall s | CPU s | peak RSS MB | data MB | rows out | ratio | runs (wall s) |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]

    def row(name: str, x: dict, ratio: str = "") -> str:
        runs = ", ".join(f"{w:.2f}" for w in x.get("walls", [x["wall"]]))
        return (f"| {name} | {x['wall']:.2f} | {x['cpu']:.2f} | {x['peak_mb']:.0f} | "
                f"{x.get('data_mb', 0):.0f} | {x['rows']:,} | {ratio} | {runs} |")

    lines += [
        row("kpitools: whole catalogue, by month", month),
        row("kpitools: whole catalogue, by month x region", mr,
            f"naive / kpitools = {fmt_ratio(naive['wall'], mr['wall'])}"),
        row(f"naive: filter each region, compute, concat ({len(naive['regions'])} regions)", naive,
            f"{fmt_ratio(naive['wall'], mr['wall'])} of kpitools"),
        row("kpitools: SQL-covered KPIs by month x region", sk,
            f"kpitools / DuckDB = {fmt_ratio(sk['wall'], sd['wall'])}"),
        f"| DuckDB: same KPIs, tables in memory (queries only) | {sd['wall']:.2f} | {sd['cpu']:.2f} | "
        f"{sd['peak_mb']:.0f} | | {sd['rows']:,} | | {', '.join(f'{w:.2f}' for w in sd['walls'])} |",
        f"| DuckDB: loading those Parquet columns into tables | {sd['load_wall']:.2f} | {sd['load_cpu']:.2f} | "
        f"| | | | |",
        f"| DuckDB: same queries straight over read_parquet() | {sd['parquet_wall']:.2f} | "
        f"{sd['parquet_cpu']:.2f} | | | | kpitools / DuckDB = {fmt_ratio(sk['wall'], sd['parquet_wall'])} | |",
        "",
        "Targets (issue): whole catalogue by month x region under 10 s on 2 cores, peak memory under 4 GB, "
        "within 2x of the DuckDB reference for the KPIs it covers.",
        "",
        f"- month x region: {mr['wall']:.2f} s wall ({mr['cpu']:.2f} s CPU): "
        f"{'met' if mr['wall'] < 10 else 'NOT met'}",
        f"- peak memory of the catalogue runs: {max(month['peak_mb'], mr['peak_mb']) / 1024:.2f} GB: "
        f"{'met' if max(month['peak_mb'], mr['peak_mb']) < 4096 else 'NOT met'}"
        + (f" (`kpitools.load` itself peaks at {r['load']['peak_mb'] / 1024:.2f} GB"
           f"{', over 4 GB' if r['load']['peak_mb'] >= 4096 else ''})" if "load" in r else ""),
        f"- vs DuckDB (tables in memory): {fmt_ratio(sk['wall'], sd['wall'])}: "
        f"{'met' if sk['wall'] <= 2 * sd['wall'] else 'NOT met'}",
        "",
        "## kpitools vs DuckDB: values",
        "",
        f"KPIs: {', '.join(SUBSET)}, by month x region. Cells compared: {n_cmp:,}; equal within "
        f"{RTOL:g} relative (or both NaN): {n_ok:,}; rows on one side only: "
        f"{', '.join(f'{k} {v}' for k, v in one_side.items())}.",
        "",
    ]
    lines += ([f"- MISMATCH {m}" for m in mismatches] if mismatches else ["No mismatch."])
    skipped = mr.get("skipped") or {}
    lines += [
        "",
        "## Time per KPI, whole catalogue by month x region (15 slowest)",
        "",
        f"Sum over all KPIs {mr.get('kpi_sum', 0):.2f} s of {mr['wall']:.2f} s; the rest "
        f"({mr['wall'] - mr.get('kpi_sum', 0):.2f} s) is compute() stacking, sorting and typing the "
        f"{mr['rows']:,} output rows. A KPI computed inside another (the leaderboard's measures) counts in "
        f"its caller; caches shared across KPIs (period and group codes per column, the subscriptions "
        f"engine) are paid by the first KPI that needs them.",
        "",
        "| KPI | wall s | CPU s |",
        "|---|---:|---:|",
    ]
    for kid, (w, c) in sorted(mr.get("per_kpi", {}).items(), key=lambda kv: -kv[1][0])[:15]:
        lines.append(f"| {kid} | {w:.3f} | {c:.3f} |")
    if skipped:
        lines += ["", "Skipped by compute: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()) + "."]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="large", choices=["small", "medium", "large"])
    p.add_argument("--out", default=str(ROOT / "bench" / "results-kpis.md"))
    p.add_argument("--repeat", type=int, default=1, help="runs per measurement (the best is reported)")
    p.add_argument("--reuse-load", action="store_true",
                   help="skip timing kpitools.load and reuse the pickled Dataset of an earlier run")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.data = str(DATA / args.scale)
    args.pkl = DATA / f"{args.scale}.pkl"
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return
    DATA.mkdir(parents=True, exist_ok=True)
    ensure_data(args)
    facts = machine()
    start_load = os.getloadavg()[0]
    results: dict[str, dict] = {}
    if not (args.reuse_load and args.pkl.is_file()):
        results["load"] = run_worker("load", args)
    for name in ("month", "month_region", "naive", "subset_kpitools", "subset_duckdb"):
        results[name] = best(name, args)
    cmp = compare_subset()
    text = report(args, results, cmp, facts, (start_load, os.getloadavg()[0]))
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    print(text)


if __name__ == "__main__":
    main()
