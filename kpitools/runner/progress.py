"""Progress of a batch on the terminal: a rich bar on a terminal, plain log lines otherwise.

    reporter = Reporter(total=24, skipped=4)
    reporter.start(); reporter.advance(run, entry) ...; reporter.stop()
    reporter.summary(entries, root, seconds)      # "24 reports: 19 ok, 1 failed, 4 unchanged, ..."
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .manifest import MANIFEST, PORTAL, relative_to_cwd
from .spec import Run


class Reporter:
    """Progress: a rich bar on a terminal, plain log lines otherwise, nothing when disabled."""

    def __init__(self, total: int, skipped: int, enabled: bool = True) -> None:
        self.total, self.skipped, self.enabled = total, skipped, enabled
        self.done = self.failed = 0
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def start(self) -> None:
        self.t0 = time.perf_counter()
        if not self.enabled:
            return
        if self.skipped:
            print(f"{self.skipped} of {self.total} reports unchanged: skipped", file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("reports"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
            self.task = self.bar.add_task("reports", total=self.total - self.skipped, failed=0)
            self.bar.start()

    def advance(self, run: Run, record: dict[str, Any]) -> None:
        self.done += 1
        self.failed += record["status"] == "failed"
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)
            if record["status"] == "failed":
                self.bar.console.print(f"[red]failed[/red] {run.html}: {record['error']}", markup=True,
                                       highlight=False)
            return
        todo = self.total - self.skipped
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (todo - self.done)
        error = f": {record['error']}" if record["status"] == "failed" else ""
        print(f"[{self.done:>{len(str(todo))}}/{todo}] {record['status']:<6} {run.html} "
              f"({record.get('seconds') or 0:.1f} s, {self.failed} failed, ETA {eta:.0f} s){error}",
              file=sys.stderr, flush=True)

    def interrupted(self, root: Path) -> None:
        if self.enabled:
            print(f"interrupted: {self.done} of {self.total - self.skipped} reports finished, the others are "
                  f"marked interrupted in {relative_to_cwd(root / MANIFEST)}; run the same command again to finish "
                  "them", file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def summary(self, records: list[dict[str, Any]], root: Path, seconds: float) -> None:
        if not self.enabled:
            return
        counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "failed", "skipped")}
        print(f"{len(records)} reports: {counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} "
              f"unchanged, in {seconds:.1f} s; portal: {relative_to_cwd(root / PORTAL)}", flush=True)
