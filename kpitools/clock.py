"""Today's date, the one place kpitools asks for it.

Relative periods (`last_complete_month`), the sample's last month and the batch runner all ask here, so
one setting moves them together: `KPITOOLS_TODAY=2026-11-15` runs everything as on that day (a re-run of
an old batch, a reproducible demo, the test suite).
"""
from __future__ import annotations

import datetime as dt
import os

__all__ = ["TODAY_ENV", "today"]

TODAY_ENV = "KPITOOLS_TODAY"


def today() -> dt.date:
    """KPITOOLS_TODAY (an ISO date) when set, else the machine's date."""
    text = os.environ.get(TODAY_ENV, "").strip()
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{TODAY_ENV}={text!r} is not a date: write it as YYYY-MM-DD, or unset it") from None
