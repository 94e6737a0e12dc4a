"""What every report section shares: the `Section` result, what a section needs of the dataset, its start,
its cards, and show().

Each section (kpitools.report.sections) returns a small dataclass derived from `Section` that declares its
own fields (PipelineSection.by_stage, FunnelSection.stages...). A scope or period without data never
raises: the section's `message` says so ("No deals for Region: EMEA in October 2026."), its own fields stay
None, and `show()` displays that message instead of empty charts.

A section declares what it needs of the dataset in SECTION_NEEDS ("table" or "table.column"); `_start`
checks it before anything is computed, and the section shows one calm line instead (not_shown()).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .. import i18n
from ..data import Dataset
from ..i18n import N_, NP_
from ..i18n import gettext as _
from ..kpis.registry import REGISTRY
from ..kpis.status import against_target
from .scope import Scope, _scope

# card titles that read better short (a long word such as "Opportunities" breaks in a narrow card)
CARD_NAMES = {"opportunities_created": NP_("KPI", "Deals created"),
              "avg_purchase_value": NP_("KPI", "Average deal size"),
              "cac": NP_("KPI", "Customer acquisition cost (CAC)"), "clv": NP_("KPI", "Customer lifetime value (CLV)"),
              "call_qualification_rate": NP_("KPI", "Calls qualified"),
              "call_reach_rate": NP_("KPI", "Calls reached"), "call_conversion_rate": NP_("KPI", "Calls converted"),
              "email_reply_rate": NP_("KPI", "Email reply rate"), "avg_sales_cycle_days": NP_("KPI", "Sales cycle"),
              "nrr": NP_("KPI", "Net revenue retention (NRR)"), "grr": NP_("KPI", "Gross revenue retention (GRR)"),
              "cac_payback_months": NP_("KPI", "CAC payback")}

S = TypeVar("S", bound="Section")


def _no_cards() -> pd.DataFrame:
    return pd.DataFrame(columns=["period", "kpi", "name", "unit", "direction", "value", "status"])


@dataclass(eq=False)
class Section:
    """One report section's numbers. `message` is set when there is nothing to show (no data for the
    scope or period, or nothing that applies).

    Each section's result derives from this and declares its own fields, None by default: a section with
    a message leaves them None, so that layout code such as viz.funnel(section.stages) still runs (show()
    skips it)."""

    name: str
    scope: Scope
    cards: pd.DataFrame = field(default_factory=lambda: _no_cards())  # kpi_cards() of no cards shows nothing
    message: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.message is not None

    @property
    def currency(self) -> str:
        return self.scope.currency


def show(section: Any, *blocks: Any) -> None:
    """Display the blocks (KPI cards, charts, tables), or the section's "no data" message instead.

    Charts are displayed as their HTML <figure> only (one PNG render, alt text kept); None is skipped."""
    from IPython.display import display

    from .cards import note

    message = getattr(section, "message", None) if not isinstance(section, pd.DataFrame) else \
        section.attrs.get("message")
    if message:
        display(note(message))
        return
    for b in blocks:
        if b is None:
            continue
        if hasattr(b, "savefig") and hasattr(b, "_repr_html_"):
            from ..viz.export import figure_to_html
            from .cards import HtmlBlock
            b = HtmlBlock(figure_to_html(b))
        display(b)


# What each section needs of the dataset ("table" or "table.column"), as KPIs declare `needs`: checked
# before anything is computed, so a section never fails on data that validated; it says in one line what
# it would need instead, and the data notes list it.
SECTION_NEEDS: dict[str, tuple[str, ...]] = {
    "cards": ("deals",),
    "revenue_trend": ("deals",),
    "attainment": ("deals", "targets"),
    "pipeline": ("deals",),
    "funnel": ("leads",),
    "activity": ("activities",),
    "recurring": ("subscriptions",),
    "customers": ("customers",),
    "products_channels": ("deals",),
    "leaderboard": ("deals", "deals.rep"),
    "scorecard": ("deals", "deals.rep"),
}
SECTION_TITLES = {  # as the report notebooks head the sections
    "cards": N_("At a glance"), "revenue_trend": N_("Revenue trend"), "attainment": N_("Quota attainment"),
    "pipeline": N_("Pipeline"), "funnel": N_("Lead funnel"), "activity": N_("Activity"),
    "recurring": N_("Recurring revenue"), "customers": N_("Customers"),
    "products_channels": N_("Products and channels"), "leaderboard": N_("Rep leaderboard"),
    "scorecard": N_("Rep scorecard"),
}


def not_shown(name: str, ds: Dataset) -> str | None:
    """Why section `name` cannot be shown for this dataset (one calm line with what to add), or None."""
    missing = ds.missing(list(SECTION_NEEDS.get(name, ())))
    if not missing:
        return None
    table, _sep, column = missing[0].partition(".")
    title = _(SECTION_TITLES.get(name, name))
    if not column:
        return _("{section}: not shown, this dataset has no {table} table; add `{table}:` to its config to "
                 "show it.", section=title, table=table)
    return _("{section}: not shown, the {table} table has no {column} values; map a column onto `{column}` "
             "to show it.", section=title, table=table, column=column)


def lacks_needs(sec: Section) -> bool:
    """True, with the one-line message set and listed in the data notes, when the dataset lacks what the
    section needs."""
    why_not = not_shown(sec.name, sec.scope.full)
    if why_not:
        sec.message = why_not
        sec.notes.append(why_not)
    return why_not is not None


def _start(kind: type[S], name: str, ds: Any, period: Any, filters: Mapping[str, Any] | None,
           kpis: Iterable[str] = (), needs: str | None = None, unavailable: str = "") -> S:
    """A section's common start: its scope; a message instead of numbers when the dataset lacks what the
    section needs (SECTION_NEEDS), when the scope has no data, or when the scope cannot have the KPI
    `needs` (`unavailable`: a template with {why}); else the cards of `kpis` (compare() rows, see _cards)
    with what was left out and why. `kind`: the section's result class."""
    s = _scope(ds, period, filters)
    sec = kind(name, s)
    if lacks_needs(sec):
        return sec
    if s.message:
        sec.message = s.short_message
        return sec
    why = s.in_scope(needs) if needs else None
    if needs and why:
        sec.message = _(unavailable, why=why)
        sec.skipped[needs] = why
        return sec
    if kpis:
        sec.cards, sec.skipped = _cards(s, kpis)
    return sec


def _no_period_data(s: Scope, template: str) -> str:
    """A "nothing to show" message from a template with {scope} and {period}."""
    return _(template, scope=s.label, period=s.period_label)


def _order(df: pd.DataFrame, kpis: Iterable[str]) -> pd.DataFrame:
    order = {k: i for i, k in enumerate(kpis)}
    return df.iloc[np.argsort([order.get(k, len(order)) for k in df["kpi"]], kind="stable")].reset_index(drop=True)


def _cards(s: Scope, kpis: Iterable[str], drop_empty: bool = True) -> tuple[pd.DataFrame, dict[str, str]]:
    """compare() rows for the KPIs that apply to the scope, in the given order; quota attainment is rated
    against 100%. KPIs left out (out of scope, no value) come back with the reason."""
    kpis = list(dict.fromkeys(kpis))
    skipped: dict[str, str] = {}
    keep = []
    for k in kpis:
        why = s.in_scope(k)
        if why:
            skipped[k] = why
        elif k in REGISTRY:
            keep.append(k)
    if not keep:
        return pd.DataFrame(columns=["period", "kpi", "name", "unit", "direction", "value", "status"]), skipped
    c = s.compare(keep)
    skipped.update(c.attrs.get("skipped", {}))
    c = _order(c.copy(), keep)
    c.attrs = {}
    qa = c["kpi"].eq("quota_attainment") & c["target"].isna() & c["value"].notna()
    if qa.any():
        c.loc[qa, "target"] = 1.0
        c.loc[qa, "status"] = against_target(c.loc[qa, "value"], 1.0, "higher")
    c["name"] = [CARD_NAMES.get(k, n) for k, n in zip(c["kpi"], c["name"])]
    if drop_empty:
        gone = c["value"].isna()
        for k in c.loc[gone, "kpi"]:
            skipped.setdefault(k, _("no value for {period} (missing data or a zero denominator)",
                                    period=s.period_label))
        c = c[~gone].reset_index(drop=True)
    return c, skipped


def _in_locale(fn: Any) -> Any:
    """A section function writes its texts in its scope's locale (a Scope made for another locale than the
    active one keeps its own)."""

    @functools.wraps(fn)
    def run(ds: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(ds, Scope):
            with i18n.using(ds.locale):
                return fn(ds, *args, **kwargs)
        return fn(ds, *args, **kwargs)

    return run


def _wide(frame: pd.DataFrame, index: str, columns: str, values: str = "value") -> pd.DataFrame:
    """A small long frame as one row per `index` and one column per `columns` value (first value kept);
    a plain loop, much faster than pivot_table on frames of a few hundred rows."""
    table: dict[Any, dict[Any, Any]] = {}
    for i, c, v in zip(frame[index].astype(object), frame[columns].astype(object), frame[values]):
        if i is None or (isinstance(i, float) and math.isnan(i)):
            continue
        table.setdefault(i, {}).setdefault(c, v)
    out = pd.DataFrame.from_dict(table, orient="index")
    out.index.name = index
    return out
