"""kpitools.viz: number formats, stable colours, every chart on small hand-made frames, HTML export.

Charts are checked through what they promise: a Figure, alt text with the key numbers worked out
by hand, the drawn labels, and graceful handling of empty, NaN, long and many inputs.
"""
from __future__ import annotations

import base64
import io
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from kpitools import viz
from kpitools.viz import (
    REGION_COLORS,
    STATUS_COLORS,
    channel_comparison,
    cohort_heatmap,
    figure_to_html,
    format_money,
    format_value,
    funnel,
    kpi_trend,
    mrr_waterfall,
    period_bars,
    pipeline_by_stage,
    product_revenue_volume,
    region_color,
    rep_leaderboard,
)
from kpitools.viz.theme import ValueFormatter, group_colors

NAN = float("nan")


def texts(fig: Figure) -> list[str]:
    """Every piece of text drawn on the figure's axes: tick labels, bar labels, annotations, titles."""
    out = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        out += [ax.get_title(), ax.get_xlabel()]
    return out


# ----------------------------------------------------------------------------- formats

@pytest.mark.parametrize("x, currency, expected", [
    (1_234_567, "USD", "$1.2M"),
    (950_000, "EUR", "€950k"),
    (12_345, "USD", "$12.3k"),
    (999_950, "USD", "$1M"),  # rounds up to the next unit, not "$1000k"
    (1_000_000, "GBP", "£1M"),
    (2_345_000_000, "USD", "$2.3B"),
    (-45_000, "USD", "−$45k"),
    (0, "USD", "$0"),
    (950, "USD", "$950"),
    (1_500_000, "CHF", "CHF 1.5M"),
    (NAN, "USD", "–"),
    (None, "USD", "–"),
])
def test_format_money(x, currency, expected):
    assert format_money(x, currency) == expected


@pytest.mark.parametrize("x, unit, expected", [
    (1_234_567, "money", "$1.2M"),
    (0.1234, "ratio", "12.3%"),
    (0.05, "ratio", "5.0%"),
    (1.5, "ratio", "150%"),
    (1234, "count", "1,234"),
    (2_500_000, "count", "2.5M"),
    (1, "days", "1 day"),
    (4.5, "days", "4.5 days"),
    (45, "days", "45 days"),
    (14, "months", "14 months"),
    (42, "minutes", "42 min"),
    (42, "score", "42"),
    (-12, "score", "−12"),
    (1234.5, None, "1,234"),
    (NAN, "ratio", "–"),
    (np.inf, "money", "–"),
])
def test_format_value(x, unit, expected):
    assert format_value(x, unit) == expected


def test_axis_formatter_adds_decimals_only_when_ticks_would_repeat():
    money = ValueFormatter("money")
    assert money.format_ticks([0, 500_000, 1_000_000, 1_500_000]) == ["$0", "$500k", "$1M", "$1.5M"]
    assert money.format_ticks([1_000_000, 1_020_000, 1_040_000]) == ["$1.00M", "$1.02M", "$1.04M"]
    assert ValueFormatter("ratio").format_ticks([0, 0.1, 0.2]) == ["0%", "10%", "20%"]
    assert ValueFormatter("days").format_ticks([0, 2.5, 5]) == ["0", "2.5", "5"]


# ----------------------------------------------------------------------------- colours

def test_region_colours_are_stable_and_distinct():
    regions = ["EMEA", "North America", "APAC", "LATAM"]
    assert [region_color(r) for r in regions] == [REGION_COLORS[r] for r in regions]
    assert len({region_color(r) for r in regions}) == 4
    assert region_color("emea ") == REGION_COLORS["EMEA"]
    # any other name: the same colour on every call and in every process (crc32, not hash())
    assert region_color("Nordics") == region_color("Nordics") == "#56b4e9"
    assert region_color("Other") == viz.HOUSE_COLORS["neutral"]


def test_group_colours_of_one_chart_differ():
    names = ["DACH", "Benelux", "Nordics", "Iberia", "Baltics", "EMEA", "Italy"]
    colors = group_colors(names)
    assert len(set(colors.values())) == len(names)
    assert colors["EMEA"] == REGION_COLORS["EMEA"]
    assert group_colors(names) == colors


def test_status_colours():
    assert viz.status_color("On Track") == STATUS_COLORS["on track"]
    assert viz.status_color("off track") == STATUS_COLORS["off track"]
    assert viz.status_color(None) == viz.HOUSE_COLORS["actual"]


# ----------------------------------------------------------------------------- charts

MONTHS = pd.period_range("2024-01", "2025-12", freq="M")


@pytest.fixture
def revenue() -> pd.DataFrame:
    values = np.linspace(800_000, 1_188_000, len(MONTHS))
    values[-2] = 1_100_000  # Dec 2025 1,188,000 is up 8% on Nov 2025
    return pd.DataFrame({"period": MONTHS, "kpi": "revenue", "value": values})


def test_kpi_trend_with_target_and_forecast(revenue):
    target = pd.DataFrame({"period": MONTHS, "target": 1_100_000.0})
    fc_index = pd.period_range("2026-01", periods=3, freq="M")
    fc = pd.DataFrame({"mean": [1.2e6, 1.25e6, 1.3e6], "lo_80": [1.1e6, 1.1e6, 1.1e6], "hi_80": [1.3e6, 1.4e6, 1.5e6],
                       "lo_95": [1.0e6, 1.0e6, 1.0e6], "hi_95": [1.4e6, 1.5e6, 1.6e6]}, index=fc_index)
    fig = kpi_trend(revenue, target=target, forecast=fc)
    assert isinstance(fig, Figure)
    assert fig.alt_text == ("Revenue by month, Jan 2024 to Dec 2025: latest (Dec 2025) $1.2M, up 8.0% on Nov 2025, "
                            "8.0% above target ($1.1M). Forecast for Mar 2026: $1.3M (80% range $1.1M to $1.5M).")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["Actual", "Target", "Forecast", "80% range", "95% range"]
    assert "$1.2M" in texts(fig)  # the latest value is labelled on the chart


def test_kpi_trend_by_region_uses_the_region_colours():
    df = pd.DataFrame([{"period": p, "region": r, "kpi": "win_rate", "value": v}
                       for p in MONTHS[:3] for r, v in (("EMEA", 0.2), ("APAC", 0.3))])
    fig = kpi_trend(df)
    colors = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()}
    assert colors == {"APAC": REGION_COLORS["APAC"], "EMEA": REGION_COLORS["EMEA"]}
    assert "latest APAC 30.0%, EMEA 20.0%" in fig.alt_text


def test_kpi_trend_series_with_text_periods_nan_and_scalar_target():
    y = pd.Series([1.2e6, NAN, 1.5e6], index=["FY24 H1", "FY24 H2", "FY25 H1"], name="Bookings")
    fig = kpi_trend(y, target=1.5e6, unit="money")
    assert fig.alt_text.startswith("Bookings by period, FY24 H1 to FY25 H1: latest (FY25 H1) $1.5M, "
                                   "up 25.0% on FY24 H1")
    assert "on target" in fig.alt_text


def test_kpi_trend_refuses_two_kpis(revenue):
    with pytest.raises(ValueError, match="one KPI"):
        kpi_trend(pd.concat([revenue, revenue.assign(kpi="win_rate")]))


def test_period_bars_by_group():
    df = pd.DataFrame({"period": pd.Period("2025-12", "M"), "region": ["EMEA", "LATAM", "APAC"], "kpi": "revenue",
                       "unit": "money", "value": [300_000, 60_000, 200_000], "previous": [250_000, 120_000, NAN],
                       "last_year": [200_000, 50_000, 100_000]})
    fig = period_bars(df)
    assert fig.alt_text == ("Revenue by region, Dec 2025: highest EMEA $300k (up 20.0% on the previous period, "
                            "up 50.0% on a year earlier); lowest LATAM $60k (down 50.0% on the previous period, "
                            "up 20.0% on a year earlier).")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["EMEA", "APAC", "LATAM"]  # largest first
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Dec 2025", "Nov 2025", "Dec 2024"]
    assert "–" in texts(fig)  # APAC's missing previous value


def test_period_bars_by_kpi_with_mixed_units():
    df = pd.DataFrame({"kpi": ["revenue", "win_rate"], "name": ["Revenue", "Win rate"], "unit": ["money", "ratio"],
                       "value": [890_000, 0.31], "previous": [600_000, 0.27]})
    fig = period_bars(df, title="Headline KPIs")
    assert "Win rate 31.0% (up 4.0 points on the previous period)" in fig.alt_text
    assert "Bars are scaled per KPI" in texts(fig)


def test_funnel_counts_and_step_rates():
    stages = pd.DataFrame({"stage": ["Lead", "MQL", "SQL", "Won"], "count": [1000, 400, 200, 50]})
    fig = funnel(stages)
    assert fig.alt_text == "Funnel: 1,000 at Lead, 50 at Won (5.0% overall); the weakest step is SQL to Won (25.0%)."
    labels = texts(fig)
    assert {"1,000", "400", "40.0%", "50.0%", "25.0%"} <= set(labels)


def test_funnel_from_the_kpi_output_is_put_in_funnel_order():
    # the funnel KPI's tidy output: categorical stages in alphabetical order, count and step_rate rows
    stage = pd.Categorical(["lead", "mql", "opportunity", "sql", "visitor", "won"])
    tidy = pd.DataFrame({"period": pd.Period("2026Q3", "Q"), "stage": stage, "kpi": "funnel.count",
                         "value": [3682.0, 1670, 531, 870, 133132, 97]})
    tidy = pd.concat([tidy, tidy.assign(kpi="funnel.step_rate", value=0.5)])
    fig = funnel(tidy)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Visitor", "Lead", "MQL", "SQL", "Opportunity",
                                                                     "Won"]
    assert "Q3 2026" in fig.alt_text and "133,132 at Visitor" in fig.alt_text
    assert "Visitor bar shortened (not to scale)" in texts(fig)  # visitors would flatten every other bar


def test_pipeline_by_stage():
    df = pd.DataFrame({"stage": ["Prospecting", "Proposal", "Negotiation"], "value": [2_000_000, 1_500_000, 500_000],
                       "count": [80, 30, 10]})
    fig = pipeline_by_stage(df)
    assert fig.alt_text == ("Open pipeline by stage: $4M in total across 120 deals; the largest stage is Prospecting "
                            "with $2M (50.0%).")
    assert "$1.5M · 30 deals" in texts(fig)


def test_mrr_waterfall_adds_up_from_start_to_end():
    movements = pd.DataFrame({"movement": ["new", "expansion", "reactivation", "contraction", "churn"],
                              "value": [80_000, 30_000, 5_000, 15_000, -40_000]})  # decreases in either sign
    fig = mrr_waterfall(movements, start=1_000_000, end=1_060_000)
    ax = fig.axes[0]
    bars = ax.patches
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Start", "New", "Expansion", "Reactivation",
                                                            "Contraction", "Churn", "End"]
    level = bars[0].get_y() + bars[0].get_height()
    assert level == pytest.approx(1_000_000)
    for bar, sign in zip(bars[1:-1], [1, 1, 1, -1, -1]):  # each step starts where the previous one ended
        assert (bar.get_y() if sign > 0 else bar.get_y() + bar.get_height()) == pytest.approx(level)
        level += sign * bar.get_height()
    assert level == pytest.approx(bars[-1].get_y() + bars[-1].get_height()) == pytest.approx(1_060_000)
    assert "Axis starts at $900k" in texts(fig)  # movements are small next to MRR: the axis is cut, and says so
    negative = plt.matplotlib.colors.to_rgb(viz.HOUSE_COLORS["negative"])
    assert [b.get_facecolor()[:3] for b in bars[4:6]] == [negative] * 2
    assert fig.alt_text == ("MRR movements: MRR went from $1.00M to $1.06M (+$60k, up 6.0%): new +$80k, "
                            "expansion +$30k, "
                            "reactivation +$5k, contraction −$15k, churn −$40k.")
    assert "unexplained" not in fig.alt_text


def test_mrr_waterfall_shows_a_gap_it_cannot_explain():
    fig = mrr_waterfall(pd.DataFrame({"movement": ["new"], "value": [50_000]}), start=500_000, end=600_000)
    assert "unexplained +$50k" in fig.alt_text


def test_cohort_heatmap():
    df = pd.DataFrame([{"cohort": c, "months_since": k, "value": v}
                       for c, row in zip(pd.period_range("2025-01", periods=3, freq="M"),
                                         [[1, 0.8, 0.6], [1, 0.9, NAN], [1, NAN, NAN]])
                       for k, v in enumerate(row)])
    fig = cohort_heatmap(df)
    assert fig.alt_text == ("Retention by cohort: 3 monthly cohorts from Jan 2025 to Mar 2025; on average 85% after "
                            "1 month, 60% after 2 months are still paying.")
    assert {"100%", "80%", "60%", "90%"} <= set(texts(fig))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Jan 2025", "Feb 2025", "Mar 2025"]


def test_rep_leaderboard():
    df = pd.DataFrame({"rep": ["Bo", "Ann", "Cy", "Di"], "value": [50_000, 120_000, NAN, 80_000],
                       "team_median": 65_000, "status": ["off track", "on track", None, "at risk"]})
    fig = rep_leaderboard(df, title="Revenue by rep", unit="money")
    assert fig.alt_text == ("Revenue by rep: Ann leads with $120k, last is Bo with $50k; team median $65k; "
                            "1 on track, 1 at risk, 1 off track.")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Ann", "Di", "Bo", "Cy"]  # NaN last
    rgb = plt.matplotlib.colors.to_rgb
    assert [b.get_facecolor()[:3] for b in ax.patches[:3]] == [rgb(STATUS_COLORS[s]) for s in
                                                             ("on track", "at risk", "off track")]


def test_product_revenue_volume_points_out_the_cheap_volume_product():
    df = pd.DataFrame({"product": ["Suite", "Core", "Seats"], "revenue": [1_000_000, 400_000, 50_000],
                       "quantity": [10, 100, 900]})
    fig = product_revenue_volume(df)
    assert "Suite brings the most revenue ($1M, 69.0%)" in fig.alt_text
    assert "Seats sells the most units (900, 89.1% of units) for 3.4% of revenue" in fig.alt_text
    assert len(fig.axes) == 2


def test_channel_comparison():
    df = pd.DataFrame({"channel": ["web", "referral", "cold_call"], "revenue": [450_000, 150_000, 200_000],
                       "win_rate": [0.21, 0.38, NAN], "avg_purchase_value": [9_000, 14_000, 17_500]})
    fig = channel_comparison(df)
    assert fig.alt_text == ("Sales by channel: most revenue: Web ($450k, 56.2% of the total); highest win rate: "
                            "Referral (38.0%); highest average purchase: Cold call ($17.5k).")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Web", "Cold call", "Referral"]
    assert "–" in texts(fig)


ALL_CHARTS = [
    lambda df: kpi_trend(df, title="Revenue"),
    lambda df: period_bars(df, title="Revenue"),
    funnel, pipeline_by_stage,
    lambda df: mrr_waterfall(df, start=1_000.0),
    cohort_heatmap, rep_leaderboard, product_revenue_volume, channel_comparison,
]


@pytest.mark.parametrize("chart", ALL_CHARTS)
@pytest.mark.parametrize("data", [None, pd.DataFrame()], ids=["none", "empty"])
def test_empty_input_says_so(chart, data):
    fig = chart(data)
    assert isinstance(fig, Figure)
    assert "no data for this period" in fig.alt_text
    assert "No data for this period" in texts(fig)


@pytest.mark.parametrize("chart, df", [
    (kpi_trend, pd.DataFrame({"period": MONTHS[:3], "value": NAN})),
    (funnel, pd.DataFrame({"stage": ["a", "b"], "count": [NAN, NAN]})),
    (rep_leaderboard, pd.DataFrame({"rep": ["a", "b"], "value": [NAN, NAN]})),
    (channel_comparison, pd.DataFrame({"channel": ["a"], "revenue": [NAN], "win_rate": [NAN],
                                       "avg_purchase_value": [NAN]})),
])
def test_all_nan_counts_as_no_data(chart, df):
    assert "no data" in chart(df).alt_text


def test_long_labels_are_truncated_and_many_groups_folded():
    names = [f"Product {i:02d} with a very long marketing name indeed" for i in range(14)]
    df = pd.DataFrame({"product": names, "revenue": np.arange(14, 0, -1) * 10_000.0, "quantity": 5.0})
    fig = product_revenue_volume(df, max_products=10)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 10 and labels[-1] == "Other"
    assert all(len(t) <= viz.charts.LABEL_WIDTH and t.endswith("…") for t in labels[:-1])
    assert "$150k" in texts(fig)  # Other = 5+4+3+2+1 (x $10k)

    reps = pd.DataFrame({"rep": [f"Rep {i}" for i in range(40)], "value": np.arange(40.0)})
    fig = rep_leaderboard(reps, max_reps=15)
    assert len(fig.axes[0].patches) == 15 and "top 15 of 40 reps shown" in fig.alt_text


# ----------------------------------------------------------------------------- HTML export

def test_figure_to_html_embeds_an_escaped_small_png():
    df = pd.DataFrame({"stage": ["Lead", "Won"], "count": [100, 10]})
    fig = plt.figure()  # a pyplot figure, so closing it can be checked
    fig.alt_text = 'Revenue <script>alert("x")</script> & more'
    fig.subplots().plot([1, 2, 3])
    html = figure_to_html(fig, caption="Source: <CRM>")
    assert html.startswith("<figure") and html.endswith("</figure>")
    assert "data:image/png;base64," in html
    assert "<script>" not in html
    assert 'alt="Revenue &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"' in html
    assert "<figcaption>Source: &lt;CRM&gt;</figcaption>" in html
    assert "max-width:900px" in html and "width:100%" in html
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1)
    assert "http" not in html.replace(payload, "")  # nothing loads from the network
    png = base64.b64decode(payload)
    assert png.startswith(b"\x89PNG") and b"http" not in png  # no metadata URL either
    assert not plt.fignum_exists(fig.number)  # closed after export

    chart = funnel(df)
    png = viz.figure_to_png(chart)
    assert len(png) < 60_000  # ~12 charts per report stay well under 1.5 MB
    assert 'alt="Funnel: 100 at Lead' in figure_to_html(chart)


def test_charts_show_themselves_in_jupyter_with_their_alt_text():
    fig = funnel(pd.DataFrame({"stage": ["Lead", "Won"], "count": [100, 10]}))
    assert 'alt="Funnel: 100 at Lead, 10 at Won (10.0% overall)' in fig._repr_html_()
    assert fig._repr_png_().startswith(b"\x89PNG")
    assert not plt.get_fignums()  # made without pyplot: nothing left open


@pytest.mark.parametrize("make, name, columns", [
    (lambda: funnel(pd.DataFrame({"stage": ["Lead", "Won"], "count": [100, 10]})), "funnel",
     ["stage", "count", "from_previous"]),
    (lambda: kpi_trend(pd.DataFrame({"period": MONTHS[:3], "kpi": "revenue", "value": [1.0, 2.0, 3.0]}), target=2.5),
     "revenue_trend", ["period", "revenue", "target"]),
    (lambda: mrr_waterfall(pd.DataFrame({"movement": ["new", "churn"], "value": [50.0, 20.0]}), start=1000.0),
     "mrr_movements", ["step", "value"]),
    (lambda: rep_leaderboard(pd.DataFrame({"rep": ["Ann", "Bob"], "value": [3.0, 1.0]})), "leaderboard",
     ["rep", "value"]),
])
def test_charts_link_their_numbers_as_csv(make, name, columns):
    from urllib.parse import unquote

    fig = make()
    assert fig._kpitools_data_name == name and list(fig._kpitools_data.columns) == columns
    html = figure_to_html(fig)
    link = re.search(r'<a class="kpi-chart-data" download="([^"]+)" href="data:text/csv;charset=utf-8,([^"]+)">'
                     r"Data \(CSV\)</a></figure>$", html)
    assert link and link.group(1) == f"{name}.csv"
    csv = unquote(link.group(2))
    assert csv.startswith("\ufeff") and "<" not in link.group(2) and '"' not in link.group(2)
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(csv)), fig._kpitools_data.astype({"period": str})
                                  if "period" in columns else fig._kpitools_data, check_dtype=False)
    if name == "mrr_movements":  # churn subtracts whatever its sign
        assert fig._kpitools_data["value"].tolist() == [1000.0, 50.0, -20.0, 1030.0]


def test_a_chart_without_data_has_no_link():
    assert "kpi-chart-data" not in figure_to_html(funnel(None))  # "No data for this period": nothing to download
