"""The portal: grouped by period, status colours, escaped, self-contained, relative links."""
from __future__ import annotations

import re
from pathlib import Path

from kpitools.runner.portal import write_portal


def manifest() -> dict:
    return {
        "spec": "params/demo.yml", "generated_at": "2026-11-01T06:00:00+00:00", "complete": True,
        "kpitools_version": "0.1.0", "counts": {"ok": 1, "failed": 1, "skipped": 1},
        "runs": [
            {"id": "a", "scope": "North America", "status": "ok", "html": "2026-10/North America.html",
             "parameters": {"region": "North America", "period": "2026-10"}, "seconds": 1.5,
             "headline": {"revenue": {"name": "Revenue", "value": 1.0, "display": "$1.2M",
                                      "change": "+4%", "status": "on track"},
                          "churn": {"name": "Churn <rate>", "value": 0.1, "display": "10%", "change": None,
                                    "status": "off track"}}},
            {"id": "b", "scope": "<script>alert(1)</script>", "status": "failed", "html": "2026-10/x.html",
             "parameters": {"region": "x", "period": "2026-10"}, "error": "ValueError: bad <b>value</b>",
             "log": ".runs/b/log.txt", "executed": ".runs/b/notebook.ipynb", "headline": {}},
            {"id": "c", "scope": "Company-wide", "status": "skipped", "html": "2026-09/all.html",
             "parameters": {"region": "", "period": "2026-09"}, "seconds": 2.0, "headline": {}},
        ],
    }


def test_portal(tmp_path: Path) -> None:
    for rel in ("2026-10/North America.html", "2026-09/all.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("<html></html>")
    html = write_portal(manifest(), tmp_path / "index.html").read_text(encoding="utf-8")
    # newest period first, each report linked relatively (spaces encoded)
    assert html.index("2026-10") < html.index("2026-09")
    assert 'href="2026-10/North%20America.html"' in html and 'href="2026-09/all.html"' in html
    # headline KPIs with status colours
    assert "$1.2M" in html and "+4%" in html and 'class="kpi-value good"' in html and 'class="kpi-value bad"' in html
    assert "Churn &lt;rate&gt;" in html
    # the failed run: its error, escaped, and links to its log and notebook; no link to a missing report
    assert "ValueError: bad &lt;b&gt;value&lt;/b&gt;" in html
    assert 'href=".runs/b/log.txt"' in html and 'href=".runs/b/notebook.ipynb"' in html
    assert 'href="2026-10/x.html"' not in html
    # safe and self-contained
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "unchanged" in html
