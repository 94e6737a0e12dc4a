"""Dataset: what a notebook shows for `ds` (a few lines, not the tables), and its one "as of" date."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

import kpitools
from kpitools.data.dataset import Dataset
from kpitools.data.problems import DataNote, Problem
from kpitools.kpis.compare import last_complete_period


def _dataset() -> Dataset:
    deals = pd.DataFrame({"deal_id": ["D1", "D2", "D3"],
                          "created_at": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-31"])})
    subs = pd.DataFrame({"customer_id": ["C1"], "month": pd.to_datetime(["2024-02-01"]), "mrr": [10.0]})
    return Dataset(tables={"deals": deals, "subscriptions": subs}, name="Acme <EU>", currency="EUR",
                   warnings=[Problem("1 column(s) not used", severity="warning")],
                   notes=[DataNote("deals", "dropped", 2, column="amount")])


def test_repr_is_a_few_lines_with_name_dates_and_tables() -> None:
    text = repr(_dataset())
    lines = text.splitlines()
    assert lines[0] == "Dataset 'Acme <EU>': EUR, gregorian calendar, 2024-01-05 to 2024-03-31"
    assert lines[1].split() == ["deals", "3", "rows", "x", "2", "columns"]
    assert lines[2].split() == ["subscriptions", "1", "rows", "x", "3", "columns"]
    assert lines[3].strip() == "1 warning(s), 1 note(s)"
    assert len(lines) == 4


def test_repr_of_a_large_table_stays_one_line_per_table() -> None:
    big = pd.DataFrame({"deal_id": [f"D{i}" for i in range(100_000)]})
    text = repr(Dataset(tables={"deals": big}))
    assert text.splitlines()[1].split() == ["deals", "100,000", "rows", "x", "1", "columns"]
    assert "no dates" in text.splitlines()[0]


def test_html_repr_is_escaped_and_compact() -> None:
    html = _dataset()._repr_html_()
    assert "Acme &lt;EU&gt;" in html and "<EU>" not in html
    assert html.count("<tr>") == 3  # the header and one row per table
    assert "1 warning(s), 1 note(s)" in html


def monthly_only(folder: Path) -> Path:
    """A billing export with only month rows (2026-08 to 2026-10)."""
    pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"], "customer_id": ["c1", "c1", "c1"],
                  "mrr": [100, 100, 120]}).to_csv(folder / "billing.csv", index=False)
    (folder / "dataset.yml").write_text("name: Billing\ncurrency: USD\ntables:\n  subscriptions:\n"
                                        "    path: billing.csv\n", encoding="utf-8")
    return folder / "dataset.yml"


def test_a_monthly_dataset_is_as_of_the_end_of_its_last_month(tmp_path: Path) -> None:
    """Its derived customers have a first-paid date (2026-08-01), but the October rows cover October."""
    ds = kpitools.load(monthly_only(tmp_path))
    assert ds.as_of == pd.Timestamp("2026-10-31")
    assert str(last_complete_period(ds, "M")) == "2026-10"


def test_event_dates_decide_when_they_are_later() -> None:
    ds = kpitools.sample(months=6, end="2026-06")
    latest = max(ds.deals["closed_at"].max(), ds.deals["created_at"].max())
    assert latest.normalize() <= ds.as_of <= pd.Timestamp("2026-06-30 23:59:59")
