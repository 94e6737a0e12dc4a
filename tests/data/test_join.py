"""`join:`, `exclude:`, `fill:` and `incomplete: drop` on small exports shaped like real ones: every row
kept or counted, and the KPIs worked out by hand."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import kpitools
from kpitools.data.problems import DataError
from tests.conftest import FIXTURES

CRM = FIXTURES / "exports" / "crm"


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    folder = tmp_path / "crm"
    shutil.copytree(CRM, folder)
    return folder


def notes(ds: kpitools.Dataset) -> list[str]:
    return [str(n) for n in ds.notes]


def test_a_normalised_crm_export_loads_with_every_row_counted() -> None:
    ds = kpitools.load(CRM)
    assert notes(ds) == [
        "deals: 11 rows matched in sales_teams.csv on sales_agent",
        "deals: 1 row with no match in sales_teams.csv on sales_agent",
        "deals: 12 rows matched in products.csv on product",     # GTXPro spelled as products.csv spells it
        "deals: 1 row left out where account is 'Internal Test Co'",
        "deals: 4 rows had no amount: taken from sales_price",   # the open and prospecting deals
        "deals: 2 rows dropped: no created_at (incomplete: drop)",  # the prospecting deals
    ]
    deals = ds.deals.set_index("deal_id")
    assert len(deals) == 12 - 1 - 2
    assert deals.loc["O02", ["team", "region"]].tolist() == ["Melvin Marxen", "East"]
    assert deals.loc["O06", "amount"] == 26768 and deals.loc["O07", "amount"] == 4821  # list prices
    assert deals.loc["O01", "amount"] == 1054  # a value of its own is kept
    assert pd.isna(deals.loc["O10", "region"])  # 'Anna Snel' is not in sales_teams.csv
    assert ds.summary()["notes"] == notes(ds)


def test_kpis_of_the_crm_export_by_hand() -> None:
    ds = kpitools.load(CRM)
    got = kpitools.compute(ds, ["revenue", "won_deals", "win_rate", "pipeline_value"], period="2017-03")
    values = dict(zip(got["kpi"], got["value"]))
    # won in March: O01 1054 + O02 4514 + O03 50 + O05 4600 + O10 560 (O12 is the excluded test account)
    assert values["revenue"] == 10_778 and values["won_deals"] == 5
    assert values["win_rate"] == pytest.approx(5 / 6)  # O04 lost on 2 March
    assert values["pipeline_value"] == 26_768 + 4_821  # O06 and O07 at their list prices
    by_region = kpitools.compute(ds, "revenue", period="2017-03", by="region")
    regions = by_region["region"].astype(object).where(by_region["region"].notna(), "(none)")
    assert dict(zip(regions, by_region["value"])) == {
        "Central": 4_600, "East": 4_514, "West": 1_054 + 50, "(none)": 560}  # O10's rep is not in sales_teams


def test_the_unmatched_key_warning_names_counts_and_the_closest_key() -> None:
    ds = kpitools.load(CRM)
    (warning,) = [w for w in ds.warnings if "no match" in w.message]
    assert warning.column == "sales_agent" and warning.rows == (11,) and warning.count == 1
    assert "'Anna Snel': 1 row, closest: 'Anna Snell'" in warning.message
    assert "keys: {'Anna Snel': 'Anna Snell'}" in warning.hint


def edit(folder: Path, old: str, new: str, file: str = "dataset.yml") -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems(folder: Path) -> list[str]:
    """The errors of a load that must fail (warnings left out)."""
    with pytest.raises(DataError) as e:
        kpitools.load(folder)
    return [str(p) for p in e.value.errors]


def test_duplicate_keys_in_the_looked_up_file_stop_the_load(crm: Path) -> None:
    with (crm / "sales_teams.csv").open("a", encoding="utf-8") as f:
        f.write("Moses Frase,Someone Else,North\n")
    (found,) = problems(crm)
    assert "sales_teams.csv" in found and "'Moses Frase' (2 rows)" in found and "rows 5, 6" in found
    assert "count it twice" in found and "keep one row per key" in found


def test_a_key_column_missing_from_either_file(crm: Path) -> None:
    edit(crm, "on: sales_agent}", "on: {sales_agent: agent}}")
    (found,) = problems(crm)
    assert "sales_teams.csv" in found and "'agent' is not a column of sales_teams.csv" in found
    assert "'sales_agent'" in found
    edit(crm, "on: {sales_agent: agent}}", "on: {owner: sales_agent}}")
    (found,) = problems(crm)
    assert "sales_pipeline.csv" in found and "'owner' is not a column of this file" in found


def test_a_key_that_matches_nothing_is_an_error(crm: Path) -> None:
    edit(crm, "on: sales_agent}", "on: {account: sales_agent}}")  # accounts looked up among the reps
    (found,) = problems(crm)
    assert "no deals row finds its account in sales_teams.csv" in found
    assert "'Cancity'" in found and "'Anna Snell'" in found


def test_rows_are_never_duplicated_or_lost_and_names_do_not_clash(crm: Path) -> None:
    # products.csv also has a column `product`? no: give it one named like a deals column, `account`
    edit(crm, "product,series,sales_price", "product,account,sales_price", "products.csv")
    edit(crm, "exclude: {account: [Internal Test Co]}", "exclude: {account: [Internal Test Co]}\n"
              "    incomplete: error")
    edit(crm, "    incomplete: drop                 # prospecting deals have no engage date yet\n", "")
    edit(crm, "    incomplete: error", "    incomplete: drop")
    ds = kpitools.load(crm)
    assert len(ds.deals) == 9
    raw_accounts = set(ds.deals["customer_id"].dropna())
    assert raw_accounts == {"Cancity", "Acme Corporation", "Codehow", "Betasoloin"}  # not products' "GTX"


def test_incomplete_rows_are_an_error_unless_dropped(crm: Path) -> None:
    edit(crm, "    incomplete: drop", "    # incomplete: drop")
    found = problems(crm)
    assert any("required value is empty" in p and "created_at" in p and "rows 9, 10" in p for p in found)


def test_fill_and_exclude_name_unknown_columns(crm: Path) -> None:
    edit(crm, "fill: {amount: sales_price}", "fill: {amount: list_price}")
    edit(crm, "exclude: {account: [Internal Test Co]}", "exclude: {acount: [Internal Test Co]}")
    (found,) = problems(crm)
    assert "`exclude:` names 'acount'" in found and "did you mean 'account'?" in found
    edit(crm, "exclude: {acount: [Internal Test Co]}", "exclude: {account: [Internal Test Co]}")
    (found,) = problems(crm)
    assert "`fill:` names 'list_price'" in found and "'sales_price'" in found


def test_a_fill_for_a_column_nothing_maps_takes_the_whole_column(crm: Path) -> None:
    edit(crm, " amount: close_value}", "}")
    ds = kpitools.load(crm)
    assert "deals: 11 rows had no amount: taken from sales_price" in notes(ds)  # every row not excluded
    assert ds.deals.set_index("deal_id").loc["O01", "amount"] == 550


def test_excel_ids_match_csv_ids(tmp_path: Path) -> None:
    """A key read as 7.0 from one file and "7" from another is the same key."""
    pd.DataFrame({"deal_id": ["d1", "d2"], "created_at": ["2024-01-02", "2024-01-03"], "status": "open",
                  "amount": [10, 20], "owner_id": ["7", "8"]}).to_csv(tmp_path / "deals.csv", index=False)
    pd.DataFrame({"owner_id": [7.0, 8.0], "team": ["A", "B"]}).to_excel(tmp_path / "users.xlsx", index=False)
    (tmp_path / "dataset.yml").write_text(
        "tables:\n  deals:\n    path: deals.csv\n    join: [{path: users.xlsx, on: owner_id}]\n", encoding="utf-8")
    ds = kpitools.load(tmp_path)
    assert ds.deals["team"].astype(str).tolist() == ["A", "B"] and not ds.warnings[1:]


def test_any_one_of_deals_leads_subscriptions_is_enough(tmp_path: Path) -> None:
    pd.DataFrame({"lead_id": ["l1", "l2", "l3"], "created_at": ["2024-01-02", "2024-01-05", "2024-02-01"],
                  "converted_at": ["2024-01-20", None, None]}).to_csv(tmp_path / "leads.csv", index=False)
    ds = kpitools.load(tmp_path)
    assert set(ds.tables) == {"leads"}
    got = kpitools.compute(ds, ["lead_conversion_rate", "revenue"], freq="M", basis="cohort")
    assert got.attrs["skipped"]["revenue"].startswith("needs")
    assert dict(zip(got["period"].astype(str), got["value"])) == {"2024-01": 0.5, "2024-02": 0.0}


def test_a_dataset_without_any_fact_table_says_which_ones(tmp_path: Path) -> None:
    pd.DataFrame({"month": ["2024-01"], "amount": [5.0]}).to_csv(tmp_path / "spend.csv", index=False)
    (found,) = problems(tmp_path)
    assert "none of the tables KPIs start from (deals, leads, subscriptions)" in found


def test_a_join_may_use_a_column_an_earlier_join_brought(crm: Path) -> None:
    (crm / "offices.csv").write_text("regional_office,country\nCentral,US\nEast,US\nWest,CA\n", encoding="utf-8")
    edit(crm, "      - {path: sales_teams.csv, on: sales_agent}",
         "      - {path: sales_teams.csv, on: sales_agent}\n      - {path: offices.csv, on: regional_office}")
    edit(crm, "region: regional_office,", "region: country,")
    ds = kpitools.load(crm)
    assert ds.deals.set_index("deal_id").loc["O01", "region"] == "CA"
    assert "deals: 11 rows matched in offices.csv on regional_office" in notes(ds)  # of 12: O10 has no office
    assert "deals: 1 row with no match in offices.csv on regional_office" not in notes(ds)  # blank is no key


def test_a_billing_export_alone_is_a_dataset() -> None:
    ds = kpitools.load(FIXTURES / "exports" / "billing")
    assert set(ds.tables) == {"subscriptions", "customers"}  # customers derived from the first paid month
    assert notes(ds) == ["subscriptions: 8 rows matched in plans.csv on plan",
                         "subscriptions: 1 row left out where status is 'void'",
                         "subscriptions: 2 rows had no mrr: taken from monthly_price"]
    got = kpitools.compute(ds, ["mrr", "new_mrr", "churned_mrr", "revenue"], freq="M")
    values = {(str(p), k): v for p, k, v in zip(got["period"], got["kpi"], got["value"])}
    assert [values[(m, "mrr")] for m in ("2024-01", "2024-02", "2024-03")] == [400, 500, 400]
    assert values[("2024-02", "new_mrr")] == 100 and values[("2024-03", "churned_mrr")] == 100
    assert "revenue" in got.attrs["skipped"]


def test_a_lead_funnel_with_two_date_styles_and_the_won_date_in_the_deals_file() -> None:
    """Leads written month-first (10/20/2017), deals day-first (26-02-2018 19:58): each column is read
    its own way, whatever a single value would allow (05-06-2018 is 5 June, 02/03/2018 is 3 February)."""
    ds = kpitools.load(FIXTURES / "exports" / "funnel")
    leads = ds.leads.set_index("lead_id")
    assert leads.loc["m3", "created_at"] == pd.Timestamp("2018-02-03")
    assert leads.loc["m3", "converted_at"] == pd.Timestamp("2018-06-05 10:00")
    assert leads.loc["m4", "converted_at"] == pd.Timestamp("2018-02-12 09:00")
    assert pd.isna(leads.loc["m2", "converted_at"])
    assert notes(ds) == ["leads: 3 rows matched in closed_deals.csv on mql_id",
                         "leads: 2 rows with no match in closed_deals.csv on mql_id"]  # m2, m5: not won
    got = kpitools.compute(ds, "lead_conversion_rate", freq="M", basis="cohort")
    rates = {p: v for p, v in zip(got["period"].astype(str), got["value"]) if v == v}  # months with leads
    assert rates == {"2017-10": 1.0, "2017-11": 0.0, "2018-01": 1.0, "2018-02": 1.0, "2018-03": 0.0}
