import os
from pathlib import Path

import pytest

# Every test runs as on this day, whatever the machine's date: the sample ends in October 2026 (Mehr 1405)
# and `last_complete_month` is 2026-10. Set here, before any test, so kernels and subprocesses inherit it.
TEST_TODAY = "2026-11-15"
os.environ["KPITOOLS_TODAY"] = TEST_TODAY

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


# Names from the data that try to become markup: they must reach every page as text only.
HOSTILE = {"script": "<script>alert(1)</script>", "img": '"><img src=x onerror=alert(1)>',
           "quote": "' onmouseover='alert(1)"}


@pytest.fixture(scope="session")
def hostile_batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The real sales_report, run by `kpitools run` (2 workers) for the whole company and for one region,
    on a small sample whose region, rep, product and customer names carry HOSTILE strings
    (tests/runner/test_safety.py; tests/report/test_browser.py opens the pages). Returns root (the output folder),
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
        f"notebook: {ROOT / 'notebooks' / 'sales_report.ipynb'}\n"
        "output: out/{period}/{region}.html\ntitle: 'Sales {region}'\nparameters: {data: data}\n"
        f"grid:\n  region: ['', {json.dumps(region)}]\n  period: ['2026-01']\n", encoding="utf-8")
    command = Path(sys.executable).with_name("kpitools")
    done = subprocess.run([str(command), "run", "spec.yml", "--workers", "2"], cwd=folder, capture_output=True,
                          text=True, timeout=900)
    root = folder / "out"
    return {"root": root, "strings": HOSTILE, "code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "region": region, "company": root / "2026-01" / "all.html",
            "regional": root / "2026-01" / f"{region}.html", "portal": root / "index.html"}
