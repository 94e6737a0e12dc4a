"""Forecast accuracy with the M4 competition's definitions (catalogue section H).

With actuals y_1..y_h, forecasts ŷ_1..ŷ_h, training data x_1..x_n and season m:

- MASE  = mean_t |y_t − ŷ_t|  /  ( 1/(n−m) · Σ_{t=m+1..n} |x_t − x_{t−m}| )
- sMAPE = 200/h · Σ_t |y_t − ŷ_t| / (|y_t| + |ŷ_t|)      (a term with 0/0 counts as 0)
- coverage = share of y_t with lo_t ≤ y_t ≤ hi_t
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

ArrayLike = Sequence[float] | np.ndarray


def _arr(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def mase_scale(y_train: ArrayLike, m: int = 12) -> float:
    """Mean absolute seasonal difference of the training data (m = 1 if it is shorter than m + 1)."""
    x = _arr(y_train)
    m = m if len(x) > m else 1
    if len(x) <= m:
        return float("nan")
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def mase(y_true: ArrayLike, y_pred: ArrayLike, y_train: ArrayLike, m: int = 12) -> float:
    """Mean absolute scaled error; NaN (with a warning) when the training data is constant."""
    scale = mase_scale(y_train, m)
    err = float(np.mean(np.abs(_arr(y_true) - _arr(y_pred))))
    if not scale > 0:
        warnings.warn("MASE is undefined: the training data has no seasonal change (scale 0)",
                      RuntimeWarning, stacklevel=2)
        return float("nan")
    return err / scale


def smape(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Symmetric MAPE in percent, 0..200."""
    y, f = _arr(y_true), _arr(y_pred)
    num, den = np.abs(y - f), np.abs(y) + np.abs(f)
    terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(200 * np.mean(terms))


def coverage(y_true: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Share of actuals inside [lo, hi] (0..1)."""
    y = _arr(y_true)
    return float(np.mean((y >= _arr(lo)) & (y <= _arr(hi))))
