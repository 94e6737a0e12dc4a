"""CRM export presets: small realistic exports with hand-worked values, overrides, mistakes, and
the sample's deals written in each CRM's export shape giving the same KPIs as the CSV sample."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import kpitools
from kpitools.data import DataError
from kpitools.data.presets import PRESETS, describe

FIXTURES = Path(__file__).parents[1] / "fixtures" / "presets"
T = pd.Timestamp


def load_export(tmp_path: Path, preset: str, extra: str = "", file: str | None = None) -> kpitools.Dataset:
    shutil.copy(FIXTURES / f"{preset}.csv", tmp_path / "export.csv")
    if file is not None:
        (tmp_path / "export.csv").write_text(file, encoding="utf-8")
    (tmp_path / "dataset.yml").write_text(f"tables:\n  deals:\n    path: export.csv\n    preset: {preset}\n{extra}")
    return kpitools.load(tmp_path / "dataset.yml")


def values(ds: kpitools.Dataset, kpi: str, freq: str = "M") -> dict[str, float]:
    r = kpitools.compute(ds, kpi, freq=freq)
    return {str(p): v for p, v in zip(r["period"], r["value"]) if not (isinstance(v, float) and np.isnan(v))}


# --------------------------------------------------------------------------- hand-worked exports


def test_salesforce_report_export(tmp_path: Path) -> None:
    ds = load_export(tmp_path, "salesforce")
    d = ds.deals.set_index("deal_id")
    assert len(d) == 6  # the report's footer lines are not deals
    assert list(d["status"]) == ["won", "won", "lost", "lost", "open", "open"]
    assert d.loc["0065g00000NwT01", "created_at"] == T("2024-01-04")  # US dates: month first
    assert d.loc["0065g00000NwT01", "closed_at"] == T("2024-02-14")
    assert d.loc["0065g00000AwP05", "expected_close_at"] == T("2024-05-31")  # open: Close Date is expected
    assert pd.isna(d.loc["0065g00000AwP05", "closed_at"]) and pd.isna(d.loc["0065g00000NwT01", "expected_close_at"])
    assert d.loc["0065g00000AwP05", "probability"] == 0.75 and pd.isna(d.loc["0065g00000NwT01", "probability"])
    assert d.loc["0065g00000AwP05", "stage"] == "Proposal/Price Quote" and pd.isna(d.loc["0065g00000NwT01", "stage"])
    assert list(d["deal_type"]) == ["new", "upsell", "new", "new", "new", "renewal"]
    assert d.loc["0065g00000CtS02", "rep"] == "Dana Whitfield"
    assert d.loc["0065g00000CtS02", "customer_id"] == "Contoso Ltd"
    assert d.loc["0065g00000FbK03", "lead_source"] == "Trade Show"
    assert values(ds, "revenue") == {"2024-01": 0, "2024-02": 24000, "2024-03": 6500, "2024-04": 0}
    assert values(ds, "win_rate", "Q") == {"2024Q1": 2 / 3, "2024Q2": 0.0}
    assert values(ds, "pipeline_value")["2024-04"] == 15000 + 9600


def test_hubspot_deals_export(tmp_path: Path) -> None:
    ds = load_export(tmp_path, "hubspot")
    d = ds.deals.set_index("deal_id")
    assert list(d.index) == [f"98765432{i:02d}" for i in range(1, 6)]
    assert list(d["status"]) == ["won", "lost", "won", "open", "open"]
    assert d.loc["9876543201", "created_at"] == T("2024-01-08 09:12")
    assert d.loc["9876543203", "closed_at"] == T("2024-03-28 10:05")
    assert d.loc["9876543204", "expected_close_at"] == T("2024-05-15") and pd.isna(d.loc["9876543204", "closed_at"])
    assert list(d["deal_type"]) == ["new", "new", "upsell", "new", "new"]
    assert d.loc["9876543204", "probability"] == 0.9 and d.loc["9876543205", "stage"] == "Appointment Scheduled"
    assert d.loc["9876543202", "lost_reason"] == "Price" and d.loc["9876543203", "customer_id"] == "Globex"
    assert list(d["rep"]) == ["Priya Nair", "Priya Nair", "Tom Becker", "Tom Becker", "Priya Nair"]
    assert values(ds, "revenue") == {"2024-01": 0, "2024-02": 12000, "2024-03": 3000, "2024-04": 0}
    assert values(ds, "win_rate", "Q") == {"2024Q1": 2 / 3}


def test_close_opportunities_export(tmp_path: Path) -> None:
    ds = load_export(tmp_path, "close")
    d = ds.deals.set_index("deal_id")
    assert list(d["status"]) == ["won", "won", "lost", "open"]
    # cents; the monthly value is annualised (500 a month = 6000); annual and one-time as they are
    assert list(d["amount"]) == [15000.0, 6000.0, 9000.0, 24000.0]
    assert d.loc["oppo_8aZk3", "closed_at"] == T("2024-03-15")  # date_lost, not the old estimate in date_won
    assert d.loc["oppo_8aZk2", "closed_at"] == T("2024-03-01")
    assert d.loc["oppo_8aZk4", "expected_close_at"] == T("2024-06-28") and pd.isna(d.loc["oppo_8aZk4", "closed_at"])
    assert d.loc["oppo_8aZk1", "created_at"] == T("2024-01-10 09:30")  # +00:00 read as UTC
    assert d.loc["oppo_8aZk4", "probability"] == 0.6 and d.loc["oppo_8aZk4", "stage"] == "Demo Completed"
    assert list(d["customer_id"]) == ["lead_Qm21", "lead_Qm22", "lead_Qm23", "lead_Qm24"]
    assert list(d["rep"]) == ["Maya Chen", "Maya Chen", "Sam Reed", "Sam Reed"]
    assert values(ds, "revenue") == {"2024-01": 0, "2024-02": 15000, "2024-03": 6000}


def test_close_without_date_lost_uses_date_updated(tmp_path: Path) -> None:
    text = (FIXTURES / "close.csv").read_text()
    df = pd.read_csv(FIXTURES / "close.csv", dtype=str, keep_default_na=False).drop(columns="date_lost")
    df.to_csv(tmp_path / "no_date_lost.csv", index=False)
    ds = load_export(tmp_path, "close", file=(tmp_path / "no_date_lost.csv").read_text())
    assert "date_lost" in text
    assert ds.deals.set_index("deal_id").loc["oppo_8aZk3", "closed_at"] == T("2024-03-16 10:00")


# --------------------------------------------------------------------------- overrides and flags


def test_user_settings_override_the_preset(tmp_path: Path) -> None:
    text = (FIXTURES / "salesforce.csv").read_text().replace('"Negotiation/Review"', '"Closed - Duplicate"')
    extra = ("    columns: {rep: Lead Source}\n"  # silly but visible: the user's mapping wins
             "    values: {status: {Closed - Duplicate: lost}, deal_type: {New Customer: cross_sell}}\n"
             "    defaults: {region: EMEA}\n")
    d = load_export(tmp_path, "salesforce", extra, file=text).deals.set_index("deal_id")
    assert d.loc["0065g00000LwR06", "status"] == "lost"  # a custom closed stage, mapped by the user
    assert d.loc["0065g00000FbK03", "rep"] == "Trade Show"
    assert d.loc["0065g00000NwT01", "deal_type"] == "cross_sell" and d.loc["0065g00000CtS02", "deal_type"] == "upsell"
    assert set(d["region"]) == {"EMEA"}
    # without the user's mapping a custom stage counts as open
    d = load_export(tmp_path, "salesforce", file=text).deals.set_index("deal_id")
    assert d.loc["0065g00000LwR06", "status"] == "open"


def test_salesforce_won_and_closed_columns_decide_the_status(tmp_path: Path) -> None:
    df = pd.read_csv(FIXTURES / "salesforce.csv", dtype=str, keep_default_na=False).iloc[:6]
    df["Stage"] = ["Signed", "Closed Won", "Dead", "Closed Lost", "Proposal/Price Quote", "Verbal"]
    df["Won"] = ["1", "1", "0", "0", "0", "0"]
    df["Closed"] = ["1", "1", "1", "1", "0", "0"]
    df.to_csv(tmp_path / "flags.csv", index=False)
    d = load_export(tmp_path, "salesforce", file=(tmp_path / "flags.csv").read_text()).deals
    assert list(d["status"]) == ["won", "won", "lost", "lost", "open", "open"]
    assert list(d["stage"].astype(object).fillna("-")) == ["-", "-", "-", "-", "Proposal/Price Quote", "Verbal"]


# --------------------------------------------------------------------------- mistakes


def test_unknown_preset_names_the_closest(tmp_path: Path) -> None:
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: x.csv\n    preset: hubspt\n")
    with pytest.raises(DataError) as e:
        kpitools.load(tmp_path / "dataset.yml")
    [p] = e.value.errors
    assert p.message == "line 4: unknown preset 'hubspt'" and p.hint.startswith("did you mean 'hubspot'?")
    assert p.file == str(tmp_path / "dataset.yml") and p.table == "deals"


def test_a_preset_is_for_its_table(tmp_path: Path) -> None:
    (tmp_path / "dataset.yml").write_text("tables:\n  deals:\n    path: d.csv\n  leads:\n    path: x.csv\n"
                                          "    preset: close\n")
    with pytest.raises(DataError, match="the close preset is for the deals table, not leads"):
        kpitools.load(tmp_path / "dataset.yml")


def test_a_missing_required_column_names_what_the_preset_expected(tmp_path: Path) -> None:
    df = pd.read_csv(FIXTURES / "hubspot.csv", dtype=str, keep_default_na=False).drop(columns="Record ID")
    df.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataError) as e:
        load_export(tmp_path, "hubspot", file=(tmp_path / "x.csv").read_text())
    [p] = e.value.errors
    assert p.message == "required column 'deal_id' is missing" and p.column == "deal_id"
    assert p.hint.startswith("the hubspot preset reads deal_id from 'Record ID' or 'Deal ID'")
    assert "'Deal Name'" in p.hint  # and lists the columns the file has


def test_unmapped_deal_types_are_reported_not_guessed(tmp_path: Path) -> None:
    text = (FIXTURES / "hubspot.csv").read_text().replace("Existing Business", "Partner Resale")
    with pytest.raises(DataError) as e:
        load_export(tmp_path, "hubspot", file=text)
    [p] = e.value.errors
    assert p.column == "deal_type" and "Partner Resale" in str(p) and p.rows == (4,)


def test_every_preset_documents_its_columns() -> None:
    assert {"salesforce", "hubspot", "close"} <= set(PRESETS)
    for preset in PRESETS.values():
        text = describe(preset)
        assert "deal_id" in text and "amount" in text and preset.notes in text


# --------------------------------------------------------------------------- the sample, through each preset


def _dates(s: pd.Series, fmt: str) -> pd.Series:
    return s.dt.strftime(fmt).where(s.notna(), "")


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str)


def _num(s: pd.Series) -> pd.Series:
    return s.astype(float).map(lambda v: "" if np.isnan(v) else repr(v))


def _close_date(d: pd.DataFrame) -> pd.Series:
    return d["closed_at"].where(d["status"] != "open", d["expected_close_at"])


def _stage(d: pd.DataFrame, won: str, lost: str) -> pd.Series:
    return pd.Series(np.where(d["status"] == "won", won, np.where(d["status"] == "lost", lost, _text(d["stage"]))),
                     index=d.index)


def _custom(d: pd.DataFrame, prefix: str = "") -> dict[str, pd.Series]:
    """The columns a CRM has no standard field for, as custom fields (mapped in the test's config)."""
    return {f"{prefix}Region": _text(d["region"]), f"{prefix}Channel": _text(d["channel"]),
            f"{prefix}Cost": _num(d["cost"]), f"{prefix}First Contact": _dates(d["first_contact_at"], "%Y-%m-%d"),
            f"{prefix}Score": d["score"].astype("Int64").astype(str).replace("<NA>", "")}


CUSTOM_MAP = {"region": "Region", "channel": "Channel", "cost": "Cost", "first_contact_at": "First Contact",
              "score": "Score"}
SF_TYPES = {"new": "New Customer", "upsell": "Existing Customer - Upgrade", "renewal": "Renewal",
            "cross_sell": "Cross-Sell"}
HS_TYPES = {"new": "New Business", "upsell": "Existing Business", "renewal": "Renewal", "cross_sell": "Cross-sell"}


def salesforce_export(d: pd.DataFrame) -> pd.DataFrame:
    prob = np.where(d["status"] == "won", 100.0, np.where(d["status"] == "lost", 0.0, d["probability"] * 100))
    return pd.DataFrame({
        "Opportunity Owner": _text(d["rep"]), "Owner Role": _text(d["team"]), "Account ID": _text(d["customer_id"]),
        "Opportunity Name": _text(d["product"]) + " deal", "Stage": _stage(d, "Closed Won", "Closed Lost"),
        "Amount": _num(d["amount"]), "Probability (%)": [f"{p:.6g}" for p in prob],
        "Close Date": _dates(_close_date(d), "%m/%d/%Y"), "Created Date": _dates(d["created_at"], "%m/%d/%Y"),
        "Lead Source": _text(d["lead_source"]), "Primary Campaign Source": _text(d["campaign"]),
        "Type": d["deal_type"].astype(object).map(SF_TYPES), "Opportunity ID": _text(d["deal_id"]),
        "Product Name": _text(d["product"]), "Quantity": _num(d["quantity"]), "Loss Reason": _text(d["lost_reason"]),
        **_custom(d),
    })


def hubspot_export(d: pd.DataFrame) -> pd.DataFrame:
    prob = np.where(d["status"] == "won", 1.0, np.where(d["status"] == "lost", 0.0, d["probability"]))
    return pd.DataFrame({
        "Record ID": _text(d["deal_id"]), "Deal Name": _text(d["product"]) + " deal",
        "Deal Stage": _stage(d, "Closed Won", "Closed Lost"),
        "Close Date": _dates(_close_date(d), "%Y-%m-%d %H:%M"), "Deal owner": _text(d["rep"]),
        "HubSpot Team": _text(d["team"]), "Amount": _num(d["amount"]),
        "Create Date": _dates(d["created_at"], "%Y-%m-%d %H:%M"), "Pipeline": "Sales Pipeline",
        "Deal Type": d["deal_type"].astype(object).map(HS_TYPES), "Associated Company IDs": _text(d["customer_id"]),
        "Original Source Type": _text(d["lead_source"]), "Campaign": _text(d["campaign"]),
        "Deal probability": [repr(float(p)) for p in prob], "Closed Lost Reason": _text(d["lost_reason"]),
        "Product": _text(d["product"]), "Quantity": _num(d["quantity"]), **_custom(d),
    })


def close_export(d: pd.DataFrame) -> pd.DataFrame:
    status = d["status"].astype(object).map({"open": "active", "won": "won", "lost": "lost"})
    cents = (d["amount"] * 100).round()
    assert (cents / 100 == d["amount"]).all()  # the sample's amounts are whole cents
    conf = np.where(d["status"] == "won", 100.0, np.where(d["status"] == "lost", 0.0, d["probability"] * 100))
    # date_won: the close date of won deals, the estimate for active ones; lost deals keep an old estimate
    won = d["closed_at"].where(d["status"] == "won", d["expected_close_at"])
    won = won.where(d["status"] != "lost", d["created_at"] + pd.Timedelta(days=30))
    updated = d["closed_at"].where(d["status"] == "lost", d["created_at"] + pd.Timedelta(days=3))
    out = {
        "id": _text(d["deal_id"]), "lead_id": _text(d["customer_id"]), "lead_name": _text(d["customer_id"]),
        "status_label": _stage(d, "Won", "Lost"), "status_type": status, "pipeline_name": "Sales",
        "value": cents.astype("int64").astype(str), "value_period": "one_time", "value_currency": "USD",
        "confidence": [f"{c:.6g}" for c in conf], "date_won": _dates(won, "%Y-%m-%d"),
        "date_created": _dates(d["created_at"], "%Y-%m-%dT%H:%M:%S.000000+00:00"),
        "date_updated": _dates(updated, "%Y-%m-%dT%H:%M:%S.000000+00:00"), "user_name": _text(d["rep"]),
    }
    custom = {"team": _text(d["team"]), "product": _text(d["product"]), "lead_source": _text(d["lead_source"]),
              "campaign": _text(d["campaign"]), "deal_type": _text(d["deal_type"]), "quantity": _num(d["quantity"]),
              "lost_reason": _text(d["lost_reason"])}
    out.update({f"custom.{k}": v for k, v in custom.items()})
    out.update(_custom(d, "custom."))
    return pd.DataFrame(out)


EXPORTS = {
    "salesforce": (salesforce_export, CUSTOM_MAP),
    "hubspot": (hubspot_export, CUSTOM_MAP),
    "close": (close_export, {**{k: f"custom.{v}" for k, v in CUSTOM_MAP.items()},
                             **{k: f"custom.{k}" for k in ("team", "product", "lead_source", "campaign",
                                                           "deal_type", "quantity", "lost_reason")}}),
}


@pytest.mark.parametrize("preset", sorted(EXPORTS))
def test_the_sample_through_each_preset_gives_the_same_kpis(csv_sample, preset: str) -> None:
    folder, csv_ds, csv_kpis = csv_sample
    make, columns = EXPORTS[preset]
    export = make(csv_ds.deals)
    if preset == "salesforce":  # as Salesforce writes it, footer and all
        text = export.to_csv(index=False) + '\n"Confidential Information - Do Not Distribute"\n'
    else:
        text = export.to_csv(index=False)
    (folder / f"{preset}.csv").write_text(text, encoding="utf-8")
    config = yaml.safe_load((folder / "dataset.yml").read_text())
    config["tables"]["deals"] = {"path": f"{preset}.csv", "preset": preset, "columns": columns}
    (folder / f"{preset}.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    ds = kpitools.load(folder / f"{preset}.yml")
    pd.testing.assert_frame_equal(ds.deals, csv_ds.deals)
    pd.testing.assert_frame_equal(kpitools.compute(ds), csv_kpis)
