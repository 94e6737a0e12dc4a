"""Loading: readers, column mapping, value mapping, defaults, relative paths, day-first dates, dtypes."""
from pathlib import Path

import pandas as pd
import pytest

import kpitools
from kpitools.data import DataError

GOOD = Path(__file__).parents[1] / "fixtures" / "good"

CRM_EXPORT = (
    "Opportunity ID;Created Date;Close Date;Stage;Amount;Owner;Region\n"
    "OP-1;03/02/2024;15/02/2024;Closed Won;1.200,50;Ann Lee;Europe\n"
    "OP-2;05/02/2024;;Open;300;Bob Kim;Europe\n"
    "OP-3;10/01/2024;01/03/2024;Closed Lost;99,90;Bob Kim;Asia\n"
)
CRM_CONFIG = """
name: Acme CRM
currency: EUR
tables:
  deals:
    path: ../exports/opportunities.csv
    read: {sep: ";", dayfirst: true, decimal: ",", thousands: "."}
    columns:
      deal_id: Opportunity ID
      created_at: Created Date
      first_contact_at: Created Date
      closed_at: Close Date
      status: Stage
      amount: Amount
      rep: Owner
      region: Region
    values:
      status: {Closed Won: won, Closed Lost: lost, Open: open}
      region: {Europe: EMEA, Asia: APAC}
    defaults: {deal_type: new, channel: web}
"""


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    (tmp_path / "exports").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "exports" / "opportunities.csv").write_text(CRM_EXPORT, encoding="utf-8")
    config = tmp_path / "config" / "dataset.yml"
    config.write_text(CRM_CONFIG)
    return config


def test_config_maps_columns_values_defaults_and_day_first_dates(crm):
    ds = kpitools.load(crm)
    d = ds.deals.set_index("deal_id")
    assert ds.name == "Acme CRM" and ds.currency == "EUR"
    assert d.loc["OP-1", "created_at"] == pd.Timestamp("2024-02-03")  # 03/02 read day first
    assert d.loc["OP-3", "closed_at"] == pd.Timestamp("2024-03-01")
    assert d.loc["OP-1", "amount"] == 1200.50 and d.loc["OP-3", "amount"] == 99.90
    assert list(d["status"]) == ["won", "open", "lost"]
    assert list(d["region"]) == ["EMEA", "EMEA", "APAC"]
    # one source column feeds two canonical columns
    assert (d["first_contact_at"] == d["created_at"]).all()
    assert set(d["deal_type"]) == {"new"} and set(d["channel"]) == {"web"}
    assert pd.isna(d.loc["OP-2", "closed_at"])


def test_canonical_dtypes(crm):
    d = kpitools.load(crm).deals
    assert str(d["created_at"].dtype) == "datetime64[ns]"
    assert d["amount"].dtype == "float64"
    assert isinstance(d["region"].dtype, pd.CategoricalDtype)
    assert isinstance(d["status"].dtype, pd.CategoricalDtype)
    assert pd.api.types.is_string_dtype(d["deal_id"])


def test_default_fills_blanks_of_an_existing_column(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,status,amount,deal_type\nD1,2024-01-01,open,5,\n"
                                        "D2,2024-01-01,open,5,upsell\n")
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: deals.csv\n    defaults: {deal_type: new}\n")
    assert list(kpitools.load(tmp_path).deals["deal_type"]) == ["new", "upsell"]


def test_directory_of_canonical_files_without_config(tmp_path):
    (tmp_path / "deals.csv").write_text((GOOD / "deals.csv").read_text())
    ds = kpitools.load(tmp_path)
    assert len(ds.deals) == 4
    assert list(ds.customers["customer_id"]) == ["C1"]  # derived from the won deal


def test_directory_with_a_stray_file_says_which(tmp_path):
    (tmp_path / "deals.csv").write_text((GOOD / "deals.csv").read_text())
    (tmp_path / "deal_export.csv").write_text("x\n1\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path)
    assert "deal_export.csv is not named after a canonical table" in str(e.value)


def test_parquet_and_excel_readers(tmp_path):
    frame = pd.read_csv(GOOD / "deals.csv")
    frame["created_at"] = pd.to_datetime(frame["created_at"])  # typed columns in Parquet are kept
    frame.to_parquet(tmp_path / "deals.parquet")
    (tmp_path / "xl").mkdir()
    pd.read_csv(GOOD / "deals.csv").to_excel(tmp_path / "xl" / "deals.xlsx", index=False)
    from_parquet = kpitools.load(tmp_path).deals
    from_excel = kpitools.load(tmp_path / "xl").deals
    from_csv = kpitools.load(GOOD).deals
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    pd.testing.assert_frame_equal(from_excel, from_csv)


def test_excel_bad_value_names_the_sheet_row(tmp_path):
    frame = pd.read_csv(GOOD / "deals.csv")
    frame["amount"] = frame["amount"].astype(object)
    frame.loc[2, "amount"] = "n/a"
    frame.to_excel(tmp_path / "deals.xlsx", index=False)
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path)
    assert "column amount, row 4" in str(e.value) and "'n/a'" in str(e.value)


def test_encoding_and_separator_sniffing(tmp_path):
    (tmp_path / "deals.csv").write_bytes(
        "deal_id;created_at;status;amount;rep\nD1;2024-01-01;open;5;Jürgen Müller\n".encode("latin-1"))
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: deals.csv\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path)
    assert "encoding: latin-1" in str(e.value)
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: deals.csv\n    read: {encoding: latin-1}\n")
    assert kpitools.load(tmp_path).deals["rep"].iloc[0] == "Jürgen Müller"


def test_header_and_skiprows_shift_reported_rows(tmp_path):
    (tmp_path / "deals.csv").write_text("Report generated 2024-05-01\n\ndeal_id,created_at,status,amount\n"
                                        "D1,2024-01-01,open,5\nD2,2024-01-01,open,oops\n")
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: deals.csv\n    read: {skiprows: 2}\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path)
    assert "row 5" in str(e.value)  # the line a user sees in an editor


def test_date_format_option(tmp_path):
    (tmp_path / "deals.csv").write_text("deal_id,created_at,status,amount\nD1,01.02.2024,open,5\n")
    (tmp_path / "dataset.yml").write_text(
        "tables:\n  deals:\n    path: deals.csv\n    read: {date_format: '%d.%m.%Y'}\n")
    assert kpitools.load(tmp_path).deals["created_at"].iloc[0] == pd.Timestamp("2024-02-01")


def test_unknown_setting_suggests_the_right_one(tmp_path):
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    pth: deals.csv\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path / "dataset.yml")
    assert "line 3" in str(e.value) and "did you mean 'path'" in str(e.value)


def test_filter_and_summary(crm):
    ds = kpitools.load(crm)
    assert len(ds.filter(region="APAC").deals) == 1
    assert len(ds.filter(region=["APAC", "EMEA"]).deals) == 3
    assert ds.filter(region="").deals is ds.deals
    s = ds.summary()
    assert s["rows"]["deals"] == 3 and s["regions"] == ["APAC", "EMEA"] and s["from"] == "2024-01-10"


def test_loading_unchanged_files_again_reuses_the_dataset(tmp_path):
    (tmp_path / "deals.csv").write_text((GOOD / "deals.csv").read_text())
    first = kpitools.load(tmp_path)
    assert kpitools.load(tmp_path) is first  # same files, same sizes and times: no second read
    (tmp_path / "deals.csv").write_text((GOOD / "deals.csv").read_text() + "D5,2024-03-02,,open,7,,,,\n")
    again = kpitools.load(tmp_path)
    assert again is not first and len(again.deals) == 5


def _orders_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    """The same folder loaded with its tables read in three orders: the config's, its reverse and the
    loader's own (largest file first); each load's Dataset, or the DataError it raised."""
    import kpitools.data.loader as loader

    own = loader.reading_order
    results = []
    for order in (lambda config, base: list(config.tables), lambda config, base: list(config.tables)[::-1], own):
        monkeypatch.setattr(loader, "reading_order", order)
        loader._CACHE.clear()
        try:
            results.append(kpitools.load(tmp_path / "dataset.yml"))
        except DataError as e:
            results.append(e)
    loader._CACHE.clear()
    return results


def test_tables_read_in_any_order_give_the_same_dataset(tmp_path, monkeypatch):
    from kpitools.data.loader import reading_order, resolve
    from kpitools.data.sample import write_sample

    write_sample(tmp_path, months=6, end="2026-06")
    deals = pd.read_csv(tmp_path / "deals.csv", dtype=str, keep_default_na=False)
    deals.loc[1, "customer_id"] = "C_NOWHERE"  # a link to no customer: a warning
    deals.to_csv(tmp_path / "deals.csv", index=False)
    leads = pd.read_csv(tmp_path / "leads.csv", dtype=str, keep_default_na=False)
    leads["note"] = "x"  # a column not used: a warning
    leads.to_csv(tmp_path / "leads.csv", index=False)
    config, base, _ = resolve(tmp_path / "dataset.yml")
    sizes = [(base / config.tables[name].path).stat().st_size for name in reading_order(config, base)]
    assert sizes == sorted(sizes, reverse=True) and list(config.tables) != reading_order(config, base)
    first, *others = _orders_tried(tmp_path, monkeypatch)
    assert len(first.warnings) >= 2
    for ds in others:
        assert list(ds.tables) == list(first.tables)  # the config's order, derived customers last
        for name, df in first.tables.items():
            pd.testing.assert_frame_equal(ds.tables[name], df)
        assert ds.warnings == first.warnings and ds.notes == first.notes


def test_problems_of_tables_read_in_any_order_are_listed_in_the_config_order(tmp_path, monkeypatch):
    from kpitools.data.sample import write_sample

    write_sample(tmp_path, months=6, end="2026-06")
    for table, column, value in (("deals", "amount", "12,5x"), ("leads", "created_at", "2024-13-45"),
                                 ("subscriptions", "mrr", "lots")):
        df = pd.read_csv(tmp_path / f"{table}.csv", dtype=str, keep_default_na=False)
        df.loc[2, column] = value
        df.to_csv(tmp_path / f"{table}.csv", index=False)
    (tmp_path / "targets.csv").unlink()  # a file not found: reported where the config names it
    first, *others = _orders_tried(tmp_path, monkeypatch)
    assert isinstance(first, DataError) and [p.table for p in first.problems if p.severity == "error"] == [
        "deals", "leads", "subscriptions", "targets"]
    for e in others:
        assert isinstance(e, DataError) and e.problems == first.problems


def test_parse_table_consuming_its_frame_parses_the_same(tmp_path):
    from kpitools.data.config import TableConfig
    from kpitools.data.parse import map_columns, parse_table
    from kpitools.data.readers import read_source

    (tmp_path / "deals.csv").write_text((GOOD / "deals.csv").read_text() + "D9,2024-03-02,soon,open,1x,,,,\n")
    cfg = TableConfig(path="deals.csv")
    raw, first_line, where = read_source("deals", cfg, tmp_path)
    kept, _ = map_columns("deals", raw, cfg, where)
    taken = kept.copy()
    parsed, problems, unparsed = parse_table("deals", kept, cfg, where, first_line)
    again, problems_again, unparsed_again = parse_table("deals", taken, cfg, where, first_line, consume=True)
    assert len(problems) >= 2 and problems_again == problems
    pd.testing.assert_frame_equal(again, parsed)
    assert unparsed_again.keys() == unparsed.keys() and all(unparsed_again[k].equals(unparsed[k]) for k in unparsed)
    assert list(taken.columns) == [] and len(taken) == len(kept)  # every column taken out as parsed
