"""Every validation rule through a bad-input fixture: exit 2, and a message naming file, column and row."""
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpitools.cli import app

BAD = Path(__file__).parents[1] / "fixtures" / "bad"
runner = CliRunner()

# case: (file named, column named or None, row named or None, words of the message, words of the fix)
CASES = {
    "missing_file": ("deals.csv", None, None, "file not found", "files in"),
    "empty_file": ("deals.csv", None, None, "file is empty", "export"),
    "yaml_syntax": ("dataset.yml", None, None, "YAML syntax error: line 5", "indentation"),
    "unknown_table": ("dataset.yml", None, None, "unknown table 'leeds' (line 5)", "did you mean 'leads'"),
    "mapping_to_missing_column": ("deals.csv", "amount", None, "'Amount USD' names a column the file does not have",
                                  "columns found: 'deal_id'"),
    "missing_required_column": ("deals.csv", "amount", None, "required column 'amount' is missing",
                                "columns: {amount:"),
    "bad_number": ("deals.csv", "amount", "row 3", "as a number", "'12abc'"),
    "bad_date": ("deals.csv", "created_at", "row 4", "as a date", "'2024-13-45'"),
    "negative_money": ("deals.csv", "amount", "row 5", "negative money", "0 or more"),
    "status_not_allowed": ("deals.csv", "status", "row 2", "outside the allowed set (open, won, lost)",
                           "values: {status: {'Closed Won': won}}"),
    "deal_type_not_allowed": ("deals.csv", "deal_type", "rows 2, 3, 4, 5", "allowed set", "values: {deal_type:"),
    "activity_type_not_allowed": ("activities.csv", "type", "row 3", "(call, email, meeting, demo)", "'visit'"),
    "duplicate_ids": ("deals.csv", "deal_id", "rows 2, 3", "duplicate ids", "'D1'"),
    "won_without_closed_at": ("deals.csv", "closed_at", "row 2", "won or lost deal without closed_at",
                              "set closed_at"),
    "closed_before_created": ("deals.csv", "closed_at", "row 4", "closed_at is before created_at", "day-first"),
    "probability_out_of_range": ("deals.csv", "probability", "row 5", "outside 0 to 1", "fractions"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_and_says_where_and_how(case):
    file, column, row, message, fix = CASES[case]
    result = runner.invoke(app, ["validate", str(BAD / case)])
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    assert file in out
    if column:
        assert f"column {column}" in out
    if row:
        assert row in out
    assert message in out
    assert fix in out


def test_dangling_link_is_a_warning_not_an_error():
    result = runner.invoke(app, ["validate", str(BAD / "dangling_customer")])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "customer_id" in result.output and "'C1'" in result.output
    assert "valid (1 warning(s))" in result.output


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


def test_real_process_exit_code_and_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "kpitools", "validate", str(BAD / "bad_date")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "2024-13-45" in proc.stderr
