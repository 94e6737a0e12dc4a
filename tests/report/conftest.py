"""Shared by the report tests: the demo notebook executed once with papermill, and its rendered report; the real
sales report executed once per language, and its rendered reports."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parents[1] / "fixtures" / "notebooks"
DEMO = NOTEBOOKS / "report_demo.ipynb"
SALES_REPORT = Path(__file__).parents[2] / "notebooks" / "sales_report.ipynb"
# the sales report's languages: Persian with Solar Hijri months and right to left, Arabic right to left with
# Latin digits, Russian left to right
LOCALE_RUNS = {"en": {}, "fa": {"locale": "fa", "calendar": "jalali"}, "ru": {"locale": "ru"}, "ar": {"locale": "ar"}}
SECRET = "tok-INJECTED-SECRET-123"  # passed as a parameter, never printed by the notebook
GENERATED = datetime(2024, 7, 1, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_secret() -> str:
    return SECRET


@pytest.fixture(scope="session")
def demo_executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report_demo.ipynb run by papermill (region EMEA, a demo_secret token) in its own working folder."""
    import papermill

    work = tmp_path_factory.mktemp("papermill")
    out = work / "report_demo.out.ipynb"
    papermill.execute_notebook(str(DEMO), str(out), parameters={"region": "EMEA", "api_token": SECRET},
                               kernel_name="python3", progress_bar=False, cwd=str(work))
    return out


@pytest.fixture(scope="session")
def demo_report(demo_executed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo_executed demo notebook rendered to reports/emea.html in a fresh folder."""
    from kpitools.report import render

    out = tmp_path_factory.mktemp("reports") / "emea.html"
    render(demo_executed, out, generated_at=GENERATED)
    return out


@pytest.fixture(scope="session")
def demo_html(demo_report: Path) -> str:
    return demo_report.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def demo_nb(demo_executed: Path) -> nbformat.NotebookNode:
    return nbformat.read(demo_executed, as_version=4)


@pytest.fixture(scope="session")
def sales_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real sales report notebook run by papermill (the sample data) in each of LOCALE_RUNS and rendered:
    {"fa": .../report-fa/fa.html, ...}, the executed notebook beside each as report.ipynb."""
    import papermill

    from kpitools.report import render

    out = {}
    for name, parameters in LOCALE_RUNS.items():
        work = tmp_path_factory.mktemp(f"report-{name}")
        papermill.execute_notebook(str(SALES_REPORT), str(work / "report.ipynb"), parameters=parameters,
                                   kernel_name="python3", progress_bar=False, cwd=str(work))
        out[name] = work / f"{name}.html"
        render(work / "report.ipynb", out[name])
    return out
