"""The batch manifest (`manifest.json`), headline KPIs, secret masking, atomic writes.

A report notebook publishes its headline KPIs for the portal and the manifest:

    from kpitools.report.manifest import publish_headline
    publish_headline({
        "revenue": {"name": "Revenue", "value": 1234567.0, "display": "$1.23M",
                    "change": "+4.2% vs previous month", "status": "on track"},
        "win_rate": 0.31,                       # a bare number is fine too
    })

Each entry is normalised to {name, value, display, change, status}; `status` is
one of STATUSES (or None) and colours the portal. Under `kpitools run` the
values go to `headline.json` in the run's folder; run by hand (JupyterLab,
plain papermill) nothing is written, so analysts get no stray files.
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

HEADLINE_FILE = "headline.json"
RESULT_FILE = "result.json"
RUN_DIR_ENV = "KPITOOLS_RUN_DIR"  # set by the runner in each kernel: where headline.json goes
STATUSES = ("on track", "at risk", "off track")
MASK = "***"

_SECRET_NAME = re.compile(r"password|passwd|secret|token|api_?key", re.I)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<tail>@)", re.I)


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


def read_headline(run_dir: Path) -> dict[str, Any]:
    """The headline a run published, or {} (none published, or unreadable)."""
    try:
        return normalise_headline(json.loads((Path(run_dir) / HEADLINE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_value(name: str, value: Any) -> Any:
    """The value with any secret hidden: whole values of secret-named parameters,
    the password part of URLs (postgresql://user:***@host/db)."""
    if is_secret_name(name) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], value)
    if isinstance(value, list):
        return [mask_value(name, v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    return value


def mask_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_value(k, v) for k, v in parameters.items()}


def has_secret(name: str, value: Any) -> bool:
    return mask_value(name, value) != value


MIN_SECRET = 4  # shorter secrets are masked in parameters only: hiding every "abc" in a report would garble it


def secret_values(parameters: dict[str, Any]) -> list[str]:
    """The secret strings in these parameters (whole values of secret-named parameters,
    passwords in URLs), longest first, each also as it appears escaped in HTML, in a
    Python repr and percent-encoded in a URL."""
    import html
    from urllib.parse import quote, unquote

    found: set[str] = set()

    def collect(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(str(k), v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                collect(name, v)
        elif value not in (None, "") and is_secret_name(name) and not isinstance(value, bool):
            found.add(str(value))
        elif isinstance(value, str):
            found.update(unquote(m["password"]) for m in _URL_PASSWORD.finditer(value) if m["password"])
            found.update(m["password"] for m in _URL_PASSWORD.finditer(value) if m["password"])

    for key, val in parameters.items():
        collect(key, val)
    forms = {f for s in found if len(s) >= MIN_SECRET
             for f in (s, html.escape(s), html.escape(s, quote=False), repr(s)[1:-1], quote(s, safe=""))}
    return sorted(forms, key=len, reverse=True)


def scrubber(parameters: dict[str, Any]) -> Callable[[Any], Any]:
    """A function that replaces the parameters' secret values by *** in any text (and in the
    strings inside lists and dicts); the identity when there are none."""
    secrets = secret_values(parameters)
    if not secrets:
        return lambda value: value
    pattern = re.compile("|".join(re.escape(s) for s in secrets))

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(MASK, value)
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    return scrub


def _file_mode() -> int:
    umask = os.umask(0o022)  # read it (there is no other way), put it back at once
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()  # what open() would give a new file: read at import, umask is process-wide
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # atomic_write's (and render's): .<name>.<random>.tmp


def remove_temporaries(folder: Path) -> int:
    """Delete the temporary files atomic writes left in `folder` (not below it) when their
    process was killed mid-write; returns how many. Only for folders no writer is using."""
    removed = 0
    try:
        candidates = list(Path(folder).glob(".*.tmp"))
    except OSError:
        return 0
    for path in candidates:
        if _TEMPORARY.fullmatch(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers
    never see half a file, and a crash leaves the old file (or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)  # mkstemp's 0600 would hide the portal from everyone else on a share
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    """Parsed JSON, or None when the file is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
