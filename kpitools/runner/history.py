"""Headline history: each scope's headline KPI values by period, kept across batches for the portal's sparklines.

`<output>/.history.json` holds {"scopes": {scope: {period: {kpi: value}}}}. Every manifest write adds the
batch's reports (ok or unchanged) to it, replacing the values of the same scope and period, so a re-run
of a month does not count twice. A folder without a history (the first batch since the portal had
sparklines) starts from the manifest.json an earlier batch left there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files import read_json, write_json

HISTORY = ".history.json"
POINTS = 12  # periods a sparkline shows


def update_history(root: Path, entries: list[dict[str, Any]], previous_manifest: Path | None = None) -> dict:
    """The history with these manifest entries added, written back when it changed. Without a history
    file, `previous_manifest` (the manifest about to be replaced) seeds it."""
    path = Path(root) / HISTORY
    found = read_json(path)
    history = found if isinstance(found, dict) and isinstance(found.get("scopes"), dict) else {"scopes": {}}
    changed = found is not history
    if changed and previous_manifest is not None:
        old = read_json(previous_manifest)
        if isinstance(old, dict):
            add_entries(history, old.get("runs") or [])
    before = repr(history)
    add_entries(history, entries)
    if changed or repr(history) != before:
        write_json(path, history)
    return history


def add_entries(history: dict, entries: list[dict[str, Any]]) -> None:
    """Numeric headline values of the reports among `entries` (failed runs have none), by scope and period."""
    scopes = history.setdefault("scopes", {})
    for entry in entries:
        period = str((entry.get("parameters") or {}).get("period") or "")
        if entry.get("status") not in ("ok", "skipped") or not period or not entry.get("headline"):
            continue
        values = {k: kpi.get("value") for k, kpi in entry["headline"].items()
                  if isinstance(kpi, dict) and _number(kpi.get("value")) is not None}
        if values:
            scopes.setdefault(str(entry.get("scope") or ""), {})[period] = values


def series(history: dict | None, scope: str, kpi: str, upto: str, points: int = POINTS) -> list[tuple[str, float]]:
    """(period, value) of one scope's KPI for the last `points` periods up to `upto`, oldest first.
    Periods of one batch share a form (2026-01, 2026Q1, 1405-07), so their text sorts in time order."""
    periods = ((history or {}).get("scopes") or {}).get(scope) or {}
    found = [(p, _number(v.get(kpi))) for p, v in periods.items() if p <= upto and isinstance(v, dict)]
    return [(p, v) for p, v in sorted(found) if v is not None][-points:]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value else None  # NaN is no point
