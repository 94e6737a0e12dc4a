"""`run_batch(spec)`: one notebook x many parameter sets -> reports, manifest, portal.

    code = run_batch("params/demo.yml", workers=2)   # 0 all ok, 1 some failed
                                                     # bad input raises BatchError (exit 2)
                                                     # Ctrl-C/SIGTERM: KeyboardInterrupt (exit 130)

Steps, each in one place:
1. load_batch (spec.py): read and check the spec against the notebook (nothing runs on bad input);
2. plan, here: fingerprint each run (notebook, parameters, kpitools version, data files) and
   skip the ones whose last result matches and whose HTML exists (`force` redoes);
3. start the executor's workers (executors.py, worker.py; their kernels warm up meanwhile), load
   the data once and write a Parquet copy to `<output>/.cache/` that every run reads (prepared.py);
4. execute the runs (run.py), updating `manifest.json` and `index.html` (manifest.py, portal.py)
   as each finishes, with progress on the terminal (progress.py).

When the batch is stopped (Ctrl-C, SIGTERM) the workers and their kernels are killed,
the manifest and portal record the finished runs and mark the others "interrupted",
and KeyboardInterrupt goes on up; the next run of the same spec does only what is missing.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kpitools.data.problems import Problem
from kpitools.files import atomic_write_text, read_json, remove_temporaries

from . import executors
from .deliver import check_delivery
from .deliver import deliver as send_mail
from .deliver import report as report_mail
from .errors import BatchError
from .fork_server import DATA_PREFIX, SHARED_PREFIX, fast_start
from .kernels import imports_of
from .manifest import (
    MANIFEST,
    PORTAL,
    RUNS_DIR,
    kpitools_version,
    manifest_entry,
    pdf_path,
    relative_to_cwd,
    write_outputs,
)
from .prepared import CACHE_DIR, data_fingerprint, prepare_data, prepared_folder
from .progress import Reporter
from .run import RESULT_FILE, RunResult, RunTask, execute_run
from .spec import Batch, Run, load_batch, select
from .worker import init_worker

SHARED_RUNS = "shared-runs.json"  # in the cache folder: the runs whose shared KPIs the fork servers compute
# Imported ahead in every kernel, on top of the notebook's own imports.
WARMUP_ALWAYS = ("pandas",)


def run_batch(spec_path: str | Path, *, workers: int | None = None, executor: str = "local",
              scheduler: str | None = None, only: Iterable[str] = (), force: bool = False,
              retries: int | None = None, timeout: float | None = None, progress: bool = True,
              today: dt.date | None = None, deliver: bool = True, outbox: Path | None = None) -> int:
    """Run a batch spec; returns the exit code (0 all ok or skipped, 1 some runs failed or some mail
    could not be sent).

    With a `deliver:` block the reports are e-mailed after the runs (deliver.py): `outbox` writes the
    messages there as .eml files instead, `deliver=False` skips them. A mail server that refuses or
    cannot be reached fails the delivery, not the reports: they stay, the manifest lists the unsent
    messages and the next run sends just those.

    Bad input (spec, notebook parameters, data, options, an output folder that cannot be
    written) raises BatchError before anything runs. Ctrl-C or SIGTERM raise KeyboardInterrupt
    once the manifest says what finished. 1 also when the manifest cannot be written (disk full).
    `today` fixes the date relative periods resolve against (tests).
    """
    started = time.perf_counter()
    # Everything, the data and each run's scope and period included, is checked before the
    # output folder is created: bad input writes nothing.
    batch = load_batch(spec_path, today=today, check_data=True)
    runs = select(batch, tuple(only))
    kernel = batch.spec.kernel or _kernel_name(batch.notebook)
    workers, retries, timeout = _check_options(batch, kernel, executor=executor, workers=workers,
                                               retries=retries, timeout=timeout)
    mailing = batch.spec.deliver is not None and deliver
    if batch.spec.deliver is not None or outbox is not None:
        check_delivery(batch, enabled=deliver, outbox=outbox)
    data_prints = {v: data_fingerprint(v) for v in _data_values(runs)}
    with _exclusive(batch), _sigterm_interrupts():
        _remove_temporaries(batch)  # left by a batch that was killed mid-write
        records, todo = _plan(batch, runs, kernel, data_prints, force)
        state: dict[str, Any] = {"batch": batch, "runs": batch.runs, "records": records,
                                 "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        fast, why = fast_start(kernel)
        # The fork server saves seconds per report: when it cannot be used the batch still runs, and says why.
        state["fast_start"] = {"enabled": fast, **({"reason": why} if why else {})}
        if todo and not fast:
            print(f"warning: kernels start the slow way (no fork server): {why}", file=sys.stderr, flush=True)
        reporter = Reporter(total=len(runs), skipped=len(runs) - len(todo), enabled=progress)
        if todo:
            _execute(batch, todo, state, reporter, kernel=kernel, data_prints=data_prints, executor=executor,
                     scheduler=scheduler, workers=min(workers, len(todo)), retries=retries, timeout=timeout)
        sent = None
        if mailing:  # after the runs, so that a mail server's trouble never costs a report
            sent = send_mail(batch, runs, state["records"], outbox=outbox)
            state["delivery"] = sent.manifest()
            if progress:
                report_mail(sent, batch.root)
        elif batch.spec.deliver is not None:
            state["delivery"] = {"mode": "off"}
        try:
            write_outputs(**state, complete=True)
        except OSError as e:  # e.g. the disk is full: the runs' own files say what happened
            print(f"error: cannot write {relative_to_cwd(batch.root / MANIFEST)} and {PORTAL}: {e.strerror or e}",
                  file=sys.stderr, flush=True)
            return 1
    chosen = [records[r.id] for r in runs]
    reporter.summary(chosen, batch.root, time.perf_counter() - started)
    return 1 if any(r["status"] == "failed" for r in chosen) or (sent is not None and sent.unsent) else 0


INTERRUPTED = "interrupted: the batch was stopped before this run finished"


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the batch) is handled like Ctrl-C: a clean stop, not a sudden death
    that would leave workers running. Only the main thread can set signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """No second Ctrl-C/SIGTERM while stopping: the clean-up takes well under a second."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _remove_temporaries(batch: Batch) -> None:
    """Temporary files of atomic writes cut short by a kill, in every folder a batch writes to
    (never elsewhere: the output root may be the project folder)."""
    folders = {batch.root, *((batch.root / r.html).parent for r in batch.runs)}
    runs = batch.root / RUNS_DIR
    folders.update(runs / r.id for r in batch.runs)
    for folder in folders:
        remove_temporaries(folder)
    for tmp in (batch.root / CACHE_DIR).glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _exclusive(batch: Batch) -> Iterator[None]:
    """One batch at a time per output folder (cron runs that overlap would share run folders)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    try:
        (batch.root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        lock = open(batch.root / RUNS_DIR / ".lock", "a+")
    except OSError as e:
        raise BatchError([Problem(f"cannot write to the output folder {relative_to_cwd(batch.root)}: "
                                  f"{e.strerror or e}" + (f" ({e.filename})" if e.filename else ""),
                                  file=str(batch.spec_path),
                                  hint="make it a folder you may write to (a file may be in the way), "
                                       "or change `output:`")]) from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError([Problem(f"another kpitools run is writing {relative_to_cwd(batch.root)}",
                                      file=str(batch.spec_path),
                                      hint="wait for it to finish (or stop it), then run again")]) from None
        yield


def _data_values(runs: list[Run]) -> list[str]:
    return sorted({str(r.parameters["data"]) for r in runs if r.parameters.get("data")})


def _plan(batch: Batch, runs: list[Run], kernel: str, data_prints: dict[str, str],
          force: bool) -> tuple[dict[str, dict[str, Any]], list[tuple[Run, str]]]:
    """Manifest records of what needs no work, and the (run, fingerprint) pairs to execute.

    A selected run is skipped when its last result is ok with the same fingerprint and
    its HTML exists. Runs left out by `only` keep their last result in the manifest."""
    notebook_hash = hashlib.sha256(batch.notebook.read_bytes()).hexdigest()
    chosen = {r.id for r in runs}
    records: dict[str, dict[str, Any]] = {}
    todo: list[tuple[Run, str]] = []
    for run in batch.runs:
        previous = read_json(batch.root / RUNS_DIR / run.id / RESULT_FILE)
        fresh = (isinstance(previous, dict) and previous.get("status") == "ok"
                 and (batch.root / run.html).is_file()
                 and (not batch.spec.pdf or (batch.root / pdf_path(run.html)).is_file()))
        if run.id not in chosen:
            if isinstance(previous, dict):
                records[run.id] = manifest_entry(batch, run, previous, status="skipped" if fresh else "failed")
            continue
        fp = run_fingerprint(notebook_hash, run, data_prints.get(str(run.parameters.get("data"))), kernel)
        if fresh and not force and previous.get("fingerprint") == fp:
            records[run.id] = manifest_entry(batch, run, previous, status="skipped")
        else:
            todo.append((run, fp))
    return records, todo


def _execute(batch: Batch, todo: list[tuple[Run, str]], state: dict[str, Any], reporter: Reporter, *,
             kernel: str, data_prints: dict[str, str], executor: str, scheduler: str | None, workers: int,
             retries: int, timeout: float | None) -> None:
    """Start the workers, prepare the data meanwhile, run `todo`, record each result."""
    records = state["records"]
    warmup = tuple(dict.fromkeys([*WARMUP_ALWAYS, *imports_of(batch.notebook), *batch.spec.warmup]))
    # The prepared data, loaded once per worker's fork server: its kernels find it in kpitools.load's cache.
    warmup += tuple(f"{DATA_PREFIX}{prepared_folder(batch.root / CACHE_DIR, fp) / 'dataset.yml'}"
                    for fp in data_prints.values())
    # What the reports share (a report notebook's KPIs for all its scopes): each fork server computes it once,
    # with the data it has loaded, before it forks kernels (kpitools.report.prime), from the runs' parameters
    # as their kernels get them (data: the prepared copy), in a file (a command line has a length limit).
    if "kpitools.report" in warmup:
        shared = [{**r.parameters, **({"data": str(prepared_folder(batch.root / CACHE_DIR,
                                                                    data_prints[str(r.parameters["data"])]))}
                                      if r.parameters.get("data") else {})} for r, _ in todo]
        runs_file = batch.root / CACHE_DIR / SHARED_RUNS
        with contextlib.suppress(OSError):  # only an optimisation
            atomic_write_text(runs_file, json.dumps(shared, default=str))
            warmup += (f"{SHARED_PREFIX}{runs_file}",)
    init = (init_worker, (kernel, warmup, str(batch.root / RUNS_DIR)))
    ex = executors.get_executor(executor, workers=workers, scheduler=scheduler, init=init)
    try:
        ex.start()
    except Exception as e:  # e.g. no Dask scheduler at that address
        raise BatchError([Problem(f"cannot start the {executor} executor: {e}", file=str(batch.spec_path),
                                  hint="check --scheduler, or use --executor local")]) from None
    try:
        # The workers' kernels boot while the data is read once, here.
        prepared = {v: prepare_data(v, batch.root / CACHE_DIR, fp) for v, fp in data_prints.items()}
    except BaseException:  # bad data: nothing has run, nothing is written
        ex.close(cancel=True)
        raise
    tasks = [_task(batch, run, fp, prepared, state["generated_at"], kernel, warmup, retries, timeout,
                   prestart=i < len(todo) - workers) for i, (run, fp) in enumerate(todo)]
    by_id = {run.id: run for run, _ in todo}
    flushed = time.monotonic()
    reporter.start()
    try:
        for task, outcome in ex.map_unordered(execute_run, tasks):
            if not isinstance(outcome, RunResult):  # the worker itself died
                error = str(outcome) if isinstance(outcome, executors.WorkerDied) else f"worker failed: {outcome!r}"
                outcome = RunResult(id=task.id, status="failed", error=error, fingerprint=task.fingerprint)
            records[task.id] = manifest_entry(batch, by_id[task.id], outcome.__dict__)
            reporter.advance(by_id[task.id], records[task.id])
            if time.monotonic() - flushed > 1:  # the portal shows progress; not rewritten per run
                with contextlib.suppress(OSError):  # disk full: the final write reports it
                    write_outputs(**state, complete=False)
                flushed = time.monotonic()
    except BaseException:  # Ctrl-C, SIGTERM: stop the runs, say what finished
        with _uninterrupted():
            reporter.stop()
            ex.close(cancel=True)
            for run, _ in todo:
                records.setdefault(run.id, manifest_entry(batch, run, {"status": "failed", "error": INTERRUPTED}))
            _remove_temporaries(batch)  # a killed worker may have been writing
            with contextlib.suppress(OSError):
                write_outputs(**state, complete=False)
            reporter.interrupted(batch.root)
        raise
    reporter.stop()
    ex.close()


def _check_options(batch: Batch, kernel: str, *, executor: str, workers: int | None, retries: int | None,
                   timeout: float | None) -> tuple[int, int, float | None]:
    problems = []
    where = str(batch.spec_path)
    if executor not in executors.EXECUTORS:
        problems.append(Problem(f"unknown executor {executor!r}", file=where,
                                hint=f"use one of {', '.join(executors.EXECUTORS)}"))
    if workers is not None and workers < 1:
        problems.append(Problem(f"--workers {workers}: needs at least 1", file=where))
    if retries is not None and retries < 0:
        problems.append(Problem(f"--retries {retries}: cannot be negative", file=where))
    if timeout is not None and timeout <= 0:
        problems.append(Problem(f"--timeout {timeout}: must be more than 0 seconds", file=where))
    try:
        from jupyter_client.kernelspec import get_kernel_spec

        get_kernel_spec(kernel)
    except Exception:
        problems.append(Problem(f"no Jupyter kernel named {kernel!r} on this machine", file=where,
                                hint="set `kernel:` in the spec (see `jupyter kernelspec list`), or install "
                                     "one: python -m ipykernel install --sys-prefix --name python3"))
    if problems:
        raise BatchError(problems)
    return (workers or batch.spec.workers or executors.default_workers(),
            batch.spec.retries if retries is None else retries,
            batch.spec.timeout if timeout is None else timeout)


def _kernel_name(notebook: Path) -> str:
    try:
        return json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["kernelspec"]["name"]
    except (KeyError, TypeError, ValueError):
        return "python3"


def _task(batch: Batch, run: Run, fp: str, prepared: dict[str, tuple[str, str | None]], generated_at: str,
          kernel: str, warmup: tuple[str, ...], retries: int, timeout: float | None, prestart: bool) -> RunTask:
    params = dict(run.parameters)
    freshness = None
    if params.get("data"):
        params["data"], freshness = prepared[str(params["data"])]
    return RunTask(id=run.id, notebook=str(batch.notebook), parameters=params,
                   run_dir=str(batch.root / RUNS_DIR / run.id), html=str(batch.root / run.html), fingerprint=fp,
                   pdf=str(batch.root / pdf_path(run.html)) if batch.spec.pdf else None,
                   title=run.title, scope=run.scope,
                   period=str(run.parameters["period"]) if run.parameters.get("period") else None,
                   data_freshness=freshness, generated_at=generated_at, timeout=timeout, retries=retries,
                   kernel=kernel, warmup=warmup, prestart=prestart)


def run_fingerprint(notebook_hash: str, run: Run, data_print: str | None, kernel: str) -> str:
    """What a run's result depends on: unchanged fingerprint + existing HTML = nothing to do."""
    payload = {"notebook": notebook_hash, "parameters": run.parameters, "kpitools": kpitools_version(),
               "data": data_print, "kernel": kernel, "title": run.title, "scope": run.scope}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
