"""House theme and chart functions for KPI frames (seaborn / matplotlib).

    from kpitools import viz
    viz.use_house_style()                       # optional: charts apply it themselves
    fig = viz.kpi_trend(revenue, target=targets, forecast=fc)
    html = viz.figure_to_html(fig)              # <figure> with an embedded PNG and alt text
"""
from __future__ import annotations

from ..i18n import format_value
from .charts import (
                     NO_DATA,
                     channel_comparison,
                     cohort_heatmap,
                     funnel,
                     kpi_trend,
                     mrr_waterfall,
                     period_bars,
                     pipeline_by_stage,
                     product_revenue_volume,
                     rep_leaderboard,
                     warm,
)
from .export import figure_to_html, figure_to_png
from .theme import (
                     DPI,
                     FIGSIZE,
                     HOUSE_COLORS,
                     PALETTE,
                     REGION_COLORS,
                     STATUS_COLORS,
                     ValueFormatter,
                     format_money,
                     group_colors,
                     region_color,
                     status_color,
                     use_house_style,
)

__all__ = [
    "use_house_style", "format_money", "format_value", "ValueFormatter", "region_color", "group_colors", "status_color",
    "REGION_COLORS", "STATUS_COLORS", "HOUSE_COLORS", "PALETTE", "FIGSIZE", "DPI", "NO_DATA",
    "kpi_trend", "period_bars", "funnel", "pipeline_by_stage", "mrr_waterfall", "cohort_heatmap",
    "rep_leaderboard", "product_revenue_volume", "channel_comparison",
    "figure_to_html", "figure_to_png", "warm",
]
