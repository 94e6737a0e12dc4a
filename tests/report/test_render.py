"""The house HTML report: kpitools.report.render and kpitools.report.cards."""
from __future__ import annotations

import base64
import io
import math
import os
import re
from datetime import UTC
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kpitools.report import format_value, kpi_cards, note, render, summary_box
from kpitools.report.cards import HEADER_MIME, report_header
from kpitools.report.render import html_exporter, render_many

XSS_NAME = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
PNG = re.compile(r'<img[^>]*\ssrc="data:image/png;base64,([A-Za-z0-9+/=\s]+)"')


# --- the demo notebook, executed by papermill and rendered ------------------------------------------

def test_report_runs_no_script_and_loads_nothing(demo_html: str) -> None:
    low = demo_html.lower()
    assert "<script" not in low
    assert not REMOTE.search(demo_html)
    for banned in ("require.js", "requirejs", "mathjax", "@font-face", "@import", "url(http", "<link"):
        assert banned not in low, banned
    assert "default-src 'none'" in demo_html  # the browser is told too


def test_no_code_and_no_prompts(demo_html: str) -> None:
    for code in ("import matplotlib", "plt.subplots", "kpi_cards(cards)", "report_header(", "summary_box("):
        assert code not in demo_html, code
    assert "In&nbsp;[" not in demo_html and "Out[" not in demo_html
    assert "jp-InputPrompt" not in demo_html and "highlight" not in demo_html


def test_parameter_cells_are_removed(demo_html: str, demo_nb: nbformat.NotebookNode, demo_secret: str) -> None:
    tags = [c.metadata.get("tags", []) for c in demo_nb.cells]
    assert ["injected-parameters"] in tags and ["parameters"] in tags  # papermill did inject them
    assert demo_secret not in demo_html and "default-token" not in demo_html and "api_token" not in demo_html


def test_no_stderr_no_warnings_no_removed_cells(demo_html: str, demo_nb: nbformat.NotebookNode) -> None:
    streams = "".join(o.get("text", "") for c in demo_nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "WARNING-SENTINEL" in streams and "STDERR-SENTINEL" in streams  # the notebook did write them
    for text in ("WARNING-SENTINEL", "STDERR-SENTINEL", "UserWarning", "REMOVED-SENTINEL", "Traceback"):
        assert text not in demo_html, text
    assert "Rows checked: 4" in demo_html  # stdout stays


def test_narrative_and_table(demo_html: str) -> None:
    assert "<h2>Revenue by month</h2>" in demo_html
    assert "June was the best month" in demo_html
    assert 'class="dataframe"' in demo_html and "<th>North America</th>" in demo_html
    assert 'class="report-scroll"' in demo_html  # tables scroll sideways on a phone


def test_chart_is_embedded_as_png(demo_html: str) -> None:
    images = PNG.findall(demo_html)
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG\r\n\x1a\n")


def test_header_fields(demo_html: str) -> None:
    assert "<title>Monthly sales report</title>" in demo_html  # nb.metadata["kpitools"]["title"]
    header = demo_html.split('<header class="report-header">', 1)[1].split("</header>", 1)[0]
    assert "Monthly sales report" in header
    assert "<dd>Region: EMEA</dd>" in header  # report_header() output beats the notebook metadata
    assert "All regions (metadata)" not in demo_html
    assert "<dd>2024-06</dd>" in header and "<dd>2024-06-30</dd>" in header
    assert "<dd>2024-07-01 06:30 UTC</dd>" in header
    assert HEADER_MIME not in demo_html and "report header:" not in demo_html


def test_data_strings_are_escaped(demo_html: str) -> None:
    assert XSS_NAME not in demo_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in demo_html
    assert "<img src=x" not in demo_html and "&lt;img src=x onerror=alert(1)&gt;" in demo_html
    assert "<b>bold</b>" not in demo_html and "&lt;b&gt;bold&lt;/b&gt;" in demo_html


def test_cards_are_rendered_with_the_house_css_once(demo_html: str) -> None:
    assert demo_html.count('<div class="kpi-card ') == 4
    assert '<span class="kpi-status on-track">on track</span>' in demo_html
    assert "$1.23M" in demo_html and "▲ 12.5%" in demo_html
    assert "<style data-kpitools>" not in demo_html  # the cards' own copy is dropped
    assert demo_html.count("/* KPI cards, summary box") == 1


def test_atomic_write_leaves_no_temporary_files(demo_executed: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "nested" / "r.html"
    first = render(demo_executed, out, generated_at="first")
    render(demo_executed, out, generated_at="second")
    assert os.listdir(out.parent) == ["r.html"]
    assert "second" in out.read_text(encoding="utf-8") and "second" not in first

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        render(demo_executed, out, generated_at="third")
    assert os.listdir(out.parent) == ["r.html"]
    assert "second" in out.read_text(encoding="utf-8")


# --- notebooks built here (no kernel) ---------------------------------------------------------------

def _nb(*cells: nbformat.NotebookNode, **metadata: object) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells), metadata=metadata)


def _stdout(text: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    return new_code_cell(f"print({text!r})", metadata={"tags": tags or []},
                         outputs=[new_output("stream", name="stdout", text=text)])


def test_header_precedence_and_fallbacks(tmp_path: Path) -> None:
    header_out = new_output("display_data", data={HEADER_MIME: {"period": "2024Q2", "scope": "APAC"},
                                                   "text/plain": "report header"})
    nb = _nb(new_code_cell("report_header(...)", outputs=[header_out]),
             kpitools={"title": "From metadata", "scope": "Meta scope", "data_freshness": "2024-06-29"})
    html = render(nb, scope="<Given> scope", generated_at="now")
    assert "<title>From metadata</title>" in html
    assert "<dd>&lt;Given&gt; scope</dd>" in html  # the argument wins, escaped
    assert "<dd>2024Q2</dd>" in html and "<dd>2024-06-29</dd>" in html and "<dd>now</dd>" in html
    assert "Meta scope" not in html and "APAC" not in html

    path = tmp_path / "pipeline_review.ipynb"
    nbformat.write(_nb(_stdout("x")), path)
    html = render(path, title=None)
    assert "<title>Pipeline review</title>" in html and "Scope" not in html


def test_tagged_cells_are_removed() -> None:
    cells = [_stdout(f"SENTINEL-{tag}", [tag]) for tag in ("parameters", "injected-parameters", "remove", "hide")]
    nb = _nb(*cells, _stdout("kept"))
    html = render(nb)
    assert "SENTINEL" not in html and "kept" in html
    assert len(nb.cells) == 5  # the caller's notebook is left alone


def test_failed_cell_shows_a_short_escaped_message() -> None:
    error = new_output("error", ename="ValueError",
                       evalue="bad <b>region</b> at postgresql://sales:hunter2@db/x\nsecond line",
                       traceback=["\x1b[31mTraceback (most recent call last)\x1b[0m", "TRACEBACK-SENTINEL"])
    html = render(_nb(new_code_cell("boom()", outputs=[error])))
    assert "TRACEBACK-SENTINEL" not in html and "Traceback" not in html and "second line" not in html
    assert "hunter2" not in html and "postgresql://sales:***@db/x" in html
    assert "ValueError: bad &lt;b&gt;region&lt;/b&gt;" in html


def test_scripts_are_stripped_from_outputs_and_markdown() -> None:
    outputs = [
        new_output("display_data", data={"application/javascript": "alert('js')"}),
        new_output("display_data", data={"text/html": "<p>before</p><SCRIPT>alert('html')</SCRIPT><p>after</p>"
                                                      "<script src='https://cdn.example/x.js'>"}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "1"},
                                          "text/plain": "widget"}),
    ]
    nb = _nb(new_markdown_cell("Narrative <script>alert('md')</script> text"),
             new_code_cell("x", outputs=outputs))
    html = render(nb)
    assert "<script" not in html.lower() and "alert(" not in html
    assert "<p>before</p><p>after</p>" in html and "Narrative" in html


def test_exporter_is_built_once_and_render_many(tmp_path: Path) -> None:
    import kpitools.report

    assert html_exporter() is html_exporter()
    assert callable(kpitools.report.render)  # the function, though the submodule of that name is loaded
    jobs = [(_nb(_stdout(f"run {i}")), tmp_path / f"r{i}.html") for i in range(3)]
    written = render_many(jobs, period="2024-06")
    assert written == [p for _, p in jobs]
    assert all("run" in p.read_text(encoding="utf-8") for p in written)


def test_twelve_charts_fit_the_size_budget(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(0)
    x = pd.period_range("2023-01", periods=24, freq="M").astype(str)
    charts = []
    for kind in ("plot", "bar"):  # a busy line chart and a bar chart, each used six times
        fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
        y = np.cumsum(rng.normal(1, 0.5, 24))
        getattr(ax, kind)(x, y)
        ax.fill_between(range(24), y - 1, y + 1, alpha=0.2)
        ax.set_title(f"Revenue ({kind})")
        ax.tick_params(axis="x", labelrotation=45)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        plt.close(fig)
        charts.append(base64.b64encode(buf.getvalue()).decode())
    cells = [new_markdown_cell("## Twelve charts")]
    for i in range(12):
        cells.append(new_code_cell("plot()", outputs=[new_output("display_data", data={"image/png": charts[i % 2]})]))
    cells.append(new_code_cell("cards", outputs=[new_output("display_data", data={
        "text/html": kpi_cards(_cards()).html})]))
    out = tmp_path / "big.html"
    html = render(_nb(*cells), out)
    assert len(PNG.findall(html)) == 12
    size = out.stat().st_size
    print(f"report with 12 charts: {size / 1e6:.2f} MB")
    assert size < 1_500_000


# --- cards ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "text"), [
    (1_234_567, "money", "$1.23M"),
    (45_600, "money", "$45.6k"),
    (999_999, "money", "$1M"),
    (950, "money", "$950"),
    (-1_500, "money", "-$1.5k"),
    (2.5e9, "money", "$2.5B"),
    (1_234.5, "money_per_day", "$1.23k/day"),
    (0.253, "ratio", "25.3%"),
    (1_234_567, "count", "1,234,567"),
    (12.0, "days", "12 days"),
    (1, "days", "1 day"),
    (4.5, "months", "4.5 months"),
    (30, "minutes", "30 minutes"),
    (42.04, "score", "42"),
    (math.nan, "money", "—"),
    (None, "ratio", "—"),
    (pd.NA, "count", "—"),
])
def test_format_value(value: object, unit: str, text: str) -> None:
    assert format_value(value, unit, style="card") == text


def test_format_value_currency() -> None:
    assert format_value(1_234, "money", currency="EUR", style="card") == "€1.23k"
    assert format_value(1_234, "money", currency="CHF", style="card") == "CHF 1.23k"


def _cards() -> pd.DataFrame:
    return pd.DataFrame({
        "period": pd.PeriodIndex(["2024-06"] * 3, freq="M"),
        "region": pd.Categorical([XSS_ATTR, "EMEA", None]),
        "kpi": ["revenue", "win_rate", "cycle"],
        "name": [XSS_NAME, "Win rate", "Sales cycle"],
        "unit": ["money", "ratio", "days"],
        "direction": ["higher", "higher", "lower"],
        "value": [1_234_567.0, 0.253, 41.5],
        "previous": [1_097_393.0, 0.274, 0.0],
        "change": [137_174.0, -0.021, 41.5],
        "change_pct": [0.125, -0.0766, math.nan],
        "good": pd.array([True, False, False], dtype="boolean"),
        "last_year": [1e6, math.nan, 40.0],
        "yoy_change": [234_567.0, math.nan, 1.5],
        "yoy_pct": [0.2346, math.nan, 0.0375],
        "target": [1.2e6, math.nan, math.nan],
        "benchmark": pd.array([None, "≥ 30% <ideal>", None], dtype="string"),
        "status": pd.array(["on track", "<i>odd</i>", pd.NA], dtype="string"),
    })


def test_kpi_cards() -> None:
    block = kpi_cards(_cards())
    html = block._repr_html_()
    assert html.startswith("<style data-kpitools>") and '<div class="kpi-cards">' in html
    cards = html.split('<div class="kpi-card ')[1:]
    assert len(cards) == 3
    revenue, win_rate, cycle = cards
    assert revenue.startswith("on-track") and "$1.23M" in revenue and "Target $1.2M" in revenue
    assert '<div class="kpi-delta good"><b>▲ 12.5%</b> vs previous period' in revenue
    assert '<div class="kpi-delta good"><b>▲ 23.5%</b> vs last year' in revenue
    assert win_rate.startswith("none") and "&lt;i&gt;odd&lt;/i&gt;" in win_rate  # unknown status: grey
    assert '<div class="kpi-delta bad"><b>▼ 2.1 pp</b>' in win_rate  # ratios change in points
    assert "No data for last year" in win_rate and "Benchmark ≥ 30% &lt;ideal&gt;" in win_rate
    assert "not rated" in cycle and "No target" in cycle
    assert '<b>▲ 41.5 days</b>' in cycle  # from 0: the absolute change
    assert '<div class="kpi-delta bad"><b>▲ 3.8%</b> vs last year' in cycle  # lower is better
    assert '<span class="kpi-group">EMEA</span>' in win_rate and "kpi-group" not in cycle
    assert XSS_NAME not in html and "<img" not in html and "&quot;&gt;&lt;img src=x" in html
    assert "2024-06" not in html  # the period labels the report, not each card


def test_summary_box_and_note_escape() -> None:
    html = summary_box(f"First {XSS_NAME}\nstill first.\n\nSecond.")._repr_html_()
    assert '<div class="kpi-summary-title">Summary</div><p>First &lt;script&gt;' in html
    assert "still first.</p><p>Second.</p>" in html and XSS_NAME not in html
    assert str(note(XSS_ATTR)).endswith(
        '<div class="kpi-note"><p>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p></div>')


def test_report_header_is_a_display_object() -> None:
    bundle = report_header(period="2024-06", scope=None)._repr_mimebundle_()
    assert bundle[HEADER_MIME] == {"period": "2024-06"}


# --- right-to-left and translated reports ----------------------------------------------------------------

DATA_NOTES_MD = "## Data notes\n\nWhat this report could not show and why, and how fresh the data is."


def _localised_nb(locale: str, calendar: str = "") -> nbformat.NotebookNode:
    header = new_output("display_data", data={HEADER_MIME: {"title": "گزارش فروش", "period": "مهر ۱۴۰۵",
                                                            "locale": locale, "calendar": calendar},
                                              "text/plain": "report header"})
    with_cards = new_output("display_data", data={"text/html": kpi_cards(_cards()[1:2], locale=locale).html,
                                                  "text/plain": "cards"})
    return _nb(new_code_cell("report_header(...)", outputs=[header]), new_markdown_cell(DATA_NOTES_MD),
               new_markdown_cell("## A heading nobody translated"), new_code_cell("cards", outputs=[with_cards]))


def test_a_persian_report_is_right_to_left_and_in_persian() -> None:
    from datetime import datetime

    html = render(_localised_nb("fa", "jalali"), generated_at=datetime(2026, 11, 22, 6, 30, tzinfo=UTC))
    assert '<html dir="rtl" lang="fa">' in html
    assert "<dt>دوره</dt><dd>مهر ۱۴۰۵</dd>" in html  # header labels translated, values as given
    assert "<dt>تاریخ تهیه</dt><dd>۱ آذر ۱۴۰۵، ساعت ۰۶:۳۰ UTC</dd>" in html  # generation date: Jalali, Persian digits
    assert "تهیه‌شده با kpitools در ۱ آذر ۱۴۰۵، ساعت ۰۶:۳۰ UTC." in html
    assert ">یادداشت‌های داده</h2>" in html and "Data notes" not in html  # markdown from the catalogue
    assert "A heading nobody translated" in html  # no translation: as written
    assert '<div class="kpi-cards" dir="rtl">' in html and "نرخ موفقیت معاملات" in html
    assert "border-inline-start" in html and "text-align: start" in html  # the CSS mirrors itself


def test_russian_report_is_left_to_right_and_english_is_unchanged() -> None:
    html = render(_localised_nb("ru"), generated_at="now")
    assert '<html lang="ru">' in html and '<div class="kpi-cards">' in html  # left to right: no dir
    assert ">Примечания к данным</h2>" in html and "<dt>Период</dt>" in html
    assert "Сформировано kpitools: now." in html
    html = render(_localised_nb(""), generated_at="now")
    assert '<html lang="en">' in html and "<h2" in html and ">Data notes</h2>" in html
    assert "Generated by kpitools on now." in html


def test_an_unknown_locale_in_the_header_falls_back_to_english() -> None:
    nb = _localised_nb("")
    nb.cells[0].outputs[0].data[HEADER_MIME]["locale"] = "klingon"
    html = render(nb, generated_at="now")
    assert '<html lang="en">' in html and ">Data notes</h2>" in html


# --- each chart's numbers as a CSV link (the real sales report, conftest.sales_reports) ------------------------

DATA_LINK = re.compile(r'<a class="kpi-chart-data" download="([^"]+)" href="data:text/csv;charset=utf-8,([^"]*)">'
                       r'([^<]*)</a>')


def _links(html: str) -> dict[str, pd.DataFrame]:
    """{file name: the CSV read back by pandas, as a spreadsheet would}."""
    from urllib.parse import unquote

    return {name: pd.read_csv(io.StringIO(unquote(href))) for name, href, _text in DATA_LINK.findall(html)}


def test_each_chart_links_its_numbers_as_csv(sales_reports: dict[str, Path]) -> None:
    import kpitools

    html = sales_reports["en"].read_text(encoding="utf-8")
    links = _links(html)
    assert list(links) == ["revenue_trend.csv", "pipeline_by_stage.csv", "funnel.csv", "mrr_movements.csv",
                           "cohort_retention.csv", "revenue_by_product.csv", "revenue_by_rep.csv"]
    assert html.count('<figure class="kpi-chart"') == len(links)  # one under each chart
    assert {text for *_rest, text in DATA_LINK.findall(html)} == {"Data (CSV)"}

    # the numbers are the KPIs' own: revenue by month, and the open pipeline of the report's month by stage
    trend = links["revenue_trend.csv"]
    assert list(trend.columns[:3]) == ["period", "revenue", "target"] and "forecast_lo_80" in trend.columns
    ds = kpitools.sample()
    revenue = kpitools.compute(ds, "revenue").assign(period=lambda d: d["period"].astype(str))
    actual = trend.dropna(subset=["revenue"]).merge(revenue, on="period")
    assert len(actual) == trend["revenue"].notna().sum() >= 12
    assert np.allclose(actual["revenue"], actual["value"])
    period = actual["period"].iloc[-1]
    cards = kpitools.compare(ds, ["revenue", "pipeline_value"], period=period).set_index("kpi")["value"]
    assert actual["revenue"].iloc[-1] == pytest.approx(cards["revenue"])
    assert links["pipeline_by_stage.csv"]["value"].sum() == pytest.approx(cards["pipeline_value"])
    assert list(links["funnel.csv"].columns) == ["stage", "count", "from_previous"]


def test_chart_data_links_in_persian(sales_reports: dict[str, Path]) -> None:
    from kpitools import i18n

    html = sales_reports["fa"].read_text(encoding="utf-8")
    links = _links(html)
    assert len(links) == 7
    assert {text for *_rest, text in DATA_LINK.findall(html)} == {i18n.gettext("Data (CSV)", "fa")}
    periods = links["revenue_trend.csv"]["period"]
    assert periods.str.fullmatch(r"14\d\d-\d\d").all()  # Jalali months, as written in Latin digits
    assert pd.api.types.is_float_dtype(links["revenue_trend.csv"]["revenue"])  # numbers, not "۱٫۳۱ میلیون"


def test_the_house_report_is_an_nbconvert_exporter(demo_executed: Path, tmp_path: Path) -> None:
    """`jupyter nbconvert --to kpitools` (and JupyterLab's Save and Export Notebook As, which lists the same
    entry points) writes the page render() writes."""
    import subprocess
    import sys

    from nbconvert.exporters import get_export_names, get_exporter

    from kpitools.report.render import ReportExporter

    assert "kpitools" in get_export_names() and get_exporter("kpitools") is ReportExporter
    assert ReportExporter.export_from_notebook == "kpitools report"
    jupyter = Path(sys.executable).with_name("jupyter")
    done = subprocess.run([str(jupyter), "nbconvert", "--to", "kpitools", str(demo_executed), "--output-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = (tmp_path / demo_executed.with_suffix(".html").name).read_text(encoding="utf-8")
    rendered = render(demo_executed)
    generated = re.compile(r"Generated by kpitools on [^<]*|\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
    assert generated.sub("", exported) == generated.sub("", rendered)
    assert "<script" not in exported.lower() and "Generated by kpitools on" in exported
