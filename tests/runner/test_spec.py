"""Batch specs: grid expansion, relative periods, and every validation error (no kernels)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kpitools.data.problems import DataError
from kpitools.masking import mask_parameters
from kpitools.report.headline import normalise_headline
from kpitools.runner.errors import BatchError
from kpitools.runner.spec import UNKNOWN, load_batch, notebook_parameters, select

NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "report.ipynb"
TODAY = dt.date(2026, 2, 10)


def write_spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.yml"
    path.write_text(f"notebook: {NOTEBOOK}\n" + body, encoding="utf-8")
    return path


def errors(tmp_path: Path, body: str) -> str:
    with pytest.raises(BatchError) as e:
        load_batch(write_spec(tmp_path, body), today=TODAY, base=tmp_path)
    return str(e.value)


def test_grid_and_runs_expand_with_resolved_periods(tmp_path: Path) -> None:
    batch = load_batch(write_spec(tmp_path, """
output: reports/{period}/{region}.html
grid:
  region: [EMEA, ""]
  period: [last_complete_month, last_complete_quarter]
runs:
  - {region: APAC, period: 2024-03}
title: "Sales {period}"
"""), today=TODAY, base=tmp_path)
    assert batch.root == tmp_path / "reports"
    assert [r.html for r in batch.runs] == ["2026-01/EMEA.html", "2025Q4/EMEA.html", "2026-01/all.html",
                                            "2025Q4/all.html", "2024-03/APAC.html"]
    assert batch.runs[0].parameters == {"region": "EMEA", "period": "2026-01"}
    assert batch.runs[2].scope == "Company-wide" and batch.runs[0].scope == "EMEA"
    assert batch.runs[0].title == "Sales 2026-01"
    assert len({r.id for r in batch.runs}) == 5
    assert [r.html for r in select(batch, ["region=EMEA"])] == ["2026-01/EMEA.html", "2025Q4/EMEA.html"]
    assert [r.html for r in select(batch, ["region=all", "period=2025Q4"])] == ["2025Q4/all.html"]
    assert len(select(batch, ["region=EMEA", "region=APAC"])) == 3


def test_notebook_parameters_are_read_from_the_tagged_cell() -> None:
    assert notebook_parameters(NOTEBOOK) == {"region": "", "period": "", "data": ""}


def test_batch_error_is_a_data_error_for_the_cli() -> None:
    assert issubclass(BatchError, DataError)


@pytest.mark.parametrize("body, expected", [
    ("output: r/{region}.html\ngird: {region: [EMEA]}\n", "unknown key 'gird'; did you mean 'grid'?"),
    ("output: r/{region}.html\ngrid: {regoin: [EMEA]}\n", "grid.regoin: the notebook does not declare a parameter"),
    ("output: r/{region}.html\ngrid: {region: [3]}\n", "grid.region.0: 3 is an int, the notebook expects a str"),
    ("output: r/{region}.html\ngrid: {region: EMEA}\n", "grid.region: Input should be a valid list"),
    ("output: r/{region}.html\ngrid: {region: []}\n", "grid.region: empty list"),
    ("output: ../r/{region}.html\ngrid: {region: [EMEA]}\n", "output: '..' or '.' would leave"),
    ("output: /tmp/{region}.html\ngrid: {region: [EMEA]}\n", "output: an absolute path"),
    ("output: r/{region}.pdf\ngrid: {region: [EMEA]}\n", "output: must end in .html"),
    ("output: r/report.html\ngrid: {region: [EMEA]}\n", "output: has no {parameter}"),
    ("output: r/{team}.html\ngrid: {region: [EMEA]}\n", "output: {team} is not a parameter of every run"),
    ("output: r/{region}.html\ngrid: {region: [a/b]}\n", "grid.region.0: value 'a/b' contains a path separator"),
    ("output: r/{region}.html\ngrid: {region: [..]}\n", "grid.region.0: value '..' contains '..'"),
    ("output: r/{region}.html\ngrid: {region: [\"a\\0b\"]}\n", "contains a NUL character"),
    ("output: r/{period}.html\ngrid: {region: [EMEA, APAC], period: ['2024-01']}\n", "two runs write r/2024-01.html"),
    ("output: r/{region}.html\nruns: [{region: all}, {region: ''}]\n", "two runs write r/all.html"),
    ("output: r/{region}.html\nparameters: {data: nowhere}\ngrid: {region: [EMEA]}\n", "parameters.data: no dataset"),
    ("output: r/{region}.html\ngrid: {region: [EMEA]}\ntimeout: -1\n", "timeout: Input should be greater than 0"),
    ("output: r/{region}.html\ngrid: {region: [EMEA]\n", "YAML syntax error"),
    ("grid: {region: [EMEA]}\n", "output: missing"),
])
def test_validation_errors_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    message = errors(tmp_path, body)
    assert expected in message
    assert str(tmp_path / "spec.yml") in message  # the file
    assert "fix:" in message or "YAML" in message  # and what to do


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = errors(tmp_path, "output: ../{region}.html\ngrid: {regoin: [EMEA], region: [3]}\n")
    assert "regoin" in message and "is an int" in message and "'..'" in message


def test_notebook_problems(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text("notebook: missing.ipynb\noutput: r/{region}.html\ngrid: {region: [EMEA]}\n")
    with pytest.raises(BatchError, match="notebook: .*no such notebook"):
        load_batch(spec, today=TODAY, base=tmp_path)
    untagged = tmp_path / "untagged.ipynb"
    untagged.write_text('{"cells": [{"cell_type": "code", "source": "region = \'\'", "metadata": {}}], '
                        '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    spec.write_text(f"notebook: {untagged}\noutput: r/{{region}}.html\ngrid: {{region: [EMEA]}}\n")
    with pytest.raises(BatchError, match="no cell tagged `parameters`"):
        load_batch(spec, today=TODAY, base=tmp_path)


def test_only_problems(tmp_path: Path) -> None:
    batch = load_batch(write_spec(tmp_path, "output: r/{region}.html\ngrid: {region: [EMEA, APAC]}\n"),
                       today=TODAY, base=tmp_path)
    with pytest.raises(BatchError, match="no run has a parameter 'team'"):
        select(batch, ["team=A"])
    with pytest.raises(BatchError, match="KEY=VALUE"):
        select(batch, ["EMEA"])
    with pytest.raises(BatchError, match="(?s)no run matches.*region: APAC, EMEA"):
        select(batch, ["region=LATAM"])


def test_secrets_are_masked() -> None:
    masked = mask_parameters({"data": "postgresql://sales:s3cret@db:5432/crm", "api_token": "abc",
                              "db_password": "pw", "region": "EMEA", "empty_secret": ""})
    assert masked == {"data": "postgresql://sales:***@db:5432/crm", "api_token": "***", "db_password": "***",
                      "region": "EMEA", "empty_secret": ""}


def test_headline_shape() -> None:
    headline = normalise_headline({"revenue": {"name": "Revenue", "value": 1.5e6, "display": "$1.5M",
                                               "status": "On track"}, "win_rate": float("nan"), "deals": 12})
    assert headline["revenue"] == {"name": "Revenue", "value": 1.5e6, "display": "$1.5M", "change": None,
                                   "status": "on track"}
    assert headline["win_rate"]["value"] is None and headline["deals"]["display"] == "12"
    with pytest.raises(ValueError, match="status"):
        normalise_headline({"x": {"value": 1, "status": "great"}})


def test_unknown_locale_and_calendar_parameters_are_reported(tmp_path: Path) -> None:
    report = Path(__file__).parents[2] / "notebooks" / "sales_report.ipynb"  # declares locale and calendar
    spec = tmp_path / "spec.yml"
    spec.write_text(f"notebook: {report}\noutput: r/{{region}}.html\n"
                    "parameters: {locale: klingon, calendar: lunar}\ngrid: {region: [EMEA]}\n", encoding="utf-8")
    with pytest.raises(BatchError) as e:
        load_batch(spec, today=TODAY, base=tmp_path)
    message = str(e.value)
    assert "'klingon' is not a locale" in message and "fa" in message
    assert "'lunar' is not a calendar" in message and "jalali" in message


def test_notebook_parameters_are_papermills_reading(tmp_path: Path) -> None:
    """The parameters a batch may set are the ones `papermill --help-notebook` lists, typed or not."""
    import papermill

    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "%matplotlib inline\nregion: str = ''  # empty: all\nmonths = [1,\n          2]\nend = today()\n"
    path = tmp_path / "typed.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    declared = notebook_parameters(path)
    assert set(declared) == set(papermill.inspect_notebook(str(path)))
    assert declared["region"] == "" and declared["months"] == [1, 2]
    assert declared["end"] is UNKNOWN
