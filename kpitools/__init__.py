"""kpitools: sales KPIs, forecasts and executive HTML reports.

    import kpitools
    ds = kpitools.sample()                       # the built-in demo dataset
    ds = kpitools.load("data/dataset.yml")       # or your own data
    kpitools.compute(ds, ["revenue", "win_rate"], freq="Q", by="region")
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .data import DataError, Dataset, load, sample
from .kpis.compare import compare
from .kpis.compute import compute

try:
    __version__ = version("kpitools")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["Dataset", "DataError", "compare", "compute", "load", "sample", "__version__"]
