"""The one status rating (kpis/status.py), used by compare(), the cards, the leaderboard and the scorecard."""
import numpy as np
import pandas as pd

from kpitools.kpis.registry import Benchmark
from kpitools.kpis.status import against_benchmark, against_target


def test_status_against_target_both_directions():
    value = pd.Series([50.0, 70.0, 0.0, 63.0, np.nan, 120.0, 95.0, 10.0, -5.0])
    target = pd.Series([60.0, 60.0, 60.0, 60.0, 60.0, 100.0, 100.0, 0.0, 0.0])
    direction = pd.Series(["lower"] * 5 + ["higher"] * 4)
    s = against_target(value, target, direction, (1.0, 0.9))
    # lower: 60/50 = 1.2 on track; 60/70 = 0.857 off; 0 is best; 60/63 = 0.952 at risk; NaN unknown
    # higher: 1.2 on track; 0.95 at risk; a target of 0 is met by 10 and missed by -5
    assert list(s.astype(object).where(s.notna(), None)) == [
        "on track", "off track", "on track", "at risk", None, "on track", "at risk", "on track", "off track"]


def test_a_scalar_target_and_direction():
    s = against_target(pd.Series([1.05, 0.95, 0.5]), 1.0, "higher")
    assert list(s) == ["on track", "at risk", "off track"]
    assert against_target(pd.Series([3.0]), 2.0, "neither").isna().all()


def test_status_against_benchmark():
    win = Benchmark("≥ 15%", low=0.15)
    assert against_benchmark(0.2, win.low, win.high) == "on track"
    assert against_benchmark(0.14, win.low, win.high) == "at risk"  # 0.01 / 0.15 = 6.7% short
    assert against_benchmark(0.10, win.low, win.high) == "off track"  # 33% short
    conv = Benchmark("1%–10%", low=0.01, high=0.10)
    assert against_benchmark(0.105, conv.low, conv.high) == "at risk"  # 5% above the range
    assert against_benchmark(0.2, conv.low, conv.high) == "off track"
    assert against_benchmark(float("nan"), conv.low, conv.high) is None
    assert against_benchmark(0.2, None, None) is None
