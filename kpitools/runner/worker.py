"""Worker start-up and shut-down: what every worker process of a batch does before its first run and at exit.

    executor = get_executor("local", init=(init_worker, (kernel, warmup, runs_folder)))

`init_worker` starts the worker's first warm kernel and imports the renderer meanwhile; the worker
exits with the batch process, even one killed with SIGKILL; `shutdown_worker` stops its kernels
and fork servers.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from pathlib import Path

from .fork_server import FORK_SERVERS
from .kernels import POOL

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
