"""A batch's shared results (kpitools.report.prime) are exactly what each scope would compute itself."""
from __future__ import annotations

import pandas as pd
import pytest

from kpitools.data import sample
from kpitools.report import scope as scope_module
from kpitools.report import sections
from kpitools.report.prime import SHARED_COMPUTES, install, shared_results


@pytest.fixture(scope="module")
def ds():
    return sample()


def _results(ds, params: dict) -> list[pd.DataFrame]:
    filters = {k: v for k, v in params.items() if k in ("region", "team", "rep")}
    s = sections.scope(ds, params["period"], filters, prefetch=True)
    return [sections.cards(s), s.compare(list(s.prefetch)),
            *(s.compute(kpis, by=by, period=period) for kpis, by, period in SHARED_COMPUTES)]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert a.attrs.keys() == b.attrs.keys()
    for key, value in a.attrs.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, b.attrs[key])
        else:
            assert value == b.attrs[key], key


def test_shared_results_equal_each_scopes_own(ds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scope_module, "_SCOPES", [])
    runs = [{"data": ds, "period": p, "region": r} for r in ("EMEA", "APAC", "LATAM")
            for p in ("last_complete_month", "last_complete_month-7")]
    runs += [{"data": ds, "period": "last_complete_month", dim: v}
             for dim in ("team", "rep") for v in ds.values(dim)[:2]]
    runs.append({"data": ds, "period": "last_complete_month", "region": ""})  # company-wide: nothing shared
    alone = [_results(ds, r) for r in runs]
    scope_module._SCOPES.clear()

    shared = shared_results(runs)
    assert len(shared) == len(runs) - 1
    assert all(entry["cache"] for entry in shared)
    install(shared)
    for params, own in zip(runs, alone):
        for a, b in zip(own, _results(ds, params)):
            _same(a, b)


def test_nothing_shared_for_bad_parameters(ds) -> None:
    assert shared_results([{"data": ds, "period": "2024-13", "region": "EMEA"}]) == []
    assert shared_results([{"data": ds, "period": "", "region": "EMEA", "team": "EMEA North"}]) == []
