"""model="auto": ETS, Theta and their mean by back-test, the same for single series and panels."""
import numpy as np
import pandas as pd
import pytest

from kpitools.forecast import forecast, forecast_panel
from kpitools.forecast.models import AUTO_FAMILIES, candidates
from kpitools.forecast.select import select

from .conftest import seasonal_series


def monthly(values: np.ndarray, start: str = "2020-01") -> pd.Series:
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"))


def test_auto_candidates_are_ets_and_theta_and_their_mean():
    y = seasonal_series(60).to_numpy()
    cands = candidates(y, 12, AUTO_FAMILIES, fast=True)
    assert {c.family for c in cands} == {"ets", "theta"}
    assert len([c for c in cands if c.family == "ets"]) == 9  # error type matches the season's
    sel = select(y, 12, 12, cands)
    assert set(sel.scores) == {"ets", "theta", "combo"}
    assert sel.family == min(sel.scores, key=lambda f: sel.scores[f])


def test_pure_seasonal_series_gets_a_seasonal_model():
    t = np.arange(60)
    season = np.array([80, 85, 100, 95, 100, 105, 90, 85, 110, 115, 120, 150], float)
    y = monthly(season[t % 12] * np.random.default_rng(1).lognormal(0, 0.01, 60))
    fc = forecast(y, 12)
    name = fc.attrs["model"]
    assert "SARIMA" not in name and "naive" not in name
    for part in name.removeprefix("Mean of ").split(" + "):  # every ETS member in it is seasonal
        assert not part.startswith("ETS") or not part.endswith("N)")
    # the forecast repeats the season's shape and level
    assert np.corrcoef(fc["mean"], season)[0, 1] > 0.95
    np.testing.assert_allclose(fc["mean"], season, rtol=0.1)


def test_flat_series_gets_a_flat_forecast():
    y = monthly(100 + np.random.default_rng(2).normal(0, 1, 48))
    fc = forecast(y, 12)
    assert np.abs(fc["mean"] - 100).max() < 3  # no invented trend or season
    assert ((fc["lo_95"] < 100) & (fc["hi_95"] > 100)).all()
    constant = forecast(monthly(np.full(48, 100.0)), 6)
    assert constant.attrs["model"] == "Naive" and (constant["mean"] == 100).all()


def _tidy(groups: int = 4, n: int = 48) -> pd.DataFrame:
    rows = []
    for i in range(groups):
        y = seasonal_series(n, seed=10 + i)
        rows.append(pd.DataFrame({"period": y.index, "region": f"R{i}", "kpi": "revenue", "value": y.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_panel_and_single_series_make_the_same_choice(workers):
    df = _tidy()
    panel = forecast_panel(df, by="region", horizon=6, workers=workers)
    for region, g in df.groupby("region"):
        one = forecast(pd.Series(g["value"].to_numpy(), index=g["period"]), 6)
        row = panel[panel.region == region]
        assert row["model"].iloc[0] == one.attrs["model"]
        np.testing.assert_allclose(row[["mean", "lo_80", "hi_95"]].to_numpy(),
                                   one[["mean", "lo_80", "hi_95"]].to_numpy())


def test_fast_changes_nothing(airline):
    pd.testing.assert_frame_equal(forecast(airline, 12), forecast(airline, 12, fast=True))


def test_auto_is_deterministic(airline):
    a, b = forecast(airline, 12), forecast(airline, 12)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["model"] == b.attrs["model"]
    df = _tidy(3)
    pd.testing.assert_frame_equal(forecast_panel(df, by="region", horizon=3, workers=1),
                                  forecast_panel(df, by="region", horizon=3, workers=2))


def test_a_specific_model_can_still_be_asked_for(sales):
    assert forecast(sales, 6, model="sarima").attrs["model"].startswith("SARIMA")
    assert forecast(sales, 6, model="snaive").attrs["model"] == "Seasonal naive"
    assert forecast(sales, 6, model="ETS(A,A,N)").attrs["model"] == "ETS(A,A,N)"
