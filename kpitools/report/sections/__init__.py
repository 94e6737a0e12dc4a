"""The numbers of each report section, for one scope (region / team / rep) and one period.

Report notebooks hold narrative and layout; the numbers come from here, and every one of them from
`kpitools.compute` / `kpitools.compare` / `kpitools.forecast`, so what a report shows is what the
tested KPI layer computes:

    from kpitools.report import sections
    ds = sections.dataset("")                                  # "" = the built-in sample
    scope = sections.scope(ds, "", region="EMEA")              # period "" = the last complete month
    cards = sections.cards(scope)                              # compare() rows of the headline KPIs
    pipe = sections.pipeline(scope)                            # a PipelineSection: cards, by_stage, message
    sections.show(pipe, kpi_cards(pipe.cards), viz.pipeline_by_stage(pipe.by_stage))

Every section function takes either a `Scope` or `(ds, period, filters)`, e.g.
`sections.cards(ds, "2026-10", {"region": "EMEA"})`; the scope (the filtered dataset, the resolved
period) is built once and cached, and so is every compute() / compare() call made through it, so
sections that need the same numbers do not compute them twice.

A scope or period without data never raises: the section's `message` says so ("No deals for Region:
EMEA in October 2026.") and `show()` displays that message instead of empty charts.

This package re-exports the public names; the code lives in kpitools.report.scope (dataset, period, scope),
kpitools.report.section (the Section result, what sections need, show) and one module here per section.
`sections.pipeline` and the like are the functions: their modules shadowed by the names they export
are reached with importlib.import_module("kpitools.report.sections.pipeline").
"""
from __future__ import annotations

# every section module is imported here, so importing `sections` (as a batch runner's warm kernels do ahead
# of a run) loads what every section needs, statsmodels included
from ..scope import (
                     ACTIVITY_KPIS,
                     CUSTOMER_KPIS,
                     FILTERS,
                     FUNNEL_KPIS,
                     HEADLINE_KPIS,
                     PIPELINE_KPIS,
                     RECURRING_KPIS,
                     REPORT_KPIS,
                     REPORT_TITLES,
                     Scope,
                     dataset,
                     period_label,
                     scope,
                     scope_label,
)
from ..section import CARD_NAMES, SECTION_NEEDS, SECTION_TITLES, Section, not_shown, show
from .activity import activity
from .at_a_glance import PUBLISHED, cards, headline
from .attainment import OUTLOOK_MODEL, AttainmentSection, attainment
from .customers import CustomersSection, customers
from .data_notes import DataNotesSection, data_notes
from .funnel import FunnelSection, funnel
from .leaderboard import LEADERBOARD_KPIS, LeaderboardSection, leaderboard, leaderboard_table
from .pipeline import PipelineSection, pipeline
from .products import ProductsSection, channel_table, products_channels
from .recurring import RecurringSection, recurring
from .scorecard import SCORECARD_KPIS, ScorecardSection, scorecard, scorecard_table
from .trend import RevenueTrendSection, revenue_trend

__all__ = [
    "HEADLINE_KPIS", "REPORT_KPIS", "FILTERS", "PUBLISHED", "Scope", "Section", "dataset", "scope", "scope_label",
    "show", "period_label",
    "cards", "headline", "revenue_trend", "attainment", "pipeline", "funnel", "activity", "recurring", "customers",
    "products_channels", "channel_table", "leaderboard", "leaderboard_table", "scorecard", "scorecard_table",
    "data_notes",
    # what each section needs, and its typed result
    "SECTION_NEEDS", "SECTION_TITLES", "not_shown", "RevenueTrendSection", "AttainmentSection", "PipelineSection",
    "FunnelSection", "RecurringSection", "CustomersSection", "ProductsSection", "LeaderboardSection",
    "ScorecardSection", "DataNotesSection",
    # the KPIs of the sections and the cards' short names
    "PIPELINE_KPIS", "FUNNEL_KPIS", "ACTIVITY_KPIS", "RECURRING_KPIS", "CUSTOMER_KPIS", "LEADERBOARD_KPIS",
    "SCORECARD_KPIS", "CARD_NAMES", "REPORT_TITLES", "OUTLOOK_MODEL",
]
