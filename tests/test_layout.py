"""Tests mirror the package: the tests of kpitools/<package>/<module>.py are in
tests/<package>/test_<module>.py, so a newcomer finds a module's tests by its name. The few modules
tested through another module's tests are listed here, with the file that tests them."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]

# module -> the test file that exercises it (it has no test file of its own)
TESTED_THROUGH = {
    "data/cleaning.py": "tests/data/test_join.py",            # fill:, exclude:, incomplete: on real exports
    "data/config.py": "tests/data/test_validate.py",
    "data/parse.py": "tests/data/test_loader.py",
    "data/problems.py": "tests/test_corpus.py",               # every message: file, table, column, row, fix
    "data/schema.py": "tests/data/test_validate.py",
    "data/types.py": "tests/data/test_loader.py",
    "forecast/blas.py": "tests/forecast/test_panel.py",
    "forecast/series.py": "tests/forecast/test_core.py",
    "i18n/core.py": "tests/i18n/test_catalogues.py",
    "i18n/extract.py": "tests/i18n/test_catalogues.py",
    "i18n/house_formats.py": "tests/i18n/test_formatting.py",
    "init/propose.py": "tests/init/test_init.py",
    "init/recognise.py": "tests/init/test_init.py",
    "init/words.py": "tests/init/test_init.py",
    "init/write.py": "tests/init/test_init.py",
    "kpis/memo.py": "tests/kpis/test_engine.py",
    "kpis/output.py": "tests/kpis/test_compute.py",
    "report/cards.py": "tests/report/test_render.py",
    "report/headline.py": "tests/report/test_sections.py",
    "report/scope.py": "tests/report/test_sections.py",
    "report/section.py": "tests/report/test_shapes.py",       # what each section needs, on 27 data shapes
    "report/sections/activity.py": "tests/report/test_sections.py",
    "report/sections/at_a_glance.py": "tests/report/test_sections.py",
    "report/sections/attainment.py": "tests/report/test_sections.py",
    "report/sections/customers.py": "tests/report/test_sections.py",
    "report/sections/data_notes.py": "tests/report/test_sections.py",
    "report/sections/funnel.py": "tests/report/test_sections.py",
    "report/sections/leaderboard.py": "tests/report/test_sections.py",
    "report/sections/pipeline.py": "tests/report/test_sections.py",
    "report/sections/products.py": "tests/report/test_sections.py",
    "report/sections/recurring.py": "tests/report/test_sections.py",
    "report/sections/scorecard.py": "tests/report/test_sections.py",
    "report/sections/trend.py": "tests/report/test_sections.py",
    "runner/errors.py": "tests/runner/test_spec.py",
    "runner/executors.py": "tests/runner/test_batch.py",      # local and Dask executors
    "runner/history.py": "tests/runner/test_portal.py",
    "runner/kernels.py": "tests/runner/test_fork_server.py",
    "runner/manifest.py": "tests/runner/test_batch.py",
    "runner/progress.py": "tests/runner/test_batch.py",
    "runner/run.py": "tests/runner/test_faults.py",           # time-outs, retries, crashes of one run
    "runner/worker.py": "tests/runner/test_batch.py",
    "viz/export.py": "tests/viz/test_charts.py",
    "viz/theme.py": "tests/viz/test_charts.py",
}


def _modules() -> list[str]:
    package = ROOT / "kpitools"
    return sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py"))


def _own_test(module: str) -> Path:
    path = Path(module)
    return ROOT / "tests" / path.parent / f"test_{path.stem}.py"


def test_every_module_has_its_tests_where_its_name_says() -> None:
    lost = [m for m in _modules() if not _own_test(m).is_file() and m not in TESTED_THROUGH]
    assert not lost, f"no tests/<package>/test_<module>.py for {lost}: add one, or list it in TESTED_THROUGH"


def test_the_list_of_modules_tested_through_others_is_true() -> None:
    modules = set(_modules())
    assert set(TESTED_THROUGH) <= modules, f"not modules (any more): {sorted(set(TESTED_THROUGH) - modules)}"
    own = [m for m in TESTED_THROUGH if _own_test(m).is_file()]
    assert not own, f"these now have their own test file: take them off TESTED_THROUGH: {own}"
    missing = sorted({f for f in TESTED_THROUGH.values() if not (ROOT / f).is_file()})
    assert not missing, f"no such test files: {missing}"
