"""Shared by the report tests: the demo notebook executed once with papermill, and its rendered report."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parents[1] / "fixtures" / "notebooks"
DEMO = NOTEBOOKS / "report_demo.ipynb"
SECRET = "tok-INJECTED-SECRET-123"  # passed as a parameter, never printed by the notebook
GENERATED = datetime(2024, 7, 1, 6, 30, tzinfo=timezone.utc)


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
