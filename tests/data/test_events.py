"""Event-style subscription exports (`shape: events` / `shape: periods`) expanded to monthly rows:
hand-worked MRR and movements with mid-month changes, annual and quarterly plans, reactivation;
and the sample's subscriptions turned into events and back giving the same KPIs."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import kpitools
from kpitools.data import DataError
from kpitools.data.events import interval_months

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
DEALS = "deal_id,created_at,closed_at,status,amount\nX1,2024-01-02,2024-01-05,won,10\n"
EVENTS_CONFIG = """
tables:
  deals: {path: deals.csv}
  subscriptions:
    path: events.csv
    shape: events
    until: 2024-08
    columns: {customer_id: Customer, subscription_id: Subscription, date: Date, type: Event, amount: Amount,
              interval: Billing, plan: Plan, churn_reason: Reason}
    values:
      type: {Created: start, Plan changed: change, Cancelled: cancel}
      churn_reason: {Customer request: voluntary, Card declined: passive}
"""
PERIODS_CONFIG = """
tables:
  deals: {path: deals.csv}
  subscriptions: {path: periods.csv, shape: periods, until: 2024-08}
"""
# Worked by hand from the fixtures (MRR at each month's end; see kpitools/data/events.py):
# A 100/month from 10 Jan, 1800/year (150) from 15 Mar, cancelled 20 Jun -> last pays May
# B 300/quarter (100) from 1 Feb, 60 from 30 Apr, cancelled 1 May -> last pays April, back at 80 on 5 Jul
# C 50 from 31 Jan (counts in Jan), + an add-on 1200/year (100) from 1 Mar, the 50 cancelled 1 Apr
# D starts and cancels in February: never paying at a month's end. E 200 on 2 May, 250 on 20 May.
EXPECTED = [  # customer, month, mrr, plan, churn_reason
    ("A", "2024-01", 100.0, "Pro", None), ("A", "2024-02", 100.0, "Pro", None),
    ("A", "2024-03", 150.0, "Pro", None), ("A", "2024-04", 150.0, "Pro", None),
    ("A", "2024-05", 150.0, "Pro", "voluntary"),
    ("B", "2024-02", 100.0, "Team", None), ("B", "2024-03", 100.0, "Team", None),
    ("B", "2024-04", 60.0, "Team", "passive"), ("B", "2024-07", 80.0, "Team", None),
    ("B", "2024-08", 80.0, "Team", None),
    ("C", "2024-01", 50.0, "Starter", None), ("C", "2024-02", 50.0, "Starter", None),
    ("C", "2024-03", 100.0, "Add-on", None), ("C", "2024-03", 50.0, "Starter", None),
    *[("C", f"2024-0{m}", 100.0, "Add-on", None) for m in range(4, 9)],
    *[("E", f"2024-0{m}", 250.0, "Pro", None) for m in range(5, 9)],
]
MOVEMENTS = {  # month: (mrr, new, expansion, contraction, churned, reactivation)
    "2024-01": (150, 150, 0, 0, 0, 0),
    "2024-02": (250, 100, 0, 0, 0, 0),
    "2024-03": (400, 0, 150, 0, 0, 0),
    "2024-04": (310, 0, 0, 90, 0, 0),
    "2024-05": (500, 250, 0, 0, 60, 0),
    "2024-06": (350, 0, 0, 0, 150, 0),
    "2024-07": (430, 0, 0, 0, 0, 80),
    "2024-08": (430, 0, 0, 0, 0, 0),
}
MRR_KPIS = ["mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr"]


def load(tmp_path: Path, config: str, **files: str) -> kpitools.Dataset:
    (tmp_path / "deals.csv").write_text(DEALS)
    for name in ("events.csv", "periods.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    for name, text in files.items():
        (tmp_path / name.replace("_", ".")).write_text(text)
    (tmp_path / "dataset.yml").write_text(config)
    return kpitools.load(tmp_path / "dataset.yml")


def rows(ds: kpitools.Dataset) -> list[tuple]:
    s = ds.subscriptions
    reason = s["churn_reason"].astype(object) if "churn_reason" in s else pd.Series(None, index=s.index)
    return [(c, m.strftime("%Y-%m"), v, p, None if pd.isna(r) else r)
            for c, m, v, p, r in zip(s["customer_id"], s["month"], s["mrr"], s["plan"].astype(object), reason)]


def movements(ds: kpitools.Dataset) -> dict[str, tuple]:
    r = kpitools.compute(ds, MRR_KPIS).pivot_table(index="period", columns="kpi", values="value")
    return {str(p): tuple(float(r.loc[p, k]) for k in MRR_KPIS) for p in r.index}


@pytest.mark.parametrize("config", [EVENTS_CONFIG, PERIODS_CONFIG], ids=["events", "periods"])
def test_hand_worked_monthly_rows_and_mrr_movements(tmp_path: Path, config: str) -> None:
    ds = load(tmp_path, config)
    assert rows(ds) == EXPECTED
    assert movements(ds) == {m: tuple(map(float, v)) for m, v in MOVEMENTS.items()}


def test_plans_are_followed_per_group(tmp_path: Path) -> None:
    ds = load(tmp_path, EVENTS_CONFIG)
    r = kpitools.compute(ds, "mrr", by="plan", period="2024-03")
    assert dict(zip(r["plan"], r["value"])) == {"Add-on": 100.0, "Pro": 150.0, "Starter": 50.0, "Team": 100.0}


def test_until_defaults_to_the_latest_date_in_the_file(tmp_path: Path) -> None:
    ds = load(tmp_path, EVENTS_CONFIG.replace("    until: 2024-08\n", ""))
    assert ds.subscriptions["month"].max() == pd.Timestamp("2024-07-01")  # B's return on 5 July
    assert rows(ds) == [r for r in EXPECTED if r[1] <= "2024-07"]


def test_type_can_be_left_out(tmp_path: Path) -> None:
    text = "customer_id,date,amount\nA,2024-01-10,100\nA,2024-02-10,120\nA,2024-04-02,0\nA,2024-05-06,90\n"
    ds = load(tmp_path, "tables:\n  deals: {path: deals.csv}\n  subscriptions: {path: ev.csv, shape: events}\n",
              ev_csv=text)
    assert [(m, v) for _, m, v, _, _ in rows_without_plan(ds)] == [
        ("2024-01", 100.0), ("2024-02", 120.0), ("2024-03", 120.0), ("2024-05", 90.0)]


def rows_without_plan(ds: kpitools.Dataset) -> list[tuple]:
    s = ds.subscriptions
    return [(c, m.strftime("%Y-%m"), v, None, None) for c, m, v in zip(s["customer_id"], s["month"], s["mrr"])]


@pytest.mark.parametrize("text, months", [
    ("month", 1), ("Monthly", 1), ("annual", 12), ("YEAR", 12), ("quarterly", 3), ("6 months", 6),
    ("2 years", 24), ("weekly", 12 / 52), ("", 1), (None, 1), ("fortnightly", None), ("0 months", None),
])
def test_interval_months(text, months) -> None:
    assert interval_months(text) == months


def test_mistakes_name_the_source_rows(tmp_path: Path) -> None:
    text = ("customer_id,date,type,amount,interval\n"
            "A,2024-01-10,start,100,month\n"
            "A,2024-02-30,change,120,month\n"       # line 3: no such date
            "B,2024-01-05,start,-5,month\n"         # line 4: negative
            "C,2024-01-05,pause-ish,10,month\n"     # line 5: unknown type
            "D,2024-01-05,start,10,fortnightly\n"   # line 6: unknown interval
            "E,2024-01-05,change,,month\n")         # line 7: change without amount
    with pytest.raises(DataError) as e:
        load(tmp_path, "tables:\n  deals: {path: deals.csv}\n  subscriptions: {path: ev.csv, shape: events}\n",
             ev_csv=text)
    found = {(p.column, p.rows) for p in e.value.errors}
    assert ("date", (3,)) in found
    assert all(p.file.endswith("ev.csv") and p.table == "subscriptions" for p in e.value.errors)
    # the date problem stops the rest (they are checked once the columns parse)
    text = text.replace("2024-02-30", "2024-02-28")
    with pytest.raises(DataError) as e:
        load(tmp_path, "tables:\n  deals: {path: deals.csv}\n  subscriptions: {path: ev.csv, shape: events}\n",
             ev_csv=text)
    found = {(p.column, p.rows, p.message) for p in e.value.errors}
    assert found == {("amount", (4,), "negative amount"), ("type", (5,), "event type not understood"),
                     ("interval", (6,), "billing interval not understood"),
                     ("amount", (7,), "a start or change without an amount")}


def test_periods_that_end_before_they_start(tmp_path: Path) -> None:
    text = "customer_id,start,end,amount\nA,2024-03-01,2024-02-01,10\n"
    with pytest.raises(DataError, match="the period ends before it starts") as e:
        load(tmp_path, "tables:\n  deals: {path: deals.csv}\n  subscriptions: {path: p.csv, shape: periods}\n",
             p_csv=text)
    assert e.value.errors[0].rows == (2,)


def test_shape_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="only for the subscriptions table"):
        load(tmp_path, "tables:\n  deals: {path: deals.csv, shape: events}\n")
    with pytest.raises(DataError, match="`until:` is for `shape: events`"):
        load(tmp_path, "tables:\n  deals: {path: deals.csv}\n  subscriptions: {path: p.csv, until: 2024-01}\n")
    with pytest.raises(DataError, match="required column 'date' of subscription events is missing"):
        load(tmp_path, "tables:\n  deals: {path: deals.csv}\n  subscriptions: {path: periods.csv, shape: events}\n")


# --------------------------------------------------------------------------- the sample, as events and back


def sample_as_events(subs: pd.DataFrame, annual: set[str]) -> pd.DataFrame:
    """Each change of a customer's MRR as an event on a day inside the month (never the 1st), a
    cancellation in the month after the last paying one, annual amounts for the `annual` customers."""
    s = subs.sort_values(["customer_id", "month"]).reset_index(drop=True)
    m = s["month"].dt.year * 12 + s["month"].dt.month
    same = s["customer_id"].eq(s["customer_id"].shift())
    gap = ~same | (m - m.shift()).ne(1)  # first row of a customer, or back after a gap
    changed = same & ~gap & s["mrr"].ne(s["mrr"].shift())
    ends = ~s["customer_id"].eq(s["customer_id"].shift(-1)) | (m.shift(-1) - m).ne(1)
    last = s["month"].max()
    day = pd.to_timedelta(2 + (s.index.to_numpy() * 7) % 26, unit="D")  # 3rd .. 28th
    year = s["customer_id"].astype(str).isin(annual)
    amount = np.where(year, s["mrr"] * 12, s["mrr"])
    ev = []
    for mask, kind in ((gap, "start"), (changed, "change")):
        part = s[mask]
        ev.append(pd.DataFrame({"customer_id": part["customer_id"], "date": part["month"] + day[mask],
                                "type": kind, "amount": amount[mask], "interval": np.where(year[mask], "year", "month"),
                                "plan": part["plan"], "region": part["region"], "segment": part["segment"]}))
    stop = ends & (s["month"].ne(last) | s["churn_reason"].notna())  # leaving after the data's last month
    part = s[stop]
    ev.append(pd.DataFrame({"customer_id": part["customer_id"],
                            "date": part["month"] + pd.DateOffset(months=1) + day[stop], "type": "cancel",
                            "churn_reason": part["churn_reason"]}))
    out = pd.concat(ev, ignore_index=True)
    return out.sample(frac=1.0, random_state=1)  # file order must not matter


@pytest.mark.parametrize("annual_share", [0.0, 0.5], ids=["monthly", "half-annual"])
def test_the_sample_as_events_gives_the_same_kpis(csv_sample, annual_share: float) -> None:
    folder, csv_ds, csv_kpis = csv_sample
    subs = csv_ds.subscriptions
    ids = sorted(subs["customer_id"].unique())
    annual = set(ids[: int(len(ids) * annual_share)])
    events = sample_as_events(subs, annual)
    assert (events["date"].dt.day > 1).all() and events["type"].nunique() == 3
    name = f"events-{annual_share}.csv"
    events.to_csv(folder / name, index=False, date_format="%Y-%m-%d")
    config = yaml.safe_load((folder / "dataset.yml").read_text())
    last = subs["month"].max().strftime("%Y-%m")
    config["tables"]["subscriptions"] = {"path": name, "shape": "events", "until": last}
    (folder / f"{name}.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    ds = kpitools.load(folder / f"{name}.yml")
    a = ds.subscriptions.sort_values(["customer_id", "month"]).reset_index(drop=True)
    b = subs.sort_values(["customer_id", "month"]).reset_index(drop=True)
    exact = annual_share == 0  # x * 12 / 12 may differ from x in the last bit
    pd.testing.assert_frame_equal(a, b, check_exact=exact, rtol=1e-12)
    result = kpitools.compute(ds)
    pd.testing.assert_frame_equal(result, csv_kpis, check_exact=exact, rtol=1e-9)
