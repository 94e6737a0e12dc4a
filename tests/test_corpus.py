"""The bad-input corpus: every malformed dataset, dataset config, batch spec and notebook in
tests/fixtures/corpus/<case>/ goes through the real command line.

Each case folder holds its inputs and `expect.yml`:

    input: what is malformed (one line, for docs/reliability.md)
    command: [validate, .]        # kpitools arguments, run inside a temporary copy of the folder
    exit: 2                       # the exit code (0 for the cases that only warn)
    names: [deals.csv, table deals, column amount, row 4]   # where: file, table, column, row, key, line
    says: ["as a number", "'three hundred'"]                 # what is wrong
    fix: make every value a number                          # on the message's "fix:" line
    uses: {data: good}            # fixtures copied in first (tests/fixtures/<source> -> <name>)
    subprocess: true              # run as a real process (proves "no traceback" on real stderr)
    fix_anywhere: true            # for click's own usage errors, which have no "fix:" line

Every case asserts: that exit code, every expected word, the fix, no traceback, and
nothing written: the copy of the folder is byte-for-byte unchanged afterwards.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kpitools.cli import _expand_multi_value, app

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expect.yml").is_file())
runner = CliRunner()


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def prepare(case: str, expect: dict, tmp_path: Path) -> Path:
    work = tmp_path / case
    for name, source in (expect.get("uses") or {}).items():
        src = FIXTURES / source
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("expect.yml"))
        else:
            work.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / name)
    shutil.copytree(CORPUS / case, work, ignore=shutil.ignore_patterns("expect.yml"), dirs_exist_ok=True)
    return work


def run(args: list[str], work: Path, real_process: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    if real_process:
        proc = subprocess.run([sys.executable, "-m", "kpitools", *args], cwd=work, capture_output=True,
                              text=True, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr
    monkeypatch.chdir(work)
    result = runner.invoke(app, _expand_multi_value(args))
    # an exception other than the exit itself is a traceback the user would have seen
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 30
    commands = {yaml.safe_load((CORPUS / c / "expect.yml").read_text(encoding="utf-8"))["command"][0] for c in CASES}
    assert commands == {"validate", "kpis", "run", "render"}


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expect = yaml.safe_load((CORPUS / case / "expect.yml").read_text(encoding="utf-8"))
    work = prepare(case, expect, tmp_path)
    before = snapshot(work)
    code, out = run([str(a) for a in expect["command"]], work, bool(expect.get("subprocess")), monkeypatch)
    assert code == expect.get("exit", 2), out
    assert "Traceback" not in out, out
    for word in [*expect["names"], *expect["says"]]:
        assert word in out, f"{word!r} missing from:\n{out}"
    fix_lines = out if expect.get("fix_anywhere") else "\n".join(
        line for line in out.splitlines() if line.strip().startswith("fix:"))
    assert expect["fix"] in fix_lines, f"fix {expect['fix']!r} missing from:\n{out}"
    assert snapshot(work) == before, "the command wrote or changed files"
