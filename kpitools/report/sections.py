"""The numbers of each report section, for one scope (region / team / rep) and one period.

Report notebooks hold narrative and layout; the numbers come from here, and every one of them from
`kpitools.compute` / `kpitools.compare` / `kpitools.forecast`, so what a report shows is what the
tested KPI layer computes:

    from kpitools.report import sections
    ds = sections.dataset("")                                  # "" = the built-in sample
    scope = sections.scope(ds, "", region="EMEA")              # period "" = the last complete month
    cards = sections.cards(scope)                              # compare() rows of the headline KPIs
    pipe = sections.pipeline(scope)                            # a Section: cards, by_stage, message
    sections.show(pipe, kpi_cards(pipe.cards), viz.pipeline_by_stage(pipe.by_stage))

Every section function takes either a `Scope` or `(ds, period, filters)`, e.g.
`sections.cards(ds, "2026-10", {"region": "EMEA"})`; the scope (the filtered dataset, the resolved
period) is built once and cached, and so is every compute() / compare() call made through it, so
sections that need the same numbers do not compute them twice.

A scope or period without data never raises: the section's `message` says so ("No deals for Region:
EMEA in October 2026.") and `show()` displays that message instead of empty charts.

Scope caveat: `Dataset.filter` filters only the tables that have the column. Subscriptions, customers,
spend and traffic have a region but no team or rep, so for a team or rep scope the KPIs built on them
(MRR, churn, NRR, CAC, the visitor stage...) would be company-wide figures; they are left out and
listed in the data notes instead (`Scope.unscoped`).
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .. import i18n
from ..data import Dataset
from ..i18n import N_, NN_, NP_, value_label
from ..i18n import gettext as _
# imported here (not on first use) so that a batch runner's warm kernels, which import the notebook's
# modules ahead of the run, have statsmodels loaded too
from ..forecast import combined_forecast, elapsed_share, forecast, projected_total
from ..kpis.compare import compare as _compare
from ..kpis.compare import last_complete_period
from ..kpis.compute import compute as _compute
from ..kpis.periods import calendar_name, period_at, period_span, parse_period, to_index, year_earlier
from ..kpis.registry import REGISTRY
from ..kpis.status import against_benchmark, against_target
from ..kpis.relative import parse_relative
from ..kpis.targets import last_date, targets_for
from .cards import format_value as card_value

__all__ = [
    "HEADLINE_KPIS", "REPORT_KPIS", "FILTERS", "PUBLISHED", "Scope", "Section", "dataset", "scope", "scope_label",
    "show", "period_label",
    "cards", "headline", "revenue_trend", "attainment", "pipeline", "funnel", "activity", "recurring", "customers",
    "products_channels", "channel_table", "leaderboard", "leaderboard_table", "scorecard", "scorecard_table",
    "data_notes",
]

HEADLINE_KPIS = ("revenue", "won_deals", "win_rate", "avg_purchase_value", "pipeline_value", "quota_attainment",
                 "mrr", "customer_churn_rate", "nrr", "cac")
FILTERS = ("region", "team", "rep")
# the cards of each section (few on purpose: every KPI costs time in each of many batch runs)
PIPELINE_KPIS = ("pipeline_value", "weighted_pipeline", "open_deals", "pipeline_coverage", "win_rate",
                 "avg_sales_cycle_days", "opportunities_created")
FUNNEL_KPIS = ("lead_conversion_rate",)
ACTIVITY_KPIS = ("activities_per_rep", "call_reach_rate", "call_qualification_rate", "call_conversion_rate",
                 "email_reply_rate", "demos_booked")
RECURRING_KPIS = ("mrr", "customer_churn_rate", "nrr", "grr")
CUSTOMER_KPIS = ("new_customers", "lost_customers", "cac", "clv", "cac_payback_months")
REPORT_KPIS = tuple(dict.fromkeys((*HEADLINE_KPIS, *PIPELINE_KPIS, *FUNNEL_KPIS, *ACTIVITY_KPIS, *RECURRING_KPIS,
                                    *CUSTOMER_KPIS)))
# card titles that read better short (a long word such as "Opportunities" breaks in a narrow card)
CARD_NAMES = {"opportunities_created": NP_("KPI", "Deals created"), "avg_purchase_value": NP_("KPI", "Average deal size"),
              "cac": NP_("KPI", "Customer acquisition cost (CAC)"), "clv": NP_("KPI", "Customer lifetime value (CLV)"),
              "call_qualification_rate": NP_("KPI", "Calls qualified"),
              "call_reach_rate": NP_("KPI", "Calls reached"), "call_conversion_rate": NP_("KPI", "Calls converted"),
              "email_reply_rate": NP_("KPI", "Email reply rate"), "avg_sales_cycle_days": NP_("KPI", "Sales cycle"),
              "nrr": NP_("KPI", "Net revenue retention (NRR)"), "grr": NP_("KPI", "Gross revenue retention (GRR)"),
              "cac_payback_months": NP_("KPI", "CAC payback")}
# the report notebooks' default titles (their `title` parameter), translated by Scope.header()
REPORT_TITLES = (N_("Sales report"), N_("Rep scorecard"))
# the quarter/year outlook forecasts a short series (a dozen quarters): the Theta method (the M3/M4 benchmark)
# is as good as ETS there and four times faster to fit
OUTLOOK_MODEL = "theta"  # the scope dimensions a report notebook takes
# KPIs that join a table lacking the filter column by id, not by that column: still right for the scope
_ID_JOINED = {"churn_after_sale"}
_SCOPE_WORDS = {"region": N_("Region"), "team": N_("Team"), "rep": N_("Rep")}
_DIMENSION_WORDS = {"region": N_("region"), "team": N_("team"), "rep": N_("rep")}
_CACHE_SIZE = 8


# ----------------------------------------------------------------------------- scope

def dataset(data: Any = "", calendar: str | None = "", currency: str | None = "") -> Dataset:
    """The report's dataset: "" or None is the built-in sample, a Dataset is used as is, anything else
    is a dataset config or directory for `kpitools.load`.

    calendar: "jalali" reports by Solar Hijri months, quarters and years (empty: the dataset's own).
    currency: the currency the report shows (empty: the dataset's); "IRT" (or "toman") shows the amounts of
    an IRR dataset in tomans (a toman is 10 rials)."""
    if isinstance(data, Dataset):
        ds = data
    elif data in (None, ""):
        from ..data import sample
        ds = sample()
    else:
        from ..data import load
        ds = load(data)
    if calendar and calendar_name(calendar) != ds.calendar:
        ds = _derived(ds, ("calendar", calendar_name(calendar)), lambda: replace(ds, calendar=calendar_name(calendar)))
    if currency and str(currency).strip():
        code = "IRT" if str(currency).strip().lower() == "toman" else str(currency).strip().upper()
        if code != ds.currency:
            if not (code == i18n.TOMAN and ds.currency == "IRR"):
                raise ValueError(f"currency {currency!r}: this dataset's amounts are in {ds.currency}; a report "
                                 f"can only show IRR amounts in tomans (currency: IRT or toman), or leave "
                                 f"currency empty")
            ds = _derived(ds, ("currency", code), lambda: _in_tomans(ds))
    return ds


_DERIVED: list[tuple[Dataset, Any, Dataset]] = []  # (dataset, change) -> the changed dataset, a small cache


def _derived(ds: Dataset, change: Any, make: Any) -> Dataset:
    """The same changed dataset for the same dataset and change (so scope() caches keep working)."""
    for d, c, out in _DERIVED:
        if d is ds and c == change:
            return out
    out = make()
    _DERIVED.append((ds, change, out))
    del _DERIVED[:-_CACHE_SIZE]
    return out


def _in_tomans(ds: Dataset) -> Dataset:
    """An IRR dataset with every amount divided by 10: money columns, and targets of money KPIs."""
    from ..data.schema import TABLES

    tables = {}
    for name, df in ds.tables.items():
        cols = [c.name for c in TABLES[name].columns if c.kind == "money" and c.name in df.columns] \
            if name in TABLES else []
        if name == "targets" and {"metric", "value"} <= set(df.columns):
            money = df["metric"].astype(str).map(lambda m: getattr(REGISTRY.get(m), "unit", "") == "money")
            df = df.assign(value=df["value"].where(~money.to_numpy(), df["value"] / 10))
        tables[name] = df.assign(**{c: df[c] / 10 for c in cols}) if cols else df
    return replace(ds, tables=tables, currency=i18n.TOMAN)


def period_label(p: Any, short: bool = False) -> str:
    """"October 2026" (short: "October"), "Q3 2026", "2026", "week 10 of 2026", "5 October 2026"; in the
    active locale, Jalali periods by their Jalali names ("مهر ۱۴۰۵")."""
    return i18n.period_label(p, short=short)


def _resolve_period(ds: Dataset, period: Any) -> Any:
    if isinstance(period, pd.Period) or i18n.is_jalali(period):
        p = period
    elif period is None or (isinstance(period, str) and not period.strip()):
        p = last_complete_period(ds, "M")
    else:
        text = str(period).strip()
        relative = parse_relative(text)
        if relative:  # relative names, resolved against the data's last date (not today)
            freq, back = relative
            if text.startswith("current"):
                as_of = last_date(ds)
                if as_of is None:
                    raise ValueError("the dataset has no dates")
                p = period_at(as_of, freq, ds.fiscal_year_start, ds.calendar) - back
            else:  # last_complete_X-n, previous_X-n: n periods before the last complete one in the data
                p = last_complete_period(ds, freq) - (back - 1)
        else:
            try:
                p = parse_period(text, fiscal_year_start=ds.fiscal_year_start, calendar=ds.calendar)
            except ValueError:
                raise ValueError(f"period {text!r} is not a month (2026-10), quarter (2026Q3), year (2026) or "
                                 f"a name such as last_complete_month; leave it empty for the last complete "
                                 f"month") from None
    if i18n.period_kind(p) not in ("M", "Q", "Y"):
        raise ValueError(f"reports cover a month, a quarter or a year, not {period!r}")
    return p


def _clean_filters(filters: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in {**(filters or {}), **extra}.items():
        if v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, (list, tuple)) and not v):
            continue
        out[k] = v.strip() if isinstance(v, str) else v
    return out


def scope_label(filters: Mapping[str, Any]) -> str:
    """"Region: EMEA · Rep: Ana Souza", or "Whole company" without filters (in the active locale)."""
    if not filters:
        return _("Whole company")
    parts = []
    for k, v in filters.items():
        value = ", ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else str(v)
        word = _(_SCOPE_WORDS[k]) if k in _SCOPE_WORDS else k.replace("_", " ").capitalize()
        parts.append(_("{dimension}: {value}", dimension=word, value=value))
    return " · ".join(parts)


@dataclass(eq=False)
class Scope:
    """A filtered dataset and a resolved period, with a cache of the KPI calls made for them."""

    full: Dataset
    ds: Dataset
    period: pd.Period
    filters: dict[str, Any]
    unscoped: dict[str, list[str]]  # table -> filter columns it lacks (its rows are not filtered)
    as_of: pd.Timestamp | None
    prefetch: tuple[str, ...] = ()  # KPIs compare() computes together on its first call (see scope())
    locale: str = "en"  # the language and formats of every text a section writes (kpitools.i18n)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def freq(self) -> str:
        return i18n.period_kind(self.period)

    @property
    def calendar(self) -> str:
        return getattr(self.full, "calendar", "gregorian")

    @property
    def currency(self) -> str:
        return self.full.currency

    @property
    def label(self) -> str:
        with i18n.using(self.locale):
            return scope_label(self.filters)

    @property
    def period_label(self) -> str:
        with i18n.using(self.locale):
            return period_label(self.period)

    @property
    def freshness(self) -> str:
        """Data freshness for the header: the last event date in the data ("2026-10-31"; in other
        locales the date in words, "۹ آبان ۱۴۰۵" in the Jalali calendar)."""
        with i18n.using(self.locale):
            if self.as_of is None:
                return _("no dates in the data")
            if i18n.language() == "en" and self.calendar == "gregorian":
                return self.as_of.date().isoformat()
            return i18n.date_label(self.as_of, calendar=self.calendar)

    def header(self, title: str | None = None) -> dict[str, str]:
        """Fields for report_header(): title (translated when the catalogue has it, e.g. the notebooks'
        default "Sales report"), scope, period, data_freshness, and locale (the renderer lays the page out
        in its language and direction)."""
        with i18n.using(self.locale):
            out = {"scope": self.label, "period": self.period_label, "data_freshness": self.freshness,
                   "locale": self.locale, "calendar": self.calendar}
            if title:
                out["title"] = _(str(title))
        return out

    @property
    def message(self) -> str | None:
        """Why the scope has no data at all, or None."""
        if any(len(self.ds.tables.get(t, ())) for t in ("deals", "leads", "activities")):
            return None
        if "subscriptions" not in self.unscoped and len(self.ds.tables.get("subscriptions", ())):
            return None
        with i18n.using(self.locale):
            text = _("No data for this scope ({scope}): no deals, leads or activities match it.", scope=self.label)
            for k, v in self.filters.items():
                known = self.full.values(k)
                if known and not isinstance(v, (list, tuple, set)) and str(v) not in known:
                    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
                    word = _(_DIMENSION_WORDS[k]) if k in _DIMENSION_WORDS else k
                    return _("{text} There is no {dimension} {value} in the data ({dimension} values: {known}).",
                             text=text, dimension=word, value=repr(v), known=shown)
            return text

    @property
    def short_message(self) -> str | None:
        """"No data for Region: Antarctica." when the scope has no data (for every section after the first)."""
        with i18n.using(self.locale):
            return _("No data for {scope}.", scope=self.label) if self.message else None

    def in_scope(self, kpi_id: str) -> str | None:
        """None when the KPI is right for this scope, else why not (its table is not filtered)."""
        if kpi_id in _ID_JOINED or not self.unscoped:
            return None
        k = REGISTRY.get(kpi_id.partition(".")[0])
        if k is None:
            return None
        for t in k.tables:
            if t in self.unscoped:
                with i18n.using(self.locale):
                    cols = _join_or([_(_DIMENSION_WORDS.get(c, c)) for c in self.unscoped[t]])
                    return _("not available for a {dimension} scope: the {table} table has no {dimension} column",
                             dimension=cols, table=t)
        return None

    def compute(self, kpis: str | Iterable[str], by: Any = None, period: Any = "same", **options: Any) -> pd.DataFrame:
        """kpitools.compute on the scope's dataset at its frequency (period "same": the scope's period);
        cached."""
        period = self.period if isinstance(period, str) and period == "same" else period
        key = ("compute", _key(kpis), _key(by), _key(period), _key(sorted(options.items())))
        if key not in self._cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._cache[key] = _compute(self.ds, list(_as_list(kpis)), freq=self.freq, by=by, period=period,
                                            **options)
        return self._cache[key]

    def compare(self, kpis: str | Iterable[str], by: Any = None, **options: Any) -> pd.DataFrame:
        """kpitools.compare on the scope's dataset for its period; cached per KPI, so sections asking for
        overlapping KPIs compute each once (and the missing ones in one call)."""
        kpis = list(dict.fromkeys(_as_list(kpis)))
        base = ("compare", _key(by), _key(sorted(options.items())))
        missing = [k for k in kpis if base + (k,) not in self._cache]
        if missing and by is None and not options:  # one pass for every KPI the report will ask for
            missing += [k for k in self.prefetch if base + (k,) not in self._cache and k not in missing
                        and self.in_scope(k) is None]
        if missing:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = _compare(self.ds, missing, period=self.period, freq=self.freq, by=by, **options)
            skipped = got.attrs.get("skipped", {})
            for k in missing:
                rows = got[got["kpi"].str.partition(".")[0] == k] if len(got) else got
                rows = rows.copy()
                rows.attrs = {"skipped": {k: skipped[k]} if k in skipped else {}}
                self._cache[base + (k,)] = rows
        parts = [self._cache[base + (k,)] for k in kpis]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        out.attrs = {"skipped": {k: v for p in parts for k, v in p.attrs.get("skipped", {}).items()},
                     "period": str(self.period)}
        return out

    def targets(self, metric: str = "revenue", freq: str | None = None) -> pd.Series:
        """The scope's target of `metric` per period at `freq` (default the scope's), from the targets
        table (future periods included); empty when there is none. Cached."""
        freq = freq or self.freq
        key = ("targets", metric, freq)
        if key not in self._cache:
            t, _notes, _why = targets_for(self.ds, metric, freq, [], spread=True)
            self._cache[key] = pd.Series(t["target"].to_numpy(dtype="float64"), index=to_index(t["period"]),
                                         name="target").sort_index()
        return self._cache[key]

    def series(self, kpi: str) -> pd.Series:
        """The KPI's value in every period of the data at the scope's frequency (a Series indexed by
        period); cached."""
        key = ("series", kpi)
        if key not in self._cache:
            frame = self.compute(kpi, period=None)
            self._cache[key] = _series(frame, kpi)
        return self._cache[key]


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


def _join_or(items: list[str]) -> str:
    """"team or rep" in the active locale."""
    if len(items) <= 1:
        return "".join(items)
    return _("{items} or {last}", items=", ".join(items[:-1]), last=items[-1])


def _as_list(x: Any) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _key(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return tuple(_key(v) for v in x)
    if isinstance(x, pd.Period) or i18n.is_jalali(x):
        return ("period", str(x), x.freqstr, i18n.is_jalali(x))
    return x


_SCOPES: list[tuple[Dataset, Any, tuple, Scope]] = []  # small cache: (ds, period, filters) -> Scope


def scope(ds: Any = "", period: Any = "", filters: Mapping[str, Any] | None = None, *,
          prefetch: bool | Iterable[str] = False, locale: str | None = None, calendar: str | None = "",
          currency: str | None = "", **more: Any) -> Scope:
    """The scope of a report: the dataset (a Dataset, or `data` as for dataset()), filtered by region /
    team / rep (empty values mean all), and the period ("" = the last complete month of the data,
    "2026-10", "2026Q3", "2026", or last_complete_month / last_complete_quarter-1 / current_year...,
    relative to the data's last date; "1405-07", "1405Q2", "1405" with calendar="jalali"). Cached: the same
    arguments give the same Scope.

    prefetch: True (REPORT_KPIS, every card of the sales report) or a list of KPI ids that the first
    compare() computes in the same pass: one call instead of one per section saves its fixed cost.
    locale: the language of the sections' texts (default: the active locale, kpitools.i18n.activate);
    calendar and currency: as for dataset()."""
    if isinstance(ds, Scope):
        return ds
    ds = dataset(ds, calendar, currency)
    loc = i18n.normalize(locale)
    flt = _clean_filters(filters, more)
    fkey = tuple(sorted((k, _key(v)) for k, v in flt.items())) + (("locale", loc),)
    pkey = _key(period)
    for d, p, f, s in _SCOPES:
        if d is ds and p == pkey and f == fkey:
            return s
    p = _resolve_period(ds, period)
    unscoped: dict[str, list[str]] = {}
    for name, df in ds.tables.items():
        lacking = [c for c in flt if c not in df.columns]
        if lacking and name not in ("stages",):
            unscoped[name] = lacking
    pre = tuple(REPORT_KPIS) if prefetch is True else tuple(prefetch or ())
    s = Scope(full=ds, ds=ds.filter(**flt), period=p, filters=flt, unscoped=unscoped, as_of=last_date(ds),
              prefetch=pre, locale=loc)
    _SCOPES.append((ds, pkey, fkey, s))
    del _SCOPES[:-_CACHE_SIZE]
    return s


def _scope(ds: Any, period: Any, filters: Mapping[str, Any] | None) -> Scope:
    return ds if isinstance(ds, Scope) else scope(ds, period, filters)


def _in_locale(fn: Any) -> Any:
    """A section function writes its texts in its scope's locale (a Scope made for another locale than the
    active one keeps its own)."""
    import functools

    @functools.wraps(fn)
    def run(ds: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(ds, Scope):
            with i18n.using(ds.locale):
                return fn(ds, *args, **kwargs)
        return fn(ds, *args, **kwargs)

    return run


# ----------------------------------------------------------------------------- sections

@dataclass(eq=False)
class Section:
    """One report section's numbers. `message` is set when there is nothing to show (no data for the
    scope or period, or nothing that applies); `frames` are reachable as attributes (section.by_stage)."""

    name: str
    scope: Scope
    cards: pd.DataFrame | None = None
    frames: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.cards is None:  # kpi_cards() of a section without cards shows nothing
            self.cards = pd.DataFrame(columns=["period", "kpi", "name", "unit", "direction", "value", "status"])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        if self.__dict__.get("message"):  # a section without data has no frames: None, so that layout code
            return None                    # such as viz.funnel(section.stages) still runs (show() skips it)
        raise AttributeError(f"section {self.__dict__.get('name', '?')!r} has no {name!r}")

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
            from .cards import HtmlBlock
            from ..viz.export import figure_to_html
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


def _start(name: str, ds: Any, period: Any, filters: Mapping[str, Any] | None, kpis: Iterable[str] = (),
           needs: str | None = None, unavailable: str = "") -> Section:
    """A section's common start: its scope; a message instead of numbers when the dataset lacks what the
    section needs (SECTION_NEEDS), when the scope has no data, or when the scope cannot have the KPI
    `needs` (`unavailable`: a template with {why}); else the cards of `kpis` (compare() rows, see _cards)
    with what was left out and why."""
    s = _scope(ds, period, filters)
    sec = Section(name, s)
    why_not = not_shown(name, s.full)
    if why_not:
        sec.message = why_not
        sec.notes.append(why_not)
        return sec
    if s.message:
        sec.message = s.short_message
        return sec
    why = s.in_scope(needs) if needs else None
    if why:
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


@_in_locale
def cards(ds: Any, period: Any = "", scope_filters: Mapping[str, Any] | None = None,
          kpis: Iterable[str] = HEADLINE_KPIS) -> pd.DataFrame:
    """The headline KPI cards: compare() rows (value, previous, change, last year, target, status) for
    `kpis` in that order. Quota attainment is rated against 100% when there is no target of its own.

    KPIs that do not apply to the scope are left out (attrs["skipped"] says why); rows keep a NaN value
    when there is none. attrs: skipped, currency, scope (label), period (label), message (set when the
    scope has no data)."""
    s = _scope(ds, period, scope_filters)
    why_not = not_shown("cards", s.full)
    if s.message or why_not:
        c = pd.DataFrame(columns=["period", "kpi", "name", "unit", "direction", "value", "status"])
        c.attrs = {"skipped": {}, "currency": s.currency, "scope": s.label, "period": s.period_label,
                   "message": why_not or s.message, "scope_message": why_not or s.message,
                   "notes": [why_not] if why_not else []}
        return c
    c, skipped = _cards(s, kpis, drop_empty=False)
    message = None
    if c.empty or not (c["value"].fillna(0) != 0).any():
        message = _no_period_data(s, N_("No sales, pipeline or subscriptions for {scope} in {period}."))
    c.attrs = {"skipped": skipped, "currency": s.currency, "scope": s.label, "period": s.period_label,
               "message": message, "scope_message": message}
    return c


PUBLISHED = ("revenue", "win_rate", "pipeline_value", "quota_attainment", "mrr", "customer_churn_rate")


@i18n.localised
def headline(cards_df: pd.DataFrame, kpis: Iterable[str] = PUBLISHED) -> dict[str, dict[str, Any]]:
    """The headline KPIs for kpitools.report.publish_headline: {kpi: {name, value, display,
    change, status}} from cards() rows, display text as on the cards ("$1.02M"), change as
    "+4.2% vs September 2026" (percentage points for ratios). KPIs without a row are left out."""
    currency = cards_df.attrs.get("currency", "USD")
    out: dict[str, dict[str, Any]] = {}
    rows = {r["kpi"]: r for r in cards_df.to_dict("records")} if len(cards_df) else {}
    for k in kpis:
        r = rows.get(k)
        if r is None:
            continue
        value = None if pd.isna(r.get("value")) else float(r["value"])
        change = None
        period = r.get("period")
        prev = period - 1 if isinstance(period, pd.Period) or i18n.is_jalali(period) else None
        amount = None
        if r.get("unit") == "ratio" and pd.notna(r.get("change")):
            amount = i18n.pgettext("unit", "{n} pp", n=_plus_minus(r["change"] * 100))
        elif pd.notna(r.get("change_pct")):
            amount = i18n.percent_text(_plus_minus(r["change_pct"] * 100))
        if amount is not None:
            change = (_("{change} vs {period}", change=amount, period=period_label(prev)) if prev is not None
                      else _("{change} vs previous period", change=amount))
        status = r.get("status")
        out[k] = {"name": i18n.kpi_name(k, name=str(r.get("name") or k)), "value": value,
                  "display": card_value(value, r.get("unit"), currency), "change": change,
                  "status": None if status is None or pd.isna(status) else str(status),
                  "status_text": None if status is None or pd.isna(status) else i18n.status_text(status)}
    return out


def _status_text(status: Any) -> str | None:
    return None if status is None or pd.isna(status) else str(status)


def _plus_minus(x: float) -> str:
    """"+4.2" / "-1.3" with one decimal, in the locale's digits and signs."""
    text = f"{x:+.1f}"
    if i18n.language() == "en":
        return text
    plus, minus = i18n.formatting.sign_symbols()
    return (minus if text[0] == "-" else plus) + i18n.localize(text[1:])


def _lower(name: str) -> str:
    """"Revenue" -> "revenue"; acronyms stay: "MRR"."""
    return name if len(name) > 1 and name[1].isupper() else name[:1].lower() + name[1:]


def _series(frame: pd.DataFrame, kpi: str) -> pd.Series:
    rows = frame[frame["kpi"] == kpi]
    return pd.Series(rows["value"].to_numpy(dtype="float64"), index=to_index(rows["period"]), name=kpi)


def _history(s: Scope, kpi: str, freq: str | None = None, full: bool = False) -> pd.Series:
    """The KPI's series at `freq` (default the scope's) up to the scope's period, from the first period
    with a non-zero value (the months before the business started selling are not history); full=True:
    every period of the data, as computed."""
    freq = freq or s.freq
    if freq == s.freq:
        y = s.series(kpi)
    else:
        key = ("series", kpi, freq)
        if key not in s._cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s._cache[key] = _series(_compute(s.ds, kpi, freq=freq), kpi)
        y = s._cache[key]
    if full:
        return y
    end = _period_at(s, s.period.end_time, freq) if len(y) else None
    y = y[y.index <= end] if end is not None else y
    nz = np.flatnonzero(y.fillna(0).to_numpy() != 0)
    return y.iloc[nz[0]:] if len(nz) else y.iloc[0:0]


def _period_at(s: Scope, when: Any, freq: str) -> Any:
    """The period of the scope's calendar and fiscal year at `freq` holding the date `when`."""
    return period_at(when, freq, s.full.fiscal_year_start, s.calendar)


def _span(first: Any, last: Any) -> pd.Index:
    """Every period from first to last (a PeriodIndex, or an Index of Jalali periods)."""
    return period_span(first, last)


@_in_locale
def revenue_trend(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None, months: int = 24,
                  horizon: int = 6, kpi: str = "revenue") -> Section:
    """Revenue over the `months` before and including the period (quarters or years for a quarterly or
    yearly report), the target per period where the targets table has one, and a forecast of the next
    `horizon` periods.

    The forecast is kpitools.forecast.combined_forecast (the open pipeline plus the statistical forecast
    of what is usually not yet in it) when the report is for the data's last complete period, else the
    statistical forecast alone (today's pipeline says nothing about an earlier period's future); both
    use the fast ETS selection, fitted on the last two years (or the periods shown, if more).
    Frames: actual (period, kpi, value), target (Series by period, future periods included, or None),
    forecast (DataFrame or None), model (its name)."""
    sec = _start("revenue_trend", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    per_year = {"M": 12, "Q": 4, "Y": 1}[s.freq]
    n = max(2, int(round(months * per_year / 12)))
    window = _span(s.period - (n - 1), s.period)
    k = REGISTRY[kpi]
    y = s.series(kpi).reindex(window)
    if not (y.fillna(0) != 0).any():
        sec.message = _("No {kpi} for {scope} in {period}.", kpi=_lower(i18n.kpi_name(kpi)), scope=s.label,
                        period=s.period_label)
        return sec
    nz = np.flatnonzero(y.fillna(0).to_numpy() != 0)  # from the first period with data
    y = y.iloc[nz[0]:]
    actual = pd.DataFrame({"period": y.index, "kpi": kpi, "value": y.to_numpy()})
    target = None
    if kpi == "revenue":
        t = s.targets("revenue")
        t = t[(t.index >= y.index[0]) & (t.index <= s.period + horizon)]
        if t.notna().any():
            target = t
    sec.frames.update(actual=actual, target=target, forecast=None, model=None)
    # fit on the last two seasonal cycles (or the periods shown, if more): older history, such as the
    # months the business was ramping up, bends multiplicative trend-seasonal models out of shape
    history = _history(s, kpi).iloc[-max(n, 2 * per_year, 4):]
    if len(history) < 8:
        sec.notes.append(_("No forecast: {n} periods of history are too few (8 or more needed).",
                           n=i18n.localize(str(len(history)))))
        return sec
    last = last_complete_period(s.full, s.freq) if s.as_of is not None else None
    use_pipeline = (kpi == "revenue" and last is not None and s.period == last
                    and s.ds.has("deals", "expected_close_at")
                    and s.in_scope("pipeline_value") is None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if use_pipeline:
                fc = combined_forecast(history, s.ds.deals, horizon, fast=True,
                                       stage_probability=_stage_probabilities(s.full))
                how = _("open pipeline plus statistical forecast")
            else:
                fc = forecast(history, horizon, fast=True)
                how = _("statistical forecast")
        except Exception as e:  # a forecast that cannot be made is a note, never a broken report
            sec.notes.append(_("No forecast: {reason}", reason=e))
            return sec
    sec.frames.update(forecast=fc, model=fc.attrs.get("model"))
    sec.notes.append(_("Forecast: {method} ({model}), shaded ranges are 80% and 95% intervals.", method=how,
                       model=i18n.isolate(fc.attrs.get("model"))))
    return sec


def _stage_probabilities(ds: Dataset) -> dict[str, float]:
    probs = dict(ds.stage_probabilities or {})
    st = ds.tables.get("stages")
    if st is not None and {"stage", "probability"} <= set(st.columns):
        for name, p in zip(st["stage"].astype(str), st["probability"]):
            if pd.notna(p):
                probs.setdefault(name, float(p))
    return probs


_OUTLOOK = {"M": "Q", "Q": "Y"}


@_in_locale
def attainment(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """Quota attainment for the period, and the outlook for the quarter (or year) that holds it: revenue
    to date, the elapsed share, the projected total with its 80% range and the probability of reaching
    the target (kpitools.forecast.projected_total, Theta method on the quarterly history), when the
    targets table covers that whole quarter. Cards: quota attainment (against 100%); the outlook is for
    narrative.attainment().
    frames["outlook"]: dict (see narrative.attainment) or None."""
    sec = _start("attainment", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    c, skipped = _cards(s, ["quota_attainment", "revenue"])
    sec.skipped.update(skipped)
    rev = c[c["kpi"] == "revenue"]
    qa = c[c["kpi"] == "quota_attainment"]
    target = float(rev["target"].iloc[0]) if len(rev) and pd.notna(rev["target"].iloc[0]) else None
    actual = float(rev["value"].iloc[0]) if len(rev) else None
    sec.frames.update(attainment=float(qa["value"].iloc[0]) if len(qa) else None, target=target, actual=actual,
                      period_label=s.period_label, outlook=None)
    if target is None:
        sec.message = _("No revenue target for {scope} in {period}: the targets table has none.", scope=s.label,
                        period=s.period_label)
        return sec
    sec.cards = c[c["kpi"] == "quota_attainment"].reset_index(drop=True)
    sec.frames["outlook"] = _outlook(s, sec)
    return sec


def _outlook(s: Scope, sec: Section) -> dict | None:
    big = _OUTLOOK.get(s.freq)
    if big is None:
        return None
    P = _period_at(s, s.period.end_time, big)
    # targets are checked month by month: a quarter whose later months have no target yet has no target
    months = _span(_period_at(s, P.start_time, "M"), _period_at(s, P.end_time, "M"))
    last_month = _period_at(s, s.period.end_time, "M")
    rev = _history(s, "revenue", "M", full=True).reindex(months)
    done, todo = months[months <= last_month], months[months > last_month]
    actual = float(rev.reindex(done).fillna(0).sum())
    monthly = s.targets("revenue", "M")
    have = [m for m in months if m in monthly.index and pd.notna(monthly[m])]
    whole = s.targets("revenue", big)
    if len(have) == len(months):
        target, missing = float(monthly.reindex(months).sum()), []
    elif not have and P in whole.index and pd.notna(whole[P]):
        target, missing = float(whole[P]), []  # one target for the whole quarter / year
    else:
        target, missing = None, [m for m in months if m not in have]
    elapsed = elapsed_share(P, s.period.end_time)
    out = {"period": P, "label": period_label(P), "unit_word": {"Q": "quarter", "Y": "year"}[big],
           "actual": actual, "elapsed": elapsed, "target": target,
           "missing_target": [period_label(m) for m in missing], "projected": None, "lo_80": None,
           "hi_80": None, "probability": None, "model": None, "complete": len(todo) == 0}
    if out["complete"]:
        out["projected"] = actual
        if target:
            out["probability"] = 1.0 if actual >= target else 0.0
        return out
    history = _history(s, "revenue", big)
    history = history[history.index < P]
    if len(history) < 4:
        sec.notes.append(_("No projection for {period}: {n} complete quarters of history are too few (4 or more "
                           "needed).", period=out["label"], n=i18n.localize(str(len(history)))) if big == "Q" else
                         _("No projection for {period}: {n} complete years of history are too few (4 or more "
                           "needed).", period=out["label"], n=i18n.localize(str(len(history)))))
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pr = projected_total(history, actual, elapsed, target, model=OUTLOOK_MODEL)
        except Exception as e:
            sec.notes.append(_("No projection for {period}: {reason}", period=out["label"], reason=e))
            return out
    lo, hi = pr.interval.get(80.0, (None, None))
    out.update(projected=float(pr.projected), lo_80=float(lo) if lo is not None else None,
               hi_80=float(hi) if hi is not None else None,
               probability=None if pr.probability is None else float(pr.probability), model=pr.model)
    sec.notes.append(
        _("Projection for {period}: revenue to date plus the forecast for the rest of the quarter ({model}), "
          "with the chance of reaching the target from its 80%/95% intervals.", period=out["label"],
          model=i18n.isolate(pr.model))
        if big == "Q" else
        _("Projection for {period}: revenue to date plus the forecast for the rest of the year ({model}), "
          "with the chance of reaching the target from its 80%/95% intervals.", period=out["label"],
          model=i18n.isolate(pr.model)))
    return out


def _stage_order(s: Scope, stages: Iterable[Any]) -> list[Any]:
    st = s.full.tables.get("stages")
    names = [x for x in stages if pd.notna(x)]
    if st is not None and {"stage", "order"} <= set(st.columns):
        rank = dict(zip(st["stage"].astype(str), st["order"]))
        return sorted(names, key=lambda x: (rank.get(str(x), 1e9), str(x)))
    return names


@_in_locale
def pipeline(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """The open pipeline at the end of the period: cards (pipeline value, weighted pipeline, open deals,
    coverage of the next period's target gap, win rate, sales cycle, opportunities created)
    and by_stage (stage, value, count in stage order)."""
    sec = _start("pipeline", ds, period, filters, PIPELINE_KPIS)
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    by_stage = None
    if s.ds.has("deals", "stage"):
        f = s.compute(["pipeline_value", "open_deals"], by="stage")
        f = f[f["stage"].notna()]
        w = _wide(f, "stage", "kpi")
        w = w.reindex(_stage_order(s, w.index))
        by_stage = pd.DataFrame({"stage": [str(x) for x in w.index],
                                 "value": w.get("pipeline_value", pd.Series(np.nan, index=w.index)).to_numpy(),
                                 "count": w.get("open_deals", pd.Series(np.nan, index=w.index)).to_numpy()})
        by_stage = by_stage[by_stage["count"].fillna(0) > 0].reset_index(drop=True)
    sec.frames["by_stage"] = by_stage
    open_value = c.loc[c["kpi"] == "pipeline_value", "value"]
    if c.empty or (len(open_value) and float(open_value.iloc[0]) == 0 and (by_stage is None or by_stage.empty)
                   and not (c["value"].fillna(0) != 0).any()):
        sec.message = _no_period_data(s, N_("No open deals or closed deals for {scope} in {period}."))
    return sec


@_in_locale
def funnel(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """Lead funnel for the period: stages (funnel counts per stage; the visitor stage only when traffic is
    in scope; the chart shows the step rates) and a card for the lead conversion rate."""
    sec = _start("funnel", ds, period, filters, FUNNEL_KPIS)
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    stages = None
    if s.in_scope("funnel") is None or "traffic" in s.unscoped:
        f = s.compute("funnel")
        sec.skipped.update(f.attrs.get("skipped", {}))
        f = f[f["kpi"] == "funnel.count"]
        if "traffic" in s.unscoped:
            f = f[f["stage"].astype(str) != "visitor"]
            sec.notes.append(_("Funnel: website visitors are not counted by {dimension}, so the funnel starts at "
                               "leads.", dimension=_join_or([_(_DIMENSION_WORDS.get(c, c))
                                                             for c in s.unscoped["traffic"]])))
        stages = f[["period", "stage", "kpi", "value"]].reset_index(drop=True)
    sec.frames["stages"] = stages
    if stages is None or not (stages["value"].fillna(0) > 0).any():
        sec.message = _no_period_data(s, N_("No leads for {scope} in {period}."))
    return sec


@_in_locale
def activity(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """Sales activity: cards (activities per rep, call reach / qualification / conversion against the
    30/50/50 rule, email reply rate, demos booked)."""
    sec = _start("activity", ds, period, filters, ACTIVITY_KPIS)
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    per_rep = c.loc[c["kpi"] == "activities_per_rep", "value"]
    if not len(per_rep) or float(per_rep.iloc[0]) == 0:
        sec.message = _no_period_data(s, N_("No sales activities for {scope} in {period}."))
    return sec


_MOVEMENTS = ["new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr"]


@_in_locale
def recurring(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """Recurring revenue: cards (MRR, customer churn rate, NRR, GRR) and the
    MRR movements of the period (movements: kpi, value; start and end MRR) for the waterfall."""
    sec = _start("recurring", ds, period, filters, RECURRING_KPIS, needs="mrr",
                 unavailable=N_("Recurring revenue is {why}; see the company or region report."))
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    mrr = c[c["kpi"] == "mrr"]
    if mrr.empty or not (mrr["value"].fillna(0) > 0).any():
        sec.message = _no_period_data(s, N_("No subscriptions for {scope} in {period}."))
        return sec
    mv = s.compute(_MOVEMENTS)
    sec.frames.update(movements=mv[["period", "kpi", "value"]].reset_index(drop=True),
                      start=float(mrr["previous"].iloc[0]) if pd.notna(mrr["previous"].iloc[0]) else 0.0,
                      end=float(mrr["value"].iloc[0]))
    return sec


@_in_locale
def customers(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None, cohorts: int = 12) -> Section:
    """Customers: cards (new and lost customers, CAC, CLV, CAC payback) and the retention
    of the last `cohorts` monthly acquisition cohorts up to the period (cells after the period left out)."""
    sec = _start("customers", ds, period, filters, CUSTOMER_KPIS, needs="new_customers",
                 unavailable=N_("Customer metrics are {why}; see the company or region report."))
    if sec.empty:
        return sec
    s, c = sec.scope, sec.cards
    last = _period_at(s, s.period.end_time, "M")
    first = last - (cohorts - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = ("cohorts", str(first), str(last))
        if key not in s._cache:
            s._cache[key] = _compute(s.ds, "cohort_retention", freq="M", period=f"{first}:{last}")
        r = s._cache[key]
    r = r[r["kpi"] == "cohort_retention.retention"].copy()
    if len(r):
        since = pd.to_numeric(r["months_since"].astype(object), errors="coerce")
        cohort_month = to_index(r["period"])
        ok = np.array([(cm + int(m)) <= last if pd.notna(m) else False for cm, m in zip(cohort_month, since)])
        r = r[ok].reset_index(drop=True)
    sec.frames["cohorts"] = r
    if c.empty and r.empty:
        sec.message = _no_period_data(s, N_("No customers for {scope} in {period}."))
    return sec


@_in_locale
def products_channels(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """Products (product_performance: revenue, quantity, share, rank per product) and channels
    (sales_by_channel: revenue, win rate, average purchase per channel) for the period, as tidy frames."""
    sec = _start("products_channels", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    f = s.compute(["product_performance", "sales_by_channel"])
    sec.skipped.update(f.attrs.get("skipped", {}))
    prod = f[f["kpi"].str.startswith("product_performance.")]
    chan = f[f["kpi"].str.startswith("sales_by_channel.")]
    prod = prod[["period", "product", "kpi", "value"]].reset_index(drop=True) if "product" in prod else None
    chan = chan[["period", "channel", "kpi", "value"]].reset_index(drop=True) if "channel" in chan else None
    sec.frames.update(products=prod, channels=chan)
    rev = prod[prod["kpi"] == "product_performance.revenue"]["value"] if prod is not None else pd.Series(dtype=float)
    if not (rev.fillna(0) > 0).any():
        sec.message = _no_period_data(s, N_("No won deals for {scope} in {period}."))
    return sec


@i18n.localised
def channel_table(channels: pd.DataFrame | None, currency: str = "USD") -> pd.DataFrame:
    """products_channels().channels as display text, by revenue: Channel, Revenue, Share of revenue,
    Win rate, Average deal (values formatted like the cards)."""
    if channels is None or channels.empty:
        return pd.DataFrame()
    w = _wide(channels.assign(measure=channels["kpi"].str.removeprefix("sales_by_channel.")), "channel", "measure")
    if "revenue" not in w:
        return pd.DataFrame()
    w = w.astype("float64").sort_values("revenue", ascending=False, kind="stable")
    total = w["revenue"].sum()
    channel = _("Channel")
    out = pd.DataFrame({channel: [value_label("channel", c) for c in w.index],
                        _("Revenue"): [card_value(v, "money", currency) for v in w["revenue"]],
                        _("Share of revenue"): [card_value(v / total if total else np.nan, "ratio")
                                                for v in w["revenue"]]})
    for m, title, unit in (("won_deals", N_("Won deals"), "count"), ("win_rate", N_("Win rate"), "ratio"),
                           ("avg_purchase_value", N_("Average deal"), "money")):
        if m in w:
            out[_(title)] = [card_value(v, unit, currency) for v in w[m]]
    out = out.set_index(channel)
    out.index.name = None
    return out


_LEADERBOARD_COLUMNS = {  # measure -> (column title, unit)
    "revenue": (N_("Revenue"), "money"), "won_deals": (N_("Won deals"), "count"),
    "win_rate": (N_("Win rate"), "ratio"), "quota_attainment": (N_("Quota attainment"), "ratio"),
    "opportunities_created": (N_("Deals created"), "count"), "activities": (N_("Activities"), "count"),
    "avg_sales_cycle_days": (N_("Sales cycle"), "days"), "churn_after_sale": (N_("Churn after sale"), "ratio"),
}


LEADERBOARD_KPIS = ("revenue", "won_deals", "win_rate", "quota_attainment", "opportunities_created",
                    "activities_per_rep", "avg_sales_cycle_days")


@_in_locale
def leaderboard(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None) -> Section:
    """The rep leaderboard for the period: table, one row per rep active in the period (an activity, or
    a deal created or closed in it), best first: rep, team, revenue, won_deals, win_rate,
    quota_attainment, opportunities_created, activities, avg_sales_cycle_days, each measure's median over
    the scope's active reps ("<measure>_team_median", as rep_leaderboard names it), rank by revenue
    (1 = highest, ties share the better rank) and status (quota attainment against 100%).

    The same numbers as the rep_leaderboard KPI, computed for the period and the measures shown only
    (compute(..., by="rep")), which is several times faster than the full leaderboard table."""
    sec = _start("leaderboard", ds, period, filters)
    if sec.empty:
        return sec
    s = sec.scope
    f = s.compute(LEADERBOARD_KPIS, by="rep")
    sec.skipped.update(f.attrs.get("skipped", {}))
    f = f[f["rep"].notna()]
    w = _wide(f, "rep", "kpi").rename(columns={"activities_per_rep": "activities"}).reset_index()
    if w.empty:
        sec.message = _no_period_data(s, N_("No reps with sales or activities for {scope} in {period}."))
        return sec
    w["rep"] = w["rep"].astype(str)
    active = pd.Series(False, index=w.index)
    for col in ("activities", "opportunities_created", "won_deals"):
        if col in w:
            active |= w[col].fillna(0) > 0
    if "win_rate" in w:
        active |= w["win_rate"].notna()  # closed a deal (won or lost)
    w = w[active].reset_index(drop=True)
    if w.empty:
        sec.message = _no_period_data(s, N_("No reps with sales or activities for {scope} in {period}."))
        return sec
    deals = s.ds.tables.get("deals")
    if deals is not None and "team" in deals.columns:
        d = deals.loc[deals["rep"].notna() & deals["team"].notna(), ["rep", "team"]].astype(str)
        teams = d.groupby("rep")["team"].agg(lambda x: x.mode().iloc[0])
        w.insert(1, "team", w["rep"].map(teams))
    measures = [c for c in w.columns if c not in ("rep", "team")]
    for m in measures:  # as rep_leaderboard: the median over the active reps of the scope (the "team")
        w[m] = w[m].astype("float64")
        w[f"{m}_team_median"] = w[m].median()
    if "revenue" in w:
        w["rank"] = w["revenue"].rank(ascending=False, method="min")
        w = w.sort_values(["rank", "rep"], kind="stable").reset_index(drop=True)
    if "quota_attainment" in w:
        qa = w["quota_attainment"]
        w["status"] = against_target(qa, 1.0, "higher").astype(object).where(qa.notna(), None)
    sec.frames["table"] = w
    if len(w) < 2 and "rep" in s.filters:
        sec.message = _("The leaderboard compares reps: this report is for one rep (see the rep scorecard).")
    return sec


@i18n.localised
def leaderboard_table(table: pd.DataFrame, n: int = 10, currency: str = "USD") -> pd.DataFrame:
    """The top `n` rows of leaderboard().table as display text: Rep, Team, Revenue, Won deals, Win rate,
    Quota attainment, Deals created, Activities, Sales cycle (values formatted like the cards)."""
    if table is None or table.empty:
        return pd.DataFrame()
    top = table.head(n)
    out = pd.DataFrame({"#": [i18n.localize(f"{int(r)}") if pd.notna(r) else ""
                              for r in top.get("rank", range(1, len(top) + 1))],
                        _("Rep"): top["rep"].astype(str)})
    if "team" in top:
        out[_("Team")] = top["team"].fillna("").astype(str)
    for m, (title, unit) in _LEADERBOARD_COLUMNS.items():
        if m in top and m != "churn_after_sale":
            out[_(title)] = [card_value(v, unit, currency) for v in top[m]]
    out = out.set_index("#")
    out.index.name = None
    return out


# ----------------------------------------------------------------------------- rep scorecard

SCORECARD_KPIS = ("revenue", "won_deals", "quota_attainment", "win_rate", "avg_sales_cycle_days", "pipeline_value",
                  "opportunities_created", "activities_per_rep", "call_reach_rate", "call_qualification_rate",
                  "call_conversion_rate", "email_reply_rate", "churn_after_sale")


@_in_locale
def scorecard(ds: Any, period: Any = "", filters: Mapping[str, Any] | None = None,
              kpis: Iterable[str] = SCORECARD_KPIS) -> Section:
    """One rep (or one team) against the median of their peers, for the period.

    Subject: the `rep` filter; else the `team` filter (peers: the other teams, in the same region when a
    region is given); else the top rep by revenue in the period within the other filters. A rep's peers
    are the reps of their team (of their region when the rep has no team), counting those active in the
    period (an activity, or a deal created or closed); medians include the subject.

    Cards: compare-like rows (value, previous period, last year, status) where `benchmark` holds the KPI's
    benchmark and the peer median as text, and status is rated against the benchmark (the 30/50/50 call
    rules, win rate >= 15%), against 100% for quota attainment, else against the peer median (at risk
    within 10%). frames: subject, level ("rep" or "team"), peer_word ("team EMEA North"), peer_title (for
    the peers chart), peers (one row per peer, values per KPI),
    table (kpi, name, unit, value, median, benchmark, status)."""
    base = dict(filters or {})
    s0 = _scope(ds, period, base)
    full, p = s0.full, s0.period
    flt = dict(s0.filters)
    level, subject = ("rep", flt.get("rep")) if flt.get("rep") else ("team", flt.get("team")) if flt.get(
        "team") else ("rep", None)
    sec = Section("scorecard", s0)
    why_not = not_shown("scorecard", full)
    if why_not:
        sec.message = why_not
        sec.notes.append(why_not)
        return sec
    if s0.message:
        sec.message = s0.message
        return sec
    if subject is None:  # the top rep by revenue in the period within the other filters
        f = s0.compute("revenue", by="rep")
        f = f[f["rep"].notna() & (f["value"] > 0)].sort_values(["value", "rep"], ascending=[False, True], kind="stable")
        if f.empty:
            sec.message = _no_period_data(s0, N_("No won deals (so no top rep to show) for {scope} in {period}."))
            return sec
        subject = str(f["rep"].iloc[0])
        sec.notes.append(_("No rep or team was chosen: showing the top rep by revenue in {period}, {rep}.",
                           period=s0.period_label, rep=subject))
    peer_filters = {k: v for k, v in flt.items() if k not in ("rep", "team")}
    if level == "rep":
        deals = full.tables.get("deals")
        team = None
        if deals is not None and "team" in deals.columns:
            t = deals.loc[deals["rep"].astype(object) == subject, "team"].dropna()
            team = str(t.mode().iloc[0]) if len(t) else None
        if team:
            peer_filters["team"] = team
        peer_word = _("team {team}", team=team) if team else _("peers")
    else:
        peer_word = _("teams in {region}", region=flt["region"]) if flt.get("region") else _("teams")
    peers = scope(full, p, peer_filters)
    sub = scope(full, p, {**peer_filters, level: subject})
    sec.scope = sub
    peer_title = (_("Revenue by rep, {peers}", peers=peer_word) if level == "rep"
                  else _("Revenue by team, {region}", region=flt["region"]) if flt.get("region")
                  else _("Revenue by team"))
    sec.frames.update(subject=subject, level=level, peer_word=peer_word, peer_title=peer_title)
    kpis = [k for k in kpis if k in REGISTRY and peers.in_scope(k) is None]
    prev, ly = p - 1, year_earlier(p)
    f = peers.compute(kpis, by=level, period=[ly, prev, p])
    sec.skipped.update(f.attrs.get("skipped", {}))
    f = f[f[level].notna()].copy()
    f[level] = f[level].astype(str)
    cur = _wide(f[f["period"] == p], level, "kpi").astype("float64")
    active = pd.Series(False, index=cur.index)
    for k in ("activities_per_rep", "opportunities_created", "won_deals"):
        if k in cur:
            active |= cur[k].fillna(0) > 0
    if subject not in cur.index or not active.get(subject, False):
        sec.message = _("No sales or activity for {scope} in {period}.",
                        scope=scope_label({level: subject}), period=s0.period_label)
        return sec
    cur = cur[active]
    median = cur.median(numeric_only=True)
    sec.frames["peers"] = cur.reset_index()

    def at(q: pd.Period, k: str) -> float:
        r = f[(f["period"] == q) & (f["kpi"] == k) & (f[level] == subject)]["value"]
        return float(r.iloc[0]) if len(r) else np.nan

    rows = []
    for k in kpis:
        if k not in cur.columns:
            continue
        meta = REGISTRY[k]
        v, pv, lv, med = at(p, k), at(prev, k), at(ly, k), float(median.get(k, np.nan))
        bench_low = meta.benchmark.low if meta.benchmark else None
        bench_high = meta.benchmark.high if meta.benchmark else None
        target = np.nan
        if meta.benchmark:
            status = against_benchmark(v, bench_low, bench_high)
        elif k == "quota_attainment":
            target = 1.0
            status = _status_text(against_target(pd.Series([v], dtype="float64"), target, "higher").iloc[0])
        else:
            status = _status_text(against_target(pd.Series([v], dtype="float64"), med, meta.direction).iloc[0])
        med_value = card_value(med, meta.unit, full.currency)
        # kpi_cards writes "Benchmark <text>": "Benchmark ≥ 30% · team median 28.1%" or
        # "Benchmark is the team median, $46.2k"
        if meta.benchmark:
            rule = i18n.benchmark_text(meta.benchmark.text)
            bench = (_("{benchmark} · team median {value}", benchmark=rule, value=med_value) if level == "rep"
                     else _("{benchmark} · peer median {value}", benchmark=rule, value=med_value))
        else:
            bench = (_("is the team median, {value}", value=med_value) if level == "rep"
                     else _("is the peer median, {value}", value=med_value))
        change = v - pv if pd.notna(v) and pd.notna(pv) else np.nan
        good = None
        if pd.notna(change) and meta.direction in ("higher", "lower"):
            good = bool(change > 0) if meta.direction == "higher" else bool(change < 0)
        if pd.isna(v):  # nothing to show (e.g. churn after sale without customers yet)
            sec.skipped.setdefault(k, _("no value for {subject} in {period}", subject=subject,
                                        period=s0.period_label))
            continue
        rows.append({"kpi": k, "name": CARD_NAMES.get(k, meta.name), "unit": meta.unit, "direction": meta.direction,
                     "value": v,
                     "previous": pv, "change": change,
                     "change_pct": change / abs(pv) if pd.notna(change) and pv else np.nan, "good": good,
                     "last_year": lv, "yoy_change": v - lv if pd.notna(v) and pd.notna(lv) else np.nan,
                     "yoy_pct": (v - lv) / abs(lv) if pd.notna(v) and pd.notna(lv) and lv else np.nan,
                     "target": target, "benchmark": bench, "status": status, "median": med})
    table = pd.DataFrame(rows)
    sec.cards = table.drop(columns=["median"])
    sec.frames["table"] = table
    return sec


@i18n.localised
def scorecard_table(section: Section) -> pd.DataFrame:
    """scorecard().table as display text: KPI, the subject's value, the peer median, the benchmark and
    the status."""
    t = section.frames.get("table") if section is not None else None
    if t is None or t.empty:
        return pd.DataFrame()
    cur = section.currency
    who = str(section.frames.get("subject"))
    median = _("Team median") if section.frames.get("level") == "rep" else _("Median of teams")
    kpi_col = _("KPI")
    out = pd.DataFrame({
        kpi_col: [i18n.kpi_name(k, name=n) for k, n in zip(t["kpi"], t["name"].astype(str))],
        who: [card_value(v, u, cur) for v, u in zip(t["value"], t["unit"])],
        median: [card_value(v, u, cur) for v, u in zip(t["median"], t["unit"])],
        _("Benchmark"): [i18n.benchmark_text(REGISTRY[k].benchmark.text) if REGISTRY[k].benchmark
                         else (i18n.percent(1.0, 0) if k == "quota_attainment" else "") for k in t["kpi"]],
        _("Status"): [i18n.status_text(s if isinstance(s, str) else "not rated") for s in t["status"]],
    })
    out = out.set_index(kpi_col)
    out.index.name = None
    return out


# ----------------------------------------------------------------------------- data notes

# What was done to the rows on the way in (Dataset.notes), one sentence per note: a reader sees what the
# numbers rest on.
_NOTE_SENTENCES = {
    "joined": NN_("{table}: {n} row matched in {source} on {column}.",
                  "{table}: {n} rows matched in {source} on {column}."),
    "unmatched": NN_("{table}: {n} row has a {column} that {source} does not have; its columns from there are empty.",
                     "{table}: {n} rows have a {column} that {source} does not have; their columns from there are "
                     "empty."),
    "filled": NN_("{table}: {n} row had no {column}; it was taken from {source}.",
                  "{table}: {n} rows had no {column}; it was taken from {source}."),
    "excluded": NN_("{table}: {n} row left out where {column} is {values}.",
                    "{table}: {n} rows left out where {column} is {values}."),
    "dropped": NN_("{table}: {n} row dropped because it has no {column}.",
                   "{table}: {n} rows dropped because they have no {column}."),
}


def _load_note(note: Any) -> str:
    singular, plural = _NOTE_SENTENCES[note.kind]
    return i18n.ngettext(singular, plural, note.count, n=i18n.number(note.count), table=i18n.isolate(note.table),
                         column=i18n.isolate(note.column), source=i18n.isolate(note.source),
                         values=i18n.join([i18n.isolate(v) for v in note.values]))


_KPI_WORDS = {"subscriptions": N_("MRR, churn, NRR and other subscription KPIs"), "customers": N_("customer counts"),
              "spend": N_("CAC and other spend KPIs"), "traffic": N_("website visitors"), "surveys": N_("NPS")}


@_in_locale
def data_notes(ds: Any, results: Iterable[Any] = (), period: Any = "", filters: Mapping[str, Any] | None = None
               ) -> Section:
    """What the report left out and why, and how fresh the data is.

    results: the sections and frames of the report (anything with .skipped, attrs["skipped"] or .notes).
    skipped: {kpi: reason}; frames: table (KPI, Reason: one row per KPI left out), display (the same
    with the KPI names as row labels, to show), text (paragraphs for note())."""
    s = _scope(ds, period, filters)
    sec = Section("data_notes", s)
    skipped: dict[str, str] = {}
    notes: list[str] = []
    for r in results:
        if r is None:
            continue
        sk = getattr(r, "skipped", None)
        if sk is None and isinstance(r, pd.DataFrame):
            sk = r.attrs.get("skipped")
        for k, why in (sk or {}).items():
            skipped.setdefault(k, why)
        found = r.attrs.get("notes") if isinstance(r, pd.DataFrame) else getattr(r, "notes", None)
        for n in found or []:
            if n not in notes:
                notes.append(n)
    dr = s.full.date_range
    text = []
    if s.as_of is not None:
        last = last_complete_period(s.full, "M")
        text.append(_("Data as of {date}, the latest date in {dataset}; the data starts on {start}. The last complete "
                      "month is {last}; this report covers {period}.",
                      date=i18n.date_label(s.as_of, calendar=s.calendar), dataset=i18n.isolate(s.full.name),
                      start=i18n.date_label(dr[0], calendar=s.calendar) if dr else "—", last=period_label(last),
                      period=s.period_label))
        if s.period.end_time.normalize() > s.as_of.normalize():
            text.append(_("{period} is not complete in the data: its figures are to date.", period=s.period_label))
    if s.unscoped:
        tables = [t for t in s.unscoped if t in _KPI_WORDS]
        if tables:
            cols = sorted({c for t in tables for c in s.unscoped[t]})
            text.append(_("This report is for {scope}: {what} are not recorded by {dimension}, so they are left out.",
                          scope=s.label, what=i18n.join([_(_KPI_WORDS[t]) for t in tables]),
                          dimension=_join_or([_(_DIMENSION_WORDS.get(c, c)) for c in cols])))
    text.append(_("Revenue counts won deals by close date; pipeline is the open deals at the end of the period; "
                  "targets come from the targets table."))
    loaded = [_load_note(n) for n in getattr(s.full, "notes", []) if n.count]
    if loaded:
        text.append(" ".join(loaded))
    text.extend(notes)
    kpi_col, reason_col = _("KPI"), _("Reason")
    rows = [{kpi_col: i18n.kpi_name(k), reason_col: _reason(why)} for k, why in skipped.items()]
    sec.skipped = skipped
    table = pd.DataFrame(rows, columns=[kpi_col, reason_col])
    shown = table.set_index(kpi_col)  # for display: the KPI names head the rows (no row numbers)
    shown.index.name = None
    sec.frames.update(table=table, display=shown, text="\n\n".join(text))
    return sec


# the KPI engine's reasons for skipping a KPI (kpitools.kpis), as patterns, in the report's language
_REASONS = (
    (re.compile(r"needs (?P<what>[\w.]+(?:(?:, | and | or )[\w.]+)*)$"), N_("needs {what}")),
    (re.compile(r"needs the (?P<what>[\w.]+) table$"), N_("needs the {what} table")),
)


def _reason(why: Any) -> str:
    """A skip reason in the active locale: the report's own reasons are already translated; the KPI
    engine's common ones ("needs surveys") are matched, anything else is shown as it is."""
    text = str(why)
    if i18n.language() == "en":
        return text
    for pattern, template in _REASONS:
        m = pattern.match(text)
        if m:
            return _(template, **m.groupdict())
    return text
