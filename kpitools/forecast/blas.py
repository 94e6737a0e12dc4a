"""Run model fits with a single BLAS thread.

statsmodels' Kalman filter and optimisers make many tiny BLAS calls; with
OpenBLAS' default of one thread per core those calls spend their time waking
threads: a SARIMA fit is 3-10x slower on 2 cores than single-threaded. The
usual fix (OPENBLAS_NUM_THREADS=1) only works before numpy is imported, which
a notebook has long done, so this sets the thread count at run time: through
threadpoolctl when it is installed, else by calling the BLAS libraries' own
``*_set_num_threads`` found in the process's loaded libraries (Linux).
Anywhere this cannot work it does nothing.
"""
from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache

Control = tuple[Callable[[], int], Callable[[int], None]]  # (get, set) thread count

_SYMBOLS = (  # (get, set) thread-count functions, by BLAS build
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),  # scipy wheels
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),  # numpy wheels
    ("MKL_Get_Max_Threads", "MKL_Set_Num_Threads"),
)


@cache
def _control(path: str) -> Control | None:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for get, set_ in _SYMBOLS:
        if hasattr(lib, get) and hasattr(lib, set_):
            return getattr(lib, get), getattr(lib, set_)
    return None


@lru_cache(maxsize=1)  # reading /proc/self/maps costs ~10 ms; kpitools.forecast has loaded scipy by now
def _controls() -> list[Control]:
    """(get, set) function pairs of every loaded OpenBLAS or MKL library."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line or "mkl_rt" in line}
    except OSError:
        return []
    found = [_control(p) for p in sorted(paths)]
    return [c for c in found if c is not None]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block; restore the previous count after."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    controls = _controls()
    before = [get() for get, _ in controls]
    try:
        for _, set_ in controls:
            set_(1)
        yield
    finally:
        for (_, set_), n in zip(controls, before):
            set_(n)
