"""Warm kernels: each worker keeps the next kernel started, its notebook's modules imported, before a run needs it.

    POOL.prestart(kernel, warmup)            # boots in the background (while the previous run executes)
    warm = POOL.take(kernel, warmup, run_dir)  # a started kernel (waits for it if need be)
    warm.enter(run_dir); ...; warm.close()   # one kernel runs exactly one notebook

The warm-up imports modules without binding names, so the notebook sees a clean namespace;
`imports_of(notebook)` lists the modules a notebook imports. A kernel that is this interpreter's
ipykernel is forked from the worker's fork server (fork_server.py); any other kernel starts the
ordinary way (KPITOOLS_FORK_KERNELS=0 forces that for every kernel).
"""
from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from ..report.headline import RUN_DIR_ENV
from .fork_server import FORK_SERVERS, ForkedProcess, ipykernel_args, is_module

START_TIMEOUT = 120  # seconds for a kernel to start (a busy machine is slow, not broken)


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
            args = ipykernel_args(kernel_cmd)
            if args is None or not isinstance(provisioner, LocalProvisioner):
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            cwd = str(kw.get("cwd") or os.getcwd())
            pid = FORK_SERVERS.get(warmup, cwd).spawn(args, cwd, dict(kw.get("env") or os.environ))
            # What LocalProvisioner polls, signals and kills, as if it had launched the process.
            # jupyter_client annotates it as a Popen, but only polls, signals, kills and waits for it
            provisioner.process = ForkedProcess(pid)  # type: ignore[assignment]
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


def _warmup_code(modules: tuple[str, ...]) -> str:
    return ("def __kpitools_warmup():\n"
            "    import importlib\n"
            f"    for name in {[m for m in modules if is_module(m)]!r}:\n"
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
