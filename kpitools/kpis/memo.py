"""Caches of the KPI engine, keyed on the memory of the columns they are derived from.

KPI functions are pure functions of (immutable) tables, and many of them derive the same
arrays from the same columns: the period of every deal's closed_at, the group codes of its
region... `memo` caches such derived arrays keyed on the *memory* of the columns they come
from (the root array owning the data, its offset, shape, strides and dtype), holding the root
only weakly: an entry dies with the column, and frames built from the same column (a slim copy
of a table that keeps the column, `frame["x"] = df["x"]`) share the entry. Arrays are read-only
views under pandas' copy-on-write, so the memory of a live column does not change.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..calendars import periods

_MEMO: dict[tuple, tuple[tuple[weakref.ref, ...], Any]] = {}
_MEMO_SIZE = 256


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _drop(key: tuple) -> Callable[[Any], None]:
    table = _MEMO  # bound now: at interpreter exit the module global may already be gone

    def callback(_ref: Any) -> None:
        table.pop(key, None)

    return callback


def memo(arrays: Sequence[np.ndarray], tag: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()`, cached on the memory of `arrays` (numpy arrays) and `tag` (hashable).

    The result must be derived only from the arrays' contents and `tag`. Numpy arrays in it (or
    in a list or tuple it is) are made read-only: every caller shares them.
    """
    roots = [_root(a) for a in arrays]
    key = (tag, *((id(r), a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)
                  for r, a in zip(roots, arrays)))
    hit = _MEMO.get(key)
    if hit is not None and all(w() is r for w, r in zip(hit[0], roots)):
        return hit[1]
    value = compute()
    for a in (value if isinstance(value, (list, tuple)) else [value]):
        if isinstance(a, np.ndarray):
            a.flags.writeable = False  # shared by every caller
    try:
        refs = tuple(weakref.ref(r, _drop(key)) for r in roots)
    except TypeError:  # not weakly referenceable: do not cache
        return value
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = (refs, value)
    return value


def period_ordinals(dates: pd.Series, freq: str = "M", fiscal_year_start: int = 1, calendar: str = "gregorian"
                    ) -> np.ndarray | None:
    """`calendars.period_ordinals`, cached per column memory."""
    return periods.period_ordinals(dates, freq, fiscal_year_start, calendar, cache=memo)


def to_period(dates: pd.Series, freq: str = "M", fiscal_year_start: int = 1, calendar: str = "gregorian"
              ) -> pd.Series:
    """`calendars.to_period`, its period ordinals cached per column memory."""
    return periods.to_period(dates, freq, fiscal_year_start, calendar, cache=memo)
