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
