"""Forecasting for sales KPIs: statsmodels models, automatic choice, honest accuracy.

    from kpitools.forecast import forecast, backtest
    fc = forecast(revenue, horizon=12)          # mean, lo_80, hi_80, lo_95, hi_95
    fc.attrs["model"]                           # e.g. "ETS(M,Ad,M)"
    backtest(revenue, horizon=6, folds=3).summary()
"""
from __future__ import annotations

from .core import Backtest, backtest, forecast
from .metrics import coverage, mase, smape
from .panel import forecast_panel, forecast_table
from .sales import (
                    Projection,
                    combined_forecast,
                    elapsed_share,
                    pipeline_coverage,
                    pipeline_forecast,
                    probability_of_target,
                    projected_total,
)

__all__ = ["Backtest", "Projection", "backtest", "combined_forecast", "coverage", "elapsed_share",
           "forecast", "forecast_panel", "forecast_table", "mase", "pipeline_coverage",
           "pipeline_forecast", "probability_of_target", "projected_total", "smape"]
