import datetime as dt

import pytest

from kpitools import clock


def test_today_is_the_setting_when_set(monkeypatch):
    monkeypatch.setenv("KPITOOLS_TODAY", "2024-02-29")
    assert clock.today() == dt.date(2024, 2, 29)


def test_today_is_the_machines_date_when_unset(monkeypatch):
    monkeypatch.delenv("KPITOOLS_TODAY", raising=False)
    assert clock.today() == dt.date.today()


def test_a_bad_setting_says_how_to_write_it(monkeypatch):
    monkeypatch.setenv("KPITOOLS_TODAY", "15/11/2026")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        clock.today()


def test_the_command_line_refuses_a_bad_setting_with_exit_2(monkeypatch, capsys, tmp_path):
    from kpitools import cli

    monkeypatch.setenv("KPITOOLS_TODAY", "next tuesday")
    monkeypatch.setattr("sys.argv", ["kpitools", "sample", str(tmp_path / "s")])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    assert "KPITOOLS_TODAY" in capsys.readouterr().err and not (tmp_path / "s").exists()
