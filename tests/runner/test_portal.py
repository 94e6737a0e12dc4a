"""The portal: grouped by period, status colours, escaped, self-contained, relative links."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

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
    # below the matrix, newest period first, each report linked relatively (spaces encoded)
    cards = html[html.index("</table>"):]
    assert cards.index("2026-10") < cards.index("2026-09")
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


# ----------------------------------------------------------------------------- the at-a-glance matrix

SCOPES = ["Company-wide", "EMEA", "North America", "APAC", "LATAM"]
STATES = ["on track", "at risk", "off track"]


def headline(i: int, month: int) -> dict:
    """Four KPIs whose values and statuses vary with the scope (i) and the month."""
    revenue = 1.0 + i * 0.37 + (month * (i + 2)) % 7 / 10
    return {"revenue": {"name": "Revenue", "value": revenue * 1e6, "display": f"${revenue:.2f}M",
                        "change": f"{(month * 3 + i) % 11 - 5:+d}% vs previous month",
                        "status": STATES[(i + month) % 3]},
            "win_rate": {"name": "Win rate", "value": 0.2 + (i * month) % 5 / 50,
                         "display": f"{20 + (i * month) % 5 * 2}%",
                         "change": "+1.2 pp", "status": STATES[(i * 2 + month) % 3]},
            "pipeline": {"name": "Pipeline value", "value": (5 - i) * 1e6 + month * 1e5,
                         "display": f"${5 - i}.{month}M",
                         "change": None, "status": None},
            "churn": {"name": "Customer churn rate", "value": 0.02 + i / 200, "display": f"{2 + i / 2:.1f}%",
                      "change": "-0.1 pp", "status": STATES[i % 3]}}


def glance_manifest(months: range = range(1, 13)) -> tuple[dict, dict]:
    """A manifest of 2026-01 for five scopes (one failed) and a history of the twelve months before."""
    from kpitools.runner.history import add_entries

    def entry(i: int, scope: str, period: str, month: int) -> dict:
        return {"id": f"{period}-{i}", "scope": scope, "status": "ok", "html": f"{period}/{scope}.html",
                "parameters": {"region": "" if scope == "Company-wide" else scope, "period": period},
                "headline": headline(i, month), "finished_at": "2026-02-01T06:00:00+00:00"}

    history: dict = {"scopes": {}}
    for month in months:
        add_entries(history, [entry(i, s, f"2025-{month:02d}", month) for i, s in enumerate(SCOPES)])
    runs = [entry(i, s, "2026-01", 13) for i, s in enumerate(SCOPES)]
    runs[3].update(status="failed", headline={}, error="ValueError: boom", log=".runs/x/log.txt")
    return ({"spec": "params/monthly-regions.yml", "generated_at": "2026-02-01T06:00:00+00:00", "complete": True,
             "kpitools_version": "0.1.0", "counts": {"ok": 4, "failed": 1, "skipped": 0}, "runs": runs}, history)


def test_the_matrix_has_a_row_per_scope_and_a_cell_per_kpi(tmp_path: Path) -> None:
    data, history = glance_manifest()
    html = write_portal(data, tmp_path / "index.html", history).read_text(encoding="utf-8")
    matrix = html[html.index('<section class="glance">'):html.index("</table>")]
    rows = re.findall(r'<tr style="([^"]*)">(.*?)</tr>', matrix, re.S)
    assert [re.search(r'<th scope="row">(?:<a [^>]*>)?([^<]*)', r)[1] for _, r in rows] == [
        "Company-wide", "APAC", "EMEA", "LATAM", "North America"]  # company first, then by name
    assert [len(re.findall(r'<td class="cell', r)) for _, r in rows] == [4] * 5
    headings = re.findall(r'<label for="sort-(\d)">([^<]*)</label>', matrix)
    assert headings == [("0", "Scope"), ("1", "Revenue"), ("2", "Win rate"), ("3", "Pipeline value"),
                        ("4", "Customer churn rate")]
    emea = dict(rows)[next(s for s, r in rows if ">EMEA<" in r)]
    cells = re.findall(r'<td class="cell ?(\w*)" data-label="([^"]*)"><span class="v">([^<]*)</span>', emea)
    revenue = headline(1, 13)["revenue"]  # EMEA is scope 1
    assert cells[0] == ({"on track": "good", "at risk": "warn", "off track": "bad"}[revenue["status"]], "Revenue",
                        revenue["display"])
    assert cells[2][0] == ""  # no status, no colour
    assert revenue["change"] in emea
    # a sparkline per cell: the twelve months of history and this one, the last twelve shown
    sparks = re.findall(r'<svg class="spark"[^>]*aria-label="([^"]*)"[^>]*>.*?<polyline points="([^"]*)"', emea, re.S)
    assert len(sparks) == 4 and sparks[0][0] == "Revenue, last 12 periods"
    assert len(sparks[0][1].split()) == 12
    # the failed scope: its badge, no values, still its history
    apac = next(r for _, r in rows if ">APAC<" in r)
    assert 'badge failed' in apac and apac.count('<span class="v">–</span>') == 4 and "<polyline" in apac
    # sortable without script: each row carries its rank per KPI; the checked radio picks which one orders them
    ranks = {re.search(r'<th scope="row">(?:<a [^>]*>)?([^<]*)', r)[1]: style for style, r in rows}
    by_revenue = sorted(ranks, key=lambda s: int(re.search(r"--s1:(\d+)", ranks[s])[1]))
    values = {s: headline(i, 13)["revenue"]["value"] for i, s in enumerate(SCOPES) if s != "APAC"}
    assert by_revenue == [*sorted(values, key=values.get, reverse=True), "APAC"]  # no value: last
    assert "#sort-1:checked~.matrix-wrap tbody tr{order:var(--s1)}" in html
    assert "<script" not in html.lower() and "prefers-color-scheme:dark" in html and "@media print" in html


def test_the_history_starts_from_an_earlier_manifest_and_grows(tmp_path: Path) -> None:
    import json

    from kpitools.runner.history import HISTORY, series, update_history

    def entry(period: str, value: float, status: str = "ok") -> dict:
        return {"scope": "EMEA", "status": status, "parameters": {"region": "EMEA", "period": period},
                "headline": {"revenue": {"name": "Revenue", "value": value, "display": str(value)}}}

    (tmp_path / "manifest.json").write_text(json.dumps({"runs": [entry("2025-11", 1.0), entry("2025-12", 2.0)]}))
    history = update_history(tmp_path, [entry("2026-01", 3.0)], previous_manifest=tmp_path / "manifest.json")
    assert series(history, "EMEA", "revenue", "2026-01") == [("2025-11", 1.0), ("2025-12", 2.0), ("2026-01", 3.0)]
    # the next batch: the file is there, the manifest is not read again; a re-run of a period replaces it
    (tmp_path / "manifest.json").write_text(json.dumps({"runs": [entry("2020-01", 9.0)]}))
    update_history(tmp_path, [entry("2026-01", 3.5), entry("2026-02", 4.0), entry("2026-03", 0.0, "failed")],
                   previous_manifest=tmp_path / "manifest.json")
    stored = json.loads((tmp_path / HISTORY).read_text())
    assert stored == {"scopes": {"EMEA": {"2025-11": {"revenue": 1.0}, "2025-12": {"revenue": 2.0},
                                          "2026-01": {"revenue": 3.5}, "2026-02": {"revenue": 4.0}}}}
    assert series(stored, "EMEA", "revenue", "2026-01", points=2) == [("2025-12", 2.0), ("2026-01", 3.5)]


def test_a_second_batch_extends_the_sparklines(tmp_path: Path, monkeypatch) -> None:
    import datetime as dt
    import json

    from kpitools.runner.batch import run_batch

    notebook = Path(__file__).parents[1] / "fixtures" / "batch" / "report.ipynb"
    (tmp_path / "spec.yml").write_text(f"notebook: {notebook}\noutput: out/{{period}}/{{region}}.html\n"
                                       "grid:\n  region: [EMEA, '']\n  period: [last_complete_month]\n")
    monkeypatch.chdir(tmp_path)
    for today in (dt.date(2026, 2, 10), dt.date(2026, 3, 10)):
        assert run_batch(tmp_path / "spec.yml", executor="serial", today=today, progress=False) == 0
    history = json.loads((tmp_path / "out" / ".history.json").read_text())
    assert history["scopes"]["EMEA"] == {"2026-01": {"revenue": 104.0, "deals": 7},
                                         "2026-02": {"revenue": 104.0, "deals": 7}}
    assert sorted(history["scopes"]) == ["Company-wide", "EMEA"]
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    matrix = html[html.index('<section class="glance">'):html.index("</table>")]
    assert "February 2026" in matrix and matrix.count("<tr style=") == 2
    assert len(re.findall(r'<polyline points="(\S+ \S+)"', matrix)) == 4  # 2 scopes x 2 KPIs, 2 points each


def test_the_portal_in_chromium(tmp_path: Path) -> None:
    """The matrix at 1280 and 390 px (screenshots in this test's tmp folder): nothing fetched, no errors,
    no sideways scrolling on a phone, and a click on a heading sorts the rows."""
    import importlib.util
    import os

    chromium = Path("/usr/bin/chromium")
    missing = [w for w, ok in (("/usr/bin/chromium", chromium.exists()),
                               ("playwright", importlib.util.find_spec("playwright") is not None)) if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the portal's browser test needs {' and '.join(missing)}", pytrace=False)
        pytest.skip(f"the portal's browser test needs {' and '.join(missing)}")
    from playwright.sync_api import sync_playwright

    data, history = glance_manifest()
    for run in data["runs"]:
        (tmp_path / run["html"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / run["html"]).write_text("<html></html>")
    url = write_portal(data, tmp_path / "index.html", history).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            for name, context in (("1280", {"viewport": {"width": 1280, "height": 900}}),
                                  ("390", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                                           "is_mobile": True, "has_touch": True})):
                page = browser.new_context(**context).new_page()
                requests: list[str] = []
                errors: list[str] = []
                page.on("request", lambda r, seen=requests: seen.append(r.url))
                page.on("console",
                        lambda m, said=errors: said.append(m.text) if m.type in ("error", "warning") else None)
                page.goto(url, wait_until="load")
                assert [r for r in requests if r != url] == [] and errors == []
                page.screenshot(path=str(tmp_path / f"portal-{name}.png"), full_page=True)
                rows = "[...document.querySelectorAll('.matrix tbody tr')]"
                top_first = (f"{rows}.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)"
                             ".map(r => r.querySelector('th').textContent)")
                assert page.evaluate(top_first)[0] == "Company-wide"
                assert page.evaluate("document.querySelectorAll('.matrix svg.spark').length") == 20
                if name == "390":
                    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
                    assert page.evaluate("getComputedStyle(document.querySelector('.matrix tbody tr'))"
                                         ".gridTemplateColumns.split(' ').length") == 2
                page.click('label[for="sort-1"]')  # Revenue, largest first
                values = {s: headline(i, 13)["revenue"]["value"] for i, s in enumerate(SCOPES) if s != "APAC"}
                assert page.evaluate(top_first)[0].startswith(max(values, key=values.get))
                page.context.close()
        finally:
            browser.close()
    assert (tmp_path / "portal-1280.png").stat().st_size > 10_000 and (tmp_path / "portal-390.png").is_file()
