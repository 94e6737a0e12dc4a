"""The committed notebooks: stored clean, parameterised for papermill, and executed on the built-in sample
into reports an executive can open (no code, no network, no tracebacks, the right numbers on the cards).

Kernels are slow, so each execution happens once per test session (module-scoped fixtures) and every
assertion reuses it: sales_report with its defaults (papermill's Python API), for EMEA through the plain
`papermill` command line (started first, in the background, while the others run), for a region with no
data; rep_scorecard and explore with their defaults.
"""
from __future__ import annotations

import ast
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["sales_report", "rep_scorecard", "explore"]
PAPERMILL = Path(sys.executable).with_name("papermill")
MAX_BYTES = 1_500_000

SALES_HEADINGS = ["At a glance", "Revenue trend", "Quota attainment and outlook", "Pipeline", "Funnel", "Activity",
                  "Recurring revenue", "Customers", "Products and channels", "Rep leaderboard", "Data notes"]
HEADINGS = {
    "sales_report": SALES_HEADINGS,
    "rep_scorecard": ["Scorecard", "Against the peers", "Revenue trend", "Data notes"],
    "explore": ["The dataset", "The KPI catalogue", "Compute the KPI", "Plot it", "Forecast it"],
}
CARD = re.compile(r'<div class="kpi-name">(.*?)(?:<span class="kpi-group">.*?</span>)?</div>'
                  r'<span class="kpi-status[^"]*">(.*?)</span></div><div class="kpi-value">(.*?)</div>', re.S)


def notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def parameters_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


# ----------------------------------------------------------------------------- stored notebooks

@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name: str) -> None:
    nb = notebook(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a cell has outputs: {cell.source[:60]!r}"
            assert cell.execution_count is None, f"{name}: a cell has an execution count"


@pytest.mark.parametrize("name", NAMES)
def test_one_parameters_cell_with_data_and_period(name: str) -> None:
    cells = parameters_cells(notebook(name))
    assert len(cells) == 1, f"{name}: {len(cells)} cells tagged parameters"
    tree = ast.parse(cells[0].source)
    assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets}
    assert {"data", "period"} <= assigned
    values = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets}
    assert values["data"] == "" and values["period"] == ""  # defaults: the sample, the last complete month
    if name == "sales_report":
        assert {k: values[k] for k in ("region", "team", "rep", "title")} == {
            "region": "", "team": "", "rep": "", "title": "Sales report"}


def test_report_header_comes_first() -> None:
    nb = notebook("sales_report")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "report_header(" in code[1].source


# ----------------------------------------------------------------------------- executed notebooks

def _execute(name: str, work: Path, **parameters) -> nbformat.NotebookNode:
    import papermill

    out = work / f"{name}.out.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=parameters,
                               kernel_name="python3", progress_bar=False, cwd=str(work))
    return nbformat.read(out, as_version=4)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[nbformat.NotebookNode, str]]:
    """Every execution, once: {key: (executed notebook, rendered html)}."""
    from kpitools.report import render

    cli_dir = tmp_path_factory.mktemp("papermill-cli")
    cli_out = cli_dir / "emea.ipynb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPITOOLS_RUN_DIR")}
    cli = subprocess.Popen([str(PAPERMILL), str(NOTEBOOKS / "sales_report.ipynb"), str(cli_out),
                            "-p", "region", "EMEA", "-k", "python3", "--no-progress-bar"],
                           cwd=cli_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    done: dict[str, nbformat.NotebookNode] = {}
    try:
        for key, name, params in (("sales", "sales_report", {}), ("nodata", "sales_report", {"region": "Antarctica"}),
                                  ("rep_scorecard", "rep_scorecard", {}), ("explore", "explore", {})):
            done[key] = _execute(name, tmp_path_factory.mktemp(key), **params)
        log, _ = cli.communicate(timeout=600)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, log.decode(errors="replace")[-3000:]
    done["emea"] = nbformat.read(cli_out, as_version=4)
    return {k: (nb, render(nb)) for k, nb in done.items()}


def test_papermill_cli_injected_the_region(runs) -> None:
    nb, _ = runs["emea"]
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "region = \"EMEA\"" in injected[0].source


@pytest.mark.parametrize("key", ["sales", "emea", "nodata", "rep_scorecard", "explore"])
def test_no_errors_warnings_or_stderr(runs, key: str) -> None:
    nb, _ = runs[key]
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{key}: {out.get('ename')}: {out.get('evalue')}"
            assert not (out.output_type == "stream" and out.get("name") == "stderr"), f"{key}: {out.get('text')}"


@pytest.mark.parametrize("key", ["sales", "emea", "nodata", "rep_scorecard", "explore"])
def test_report_is_safe_and_self_contained(runs, key: str) -> None:
    _, page = runs[key]
    low = page.lower()
    assert 'src="http' not in low and "href=\"http" not in low and "<script" not in low
    for code in ("import kpitools", "from kpitools", "sections.show(", "report_header(", "publish_headline("):
        assert code not in page, (key, code)
    assert "Traceback" not in page and "Warning" not in page and '<div class="report-error"' not in page
    assert len(page.encode("utf-8")) < MAX_BYTES
    assert "papermill notebooks/" not in page  # the analysts' notes (tagged remove) stay out


@pytest.mark.parametrize("key", ["sales", "emea", "nodata", "rep_scorecard", "explore"])
def test_section_headings(runs, key: str) -> None:
    _, page = runs[key]
    name = {"sales": "sales_report", "emea": "sales_report", "nodata": "sales_report"}.get(key, key)
    for heading in HEADINGS[name]:
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>", page), (key, heading)


def _cards(page: str) -> dict[str, tuple[str, str]]:
    """{card name: (status, value)} of the first block of KPI cards (the headline)."""
    block = page.split('<div class="kpi-cards">', 1)[1].split('<div class="kpi-cards">', 1)[0]
    return {html.unescape(n).strip(): (html.unescape(s), html.unescape(v)) for n, s, v in CARD.findall(block)}


@pytest.mark.parametrize("key,filters", [("sales", {}), ("emea", {"region": "EMEA"})])
def test_headline_cards_show_compare_values(runs, key: str, filters: dict) -> None:
    import kpitools
    from kpitools.kpis.compare import last_complete_period
    from kpitools.report import format_value
    from kpitools.report.sections import CARD_NAMES, HEADLINE_KPIS

    _, page = runs[key]
    ds = kpitools.sample()
    period = last_complete_period(ds, "M")
    cards = _cards(page)
    ref = kpitools.compare(ds, list(HEADLINE_KPIS), period=str(period), **filters)
    assert len(cards) == len(HEADLINE_KPIS)
    for row in ref.to_dict("records"):
        name = CARD_NAMES.get(row["kpi"], row["name"])
        assert cards[name][1] == format_value(row["value"], row["unit"], style="card"), row["kpi"]
    revenue = kpitools.compute(ds, "revenue", period=str(period), **filters)["value"].iloc[0]
    assert cards["Revenue"][1] == format_value(revenue, "money", style="card")
    header = page.split('<header class="report-header">', 1)[1].split("</header>", 1)[0]
    from kpitools.report.sections import period_label
    assert f"<dd>{period_label(period)}</dd>" in header
    assert ("<dd>Region: EMEA</dd>" if filters else "<dd>Whole company</dd>") in header
    assert f"<dd>{ds.date_range[1].date().isoformat()}</dd>" in header


def test_summary_and_charts(runs) -> None:
    _, page = runs["sales"]
    assert 'class="kpi-summary"' in page and "Revenue was $" in page
    images = re.findall(r"<img\b[^>]*>", page)
    assert len(images) >= 6
    for img in images:  # embedded PNGs, each with a real description for screen readers and e-mail
        assert 'src="data:image/png;base64,' in img
        alt = re.search(r'alt="([^"]*)"', img).group(1)
        assert len(alt) > 20 and alt != "Chart"


def test_region_without_data_says_so(runs) -> None:
    _, page = runs["nodata"]
    text = html.unescape(page)
    assert "no region 'Antarctica' in the data" in text
    assert text.count("No data for Region: Antarctica.") >= len(SALES_HEADINGS) - 2
    assert "<img" not in page and 'class="kpi-card' not in page


def test_scorecard_names_the_top_rep(runs) -> None:
    import kpitools
    from kpitools.kpis.compare import last_complete_period

    ds = kpitools.sample()
    period = last_complete_period(ds, "M")
    rev = kpitools.compute(ds, "revenue", by="rep", period=str(period))
    top = str(rev.sort_values("value", ascending=False)["rep"].iloc[0])
    _, page = runs["rep_scorecard"]
    assert f"Rep: {html.escape(top)}" in page and "top rep by revenue" in page
