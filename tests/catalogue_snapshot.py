"""The sample's whole KPI catalogue (every KPI by month, by region, by rep) as one digest per KPI and
grouping, so a change to the data layer or the engine that moves any number shows in a test.

`python -m tests.catalogue_snapshot > tests/fixtures/catalogue/sample-2026-10.json` records it again, only
when a change of numbers is intended (and said so in the commit)."""
from __future__ import annotations

import hashlib
import json

import pandas as pd

GROUPINGS = ("", "region", "rep")


def _number(v: object) -> str:
    try:
        return f"{float(v):.10g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)


def digest(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    """kpi -> {rows, sha256 of the rows sorted, values written with 10 significant digits}."""
    out: dict[str, dict[str, object]] = {}
    for kpi, rows in frame.groupby("kpi", sort=True):
        rows = rows.dropna(axis=1, how="all").drop(columns="kpi")
        text = rows.astype({c: "string" for c in rows.columns if c != "value"})
        lines = sorted("|".join([*(str(v) for v in r[:-1]), _number(r[-1])])
                       for r in text.itertuples(index=False, name=None))
        out[str(kpi)] = {"rows": len(lines), "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest()}
    return out


def snapshot() -> dict[str, dict[str, dict[str, object]]]:
    import kpitools

    ds = kpitools.sample(end="2026-10")
    result = {}
    for by in GROUPINGS:
        frame = kpitools.compute(ds, freq="M", by=by or None)
        frame = frame[[c for c in frame.columns if c != "value"] + ["value"]]
        result[by or "company"] = digest(frame)
    return result


if __name__ == "__main__":
    print(json.dumps(snapshot(), indent=1, sort_keys=True))
