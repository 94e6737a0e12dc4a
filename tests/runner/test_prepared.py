"""kpitools.runner.prepared: the typed copy of a dataset a batch makes once, and the data freshness it
hands to every run."""
from __future__ import annotations

from pathlib import Path

import kpitools
from kpitools.runner.prepared import prepare_data
from tests.data.test_dataset import monthly_only


def test_the_runner_and_the_report_agree_on_the_as_of_date(tmp_path: Path) -> None:
    """Before, the runner said 2026-10-01 (the start of the last month) and the report headers 2026-08-01
    (the derived customers' first date); both now say 2026-10-31."""
    config = monthly_only(tmp_path)
    _, freshness = prepare_data(str(config), tmp_path / "cache", "f" * 64)
    assert freshness == kpitools.load(config).as_of.date().isoformat() == "2026-10-31"
