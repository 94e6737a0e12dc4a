"""forecast() and backtest(): the contract, edge cases and reproducibility."""
import warnings

import numpy as np
import pandas as pd
import pytest

from kpitools.forecast import backtest, forecast
from kpitools.forecast.models import candidates

from .conftest import seasonal_series

COLS = ["mean", "lo_80", "hi_80", "lo_95", "hi_95"]


def test_contract_shape_and_attrs(sales):
    fc = forecast(sales, 6, fast=True)
    assert list(fc.columns) == COLS
    assert isinstance(fc.index, pd.PeriodIndex)
    assert list(fc.index.astype(str)) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert isinstance(fc.attrs["model"], str) and fc.attrs["model"]
    assert (fc["lo_95"] <= fc["lo_80"]).all() and (fc["lo_80"] <= fc["hi_80"]).all()
    assert (fc["hi_80"] <= fc["hi_95"]).all()
    assert np.isfinite(fc.to_numpy()).all()


def test_any_levels(sales):
    fc = forecast(sales, 3, model="ets", level=(50, 99.5))
    assert list(fc.columns) == ["mean", "lo_50", "hi_50", "lo_99.5", "hi_99.5"]
    assert (fc["hi_99.5"] - fc["lo_99.5"] > fc["hi_50"] - fc["lo_50"]).all()
    with pytest.raises(ValueError):
        forecast(sales, 3, level=(80, 120))


@pytest.mark.parametrize("model", ["snaive", "naive", "ets", "theta", "sarima", "ETS(A,Ad,A)"])
def test_each_model(sales, model):
    fc = forecast(sales, 12, model=model)
    assert fc.shape == (12, 5)
    assert np.isfinite(fc.to_numpy()).all()
    if model == "ETS(A,Ad,A)":
        assert fc.attrs["model"] == "ETS(A,Ad,A)"


def test_seasonal_naive_by_hand():
    y = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8], index=pd.period_range("2024Q1", periods=8, freq="Q"))
    fc = forecast(y, 5, model="snaive")  # m = 4: repeats the last year 5 6 7 8, then 5
    assert fc["mean"].tolist() == [5, 6, 7, 8, 5]
    # σ = RMS of the seasonal differences (all 4) = 4; sd = 4·√(⌊(h-1)/4⌋+1)
    z80 = 1.2815515655446004
    assert fc["hi_80"].iloc[0] - fc["mean"].iloc[0] == pytest.approx(4 * z80)
    assert fc["hi_80"].iloc[4] - fc["mean"].iloc[4] == pytest.approx(4 * z80 * np.sqrt(2))


def test_unknown_model(sales):
    with pytest.raises(ValueError, match="choose one of"):
        forecast(sales, 3, model="prophet")


@pytest.mark.parametrize("kind", ["timestamp_start", "timestamp_end", "string"])
def test_index_kinds_round_trip(sales, kind):
    idx = {"timestamp_start": sales.index.to_timestamp(how="start"),
           "timestamp_end": sales.index.to_timestamp(how="end").normalize(),
           "string": sales.index.astype(str)}[kind]
    fc = forecast(pd.Series(sales.to_numpy(), index=idx), 2, model="snaive")
    expected = {"timestamp_start": ["2024-01-01", "2024-02-01"],
                "timestamp_end": ["2024-01-31", "2024-02-29"],
                "string": ["2024-01", "2024-02"]}[kind]
    assert [str(x)[:10] for x in fc.index] == expected


def test_very_short_series_is_naive_with_warning():
    y = pd.Series([5.0, 7.0, 6.0], index=pd.period_range("2024-01", periods=3, freq="M"))
    with pytest.warns(UserWarning, match="naive"):
        fc = forecast(y, 4)
    assert fc.attrs["model"] == "Naive"
    assert (fc["mean"] == 6.0).all()


def test_under_two_seasons_has_no_seasonal_candidate():
    y = seasonal_series(20).to_numpy()
    names = [c.name for c in candidates(y, 12)]
    assert "Seasonal naive" not in names
    assert not any(n.endswith(",A)") or n.endswith(",M)") for n in names if n.startswith("ETS"))
    assert not any(")12" in n for n in names)
    fc = forecast(seasonal_series(20), 6)
    assert np.isfinite(fc.to_numpy()).all()


def test_zeros_and_gaps_are_zero_for_flows():
    y = seasonal_series(36)
    y.iloc[[5, 17, 29]] = 0.0
    gappy = y.drop(y.index[[10, 34]])  # missing months: no revenue
    fc = forecast(gappy, 12, fast=True)
    assert np.isfinite(fc.to_numpy()).all() and (fc.to_numpy() >= 0).all()
    assert not any("M" in n.split("(")[1] for n in [fc.attrs["model"]] if n.startswith("ETS"))
    interpolated = forecast(gappy, 12, model="snaive", missing="interpolate")
    zero_filled = forecast(gappy, 12, model="snaive")
    assert interpolated["mean"].iloc[10] > 0 and zero_filled["mean"].iloc[10] == 0


def test_all_zero_series():
    y = pd.Series(0.0, index=pd.period_range("2022-01", periods=30, freq="M"))
    fc = forecast(y, 6)
    assert (fc.to_numpy() == 0).all()


def test_never_negative_for_non_negative_kpi():
    # falling fast towards zero: a trend model would cross below 0
    y = pd.Series(np.linspace(100, 5, 30), index=pd.period_range("2022-01", periods=30, freq="M"))
    fc = forecast(y, 12, model="ETS(A,A,N)")
    assert (fc.to_numpy() >= 0).all()
    assert fc["mean"].iloc[-1] == 0
    signed = forecast(y - 50, 12, model="ETS(A,A,N)")  # has negatives: not clipped
    assert (signed["mean"] < 0).any()


def test_reproducible(airline):
    a = forecast(airline, 12, model="ETS(M,Ad,M)")  # simulated intervals
    b = forecast(airline, 12, model="ETS(M,Ad,M)")
    pd.testing.assert_frame_equal(a, b)
    c, d = forecast(airline, 12, fast=True), forecast(airline, 12, fast=True)
    pd.testing.assert_frame_equal(c, d)


def test_no_statsmodels_warnings_leak(sales):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecast(sales, 6, model="sarima")
        forecast(sales, 6, model="ets")


def test_auto_beats_seasonal_naive_on_airline(airline):
    train, test = airline.iloc[:-12], airline.iloc[-12:].to_numpy()
    err = {m: np.abs(forecast(train, 12, model=m, fast=True)["mean"].to_numpy() - test).mean()
           for m in ("auto", "snaive")}
    assert err["auto"] < err["snaive"]


def test_backtest_folds(sales):
    bt = backtest(sales, horizon=6, folds=3, model="snaive")
    assert len(bt.folds) == 3 and len(bt.points) == 18
    # origins: n − h − i·step with step = h = 6: the last training periods
    # are 2023-06, 2022-12, 2022-06
    assert [str(o) for o in bt.folds["origin"]] == ["2023-06", "2022-12", "2022-06"]
    first = bt.points[bt.points["fold"] == 0]
    assert first["actual"].tolist() == sales.iloc[-6:].tolist()
    assert set(bt.folds.columns) >= {"mase", "smape", "coverage_80", "coverage_95"}
    s = bt.summary()
    assert s["mase"] == pytest.approx(bt.folds["mase"].mean())
    with pytest.raises(ValueError):
        backtest(sales.iloc[:10], horizon=6, folds=3)

