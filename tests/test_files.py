"""kpitools.files: the one atomic writer every layer uses."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kpitools.files import FILE_MODE, atomic_write, atomic_write_text, read_json, remove_temporaries, write_json


def test_a_write_replaces_the_whole_file_with_the_mode_a_new_file_gets(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "report.html"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE == 0o666 & ~_umask()
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    write_json(path, {"runs": 1})

    def half(p: Path) -> None:
        p.write_text('{"runs": ', encoding="utf-8")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, half)
    assert read_json(path) == {"runs": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_temporaries_of_killed_writers_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / ".report.html.ab12cd34.tmp").write_text("half")
    (tmp_path / ".keep.tmp").write_text("not ours")
    (tmp_path / "report.html").write_text("done")
    assert remove_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep.tmp", "report.html"]


def test_read_json_of_a_missing_or_broken_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert read_json(tmp_path / "broken.json") is None and read_json(tmp_path / "missing.json") is None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
