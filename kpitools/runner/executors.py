"""Executors: where batch runs execute. One interface, registered by name.

    with get_executor("local", workers=4, init=(init_worker, args)) as ex:
        for item, outcome in ex.map_unordered(execute_run, tasks):
            ...   # outcome: fn's return value, or the exception that stopped the worker

- `serial`: in this process, one after another (debugging, tests).
- `local`: a pool of worker processes on this machine (default: one per CPU).
- `dask`: a Dask distributed cluster: `scheduler="tcp://host:8786"`, or a
  LocalCluster of worker processes when no address is given. Remote workers
  need kpitools installed and the same file system (notebook, data, output).

Retries and time-outs live in the run itself (run.py), so every executor
behaves the same; an executor only schedules and reports. A worker process that
dies (killed, out of memory) costs only the run that killed it: `local` starts
new workers and runs the others again (Dask does the same on its own).
Add one with `@register_executor("name")` on an `Executor` subclass.
"""
from __future__ import annotations

import multiprocessing
import os
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

Init = tuple[Callable[..., Any], tuple[Any, ...]] | None

EXECUTORS: dict[str, type[Executor]] = {}


def register_executor(name: str) -> Callable[[type[Executor]], type[Executor]]:
    def add(cls: type[Executor]) -> type[Executor]:
        EXECUTORS[name] = cls
        cls.name = name
        return cls

    return add


def get_executor(name: str, *, workers: int | None = None, scheduler: str | None = None,
                 init: Init = None) -> Executor:
    """An executor by name; ValueError for an unknown name."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
    return EXECUTORS[name](workers=workers, scheduler=scheduler, init=init)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class WorkerDied(Exception):
    """A worker process died while running this item, and again when it was run on its own."""


class Executor(ABC):
    """Runs `fn(item)` for many items and yields each (item, outcome) as it completes.

    `init` = (function, args) runs once in every worker before its first item
    (the runner uses it to start warm kernels early)."""

    name = "executor"

    def __init__(self, workers: int | None = None, scheduler: str | None = None, init: Init = None) -> None:
        self.workers = workers or default_workers()
        self.scheduler = scheduler
        self.init = init

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(cancel=exc[0] is not None)

    def start(self) -> None:  # noqa: B027  (a hook: an executor without workers has nothing to start)
        """Bring workers up (may return before they are ready)."""

    def close(self, cancel: bool = False) -> None:  # noqa: B027  (a hook, as start)
        """Release workers; `cancel` drops runs not started yet."""

    @abstractmethod
    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """(item, fn(item) or the exception raised around it), in completion order."""


@register_executor("serial")
class SerialExecutor(Executor):
    def start(self) -> None:
        self.workers = 1
        if self.init:
            self.init[0](*self.init[1])

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        for item in items:
            try:
                yield item, fn(item)
            except Exception as e:
                yield item, e

    def close(self, cancel: bool = False) -> None:
        from .kernels import POOL

        POOL.close()  # the fork server stays for the next batch; it exits with this process


def _noop() -> None:
    return None


@register_executor("local")
class LocalExecutor(Executor):
    """Worker processes (spawned: no fork of a parent that holds threads and data)."""

    pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        init, args = self.init if self.init else (None, ())
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=init, initargs=args)
        # Workers are spawned on demand: ask for all of them now, so their kernels warm up
        # while the parent is still preparing the data.
        for _ in range(self.workers):
            self.pool.submit(_noop)

    MAX_RESTARTS = 10  # a pool that keeps dying is broken for some other reason

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """When a worker dies, the pool fails every item it holds: those items are run again in
        a new pool, each on its own, so that a second death names the item that causes it."""
        assert self.pool is not None, "use the executor in a with block"
        queue = deque(items)
        pending: dict[Any, Any] = {}     # future -> item; at most workers + 1, so few are suspected
        suspects: set[int] = set()       # id(item): items in the pool when a worker died
        restarts = 0
        while queue or pending:
            while queue and len(pending) <= self.workers:
                alone = id(queue[0]) in suspects
                if (alone and pending) or any(id(i) in suspects for i in pending.values()):
                    break
                item = queue.popleft()
                pending[self.pool.submit(fn, item)] = item
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            # A broken pool fails every item it holds: collect them all (result() waits for that).
            broken = any(isinstance(f.exception(), BrokenProcessPool) for f in done)
            died: list[Any] = []
            for future in list(pending) if broken else done:
                item = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    died.append(item)
                    continue
                except Exception as e:  # could not pickle the item or its result
                    result = e
                suspects.discard(id(item))
                yield item, result
            if not died:
                continue
            restarts += 1
            for item in reversed(died):
                if (id(item) in suspects and len(died) == 1) or restarts > self.MAX_RESTARTS:
                    suspects.discard(id(item))  # it ran on its own, and its worker died again
                    yield item, WorkerDied("the worker process running it died (killed, or out of memory)")
                else:
                    suspects.add(id(item))
                    queue.appendleft(item)
            self.pool.shutdown(wait=True, cancel_futures=True)
            if queue:
                self.start()

    def close(self, cancel: bool = False) -> None:
        if self.pool is not None:
            if cancel:
                # Running notebooks would otherwise finish first (a worker executing a notebook
                # handles SIGTERM itself). Its fork server and kernels exit with it.
                for process in list(getattr(self.pool, "_processes", {}).values()):
                    process.kill()
            self.pool.shutdown(wait=True, cancel_futures=cancel)
            self.pool = None


@register_executor("dask")
class DaskExecutor(Executor):
    """Dask distributed: one task per run, one thread per worker process (a run
    drives a kernel; more threads would only share one warm-kernel pool)."""

    client: Any = None
    cluster: Any = None

    def start(self) -> None:
        from distributed import Client, LocalCluster

        if self.scheduler:
            self.client = Client(self.scheduler)
        else:
            self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=40)
            self.client = Client(self.cluster)

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        from distributed import as_completed

        batch = uuid.uuid4().hex[:8]  # task keys are unique on a shared cluster
        futures = {self.client.submit(_dask_call, fn, item, self.init, pure=False,
                                      key=f"kpitools-run-{getattr(item, 'id', i)}-{batch}"): item
                   for i, item in enumerate(items)}
        for future in as_completed(futures):
            item = futures[future]
            try:
                yield item, future.result()
            except Exception as e:
                yield item, e

    def close(self, cancel: bool = False) -> None:
        from .worker import shutdown_worker

        if self.client is not None:
            try:
                self.client.run(shutdown_worker)
            except Exception:  # workers already gone
                pass
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None


_dask_initialised = False


def _dask_call(fn: Callable[[Any], Any], item: Any, init: Init) -> Any:
    """In a Dask worker: run `init` once per worker process (in the task thread, which
    also owns the warm kernels), then the item."""
    global _dask_initialised
    if init and not _dask_initialised:
        _dask_initialised = True
        init[0](*init[1])
    return fn(item)
