"""projected_total, the pipeline forecast and their combination, worked by hand."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from kpitools.forecast import (
    combined_forecast,
    elapsed_share,
    pipeline_coverage,
    pipeline_forecast,
    probability_of_target,
    projected_total,
)


def zigzag(n=24) -> pd.Series:
    """100, 110, 100, ..., 110: naive forecast 110 with σ = 10 (every step ±10)."""
    return pd.Series([100.0, 110.0] * (n // 2), index=pd.period_range("2022-01", periods=n, freq="M"))


def test_projected_total_by_hand():
    p = projected_total(zigzag(), actual_to_date=60, elapsed=0.5, target=117.5, model="naive")
    # pace = 60 + 0.5·110 = 115; projected = 60 + 0.5·115 = 117.5; sd = 10·√0.5
    assert str(p.period) == "2024-01"
    assert p.run_rate == 120 and p.forecast == pytest.approx(110)
    assert p.projected == pytest.approx(117.5)
    assert p.sd == pytest.approx(10 * np.sqrt(0.5))
    assert p.probability == pytest.approx(0.5)
    lo, hi = p.interval[95]
    assert lo == pytest.approx(117.5 - norm.ppf(0.975) * 10 * np.sqrt(0.5))
    assert hi == pytest.approx(117.5 + norm.ppf(0.975) * 10 * np.sqrt(0.5))
    assert set(p.to_series().index) >= {"projected", "lo_80", "hi_95", "probability"}


def test_projected_total_edges():
    start = projected_total(zigzag(), 0, 0.0, model="naive")
    assert start.projected == pytest.approx(110) and start.sd == pytest.approx(10)
    end = projected_total(zigzag(), 123, 1.0, target=150, model="naive")
    assert end.projected == 123 and end.sd == 0 and end.probability == 0.0
    with pytest.raises(ValueError):
        projected_total(zigzag(), 10, 1.5)


def test_probability_of_target_sanity(airline):
    hist = airline.iloc[:-1]
    assert probability_of_target(hist, 200, 0.5, target=50, fast=True) == 1.0  # already past it
    assert probability_of_target(hist, 200, 0.5, target=300, fast=True) > 0.99
    assert probability_of_target(hist, 200, 0.5, target=2000, fast=True) < 0.01
    mid = probability_of_target(hist, 200, 0.5, target=400, fast=True)
    assert 0 < mid < 1


def test_elapsed_share():
    assert elapsed_share(pd.Period("2024-02", "M"), "2024-02-15") == pytest.approx(15 / 29)
    assert elapsed_share(pd.Period("2024-02", "M"), "2024-03-10") == 1.0
    assert elapsed_share(pd.Period("2024-02", "M"), "2024-01-10") == 0.0


def deals() -> pd.DataFrame:
    return pd.DataFrame({
        "amount": [1000.0, 2000, 400, 5000, 800, 100, 300, 600],
        "probability": [0.5, 0.25, np.nan, 0.9, 0.5, 1, 1, 1],
        "stage": ["demo", "proposal", "commit", "commit", "demo", None, None, None],
        "expected_close_at": pd.to_datetime(["2024-03-15", "2024-04-02", "2024-02-10", "2024-03-01",
                                             "2024-06-20", None, None, None]),
        "status": ["open", "open", "open", "won", "open", "won", "won", "won"],
        "created_at": pd.to_datetime(["2024-01-05", "2024-02-01", "2023-12-01", "2023-11-01",
                                      "2024-02-20", "2024-01-15", "2023-12-01", "2023-10-05"]),
        "closed_at": pd.to_datetime([None, None, None, "2024-03-01", None,
                                     "2024-01-20", "2024-01-31", "2024-02-01"]),
    })


def test_pipeline_forecast_by_hand():
    out = pipeline_forecast(deals(), start="2024-03", periods=4, stage_probability={"commit": 0.75})
    # March: 1000·0.5 + the overdue 400·0.75 (stage) = 500 + 300 = 800
    # April: 2000·0.25 = 500; May: nothing; June: 800·0.5 = 400. The won deal is not pipeline.
    assert [str(p) for p in out.index] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert out["expected"].tolist() == [800, 500, 0, 400]
    assert out["amount"].tolist() == [1400, 2000, 0, 800]
    assert out["deals"].tolist() == [2, 1, 0, 1]
    # variance: 1000²·.5·.5 + 400²·.75·.25 = 250000 + 30000
    assert out["variance"].iloc[0] == pytest.approx(280_000)


def test_pipeline_missing_probability_warns_and_counts_zero():
    with pytest.warns(UserWarning, match="no probability"):
        out = pipeline_forecast(deals(), start="2024-03", periods=1)
    assert out["expected"].iloc[0] == 500


def test_pipeline_coverage_by_hand():
    # won deals: 5000 created 2023-11 closed 2024-03 (4 months in pipeline),
    # 100 (0), 300 (1), 600 (4); total 6000
    c = pipeline_coverage(deals(), 6)
    # lead k needs >= k+1 months: k0: (5000+300+600)/6000, k1..k3: 5600/6000, k4+: 0
    np.testing.assert_allclose(c, [5900 / 6000, 5600 / 6000, 5600 / 6000, 5600 / 6000, 0, 0])


def test_combined_forecast_rule():
    history = pd.Series(1000.0, index=pd.period_range("2021-03", periods=36, freq="M"))
    out = combined_forecast(history, deals(), 4, coverage=0.25, model="naive",
                            stage_probability={"commit": 0.75})
    # naive: F = 1000 with σ = 0; mean = pipeline + (1 − 0.25)·1000
    assert [str(p) for p in out.index] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert out["mean"].tolist() == [1550, 1250, 750, 1150]
    sd = np.sqrt(280_000)  # only the pipeline's variance in March
    assert out["hi_95"].iloc[0] == pytest.approx(1550 + norm.ppf(0.975) * sd)
    assert out["lo_80"].iloc[2] == out["hi_80"].iloc[2] == 750
    assert out.attrs["model"] == "Naive"
