"""Every report notebook renders on every shape of data that validates (tests/report/shapes.py: each
optional table absent, deals with each other table alone, the required deal columns only, a won-only
ledger, leads only, subscriptions only, three months of history, one region, only open deals, one rep, a
period with no deals), through the real runner: one `kpitools run` per notebook across all the shapes.
A section that cannot be shown says so in one calm line, and the data notes list it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.report.shapes import write_shapes

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
REPORTS = ("sales_report", "rep_scorecard", "explore")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("shapes")
    return root, write_shapes(root)


@pytest.fixture(scope="module")
def batches(shapes: tuple[Path, dict[str, Path]]) -> dict[str, dict]:
    """One batch per notebook over every shape: notebook -> its manifest."""
    root, folders = shapes
    out = {}
    for notebook in REPORTS:
        spec = root / f"{notebook}.yml"
        spec.write_text(f"notebook: {NOTEBOOKS / notebook}.ipynb\noutput: out/{notebook}/{{data}}.html\n"
                        f"grid:\n  data: {json.dumps(sorted(folders))}\ntimeout: 300\n", encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "kpitools", "run", spec.name, "--workers", "2"],
                              cwd=root, capture_output=True, text=True, timeout=1200)
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        out[notebook] = json.loads((root / "out" / notebook / "manifest.json").read_text(encoding="utf-8"))
    return out


@pytest.mark.parametrize("notebook", REPORTS)
def test_every_report_renders_on_every_shape(batches: dict[str, dict], shapes, notebook: str) -> None:
    root, folders = shapes
    runs = {r["parameters"]["data"]: r for r in batches[notebook]["runs"]
            if r["notebook"].endswith(f"{notebook}.ipynb")}
    failed = {name: (r["error"] or "")[:300] for name, r in runs.items() if r["status"] != "ok"}
    assert not failed
    assert set(runs) == set(folders)
    for name in folders:
        page = (root / "out" / notebook / f"{name}.html").read_text(encoding="utf-8")
        assert "Traceback" not in page and "Error" not in page.split("<body", 1)[-1][:0] + ""


def test_a_section_without_its_table_says_so_in_one_line(shapes) -> None:
    root, _ = shapes
    page = (root / "out" / "sales_report" / "deals_only.html").read_text(encoding="utf-8")
    assert "Lead funnel: not shown, this dataset has no leads table; add <code>leads:</code>" in page


# ----------------------------------------------------------------------------- random shapes (hypothesis)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kpitools.data.schema import TABLES  # noqa: E402
from tests.report.shapes import FACTS, sample_tables, write_tables  # noqa: E402

SAMPLE = sample_tables()
OPTIONAL_DEAL_COLUMNS = [c for c in SAMPLE["deals"].columns if c not in TABLES["deals"].required
                         and c != "closed_at"]
SECTIONS = ("cards", "revenue_trend", "attainment", "pipeline", "funnel", "activity", "recurring", "customers",
            "products_channels", "leaderboard", "scorecard")


@st.composite
def random_shapes(draw: st.DrawFn) -> dict:
    tables = draw(st.sets(st.sampled_from(sorted(SAMPLE)), min_size=1))
    if not tables & set(FACTS):
        tables.add(draw(st.sampled_from(FACTS)))
    dropped = draw(st.sets(st.sampled_from(OPTIONAL_DEAL_COLUMNS), max_size=len(OPTIONAL_DEAL_COLUMNS)))
    shape = {t: SAMPLE[t] for t in tables}
    if "deals" in shape:
        shape["deals"] = shape["deals"].drop(columns=sorted(dropped))
    return shape


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(shape=random_shapes())
def test_every_section_of_a_random_shape_shows_or_says_why_not(tmp_path_factory, shape: dict) -> None:
    """Random subsets of the tables and of the optional deal columns: every section a report shows either
    has its numbers or a message, the narrative and the data notes are written, and nothing raises."""
    import kpitools
    from kpitools.report import narrative, sections

    ds = kpitools.load(write_tables(shape, tmp_path_factory.mktemp("random")))
    scope = sections.scope(ds)
    results = [getattr(sections, name)(scope) for name in SECTIONS]
    for name, result in zip(SECTIONS, results):
        message = result.attrs.get("message") if name == "cards" else result.message
        why_not = sections.not_shown(name, ds)
        if why_not:
            assert message == why_not, name
    headline = results[0]
    assert isinstance(narrative.summary(headline, narrative.drivers(scope)), str)
    notes = sections.data_notes(scope, results).text
    for name in SECTIONS:
        why_not = sections.not_shown(name, ds)
        assert why_not is None or why_not in notes
