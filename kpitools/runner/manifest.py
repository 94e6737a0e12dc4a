"""The batch manifest (`manifest.json`) and the portal beside it: what a batch made, one entry per run.

The output root of a batch holds

    index.html        the portal (portal.py)
    manifest.json     spec, notebook, when, counts, delivery, and one entry per run (manifest_entry)
    .history.json     headline values by scope and period, across batches (history.py)
    .delivery.json    the messages sent, so that none is sent twice (deliver.py)
    .runs/<run-id>/   each run's folder: executed notebook, log, error, headline, result (run.py)
    .cache/           the prepared data (prepared.py)

`fast_start` says whether the batch's kernels were forked from a fork server, and if not, why.

Paths in the manifest are relative to the output root; parameters, errors and headlines have
their secrets masked.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files import write_json
from ..masking import mask_parameters, scrubber
from .spec import Batch, Run

MANIFEST = "manifest.json"
PORTAL = "index.html"
RUNS_DIR = ".runs"


def manifest_entry(batch: Batch, run: Run, result: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """One manifest entry (paths relative to the manifest). A skipped run cost nothing this
    time (0 seconds, 0 attempts); its headline and times are those of the run that made it."""
    run_dir = f"{RUNS_DIR}/{run.id}"
    scrub = scrubber(run.parameters)  # the run masked them already; an error from its worker may not be
    status = status or result.get("status", "failed")
    made_now = status != "skipped"
    return {
        "id": run.id,
        "notebook": relative_to_cwd(batch.notebook),
        "parameters": mask_parameters(run.parameters),
        "scope": run.scope,
        "title": run.title,
        "status": status,
        "error": scrub(result.get("error")),
        "html": run.html,
        "pdf": pdf_path(run.html) if batch.spec.pdf else None,
        "executed": f"{run_dir}/notebook.ipynb",
        "log": f"{run_dir}/log.txt",
        "seconds": result.get("seconds") if made_now else 0,
        "attempts": result.get("attempts", 0) if made_now else 0,
        "headline": scrub(result.get("headline") or {}),
        "started_at": result.get("started_at"),
        "finished_at": result.get("finished_at"),
        "fingerprint": result.get("fingerprint"),
    }


def write_outputs(*, batch: Batch, runs: list[Run], records: dict[str, dict[str, Any]], generated_at: str,
                  complete: bool, delivery: dict[str, Any] | None = None,
                  fast_start: dict[str, Any] | None = None) -> dict[str, Any]:
    """manifest.json and index.html in the output root, both written atomically; the headline history
    (history.py) first, while the manifest of the batch before is still there to seed it."""
    from .history import update_history
    from .portal import write_portal

    entries = [records[r.id] for r in runs if r.id in records]
    counts = {s: sum(e["status"] == s for e in entries) for s in ("ok", "failed", "skipped")}
    manifest = {
        "spec": relative_to_cwd(batch.spec_path),
        "notebook": relative_to_cwd(batch.notebook),
        "generated_at": generated_at,
        "today": batch.today.isoformat(),
        "kpitools_version": kpitools_version(),
        "complete": complete,
        "status": "failed" if counts["failed"] else "ok",
        "counts": counts,
        **({"delivery": delivery} if delivery is not None else {}),
        # whether kernels were forked from the fork server (fast) and, if not, why
        **({"fast_start": fast_start} if fast_start is not None else {}),
        "runs": entries,
    }
    history = update_history(batch.root, entries, previous_manifest=batch.root / MANIFEST)
    write_json(batch.root / MANIFEST, manifest)
    write_portal(manifest, batch.root / PORTAL, history)
    return manifest


def pdf_path(html: str) -> str:
    """Where `pdf: true` writes a report's PDF: beside its HTML (relative paths stay relative)."""
    return html[: -len(".html")] + ".pdf" if html.lower().endswith(".html") else html + ".pdf"


def kpitools_version() -> str:
    import kpitools

    return kpitools.__version__


def relative_to_cwd(path: Path) -> str:
    """A path as messages and the manifest show it: relative to the working folder when inside it."""
    try:
        return Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
