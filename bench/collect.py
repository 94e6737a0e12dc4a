"""Rebuild bench/results.md from the per-benchmark result files (run after any benchmark)."""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
SECTIONS = [  # (heading in results.md, file written by a benchmark)
    ("KPI engine (issue 3)", "results-kpis.md"),
    ("Forecasts (issue 4)", "results-forecast.md"),
    ("Batch runs, the real sales report (issue 6)", "results-batch-real.md"),
    ("Batch runs, a stand-in notebook with little work (issue 6)", "results-batch.md"),
    ("Loading the data (issue 8)", "results-load.md"),
]


def demote(text: str) -> str:
    """Drop the file's title and push every heading one level down, under the section heading."""
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(re.sub(r"^(#+) ", r"#\1 ", line) for line in lines).strip()


def main() -> None:
    parts = ["# Benchmark results", "",
             "Collected by `bench/collect.py` from the per-benchmark files (see bench/README.md for how to run "
             "each).", ""]
    for heading, name in SECTIONS:
        path = HERE / name
        if path.exists():
            parts += [f"## {heading}", "", demote(path.read_text(encoding="utf-8")), ""]
    (HERE / "results.md").write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    main()
