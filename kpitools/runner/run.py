"""One batch run, in a worker process: execute the notebook in a fresh kernel, render it.

`execute_run(task)` never raises: whatever happens ends in a `RunResult`. Each
attempt gets a kernel of its own (a kernel runs exactly one notebook), in the
run's own folder (`<output>/.runs/<run-id>/`), which keeps the executed notebook
(partial when it failed), `log.txt`, `error.txt`, `headline.json` and `result.json`.

Speed: starting a kernel and importing pandas, matplotlib and kpitools costs far
more than a report's own work. So
- each worker has a fork server (fork_server.py): a process that imports IPython, ipykernel and
  the notebook's modules once, then forks a fresh kernel process per run (under
  a second instead of several, and the CPU is not spent again per report);
- each worker keeps the next kernel ready (kernels.py): started while the previous run
  executes, with the notebook's modules imported (no names bound, so the notebook
  sees a clean namespace);
- rendering happens in the worker with one HTML exporter per process.
"""
from __future__ import annotations

import contextlib
import functools
import math
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..files import atomic_write_text, write_json
from ..masking import mask_parameters, scrubber
from ..report.headline import HEADLINE_FILE, read_headline
from .kernels import POOL, START_TIMEOUT

EXECUTED = "notebook.ipynb"
LOG = "log.txt"
ERROR = "error.txt"
RESULT_FILE = "result.json"  # written last: with status ok (and the HTML), a re-run skips the run


@dataclass
class RunTask:
    """Everything a worker needs for one run (picklable; paths are absolute)."""

    id: str
    notebook: str
    parameters: dict[str, Any]          # as injected (data may point at the prepared copy)
    run_dir: str
    html: str
    fingerprint: str = ""
    pdf: str | None = None              # also write this PDF of the report (`pdf: true`)
    title: str | None = None
    scope: str | None = None
    period: str | None = None
    data_freshness: str | None = None
    generated_at: str | None = None
    timeout: float | None = None        # seconds per attempt
    retries: int = 0
    backoff: float = 1.0                # seconds before the 2nd attempt, doubling after
    kernel: str = "python3"
    warmup: tuple[str, ...] = ()
    prestart: bool = True               # warm the next kernel while this run executes


@dataclass
class RunResult:
    id: str
    status: str                          # ok | failed
    error: str | None = None
    seconds: float = 0.0
    attempts: int = 0
    headline: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    fingerprint: str = ""


class RunFailed(Exception):
    """One attempt failed; the message is the one-line error the portal shows."""


def execute_run(task: RunTask) -> RunResult:
    """Run one parameter set (with retries) and render it; never raises (bar KeyboardInterrupt).

    Secrets among the parameters are masked in everything written here: the executed
    notebook (outputs included), log.txt, error.txt, headline.json, the result and the HTML."""
    started, t0 = _now(), time.perf_counter()
    run_dir = Path(task.run_dir)
    scrub = scrubber(task.parameters)
    error, attempts, headline = None, 0, {}
    try:
        shutil.rmtree(run_dir, ignore_errors=True)  # a re-run starts clean; attempts of this run share it
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        error = f"cannot create the run folder {run_dir}: {e.strerror or e}"
    log = functools.partial(_log, run_dir, scrub=scrub)
    for attempt in range(1, task.retries + 2) if error is None else ():
        attempts = attempt
        if attempt > 1:
            delay = task.backoff * 2 ** (attempt - 2)
            log(f"retrying in {delay:g} s")
            time.sleep(delay)
        log(f"attempt {attempt} of {task.retries + 1} started {_now()}")
        try:
            _attempt(task, run_dir, scrub, log)
            error = None
            break
        except RunFailed as e:
            error = str(e)
        except Exception as e:  # the runner's own trouble (kernel would not start...): still isolated
            error = f"{type(e).__name__}: {e}"
            log(traceback.format_exc())
        error = scrub(error)
        log(f"attempt {attempt} failed: {error}")
    if (run_dir / HEADLINE_FILE).is_file():  # the kernel wrote it, with whatever the notebook gave it
        headline = scrub(read_headline(run_dir))
        with contextlib.suppress(OSError):
            write_json(run_dir / HEADLINE_FILE, headline)
        headline = {} if error else headline
    result = RunResult(id=task.id, status="failed" if error else "ok", error=error,
                       seconds=round(time.perf_counter() - t0, 2), attempts=attempts, headline=headline,
                       started_at=started, finished_at=_now(), fingerprint=task.fingerprint)
    try:
        if error:
            atomic_write_text(run_dir / ERROR, error + "\n")
        # Written last: its presence with status ok (and the HTML) is what lets a re-run skip this one.
        write_json(run_dir / RESULT_FILE, asdict(result))
    except OSError as e:  # e.g. the disk is full: the batch still records the run (a re-run redoes it)
        if not error:
            result.status, result.error = "failed", f"cannot write {run_dir / RESULT_FILE}: {e.strerror or e}"
    return result


def _attempt(task: RunTask, run_dir: Path, scrub: Callable[[Any], Any], log: Callable[[str], None]) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(task.notebook)  # as papermill does: tags normalised on every cell
    nb = parameterize_notebook(nb, task.parameters, kernel_name=task.kernel)
    warm = POOL.take(task.kernel, task.warmup, run_dir)
    if task.prestart:
        POOL.prestart(task.kernel, task.warmup)  # boots while this run executes
    failure: str | None = None
    try:
        warm.enter(run_dir)
        deadline = time.monotonic() + task.timeout if task.timeout else None

        def remaining(cell: Any) -> int | None:  # nbclient's per-cell wait: what is left of the run's
            return None if deadline is None else max(1, math.ceil(deadline - time.monotonic()))

        client = NotebookClient(nb, km=warm.km, kernel_name=task.kernel, timeout_func=remaining,
                                startup_timeout=START_TIMEOUT, allow_errors=False, record_timing=True)
        try:
            client.execute()
        except CellExecutionError as e:
            failure = f"{e.ename}: {e.evalue}".strip(": ") + _where(nb)
        except CellTimeoutError:
            failure = f"timed out after {task.timeout:g} s" + _where(nb, running=True)
        except DeadKernelError:
            failure = "the kernel died (killed, out of memory, or the notebook exited)" + _where(nb, running=True)
        finally:
            # nbclient leaves the client it made for a kernel it does not own connected: its ZeroMQ
            # context (an I/O thread, sockets, descriptors) would stay until garbage collection, and a
            # worker running hundreds of reports would run out of file descriptors.
            if client.kc is not None:
                client.kc.stop_channels()
                client.kc = None
    finally:
        warm.close()
        # The executed notebook, partial on failure, with secrets masked.
        _mask(nb, task, scrub)
        try:
            atomic_write_text(run_dir / EXECUTED, nbformat.writes(nb))
        except OSError as e:
            failure = failure or f"cannot write {run_dir / EXECUTED}: {e.strerror or e}"
        log(_outputs_text(nb))
    if failure:
        raise RunFailed(failure)
    try:
        from kpitools.report.render import render

        # What the runner knows goes where render looks last: the notebook's own
        # report_header() (e.g. "October 2026" rather than "2026-10") wins; a spec title wins over both.
        known = {"scope": task.scope, "period": task.period, "data_freshness": task.data_freshness}
        nb.metadata.setdefault("kpitools", {}).update({k: v for k, v in known.items() if v})
        generated = datetime.fromisoformat(task.generated_at) if task.generated_at else None
        html = render(nb, title=task.title, generated_at=generated)
    except Exception as e:
        log(traceback.format_exc())
        raise RunFailed(f"rendering failed: {type(e).__name__}: {e}") from None
    try:
        atomic_write_text(Path(task.html), html)
    except OSError as e:  # not writable, disk full, a file where a folder should be: no partial file is left
        root = Path(task.run_dir).parents[1]  # <output root>/.runs/<id>: paths as the portal shows them
        own = e.filename and (str(e.filename) == task.html  # the report or its temporary file: no news
                              or Path(e.filename).name.startswith(f".{Path(task.html).name}."))
        where = f": {_under(e.filename, root)}" if e.filename and not own else ""
        raise RunFailed(f"cannot write {_under(task.html, root)}: {e.strerror or e}{where}") from None
    if task.pdf:
        try:
            from kpitools.report.pdf import write_pdf

            write_pdf(Path(task.html), Path(task.pdf))
        except Exception as e:  # the PDF was asked for: a report without it is not done
            log(traceback.format_exc())
            raise RunFailed(f"the PDF failed: {type(e).__name__}: {e}") from None


def _under(path: Any, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _where(nb: Any, running: bool = False) -> str:
    """' (cell N)': the code cell that failed, or (`running`) the one that was running, counted as
    in the source notebook (without the injected parameters cell)."""
    code = [c for c in nb.cells if c.cell_type == "code"
            and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for i, cell in enumerate(code, 1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return f" (cell {i})"
    if running:  # the first cell the kernel never answered (a dead kernel may not even say it started it)
        replied = [bool(c.get("metadata", {}).get("execution", {}).get("shell.execute_reply"))
                   or not str(c.get("source", "")).strip() for c in code]  # empty cells are never run
        if any(replied) and not all(replied):
            return f" (cell {replied.index(False) + 1})"
    return ""


def _mask(nb: Any, task: RunTask, scrub: Callable[[Any], Any]) -> None:
    """Secrets must not reach a report or a kept notebook: rewrite the injected cell and
    papermill's metadata with masked values, and mask them in whatever the notebook output
    (prints, displays, errors, warnings): a notebook may well print its connection string."""
    masked = mask_parameters(task.parameters)
    if masked == task.parameters:
        return
    from papermill.translators import translate_parameters

    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = translate_parameters(task.kernel, nb.metadata.get("kernelspec", {}).get("language"),
                                               masked, "Parameters")
        for out in cell.get("outputs", []):
            for key in ("text", "evalue", "ename", "traceback"):
                if key in out:
                    out[key] = scrub(out[key])
            for mime, value in out.get("data", {}).items():
                if not mime.startswith("image/") or mime == "image/svg+xml":  # not base64 PNG/JPEG
                    out["data"][mime] = scrub(value)
    if "papermill" in nb.metadata:
        nb.metadata.papermill["parameters"] = masked


def _outputs_text(nb: Any) -> str:
    """What the notebook printed (stdout, stderr, errors), for log.txt."""
    from nbconvert.filters import strip_ansi

    lines = []
    for i, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                lines.append(f"[cell {i} {out.get('name')}] {out.get('text', '').rstrip()}")
            elif out.get("output_type") == "error":
                lines.append(f"[cell {i} error]\n" + strip_ansi("\n".join(out.get("traceback", []))))
    return "\n".join(lines)


def _log(run_dir: Path, text: str, scrub: Callable[[Any], Any] = lambda t: t) -> None:
    """Append to the run's log.txt (secrets masked); a log that cannot be written is no reason to fail."""
    if text:
        try:
            with open(run_dir / LOG, "a", encoding="utf-8") as f:
                f.write(scrub(text).rstrip("\n") + "\n")
        except OSError:
            pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
