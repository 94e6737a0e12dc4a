"""The pyarrow CSV path of readers.read_csv gives exactly pandas' text read, or steps aside."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kpitools.data.config import ReadOptions
from kpitools.data.readers import _read_csv_arrow, read_csv


def pandas_text(path: Path, sep: str, opts: ReadOptions) -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, encoding=opts.encoding, dtype=str, keep_default_na=False, na_values=[""],
                       skipinitialspace=True)


@pytest.mark.parametrize("text, sep, encoding", [
    ("id,amount,note\n007,1.5,hello\n008,,\n009, 2 ,  \n", ",", "utf-8"),         # leading zeros, blanks
    ('id;note\nA;"two\nlines"\nB;"semi;colon"\n', ";", "utf-8"),                  # quoted newline and sep
    ("\ufeffid,name\n1,Zoë\n2,Åsa\n", ",", "utf-8"),                               # BOM
    ("id,name\n1,Zoë\n2,Åsa\n", ",", "latin-1"),                                   # another encoding
    ("id\tamount\tnote\n1\t\t \n", "\t", "utf-8"),
])
def test_arrow_reads_what_pandas_reads(tmp_path: Path, text: str, sep: str, encoding: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    opts = ReadOptions(encoding=encoding)
    got = _read_csv_arrow(path, sep, opts)
    assert got is not None
    want = pandas_text(path, sep, opts)
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("text, options", [
    ('id, note\n1, "a, b"\n', {}),                 # a space before a quote: pandas' skipinitialspace only
    ("id,id\n1,2\n", {}),                          # duplicate names: pandas renames
    ("title\nid,amount\n1,2\n", {"skiprows": 1}),  # report titles above the header
    ("id,amount\n1,2\n3,4,5\n", {}),               # ragged: pandas words the error
])
def test_arrow_steps_aside_for_pandas(tmp_path: Path, text: str, options: dict) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    assert _read_csv_arrow(path, ",", ReadOptions(**options)) is None


def test_read_csv_keeps_its_result_either_way(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id, note\n1, "a, b"\n2, c\n', encoding="utf-8")
    df, first = read_csv(path, ReadOptions())
    assert list(df["note"]) == ["a, b", "c"] and first == 2
