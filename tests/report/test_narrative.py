"""kpitools.report.narrative: the summary and the outlook text from hand-made frames, sentence for sentence;
drivers() on a hand-made dataset, every number worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpitools.data import Dataset
from kpitools.data.types import to_canonical
from kpitools.report import narrative
from kpitools.report.narrative import attainment, drivers, group_label, money, percent, summary

WJ = "\u2060"  # word joiner: the summary keeps "+$60k" on one line
OCT = pd.Period("2026-10", "M")


def card(kpi, name, unit, direction, value, previous=np.nan, target=np.nan, status=None, benchmark=None,
         period=OCT):
    change = value - previous
    return {"period": period, "kpi": kpi, "name": name, "unit": unit, "direction": direction, "value": value,
            "previous": previous, "change": change,
            "change_pct": change / abs(previous) if previous and not np.isnan(previous) else np.nan,
            "target": target, "benchmark": benchmark, "status": status}


def cards(*rows, **attrs) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    df.attrs.update(attrs)
    return df


def movers(rows, change, unit="money", kpi="revenue") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["dimension", "group", "change"])
    df.attrs = {"kpi": kpi, "unit": unit, "change": change, "currency": "USD"}
    return df


# revenue 1.02M, up 8.1% on 943,571 (76,429) and 12% above a 910,714 target
REVENUE = card("revenue", "Revenue", "money", "higher", 1_020_000.0, 1_020_000 / 1.081, 1_020_000 / 1.12,
               "on track")
RISE = movers([("region", "EMEA", 60_000.0), ("region", "APAC", 16_429.0), ("rep", "Ana Souza", 31_000.0),
               ("rep", "Bo Li", -5_000.0), ("product", "Acme Core", 20_000.0),
               ("product", "Starter Seats", -12_000.0)], change=1_020_000 - 1_020_000 / 1.081)


def test_summary_lead_sentence_drivers_and_status() -> None:
    df = cards(
        REVENUE,
        card("win_rate", "Win rate", "ratio", "higher", 0.312, 0.365, status="on track", benchmark="≥ 15%"),
        card("pipeline_value", "Pipeline value", "money", "higher", 6_140_000.0, 6_140_000 / 1.215),
        card("mrr", "MRR", "money", "higher", 963_000.0, 963_000 / 1.027),
        card("customer_churn_rate", "Customer churn rate", "ratio", "lower", 0.031, 0.029, 0.025, "off track"),
        currency="USD",
    )
    assert summary(df, RISE) == (
        f"Revenue was $1.02M in October 2026, up 8.1% on September and 12% above target; EMEA (+{WJ}$60k) and "
        f"the rep Ana Souza (+{WJ}$31k) drove most of the rise, while Starter Seats fell $12k. "
        "Win rate was 31.2% (down 5.3 points), pipeline value $6.14M (up 21.5%) and MRR $963k (up 2.7%)."
        "\n\n"
        "Off track: customer churn rate (3.1% vs ≤ 2.5% target). "
        "On track: revenue ($1.02M vs $911k target) and win rate (31.2% vs benchmark ≥ 15%)."
    )


def test_summary_fall_with_offsetting_moves_says_led() -> None:
    rev = card("revenue", "Revenue", "money", "higher", 1_024_164.0, 1_037_663.0, 1_102_400.0, "at risk")
    fall = movers([("region", "North America", -97_753.0), ("region", "APAC", 136_436.0),
                   ("product", "Acme Security", -72_720.0), ("channel", "inbound", 124_978.0),
                   ("channel", "cold_email", -23_190.0)], change=-13_499.0)
    text = summary(cards(rev, currency="USD"), fall)
    assert text == (
        f"Revenue was $1.02M in October 2026, down 1.3% on September and 7.1% below target; North America "
        f"(−{WJ}$97.8k) and Acme Security (−{WJ}$72.7k) led the fall, while APAC rose $136k."
        "\n\nAt risk: revenue ($1.02M vs $1.10M target)."
    )


def test_summary_without_previous_target_or_drivers() -> None:
    q3 = pd.Period("2026Q3", "Q")
    rev = card("revenue", "Revenue", "money", "higher", 2_326_222.0, period=q3)
    assert summary(cards(rev)) == "Revenue was $2.33M in Q3 2026."
    prev = card("revenue", "Revenue", "money", "higher", 500.0, 400.0, period=q3)
    assert summary(cards(prev), movers([], change=100.0)) == "Revenue was $500 in Q3 2026, up 25% on Q2."


def test_summary_previous_period_in_another_year_and_unchanged() -> None:
    jan = pd.Period("2026-01", "M")
    rev = card("revenue", "Revenue", "money", "higher", 300_000.0, 300_000.0, period=jan)
    assert summary(cards(rev)) == "Revenue was $300k in January 2026, unchanged on December 2025."


def test_summary_of_a_scope_without_data_is_its_message() -> None:
    empty = cards(scope_message="No data for this scope (Region: Antarctica).")
    assert summary(empty) == "No data for this scope (Region: Antarctica)."


def test_summary_uses_another_currency() -> None:
    rev = card("revenue", "Revenue", "money", "higher", 45_600.0, 40_000.0)
    assert summary(cards(rev, currency="EUR")) == "Revenue was €45.6k in October 2026, up 14% on September."


def test_formatting_helpers() -> None:
    assert money(1_024_164) == "$1.02M"
    assert money(963_217) == "$963k"
    assert money(60_000) == "$60k"
    assert money(12_345) == "$12.3k"
    assert money(12_300_000) == "$12.3M"
    assert money(-45_000) == "−$45k"
    assert percent(0.081) == "8.1%" and percent(0.12) == "12%" and percent(1.0) == "100%"
    assert group_label("rep", "Ana Souza") == "the rep Ana Souza"
    assert group_label("channel", "cold_email") == "the cold email channel"
    assert group_label("region", "EMEA") == "EMEA"
    assert group_label("team", "NA East") == "the NA East team"


# ----------------------------------------------------------------------------- outlook text

def test_attainment_with_probability() -> None:
    data = {"attainment": 1.2, "target": 582_000.0, "actual": 699_223.0, "period_label": "August 2026",
            "currency": "USD",
            "outlook": {"label": "Q3 2026", "unit_word": "quarter", "actual": 1_290_000.0, "elapsed": 0.674,
                        "target": 2_480_000.0, "missing_target": [], "projected": 2_040_000.0,
                        "lo_80": 1_760_000.0, "hi_80": 2_320_000.0, "probability": 0.023, "complete": False}}
    assert attainment(data) == (
        "August 2026 closed at 120% of the $582k revenue target ($699k). "
        "Q3 2026 so far: $1.29M, 52% of its $2.48M target, with 67% of the quarter gone. "
        "Projected total $2.04M (80% range $1.76M to $2.32M): a 2% chance of reaching the target.")


def test_attainment_without_future_targets() -> None:
    data = {"attainment": 0.929, "target": 1_102_400.0, "actual": 1_024_164.0, "period_label": "October 2026",
            "outlook": {"label": "Q4 2026", "unit_word": "quarter", "actual": 1_024_164.0, "elapsed": 0.337,
                        "target": None, "missing_target": ["November 2026", "December 2026"],
                        "projected": 2_830_000.0, "lo_80": 2_350_000.0, "hi_80": 3_320_000.0, "probability": None,
                        "complete": False}}
    assert attainment(data) == (
        "October 2026 closed at 92.9% of the $1.10M revenue target ($1.02M). "
        "Q4 2026 so far: $1.02M, with 34% of the quarter gone. "
        "Projected total $2.83M (80% range $2.35M to $3.32M). "
        "The targets table has no revenue target for November and December 2026, so the chance of reaching "
        "the quarter's target cannot be estimated yet.")


def test_attainment_complete_and_already_reached() -> None:
    done = {"attainment": 0.94, "target": 2_480_000.0, "actual": 2_326_222.0, "period_label": "Q3 2026",
            "outlook": {"label": "2026", "unit_word": "year", "actual": 2_590_000.0, "elapsed": 1.0,
                        "target": 2_920_000.0, "complete": True}}
    assert attainment(done) == ("Q3 2026 closed at 94% of the $2.48M revenue target ($2.33M). "
                                "2026 closed at $2.59M, 88.7% of its $2.92M target.")
    ahead = {"outlook": {"label": "Q4 2026", "unit_word": "quarter", "actual": 500.0, "elapsed": 0.5,
                         "target": 400.0, "projected": 900.0, "probability": 1.0, "complete": False}}
    assert attainment(ahead) == ("Q4 2026 so far: $500, 125% of its $400 target, with 50% of the quarter gone. "
                                 "Projected total $900: the target is already reached.")
    chance = {"outlook": {**ahead["outlook"], "actual": 100.0, "probability": 0.004}}
    assert attainment(chance).endswith("Projected total $900: less than a 1% chance of reaching the target.")


# ----------------------------------------------------------------------------- drivers on a hand-made dataset

@pytest.fixture(scope="module")
def shop() -> Dataset:
    """Won deals in September and October 2026 (plus one lost deal, which adds no revenue):
      September: EMEA/Ana/Core/web 1000, EMEA/Ben/Seats/web 500, APAC/Cy/Core/partner 2000          total 3500
      October:   EMEA/Ana/Core/partner 4000, EMEA/Ben/Seats/web 200, APAC/Cy/Core/web 1500,
                 APAC/Cy/Seats/web 300                                                              total 6000
      change +2500: EMEA +2700 (Ana +3000, Ben −300), APAC −200; Core +2500, Seats 0.
      Within EMEA: partner +4000, web −1300: the partner channel (4000 of 2700, more than 1.25 times the
      change) "led" the rise rather than "drove most of" it."""
    rows = [
        ("2026-09-05", "won", 1000, "EMEA", "Ana", "Core", "web"),
        ("2026-09-12", "won", 500, "EMEA", "Ben", "Seats", "web"),
        ("2026-09-20", "won", 2000, "APAC", "Cy", "Core", "partner"),
        ("2026-10-03", "won", 4000, "EMEA", "Ana", "Core", "partner"),
        ("2026-10-09", "won", 200, "EMEA", "Ben", "Seats", "web"),
        ("2026-10-15", "won", 1500, "APAC", "Cy", "Core", "web"),
        ("2026-10-28", "won", 300, "APAC", "Cy", "Seats", "web"),
        ("2026-10-30", "lost", 9000, "APAC", "Cy", "Core", "web"),
    ]
    df = pd.DataFrame(rows, columns=["closed_at", "status", "amount", "region", "rep", "product", "channel"])
    df["deal_id"] = [f"d{i}" for i in range(len(df))]
    df["created_at"] = "2026-09-01"
    return Dataset(tables={"deals": to_canonical("deals", df)})


def _row(d: pd.DataFrame, dim: str, group: str) -> pd.Series:
    rows = d[(d["dimension"] == dim) & (d["group"] == group)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_drivers_contributions(shop: Dataset) -> None:
    d = drivers(shop, "revenue", "2026-10")
    assert d.attrs["value"] == 6000 and d.attrs["previous"] == 3500 and d.attrs["change"] == 2500
    assert d.attrs["period"] == "October 2026" and d.attrs["previous_period"] == "September 2026"
    assert list(dict.fromkeys(d["dimension"])) == ["region", "rep", "product", "channel"]
    emea = _row(d, "region", "EMEA")
    assert (emea["value"], emea["previous"], emea["change"]) == (4200, 1500, 2700)
    assert emea["share"] == pytest.approx(2700 / 2500) and emea["mover"] == "up"
    assert _row(d, "region", "APAC")["change"] == -200 and _row(d, "region", "APAC")["mover"] == "down"
    assert _row(d, "rep", "Ana")["change"] == 3000 and _row(d, "rep", "Ben")["change"] == -300
    assert _row(d, "product", "Seats")["change"] == 0 and pd.isna(_row(d, "product", "Seats")["mover"])
    for dim, part in d.groupby("dimension"):  # the groups of a dimension add up to the total change
        assert part["change"].sum() == pytest.approx(2500), dim
    assert d[d["dimension"] == "rep"]["group"].tolist() == ["Ana", "Cy", "Ben"]  # largest rise first


def test_drivers_skip_the_filtered_dimension_and_feed_the_summary(shop: Dataset) -> None:
    d = drivers(shop, "revenue", "2026-10", {"region": "EMEA"})
    assert "region" not in set(d["dimension"]) and d.attrs["change"] == 2700
    assert _row(d, "rep", "Ana")["share"] == pytest.approx(3000 / 2700)
    rev = card("revenue", "Revenue", "money", "higher", 4200.0, 1500.0)
    assert narrative.summary(cards(rev), d) == (
        f"Revenue was $4.2k in October 2026, up 180% on September; the partner channel (+{WJ}$4k) and "
        f"the rep Ana (+{WJ}$3k) led the rise, while the web channel fell $1.3k.")


def test_drivers_refuse_a_kpi_that_does_not_add_up(shop: Dataset) -> None:
    with pytest.raises(ValueError, match="not additive"):
        drivers(shop, "win_rate", "2026-10")
    with pytest.raises(ValueError, match="registered KPI"):
        drivers(shop, "nope", "2026-10")


def test_drivers_of_an_empty_scope(shop: Dataset) -> None:
    d = drivers(shop, "revenue", "2026-10", {"region": "Antarctica"})
    assert d.empty and list(d.columns) == ["dimension", "group", "value", "previous", "change", "share", "mover"]


# ----------------------------------------------------------------------------- other languages

NB = "\u00a0"


def test_summary_in_russian() -> None:
    """The same numbers as test_summary_lead_sentence_drivers_and_status, in Russian: whole-sentence templates,
    Russian separators, "п. п." for points, "план" for target, names from the data as they are."""
    df = cards(REVENUE,
               card("win_rate", "Win rate", "ratio", "higher", 0.312, 0.365, status="on track", benchmark="≥ 15%"),
               card("customer_churn_rate", "Customer churn rate", "ratio", "lower", 0.031, 0.029, 0.025, "off track"),
               currency="USD")
    assert summary(df, RISE, locale="ru") == (
        f"Выручка за октябрь 2026: 1,02{NB}млн $, рост на 8,1{NB}% к предыдущему периоду (сентябрь) и на 12{NB}% "
        f"выше плана; основной вклад в рост: EMEA (+{WJ}60{NB}тыс. $) и менеджер Ana Souza (+{WJ}31{NB}тыс. $); "
        f"при этом Starter Seats — снижение на 12{NB}тыс. $. Доля выигранных сделок: 31,2{NB}% (снижение на 5,3 п. п.)."
        "\n\n"
        f"Отставание: отток клиентов (3,1{NB}% при плане не более 2,5{NB}%). В норме: выручка (1,02{NB}млн $ при "
        f"плане 911{NB}тыс. $) и доля выигранных сделок (31,2{NB}% при ориентире ≥ 15 %).")


def test_summary_in_persian_isolates_names_from_the_data() -> None:
    """Persian digits and separators, the month in Persian, and Latin names wrapped in FSI...PDI so that their
    parentheses stay with them in right-to-left text; English text stays free of these marks."""
    df = cards(REVENUE, currency="USD")
    text = summary(df, RISE, locale="fa")
    assert text.startswith(f"درآمد در اکتبر ۲۰۲۶ به ۱٫۰۲{NB}میلیون دلار رسید، ۸٫۱٪ افزایش نسبت به سپتامبر و ۱۲٪ "
                           "بالاتر از هدف؛ بیشتر این رشد از ")
    assert "\u2068EMEA\u2069 (\u200e+\u2060۶۰\u00a0هزار دلار)" in text
    assert "کارشناس فروش \u2068Ana Souza\u2069" in text
    assert not any(c in summary(df, RISE) for c in "\u2068\u2069\u200e")


def test_attainment_in_russian() -> None:
    data = {"attainment": 1.2, "target": 582_000.0, "actual": 699_223.0, "period_label": "август 2026",
            "outlook": {"label": "III квартал 2026", "unit_word": "quarter", "actual": 1_290_000.0, "elapsed": 0.674,
                        "target": 2_480_000.0, "missing_target": [], "projected": 2_040_000.0,
                        "lo_80": 1_760_000.0, "hi_80": 2_320_000.0, "probability": 0.023, "complete": False}}
    assert attainment(data, locale="ru") == (
        f"План по выручке за август 2026 (582{NB}тыс. $) выполнен на 120{NB}% (699{NB}тыс. $). III квартал 2026 на "
        f"сегодня: 1,29{NB}млн $, 52{NB}% от плана 2,48{NB}млн $; прошло 67{NB}% квартала. Прогноз итога: "
        f"2,04{NB}млн $ (интервал 80 %: от 1,76{NB}млн $ до 2,32{NB}млн $): вероятность выполнить план — 2{NB}%.")
