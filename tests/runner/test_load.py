"""Load: a 200-run batch on the medium sample, 2 workers, with bounded memory and nothing left behind.

The notebook is a light stand-in (tests/fixtures/batch/light.ipynb: load the dataset, four KPIs for
one team and month, a table, a headline): the real sales report takes several seconds per run, far
too long for 200 runs in CI. Everything else is the real runner: process-pool workers, fork servers,
a fresh kernel per run, the data prepared once as Parquet, nbconvert rendering, manifest and portal.

A thread samples the whole process tree (this process, its workers, their fork servers and kernels)
every SAMPLE seconds: resident memory (RSS, which counts pages that forked kernels share with their
fork server once per process) and proportional memory (PSS, shared pages split between the processes:
the machine's real cost), live kernels, and each worker's memory and open file descriptors. The
measurements go to test-artifacts/load.json (docs/reliability.md quotes them).
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import pytest

from kpitools.runner.batch import run_batch

NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "light.ipynb"
ARTIFACT = Path(__file__).parents[2] / "test-artifacts" / "load.json"
MONTHS = [f"2026-{m:02d}" for m in range(1, 11)]
TEAMS = 20  # x 10 months = 200 runs
WORKERS = 2
SAMPLE = 0.25
MB = 2**20


@dataclass
class Sample:
    t: float
    done: int            # runs finished (result.json written)
    rss: int             # whole tree, bytes
    pss: int
    kernels: int         # kernel processes alive
    workers: dict[int, tuple[int, int]] = field(default_factory=dict)  # pid -> (rss, open fds)


class Sampler(threading.Thread):
    def __init__(self, runs: Path) -> None:
        super().__init__(daemon=True)
        self.runs, self.samples, self.halt = runs, [], threading.Event()
        self.me = psutil.Process()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.halt.wait(SAMPLE):
            rss = pss = kernels = 0
            workers: dict[int, tuple[int, int]] = {}
            servers: set[int] = set()
            tree = self.me.children(recursive=True)
            for p in [self.me, *tree]:
                try:
                    mem = p.memory_full_info()
                    rss, pss = rss + mem.rss, pss + mem.pss
                    cmd = " ".join(p.cmdline())
                    if p.ppid() == self.me.pid and "spawn_main" in cmd:
                        workers[p.pid] = (mem.rss, p.num_fds())
                    elif "_fork_server_main" in cmd and p.ppid() in workers:
                        servers.add(p.pid)
                    elif p.ppid() in servers or "ipykernel_launcher" in cmd:
                        kernels += 1
                except psutil.Error:  # exited while we looked
                    continue
            done = sum(1 for _ in self.runs.glob("*/result.json")) if self.runs.is_dir() else 0
            self.samples.append(Sample(round(time.monotonic() - t0, 2), done, rss, pss, kernels, workers))


def _fds() -> dict[int, str]:
    """This process's open file descriptors and what they point at."""
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the descriptor listdir itself used
            pass
    return out


def _window(samples: list[Sample], low: int, high: int) -> list[Sample]:
    return [s for s in samples if low <= s.done < high]


def test_200_runs_on_the_medium_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kpitools.data.sample import write_sample

    write_sample(tmp_path / "data", scale="medium", end="2026-10")
    import pandas as pd

    teams = sorted(pd.read_csv(tmp_path / "data" / "deals.csv", usecols=["team"])["team"].unique())[:TEAMS]
    assert len(teams) == TEAMS
    (tmp_path / "spec.yml").write_text(
        f"notebook: {NOTEBOOK}\noutput: out/{{period}}/{{team}}.html\nparameters: {{data: data}}\n"
        f"grid:\n  team: {json.dumps(teams)}\n  period: {json.dumps(MONTHS)}\ntimeout: 300\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    me = psutil.Process()
    fds_before, files_before = _fds(), sorted(f.path for f in me.open_files())
    children_before = {p.pid for p in me.children(recursive=True)}

    sampler = Sampler(tmp_path / "out" / ".runs")
    sampler.start()
    started = time.perf_counter()
    code = run_batch(tmp_path / "spec.yml", workers=WORKERS, executor="local", progress=False)
    seconds = time.perf_counter() - started
    sampler.halt.set()
    sampler.join()

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert code == 0 and manifest["counts"] == {"ok": 200, "failed": 0, "skipped": 0}
    assert len(list((tmp_path / "out").glob("2026-*/*.html"))) == 200
    # nothing left behind: no process, no open file, no file descriptor
    deadline = time.monotonic() + 15
    while (left := [p for p in me.children(recursive=True) if p.pid not in children_before
                    and "resource_tracker" not in " ".join(p.cmdline())]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []
    stray = [p.pid for p in psutil.process_iter(["cwd", "cmdline"]) if p.pid != me.pid
             and (p.info["cwd"] or "").startswith(str(tmp_path))
             and "resource_tracker" not in " ".join(p.info["cmdline"] or [])]  # this process's, for its life
    assert stray == []
    fds_after, files_after = _fds(), sorted(f.path for f in me.open_files())
    assert files_after == files_before
    new = {fd: target for fd, target in fds_after.items() if fds_before.get(fd) != target}
    # once per process, not per batch: multiprocessing's resource tracker pipe, its own wake-up pipes
    assert len(new) <= 3, new  # one leaked per run would be 200

    samples = sampler.samples
    assert len(samples) > 20
    early, late = _window(samples, 10, 60), _window(samples, 150, 200)
    assert early and late
    peak = max(samples, key=lambda s: s.pss)
    result = {
        "runs": 200, "workers": WORKERS, "wall_s": round(seconds, 1), "runs_per_s": round(200 / seconds, 2),
        "peak_rss_mb": round(max(s.rss for s in samples) / MB), "peak_pss_mb": round(peak.pss / MB),
        "peak_pss_at_run": peak.done,
        "peak_pss_runs_10_60_mb": round(max(s.pss for s in early) / MB),
        "peak_pss_runs_150_200_mb": round(max(s.pss for s in late) / MB),
        "worker_rss_runs_10_60_mb": round(max(r for s in early for r, _ in s.workers.values()) / MB),
        "worker_rss_runs_150_200_mb": round(max(r for s in late for r, _ in s.workers.values()) / MB),
        "worker_fds_runs_10_60": max(f for s in early for _, f in s.workers.values()),
        "worker_fds_runs_150_200": max(f for s in late for _, f in s.workers.values()),
        "max_kernels_alive": max(s.kernels for s in samples),
        "parent_fds_before_after": [len(fds_before), len(fds_after)],
        "cpus": len(os.sched_getaffinity(0)), "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps({**result, "samples": [asdict(s) for s in samples]}, indent=1) + "\n")
    print(json.dumps(result))
    # memory does not grow with the number of runs (no leak per run in workers, fork servers, kernels)
    assert result["peak_pss_runs_150_200_mb"] <= result["peak_pss_runs_10_60_mb"] * 1.2 + 100
    assert result["worker_rss_runs_150_200_mb"] <= result["worker_rss_runs_10_60_mb"] * 1.2 + 50
    assert result["worker_fds_runs_150_200"] <= result["worker_fds_runs_10_60"] + 5
    # at most a running and a ready kernel per worker (plus one shutting down)
    assert result["max_kernels_alive"] <= 3 * WORKERS
    assert result["peak_pss_mb"] < 4096  # documented bound, docs/reliability.md
