"""Validation rules and messages. Every bad-input case through the real CLI (file, table,
column, row, fix, exit 2, nothing written) is in tests/test_corpus.py; here: what the corpus
cannot show one case at a time."""
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import kpitools
from kpitools.cli import app
from kpitools.data.problems import DataError, setting_hint
from kpitools.data.sniff import guess_encoding, real_format
from kpitools.data.validate import scope_problems

runner = CliRunner()


def test_all_problems_are_reported_at_once(tmp_path):
    (tmp_path / "deals.csv").write_text(
        "deal_id,created_at,closed_at,status,amount\n"
        "D1,2024-01-05,,won,abc\n"
        "D1,2024-01-06,2024-01-01,Closed,5\n")
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    out = result.output
    for expected in ["as a number", "duplicate ids", "without closed_at", "before created_at", "allowed set"]:
        assert expected in out, out


@pytest.mark.parametrize("head, expected", [
    (b"PAR1\x15\x04", "a Parquet file"),
    (b"PK\x03\x04\x14\x00", "an Excel workbook (.xlsx) or another zip archive"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
    (b"\xff\xfed\x00e\x00", "UTF-16 text"),
    ("deal_id,amount\nD1,5\n".encode("utf-16-le"), "UTF-16 text"),  # no byte-order mark
    (b"deal_id,amount\nD1,\x00\x01\x02", "binary data"),
    (b"deal_id,amount\nD1,5\n", "text"),
    ("deal_id,rep\nD1,Zo\u00eb\n".encode("latin-1"), "text"),
])
def test_real_format_from_the_first_bytes(head, expected):
    assert real_format(head) == expected


@pytest.mark.parametrize("text, encoding, expected", [
    ("Zoë Müller", "utf-8", "utf-8"),
    ("Zoë Müller", "latin-1", "latin-1"),      # no byte in 0x80-0x9f: latin-1 and cp1252 agree
    ("O’Neil €5", "cp1252", "cp1252"),         # curly quote and euro sign exist only in cp1252
    ("Zoë", "utf-16", "utf-16"),
])
def test_guess_encoding(text, encoding, expected):
    assert guess_encoding(text.encode(encoding)) == expected


def test_guess_encoding_gives_up_on_binary():
    assert guess_encoding(bytes(range(256)) * 4) is None


def test_money_beyond_any_plausible_amount_is_an_error_and_below_is_not(tmp_path):
    rows = "deal_id,created_at,status,amount\nD1,2024-01-05,open,999999999999999\nD2,2024-01-06,open,{}\n"
    (tmp_path / "deals.csv").write_text(rows.format("1000000000000000"))
    with pytest.raises(DataError, match="row 3: numbers of 1,000,000,000,000,000 or more"):
        kpitools.load(tmp_path)
    (tmp_path / "deals.csv").write_text(rows.format("5"))
    assert kpitools.load(tmp_path).deals["amount"].max() == 999999999999999.0


def test_scope_problems_name_the_values_that_exist():
    ds = kpitools.load(Path(__file__).parents[1] / "fixtures" / "good")
    assert scope_problems(ds, {"region": "EMEA", "freq": "Q"}, None) == []
    [p] = scope_problems(ds, {"region": ["EMEA", "Emea"]}, None)
    assert (p.table, p.column, p.message) == ("deals", "region", "region 'Emea' has no data")
    assert p.hint == "did you mean 'EMEA'? region values in the data: APAC, EMEA"
    inside = [(pd.Timestamp("2023-12-01"), pd.Timestamp("2024-01-31"))]
    outside = [(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-31"))]
    assert scope_problems(ds, {}, inside) == []
    [p] = scope_problems(ds, {}, outside, period="2025-01")
    assert p.message == "period '2025-01' has no data: the data runs from 2024-01-05 to 2024-03-10"


@pytest.mark.parametrize("err, expected", [
    ({"type": "greater_than", "ctx": {"gt": 0.0}}, "make timeout greater than 0 (seconds)"),
    ({"type": "int_parsing"}, "make timeout a whole number (seconds)"),
    ({"type": "missing"}, "add `timeout:` (seconds)"),
    ({"type": "value_error", "msg": "Value error, give a path"}, "give a path"),
])
def test_setting_hint(err, expected):
    assert setting_hint(err, "timeout", "seconds") == expected


@pytest.mark.parametrize("fmt", ["%d/%m/%Y", "%Y-%m-%dT%H:%M:%S%z", "%d-%b-%Y %I:%M %p", "ISO8601", "mixed"])
def test_date_formats_pandas_reads_are_accepted(fmt):
    from kpitools.data.config import ReadOptions

    assert ReadOptions(date_format=fmt).date_format == fmt


def test_unknown_date_format_code_is_rejected():
    from pydantic import ValidationError

    from kpitools.data.config import ReadOptions

    with pytest.raises(ValidationError, match="'%d/%Q/%Y' is not a date format"):
        ReadOptions(date_format="%d/%Q/%Y")
