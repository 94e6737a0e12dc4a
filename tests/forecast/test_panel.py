"""forecast_panel / forecast_table: tidy in, tidy out, parallel == serial."""
import numpy as np
import pandas as pd
import pytest

from kpitools.forecast import forecast, forecast_panel, forecast_table

from .conftest import seasonal_series


def tidy(groups=4, n=36) -> pd.DataFrame:
    rows = []
    for i in range(groups):
        y = seasonal_series(n, seed=i)
        rows.append(pd.DataFrame({"period": y.index, "region": f"R{i % 2}", "product": f"P{i // 2}",
                                  "kpi": "revenue", "value": y.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


COLS = ["period", "region", "product", "kpi", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "model"]


def test_panel_shape_and_columns():
    out = forecast_panel(tidy(), by=["region", "product"], horizon=3, workers=1)
    assert list(out.columns) == COLS
    assert len(out) == 4 * 3
    assert out.groupby(["region", "product"]).size().eq(3).all()
    assert str(out["period"].iloc[0]) == "2023-01"
    assert (out[["mean", "lo_95"]].to_numpy() >= 0).all()


def test_panel_matches_single_series_and_parallel():
    df = tidy()
    serial = forecast_panel(df, by=["region", "product"], horizon=3, workers=1)
    parallel = forecast_panel(df, by=["region", "product"], horizon=3, workers=2, chunks_per_worker=1)
    pd.testing.assert_frame_equal(serial, parallel)
    g = df[(df.region == "R1") & (df["product"] == "P0")]
    one = forecast(pd.Series(g["value"].to_numpy(), index=g["period"]), 3, fast=True)
    row = serial[(serial.region == "R1") & (serial["product"] == "P0")]
    np.testing.assert_allclose(row["mean"].to_numpy(), one["mean"].to_numpy())
    assert row["model"].iloc[0] == one.attrs["model"]


def test_forecast_table_infers_by_and_keeps_string_periods():
    df = tidy(2)
    df["period"] = df["period"].astype(str)
    out = forecast_table(df, horizon=2, workers=1)
    assert list(out.columns) == COLS
    assert out["period"].tolist()[:2] == ["2023-01", "2023-02"]


def test_panel_without_by_or_kpi_and_bad_group():
    df = tidy(1).drop(columns=["region", "product", "kpi"])
    out = forecast_panel(df, horizon=2, workers=1, level=90)
    assert list(out.columns) == ["period", "kpi", "mean", "lo_90", "hi_90", "model"]
    assert (out["kpi"] == "value").all()
    bad = pd.concat([tidy(1), pd.DataFrame({"period": [pd.Period("2020-01", "M")] * 2, "region": "X",
                                            "product": "Y", "kpi": "revenue", "value": [1.0, 2.0]})])
    with pytest.warns(UserWarning, match="X"):
        out = forecast_panel(bad, by=["region", "product"], horizon=2, workers=1)
    assert set(out["region"]) == {"R0"}  # the group with duplicate periods is left out
