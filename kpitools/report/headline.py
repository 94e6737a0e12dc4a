"""A report's headline KPIs, published by the notebook for the batch portal and manifest.

    from kpitools.report.headline import publish_headline
    publish_headline({
        "revenue": {"name": "Revenue", "value": 1234567.0, "display": "$1.23M",
                    "change": "+4.2% vs previous month", "status": "on track"},
        "win_rate": 0.31,                       # a bare number is fine too
    })

Each entry is normalised to {name, value, display, change, status}; `status` is
one of STATUSES (or None) and colours the portal. Under `kpitools run` the
values go to `headline.json` in the run's folder (RUN_DIR_ENV names it); run by
hand (JupyterLab, plain papermill) nothing is written, so analysts get no stray files.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..files import atomic_write_text

HEADLINE_FILE = "headline.json"
RUN_DIR_ENV = "KPITOOLS_RUN_DIR"  # set by the runner in each kernel: where headline.json goes
STATUSES = ("on track", "at risk", "off track")


def publish_headline(values: dict[str, Any]) -> None:
    """Record the report's headline KPIs (see the module doc). Returns None, so that a
    call ending a cell shows nothing in the report."""
    headline = normalise_headline(values)
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        atomic_write_text(Path(run_dir) / HEADLINE_FILE, json.dumps(headline, indent=2, allow_nan=False))


def normalise_headline(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(values, dict):
        raise TypeError("publish_headline takes a dict: {kpi_id: value or {name, value, display, status}}")
    out = {}
    for key, entry in values.items():
        if not isinstance(entry, dict):
            entry = {"value": entry}
        value = _plain(entry.get("value"))
        status = entry.get("status")
        if status is not None and str(status).lower() not in STATUSES:
            raise ValueError(f"headline {key!r}: status {status!r} is not one of {', '.join(STATUSES)} (or None)")
        out[str(key)] = {
            "name": str(entry.get("name") or key),
            "value": value,
            "display": str(entry["display"]) if entry.get("display") is not None else _display(value),
            "change": str(entry["change"]) if entry.get("change") is not None else None,
            "status": str(status).lower() if status is not None else None,
        }
    return out


def read_headline(run_dir: Path) -> dict[str, Any]:
    """The headline a run published, or {} (none published, or unreadable)."""
    try:
        return normalise_headline(json.loads((Path(run_dir) / HEADLINE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: numpy numbers become Python ones, NaN becomes None."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _display(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
