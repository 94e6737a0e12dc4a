"""The fork server: a process that imports a kernel's libraries once, then forks a fresh kernel per run.

Booting a kernel (IPython, ipykernel) and importing pandas, matplotlib and kpitools
costs a few CPU seconds, paid again by every kernel. A fork server pays it once per
worker: a single-threaded process that imports all that, then forks one fresh
kernel process per run. Each forked kernel still runs exactly one notebook, in a
new process, with its own session and process group, and is killed afterwards.

- the worker's side: `FORK_SERVERS.get(warmup, cwd).spawn(argv, cwd, env)` returns the new kernel's
  pid; `ForkedProcess(pid)` is the handle jupyter_client polls and kills (see kernels.py);
- the server's side: `fork_server_main`, run by `_PROGRAM` in a child process of the worker. A warm-up
  entry "data:<path>" (DATA_PREFIX) names a prepared dataset it loads too, for every kernel it forks, and
  "shared:<path>" (SHARED_PREFIX) a JSON list of the runs' parameters: once the data is loaded, it computes
  what their reports share, in one grouped pass, into the report scopes' cache (kpitools.report.prime).
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DATA_PREFIX = "data:"  # a warm-up entry naming a dataset to load in the fork server
SHARED_PREFIX = "shared:"  # a warm-up entry naming the runs' parameters (a JSON file), for kpitools.report.prime


def is_module(entry: str) -> bool:
    """A warm-up entry is a module to import, or a file the fork server loads (data, shared results)."""
    return not entry.startswith((DATA_PREFIX, SHARED_PREFIX))


def ipykernel_args(cmd: list[str]) -> list[str] | None:
    """The kernel's own arguments (-f connection file...) when `cmd` starts this interpreter's
    ipykernel, the kernel a fork of the fork server is; None for any other kernel. Interpreter
    flags before `-m` (kernelspecs written by `ipykernel install` add -Xfrozen_modules=off) only
    matter at start-up, which the fork server has already done."""
    return None if not_forkable(cmd) else cmd[_flags_end(cmd) + 2:]


def not_forkable(cmd: list[str]) -> str | None:
    """Why the fork server cannot stand in for the kernel command `cmd` (a sentence), or None when it can."""
    if not cmd:
        return "the kernelspec has no command"
    if not same_interpreter(cmd[0]):
        return f"the kernel runs {cmd[0]}, not this interpreter ({sys.executable})"
    i = _flags_end(cmd)
    if cmd[i:i + 2] != ["-m", "ipykernel_launcher"]:
        return f"the kernel command is not `python -m ipykernel_launcher` ({' '.join(cmd[:i + 2])})"
    return None


def _flags_end(cmd: list[str]) -> int:
    i = 1
    while i < len(cmd) and cmd[i].startswith("-X"):
        i += 1
    return i


def same_interpreter(program: str) -> bool:
    """True when `program` runs this interpreter in this environment: the same file once symlinks are
    resolved (`.venv/bin/python` -> `python3` -> the base Python) and the same virtual environment (two
    venvs share the base interpreter, not their packages). A bare name is what jupyter_client launches:
    `python`, `python3`, `python3.11` become sys.executable; any other name is looked up on PATH."""
    if not os.path.dirname(program):
        major, minor = sys.version_info[:2]
        if program in ("python", f"python{major}", f"python{major}.{minor}"):
            return True  # jupyter_client.KernelManager.format_kernel_cmd substitutes sys.executable
        program = shutil.which(program) or program
    return _environment(program) == _environment(sys.executable)


def _environment(program: str) -> tuple[str, str | None]:
    """(the interpreter's real file, the virtual environment it belongs to or None). A venv's `bin/python`
    is a symlink to the base interpreter: the venv is the folder holding pyvenv.cfg next to the link."""
    path = os.path.abspath(program)
    venv = None
    for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
        if os.path.isfile(os.path.join(folder, "pyvenv.cfg")):
            venv = os.path.realpath(folder)
            break
    return os.path.realpath(path), venv


def fast_start(kernel: str) -> tuple[bool, str | None]:
    """Whether a batch's kernels of `kernel` will be forked from the fork server, and if not, why."""
    if os.environ.get("KPITOOLS_FORK_KERNELS", "1") == "0":
        return False, "KPITOOLS_FORK_KERNELS=0"
    if not hasattr(os, "fork"):
        return False, "this system has no fork()"
    from jupyter_client.kernelspec import get_kernel_spec

    try:
        spec = get_kernel_spec(kernel)
    except Exception as e:  # the batch's own check reports an unknown kernel
        return False, f"no kernelspec {kernel!r}: {e}"
    if spec.language.lower() != "python":
        return False, f"kernel {kernel!r} is not a Python kernel"
    why = not_forkable(list(spec.argv))
    return (why is None), (f"kernel {kernel!r}: {why}" if why else None)


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
_PROGRAM = """
import builtins, json, sys
class KernelShell:
    kernel = True
    config = {"IPKernelApp": {}}
builtins.get_ipython = KernelShell
from kpitools.runner.fork_server import fork_server_main
fork_server_main(json.loads(sys.argv[1]))
"""


class ForkServer:
    """The worker's side of a fork server (a child process running _PROGRAM)."""

    def __init__(self, warmup: tuple[str, ...], cwd: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, json.dumps(list(warmup))],
                                     cwd=cwd, env=server_environment(os.environ), stdin=subprocess.PIPE,
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


# A batch runs one kernel per worker, and a worker per CPU: a kernel's BLAS gets one thread. OpenBLAS reads its
# thread count when it is loaded (in the fork server, before numpy is imported), and the forked kernels inherit
# it. With more, every kernel re-creates OpenBLAS' threads after the fork and they spin between the many tiny
# calls of a forecast's model fits: 0.17 s of CPU per report when a core is idle (a third of the trend
# section), and they take CPU from the other worker's kernel when none is, for no speed.
# Set only where the batch's environment says nothing; the kernels' own environment is the batch's.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def server_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The fork server's environment: the batch's, with one BLAS thread unless the batch sets a number."""
    out = dict(env)
    if not any(var in env for var in BLAS_THREAD_VARS):
        out.update({"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return out


class ForkServers:
    def __init__(self) -> None:
        self.servers: dict[tuple[str, ...], ForkServer] = {}

    def get(self, warmup: tuple[str, ...], cwd: str) -> ForkServer:
        # One server per set of modules and datasets: a batch's shared results (a file of its own) do not make
        # a new one, so that batches run one after the other in one process reuse it (without sharing then).
        key = tuple(w for w in warmup if not w.startswith(SHARED_PREFIX))
        server = self.servers.get(key)
        if server is None or not server.alive():
            server = self.servers[key] = ForkServer(warmup, cwd)
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


def fork_server_main(warmup: list[str]) -> None:
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
        for name in (*KERNEL_MODULES, *filter(is_module, warmup)):
            try:
                importlib.import_module(name)
            except Exception:  # the notebook will report it, in its own run
                pass
    finally:
        vars(builtins).pop("get_ipython", None)  # set by _PROGRAM; IPython sets the real one
    children: list[int] = []
    out = sys.stdout
    datasets = [w[len(DATA_PREFIX):] for w in warmup if w.startswith(DATA_PREFIX)]
    shared = [w[len(SHARED_PREFIX):] for w in warmup if w.startswith(SHARED_PREFIX)]
    _warm_charts()
    for line in sys.stdin:
        request = json.loads(line)
        datasets = _preload(datasets)
        if not datasets and shared:  # what the reports share is computed from those datasets
            _share(shared.pop())
        # Everything loaded so far lives as long as the kernels: the kernels' garbage collections skip it
        # (a full collection would walk all of it, and touch every page, in every kernel).
        gc.freeze()
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


def _share(runs_file: str) -> None:
    """Compute what the runs' reports share (runs_file: their parameters, JSON), in one grouped pass per
    period, into the report scopes' cache, here, so that every kernel forked after it finds it
    (kpitools.report.prime)."""
    try:
        from kpitools.report.prime import install, shared_results

        install(shared_results(json.loads(Path(runs_file).read_text(encoding="utf-8"))))
    except Exception:  # only an optimisation: the runs compute it themselves
        pass


def _warm_charts() -> None:
    """Draw one small chart to PNG when the notebook uses kpitools.viz: the renderer, the PNG encoder
    and the house fonts are then loaded once here, not in every kernel."""
    if "kpitools.viz" not in sys.modules:
        return
    try:
        from kpitools.viz import warm

        warm()
    except Exception:  # only a warm-up
        pass


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
