"""The M4 metrics against values worked out by hand."""
import numpy as np
import pytest

from kpitools.forecast import coverage, mase, smape


def test_mase_seasonal_scale():
    # train 1 3 2 4 3 5, m = 2: |2-1| |4-3| |3-2| |5-4| = 1 1 1 1, scale 1
    # actual 4 6, forecast 5 8: errors 1 2, mean 1.5 -> MASE 1.5
    assert mase([4, 6], [5, 8], [1, 3, 2, 4, 3, 5], m=2) == pytest.approx(1.5)


def test_mase_non_seasonal_scale():
    # m = 1: |3-1| |2-3| |4-2| |3-4| |5-3| = 2 1 2 1 2, scale 8/5 = 1.6
    # mean error 1.5 / 1.6 = 0.9375
    assert mase([4, 6], [5, 8], [1, 3, 2, 4, 3, 5], m=1) == pytest.approx(0.9375)


def test_mase_short_training_falls_back_to_m_1():
    # 3 points < m + 1 = 13: scale = mean(|5-2|, |6-5|) = 2; error |10-9| = 1 -> 0.5
    assert mase([10], [9], [2, 5, 6], m=12) == pytest.approx(0.5)


def test_mase_constant_training_is_nan():
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mase([1], [2], [5, 5, 5, 5], m=1))


def test_smape():
    # |100-110|/(100+110) = 10/210 = 0.0476190, |200-180|/(200+180) = 20/380 = 0.0526316
    # 200/2 * (0.0476190 + 0.0526316) = 10.02506
    assert smape([100, 200], [110, 180]) == pytest.approx(10.02506, abs=1e-5)


def test_smape_zero_over_zero_counts_as_zero():
    # terms 0/0 -> 0 and |10-0|/(10+0) = 1: 200/2 * 1 = 100
    assert smape([0, 10], [0, 0]) == pytest.approx(100.0)


def test_coverage_bounds_inclusive():
    # 1 in [0,2] yes, 2 in [2.5,3] no, 3 in [2,3] yes (edge), 4 in [5,6] no -> 2/4
    assert coverage([1, 2, 3, 4], [0, 2.5, 2, 5], [2, 3, 3, 6]) == 0.5
