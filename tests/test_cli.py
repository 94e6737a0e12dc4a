"""The command line: output contracts and exit codes."""
import io
import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from kpitools.cli import _expand_multi_value, app
from kpitools.kpis import REGISTRY

GOOD = Path(__file__).parent / "fixtures" / "good"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, _expand_multi_value(list(args)))


def test_kpis_csv_has_exactly_the_tidy_columns():
    result = invoke("kpis", str(GOOD), "--kpi", "revenue", "win_rate", "--by", "region", "--format", "csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == ["period", "region", "kpi", "value"]
    # Jan 2024: D1 won 100 in EMEA
    row = frame[(frame.period == "2024-01") & (frame.region == "EMEA") & (frame.kpi == "revenue")]
    assert row["value"].item() == 100.0


def test_kpis_period_last_and_filters_and_options():
    result = invoke("kpis", str(GOOD), "--kpi", "win_rate", "--period", "last", "--where", "region=APAC",
                    "--option", "basis=period", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    # data ends 2024-03-10, so the last complete month is February: no APAC deal closed -> NaN (null)
    assert records == [{"period": "2024-02", "kpi": "win_rate", "value": None}]


def test_unknown_kpi_suggests_and_exits_2():
    result = invoke("kpis", str(GOOD), "--kpi", "revnue")
    assert result.exit_code == 2
    assert "did you mean revenue" in result.output


def test_bad_option_value_and_bad_where_exit_2():
    assert invoke("kpis", str(GOOD), "--kpi", "win_rate", "--option", "basis=foo").exit_code == 2
    assert invoke("kpis", str(GOOD), "--where", "region").exit_code == 2
    assert invoke("kpis", str(GOOD), "--freq", "X").exit_code == 2


def test_kpis_on_bad_data_exits_2_without_traceback():
    result = invoke("kpis", str(GOOD.parent / "corpus" / "bad_date"))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_catalogue_lists_every_registered_kpi():
    result = invoke("catalogue", "--format", "json")
    assert result.exit_code == 0
    ids = {r["id"] for r in json.loads(result.stdout)}
    assert ids == set(REGISTRY)
    table = invoke("catalogue")
    assert "win_rate" in table.stdout and "≥ 15%" in table.stdout


def test_multi_value_kpi_flag():
    assert _expand_multi_value(["kpis", "d", "--kpi", "a", "b", "--freq", "Q"]) == [
        "kpis", "d", "--kpi", "a", "--kpi", "b", "--freq", "Q"]


def test_forecast_cli_columns_and_bad_kpi():
    import kpitools

    result = invoke("forecast", str(GOOD), "--kpi", "revenue", "--horizon", "2", "--format", "csv")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == ["period", "kpi", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "model"]
    assert len(frame) == 2 and (frame["mean"] >= 0).all()
    assert invoke("forecast", str(GOOD), "--kpi", "funnel").exit_code == 2
    assert invoke("forecast", str(GOOD), "--kpi", "revnue").exit_code == 2
    assert kpitools.__version__
