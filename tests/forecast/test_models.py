"""The model wrappers: the shortcuts they take give statsmodels' numbers."""
import numpy as np
import pytest

from kpitools.forecast.models import candidates

from .conftest import load


@pytest.mark.parametrize("n", [40, 100])
def test_ets_point_forecast_matches_statsmodels(n):
    # point_forecast reads statsmodels' smoothed states (private API): guard upgrades
    y = load("airpassengers").to_numpy()[:n]
    for c in candidates(y, 12, ("ets",)):
        fit = c.fit(y)
        expected = np.asarray(fit.res.forecast(15)) * fit.scale
        np.testing.assert_allclose(fit.point_forecast(15), expected, rtol=1e-9, err_msg=c.name)
        np.testing.assert_allclose(fit.predict(15, ())["mean"], expected, rtol=1e-9)


def test_theta_intervals_are_ses_with_drift_on_the_deseasonalised_series():
    # non-seasonal (m = 1), with a zero: additive decomposition, additive errors
    y = np.array([10.0, 12.0, 0.0, 13.0, 15.0, 14.0, 17.0, 16.0, 19.0, 18.0])
    fit = candidates(y, 1, ("theta",))[0].fit(y)
    assert not fit.relative
    alpha, b0 = float(fit.res.params["alpha"]), float(fit.res.params["b0"])
    x = y / fit.scale
    level, f, err = x[0], [], []
    for t in range(1, len(x)):  # SES with drift b0/2, one step ahead, by hand
        f.append(level + b0 / 2 * (1 - (1 - alpha) ** t) / alpha)
        err.append(x[t] - f[-1])
        level = alpha * x[t] + (1 - alpha) * level
    sigma = np.sqrt(np.sum(np.square(err)) / (len(err) - 2)) * fit.scale
    h = 6
    out = fit.predict(h, (80, 95))
    np.testing.assert_allclose(out["mean"], fit.res.forecast(h).to_numpy() * fit.scale, rtol=1e-9)
    sd = sigma * np.sqrt(1 + np.arange(h) * alpha**2)
    np.testing.assert_allclose(out["hi_95"] - out["mean"], 1.959964 * sd, rtol=1e-5)
    np.testing.assert_allclose(out["mean"] - out["lo_80"], 1.281552 * sd, rtol=1e-5)


def test_theta_intervals_are_reseasonalised_and_widen_with_the_horizon():
    y = load("airpassengers").to_numpy()[:72]
    fit = candidates(y, 12, ("theta",))[0].fit(y)
    assert fit.relative  # positive data: multiplicative decomposition, relative errors
    out = fit.predict(24, (80, 95))
    np.testing.assert_allclose(out["mean"], fit.res.forecast(24).to_numpy() * fit.scale, rtol=1e-9)
    assert ((out["lo_95"] < out["lo_80"]) & (out["lo_80"] < out["mean"])).all()
    assert ((out["mean"] < out["hi_80"]) & (out["hi_80"] < out["hi_95"])).all()
    x, season = fit.components(24)
    rel = (out["hi_95"] - out["lo_95"]).to_numpy() / (season * np.abs(x))  # spread on x, in units of x̂
    assert (np.diff(rel) > 0).all()  # wider at every step (α > 0)
    # the spread follows the season: same-month widths a year apart grow, peaks wider than troughs
    width = (out["hi_80"] - out["lo_80"]).to_numpy()
    assert width[np.argmax(season[:12])] > width[np.argmin(season[:12])]


def test_ets_intervals_use_the_residual_variance_over_n_minus_k():
    y = load("airpassengers").to_numpy()[:48]
    fit = candidates(y, 12, ("ets",))[0].fit(y)  # ETS(A,N,N): α and the initial level
    assert fit.df_factor() == pytest.approx(np.sqrt(48 / 46))
    fit = next(c for c in candidates(y, 12, ("ets",)) if c.name == "ETS(A,A,A)").fit(y)
    assert fit.df_factor() == pytest.approx(np.sqrt(48 / (48 - 3 - 13)))  # α β γ + level, trend, 11 seasonal
    out = fit.predict(12, (95,))
    n = int(fit.model.nobs)
    sm = fit.res.get_prediction(n, n + 11).summary_frame(alpha=0.05)
    np.testing.assert_allclose(out["hi_95"] - out["mean"],
                               fit.df_factor() * (sm["pi_upper"] - sm["mean"]).to_numpy() * fit.scale, rtol=1e-9)
