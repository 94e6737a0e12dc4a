"""One batch run, in a worker process: execute the notebook in a fresh kernel, render it.

`execute_run(task)` never raises: whatever happens ends in a `RunResult`. Each
attempt gets a kernel of its own (a kernel runs exactly one notebook), in the
run's own folder (`<output>/.runs/<run-id>/`), which keeps the executed notebook
(partial when it failed), `log.txt`, `error.txt` and `headline.json`.

Speed: starting a kernel and importing pandas, matplotlib and kpitools costs far
more than a report's own work. So
- each worker has a fork server: a process that imports IPython, ipykernel and
  the notebook's modules once, then forks a fresh kernel process per run (under
  a second instead of several, and the CPU is not spent again per report);
- each worker keeps the next kernel ready: started while the previous run
  executes, with the notebook's modules imported (no names bound, so the notebook
  sees a clean namespace);
- rendering happens in the worker with one HTML exporter per process.
Kernels that are not this interpreter's ipykernel start the ordinary way
(set KPITOOLS_FORK_KERNELS=0 to force that for every kernel).
"""
from __future__ import annotations

import ast
import contextlib
import functools
import json
import math
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .manifest import (HEADLINE_FILE, RESULT_FILE, RUN_DIR_ENV, atomic_write_text, mask_parameters,
                       read_headline, scrubber, write_json)

EXECUTED = "notebook.ipynb"
LOG = "log.txt"
ERROR = "error.txt"
START_TIMEOUT = 120  # seconds for a kernel to start (a busy machine is slow, not broken)


@dataclass
class RunTask:
    """Everything a worker needs for one run (picklable; paths are absolute)."""

    id: str
    notebook: str
    parameters: dict[str, Any]          # as injected (data may point at the prepared copy)
    run_dir: str
    html: str
    fingerprint: str = ""
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
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- warm kernels ---------------------------------------------------------------------------

class KernelDied(RuntimeError):
    """A kernel process exited before it was ready."""


class WarmKernel:
    """A kernel started ahead that imports modules (no names bound) as soon as it is up.
    Kernels of other languages are started in the run's folder when needed, not warmed."""

    def __init__(self, kernel: str, warmup: tuple[str, ...], cwd: str) -> None:
        self.python = is_python(kernel)
        self.km = _kernel_manager(kernel, warmup, fork=self.python)
        env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        # The kernel's own stdout/stderr (not the notebook's) would garble the progress bar.
        # No IPython history: it would keep every cell, secrets in the injected parameters included,
        # in ~/.ipython (and make every kernel of a batch write to one SQLite file).
        extra = ["--HistoryManager.enabled=False"] if self.python else []
        self.km.start_kernel(cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             extra_arguments=extra)
        self.kc = self.km.client()
        self.kc.start_channels()
        # Queued now, executed as soon as the kernel is up: nobody waits for it until take().
        self.msg_id = (self.kc.execute(_warmup_code(warmup), silent=True, store_history=False) if self.python
                       else self.kc.kernel_info())

    def wait(self, timeout: float = START_TIMEOUT) -> None:
        """Block until the warm-up has run."""
        self._reply(self.msg_id, timeout)

    def enter(self, run_dir: Path) -> None:
        """Move the kernel into the run's folder (it started elsewhere, ahead of time)."""
        if self.python:
            code = (f"__import__('os').chdir({str(run_dir)!r}); "
                    f"__import__('os').environ[{RUN_DIR_ENV!r}] = {str(run_dir)!r}")
            self._reply(self.kc.execute(code, silent=True, store_history=False), START_TIMEOUT)
        self.kc.stop_channels()
        # nbclient opens its own client, and must get an asynchronous one: a blocking client
        # would block its event loop while waiting for output, and no cell could ever time out.
        self.km.client_class = "jupyter_client.asynchronous.AsyncKernelClient"

    def _reply(self, msg_id: str, timeout: float) -> None:
        from queue import Empty

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=1)
            except Empty:
                if not self.km.is_alive():
                    raise KernelDied("the kernel died while starting") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                if msg["content"].get("status") == "error":
                    raise RuntimeError(f"kernel set-up failed: {msg['content'].get('evalue')}")
                return
        raise RuntimeError(f"the kernel did not start within {timeout:g} s")

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
            self.km.cleanup_resources()


@functools.cache
def is_python(kernel: str) -> bool:
    from jupyter_client.kernelspec import get_kernel_spec

    try:
        return get_kernel_spec(kernel).language.lower() == "python"
    except Exception:  # unknown kernel: starting it will say so, against the run
        return False


def _kernel_manager(kernel: str, warmup: tuple[str, ...], fork: bool) -> Any:
    """A KernelManager whose kernel is forked from this worker's fork server when it is this
    interpreter's ipykernel (the usual case); an ordinary one otherwise."""
    from jupyter_client import KernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class ForkedKernelManager(KernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            provisioner = self.provisioner
            args = _ipykernel_args(kernel_cmd)
            if args is None or not isinstance(provisioner, LocalProvisioner):
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            cwd = str(kw.get("cwd") or os.getcwd())
            pid = FORK_SERVERS.get(warmup, cwd).spawn(args, cwd, dict(kw.get("env") or os.environ))
            # What LocalProvisioner polls, signals and kills, as if it had launched the process.
            provisioner.process = ForkedProcess(pid)
            provisioner.pid = provisioner.pgid = pid  # the kernel leads its own process group
            provisioner.cwd = cwd
            self._reconcile_connection_info(provisioner.connection_info)

    if not fork or os.environ.get("KPITOOLS_FORK_KERNELS", "1") == "0" or not hasattr(os, "fork"):
        return KernelManager(kernel_name=kernel)
    return ForkedKernelManager(kernel_name=kernel)


class KernelPool:
    """A worker's spare kernels, one per (kernel, warm-up) in use."""

    def __init__(self) -> None:
        self.spare: dict[tuple, WarmKernel] = {}
        self.cwd = os.getcwd()

    def prestart(self, kernel: str, warmup: tuple[str, ...]) -> None:
        key = (kernel, tuple(warmup))
        if key not in self.spare and is_python(kernel):
            self.spare[key] = WarmKernel(kernel, tuple(warmup), self.cwd)

    def take(self, kernel: str, warmup: tuple[str, ...], run_dir: Path) -> WarmKernel:
        """A started kernel; one that died while starting (on a busy machine two kernels can pick
        the same free port) is replaced once: the run itself has not begun."""
        spare = self.spare.pop((kernel, tuple(warmup)), None)
        for attempt in (1, 2):
            warm = spare or WarmKernel(kernel, tuple(warmup), self.cwd if is_python(kernel) else str(run_dir))
            spare = None
            try:
                warm.wait()
                return warm
            except KernelDied:
                warm.close()
                if attempt == 2:
                    raise
            except Exception:
                warm.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        while self.spare:
            _, warm = self.spare.popitem()
            try:
                warm.close()
            except Exception:  # shutting down: nothing useful to do about it
                pass


POOL = KernelPool()


# --- the fork server ----------------------------------------------------------------------
#
# Booting a kernel (IPython, ipykernel) and importing pandas, matplotlib and kpitools
# costs a few CPU seconds, paid again by every kernel. A fork server pays it once per
# worker: a single-threaded process that imports all that, then forks one fresh
# kernel process per run. Each forked kernel still runs exactly one notebook, in a
# new process, with its own session and process group, and is killed afterwards.

def _ipykernel_args(cmd: list[str]) -> list[str] | None:
    """The kernel's own arguments (-f connection file...) when `cmd` starts this interpreter's
    ipykernel, the kernel a fork of the fork server is; None for any other kernel. Interpreter
    flags before `-m` (kernelspecs written by `ipykernel install` add -Xfrozen_modules=off) only
    matter at start-up, which the fork server has already done."""
    if not cmd or os.path.abspath(cmd[0]) != os.path.abspath(sys.executable):
        return None
    i = 1
    while i < len(cmd) and cmd[i].startswith("-X"):
        i += 1
    if cmd[i:i + 2] != ["-m", "ipykernel_launcher"]:
        return None
    return cmd[i + 2:]


class ForkedProcess:
    """The Popen-like handle jupyter_client's LocalProvisioner polls, signals and kills.
    The fork server (the kernel's parent) reaps it at once, so "gone" means exited."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
            except PermissionError:  # the pid was reused by someone else's process
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


# The fork server's program. Some libraries ask at import time whether they run in a Jupyter
# kernel (pandas picks its display.max_columns so): until the imports are done, get_ipython()
# answers as in a kernel. Set before anything is imported, kpitools (which imports pandas) included.
_FORK_SERVER = """
import builtins, json, sys
class KernelShell:
    kernel = True
    config = {"IPKernelApp": {}}
builtins.get_ipython = KernelShell
from kpitools.report.execute import _fork_server_main
_fork_server_main(json.loads(sys.argv[1]))
"""


class ForkServer:
    """The worker's side of a fork server (a child process running _FORK_SERVER)."""

    def __init__(self, warmup: tuple[str, ...], cwd: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _FORK_SERVER, json.dumps(list(warmup))],
                                     cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def spawn(self, argv: list[str], cwd: str, env: dict[str, str]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": cwd, "env": env}) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError("the kernel fork server exited")
        return int(json.loads(reply)["pid"])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # EOF: the server kills its kernels and exits
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class ForkServers:
    def __init__(self) -> None:
        self.servers: dict[tuple[str, ...], ForkServer] = {}

    def get(self, warmup: tuple[str, ...], cwd: str) -> ForkServer:
        server = self.servers.get(warmup)
        if server is None or not server.alive():
            server = self.servers[warmup] = ForkServer(warmup, cwd)
        return server

    def close(self) -> None:
        while self.servers:
            self.servers.popitem()[1].close()


FORK_SERVERS = ForkServers()


# What a kernel imports while it starts (IPython, ipykernel, the debugger, the history
# database): imported once in the fork server instead of in every kernel. None starts a thread.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                  "debugpy", "IPython.core.history", "IPython.core.completer", "tornado.ioloop", "psutil",
                  "sqlite3")


def _fork_server_main(warmup: list[str]) -> None:
    """The fork server: import once, then fork a kernel per request line (JSON) on stdin."""
    import builtins
    import importlib

    if sys.path and (sys.path[0] in ("", os.getcwd())):
        del sys.path[0]  # as ipykernel_launcher: IPython puts the kernel's cwd back itself
    # ipykernel's default, set before matplotlib is imported here so forked kernels show figures inline.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is for the batch; kernels get killed
    signal.signal(signal.SIGCHLD, _reap)             # exited kernels are reaped (and their CPU time counted)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the debugger's start-up warning
    try:
        for name in (*KERNEL_MODULES, *(w for w in warmup if not w.startswith(DATA_PREFIX))):
            try:
                importlib.import_module(name)
            except Exception:  # the notebook will report it, in its own run
                pass
    finally:
        vars(builtins).pop("get_ipython", None)  # set by _FORK_SERVER; IPython sets the real one
    children: list[int] = []
    out = sys.stdout
    datasets = [w[len(DATA_PREFIX):] for w in warmup if w.startswith(DATA_PREFIX)]
    for line in sys.stdin:
        request = json.loads(line)
        datasets = _preload(datasets)
        pid = os.fork()
        if pid == 0:
            _kernel_child(request)
        children.append(pid)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
    for pid in children:  # the worker is gone: so are its kernels
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # reaped already
            pass


DATA_PREFIX = "data:"  # a warm-up entry naming a dataset to load in the fork server


def _preload(paths: list[str]) -> list[str]:
    """Load the batch's prepared datasets once, here, so that every kernel forked after it finds
    them in kpitools.load's cache. Returns the paths still to load (not written yet)."""
    waiting = []
    for path in paths:
        if not Path(path).is_file():
            waiting.append(path)  # the batch is still preparing it: try before the next fork
            continue
        try:
            import kpitools

            kpitools.load(path)
        except Exception:  # the run's own load will report it
            pass
    return waiting


def _reap(*_: Any) -> None:
    """Collect every exited kernel (SIGCHLD handler)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kernel_child(request: dict[str, Any]) -> None:
    """In the forked process: become a fresh, independent kernel process."""
    try:
        os.setsid()  # own process group: interrupts and kills reach the kernel and its children only
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # never write into the fork server's reply pipe
            os.dup2(devnull, fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        if "numpy" in sys.modules:  # forked processes would otherwise share one random stream
            sys.modules["numpy"].random.seed()
        # Exit when the fork server goes away. Given on the command line: the trait's default
        # (from JPY_PARENT_PID) was read when the fork server imported ipykernel.
        argv = [*request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [sys.executable, *argv]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv)
    finally:
        os._exit(0)


_registered = False


def init_worker(kernel: str, warmup: tuple[str, ...], cwd: str | None = None) -> None:
    """Worker start-up: boot a warm kernel, then import the renderer while it boots."""
    import atexit
    from multiprocessing import util

    global _registered
    if cwd:
        Path(cwd).mkdir(parents=True, exist_ok=True)
        POOL.cwd = cwd
    try:
        POOL.prestart(kernel, tuple(warmup))
    except Exception:  # take() will start one and report the problem against a run
        pass
    if not _registered:
        _registered = True
        # Process-pool workers leave through multiprocessing's exit (finalizers, not atexit).
        util.Finalize(POOL, shutdown_worker, exitpriority=10)
        atexit.register(shutdown_worker)
        parent = multiprocessing.parent_process()
        if parent is not None:  # a worker process of ours (the serial executor runs in the caller's)
            threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True,
                             name="kpitools-exit-with-parent").start()
    # nbconvert takes seconds to import: once per worker, while its first kernel boots. Its schema
    # validator (jsonschema) would also compile an IRI grammar (rfc3987_syntax, ~1.5 s of CPU) that no
    # notebook schema uses: blocking that optional import makes jsonschema skip the "iri" format.
    # Only in a worker process of ours (the serial executor runs in the caller's process).
    if multiprocessing.parent_process() is not None:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    try:
        import kpitools.report.render  # noqa: F401
    except Exception:
        pass


def _exit_with(parent_sentinel: int) -> None:
    """Exit as soon as the batch process is gone, even killed with SIGKILL (which it cannot handle):
    a worker would otherwise wait forever for its next run, its fork server and kernels with it.
    The fork server sees this process go and kills the kernels."""
    from multiprocessing.connection import wait

    wait([parent_sentinel])
    os._exit(1)


def shutdown_worker() -> None:
    POOL.close()
    FORK_SERVERS.close()


def _warmup_code(modules: tuple[str, ...]) -> str:
    return ("def __kpitools_warmup():\n"
            "    import importlib\n"
            f"    for name in {[m for m in modules if not m.startswith(DATA_PREFIX)]!r}:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n"
            "__kpitools_warmup()\n"
            "del __kpitools_warmup\n")


def imports_of(notebook: str | Path) -> list[str]:
    """Modules the notebook imports at the top level of its code cells (to warm kernels with)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    found: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                found += [a.name for a in stmt.names]
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                found.append(stmt.module)
                found += [f"{stmt.module}.{a.name}" for a in stmt.names if a.name != "*"]
    # "from x import name" may name a function, not a module: import_module fails quietly then.
    return list(dict.fromkeys(found))
