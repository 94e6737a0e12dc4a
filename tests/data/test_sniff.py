"""The encodings and Excel formats of the locales we serve: CSV exports of Russian (cp1251) and
Persian/Arabic (cp1256) Excel, and old .xls workbooks. Fixtures: tests/fixtures/encodings/, deals
tables whose region and rep are Cyrillic (deals_cp1251.csv), Persian (deals_cp1256.csv) or Western
(deals_latin1.csv) text; deals.xls is a genuine BIFF workbook (written with xlwt)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import kpitools
from kpitools.cli import app
from kpitools.data.config import ReadOptions
from kpitools.data.problems import DataError
from kpitools.data.sniff import guess_encoding, mojibake_problem

FIXTURES = Path(__file__).parents[1] / "fixtures" / "encodings"
runner = CliRunner()

CASES = [  # fixture, its encoding, the first region as it should read, and as read as latin-1
    ("deals_cp1251.csv", "cp1251", "Москва", "Ìîñêâà"),
    ("deals_cp1256.csv", "cp1256", "تهران", "ÊåÑÇä"),
]


def dataset(tmp_path: Path, fixture: str, encoding: str | None = None) -> Path:
    shutil.copy(FIXTURES / fixture, tmp_path / "deals.csv")
    read = f"    read: {{encoding: {encoding}}}\n" if encoding else ""
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: deals.csv\n" + read, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("fixture, encoding, region, mojibake", CASES)
def test_without_an_encoding_the_error_names_the_right_one(tmp_path, fixture, encoding, region, mojibake):
    result = runner.invoke(app, ["validate", str(dataset(tmp_path, fixture))])
    assert result.exit_code == 2, result.output
    assert f"column region, row 2: byte 0x{region.encode(encoding)[:1].hex()} is not utf-8 text" in result.output
    assert f"Windows-{encoding[2:]}" in result.output and repr(region) in result.output
    assert f"fix: add read: {{encoding: {encoding}}} to the deals table" in result.output


@pytest.mark.parametrize("fixture, encoding, region, mojibake", CASES)
def test_with_the_encoding_it_loads(tmp_path, fixture, encoding, region, mojibake):
    deals = kpitools.load(dataset(tmp_path, fixture, encoding)).deals
    assert deals["region"].iloc[0] == region
    assert deals["rep"].tolist() == pd.read_csv(FIXTURES / fixture, encoding=encoding)["rep"].tolist()


@pytest.mark.parametrize("fixture, encoding, region, mojibake", CASES)
@pytest.mark.parametrize("stated", ["latin-1", "cp1252"])
def test_a_wrong_single_byte_encoding_is_an_error_not_mojibake(tmp_path, fixture, encoding, region, mojibake,
                                                               stated):
    with pytest.raises(DataError) as e:
        kpitools.load(dataset(tmp_path, fixture, stated))
    [p] = e.value.problems
    assert (p.file, p.table, p.column, p.rows) == (str(tmp_path / "deals.csv"), "deals", "region", (2,))
    assert f"not {stated}: read as {stated} it gives {mojibake!r} instead of {region!r}" in p.message
    assert f"read: {{encoding: {encoding}}}" in p.hint


def test_cp1256_read_as_cp1251_is_an_error(tmp_path):
    with pytest.raises(DataError, match="Windows-1256") as e:
        kpitools.load(dataset(tmp_path, "deals_cp1256.csv", "cp1251"))
    assert "read: {encoding: cp1256}" in e.value.problems[0].hint


@pytest.mark.parametrize("stated", ["latin-1", "cp1252", "iso-8859-15"])
def test_a_right_western_file_loads_as_before(tmp_path, stated):
    deals = kpitools.load(dataset(tmp_path, "deals_latin1.csv", stated)).deals
    assert deals["region"].tolist() == ["Köln", "Málaga", "Århus", "Besançon"]
    assert deals["rep"].iloc[0] == "Zoë Müller"
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["ÄÖÜ GmbH", "ÀÉÈ", "O’Neil €5", "Ñandú"])
def test_the_check_trusts_short_western_text(tmp_path, name):
    # Capitals read as cp1251 are Cyrillic words too (ÄÖÜ as ДЦЬ), and 0x80 is a letter there (Ђ, not €).
    (tmp_path / "deals.csv").write_bytes(f"id,name\n1,{name}\n".encode("cp1252"))
    assert mojibake_problem(tmp_path / "deals.csv", "deals", ReadOptions(encoding="cp1252")) is None


def test_utf8_read_as_latin1_is_an_error(tmp_path):
    (tmp_path / "deals.csv").write_text("id,name\n1,Zoë Müller\n", encoding="utf-8")
    p = mojibake_problem(tmp_path / "deals.csv", "deals", ReadOptions(encoding="latin-1"))
    assert p is not None and (p.column, p.rows) == ("name", (2,))
    assert "read as latin-1 it gives 'ZoÃ« MÃ¼ller' instead of 'Zoë Müller'" in p.message
    assert "read: {encoding: utf-8}" in p.hint


def test_the_check_reads_a_bounded_sample(tmp_path):
    # Only the start of a big file is looked at: mojibake far down is not found, a right file never errors.
    path = tmp_path / "deals.csv"
    path.write_bytes(b"id,name\n" + b"1,Ann\n" * 4_000_000 + "2,Москва\n".encode("cp1251"))
    assert mojibake_problem(path, "deals", ReadOptions(encoding="latin-1")) is None
    assert mojibake_problem(path, "deals", ReadOptions(encoding="cp1251")) is None


@pytest.mark.parametrize("text, encoding, expected", [
    ("Москва, Иван Петров", "cp1251", "cp1251"),
    ("تهران, پژمان گلزار", "cp1256", "cp1256"),  # پ ژ گ: bytes cp1252 does not have
    ("القاهرة, محمد علي", "cp1256", "cp1256"),
    ("Zoë Müller", "latin-1", "latin-1"),
    ("O’Neil €5", "cp1252", "cp1252"),
])
def test_guess_encoding(text, encoding, expected):
    assert guess_encoding(text.encode(encoding)) == expected


def test_xls_loads(tmp_path):
    shutil.copy(FIXTURES / "deals.xls", tmp_path / "deals.xls")
    deals = kpitools.load(tmp_path).deals
    assert deals["deal_id"].tolist() == ["D1", "D2", "D3"]
    assert deals["created_at"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-20"),
                                            pd.Timestamp("2024-02-03")]
    assert deals["closed_at"].isna().tolist() == [False, True, False]
    assert deals["amount"].tolist() == [100.0, 200.5, 300.0]
    assert deals["rep"].tolist() == ["Иван Петров", "Zoë Müller", "علي رضايي"]
