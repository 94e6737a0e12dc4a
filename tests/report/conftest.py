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


# Names from the data that try to become markup: they must reach every page as text only.
HOSTILE = {"script": "<script>alert(1)</script>", "img": '"><img src=x onerror=alert(1)>',
           "quote": "' onmouseover='alert(1)"}


@pytest.fixture(scope="session")
def hostile_batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The real sales_report, run by `kpitools run` (2 workers) for the whole company and for one region,
    on a small sample whose region, rep, product and customer names carry HOSTILE strings
    (tests/report/test_safety.py; test_browser.py opens the pages). Returns root (the output folder),
    the reports' paths, the command's exit code and output."""
    import json
    import subprocess
    import sys

    import pandas as pd

    from kpitools.data.sample import write_sample

    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "data"
    write_sample(data, months=15, end="2026-01")
    deals = pd.read_csv(data / "deals.csv")
    reps, products = deals["rep"].value_counts().index, deals["product"].value_counts().index
    customer = deals["customer_id"].dropna().value_counts().index[0]
    renames = {
        "region": {"EMEA": f"EMEA {HOSTILE['script']}", "APAC": f"APAC{HOSTILE['img']}"},
        "rep": {reps[0]: f"Ann {HOSTILE['script']}", reps[1]: f"Bob{HOSTILE['img']}", reps[2]: f"Cy{HOSTILE['quote']}"},
        "product": {products[0]: f"Suite {HOSTILE['script']}", products[1]: f"Pro{HOSTILE['img']}",
                    products[2]: f"Max{HOSTILE['quote']}"},
        "customer_id": {customer: f"{customer}{HOSTILE['img']}"},
    }
    for table in data.glob("*.csv"):
        df = pd.read_csv(table, dtype=str, keep_default_na=False)
        for column, mapping in renames.items():
            if column in df.columns:
                df[column] = df[column].replace(mapping)
        df.to_csv(table, index=False)
    region = renames["region"]["APAC"]
    (folder / "spec.yml").write_text(
        f"notebook: {NOTEBOOKS.parents[2] / 'notebooks' / 'sales_report.ipynb'}\n"
        "output: out/{period}/{region}.html\ntitle: 'Sales {region}'\nparameters: {data: data}\n"
        f"grid:\n  region: ['', {json.dumps(region)}]\n  period: ['2026-01']\n", encoding="utf-8")
    command = Path(sys.executable).with_name("kpitools")
    done = subprocess.run([str(command), "run", "spec.yml", "--workers", "2"], cwd=folder, capture_output=True,
                          text=True, timeout=900)
    root = folder / "out"
    return {"root": root, "strings": HOSTILE, "code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "region": region, "company": root / "2026-01" / "all.html",
            "regional": root / "2026-01" / f"{region}.html", "portal": root / "index.html"}
