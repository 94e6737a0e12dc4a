"""The scope of a report: its dataset, its period and its filters, with a cache of the KPI calls made for them.

    from kpitools.report import sections
    ds = sections.dataset("")                                  # "" = the built-in sample
    scope = sections.scope(ds, "", region="EMEA")              # period "" = the last complete month

- dataset(): the report's dataset (the sample, a dataset config or folder, or a Dataset), in the calendar
  and currency the report shows (an IRR dataset's amounts in tomans);
- scope(): that dataset filtered by region / team / rep, with the period resolved (relative names through
  the one parser, kpitools.calendars.relative); built once and cached, and so is every compute() / compare()
  call made through the `Scope`, so sections that need the same numbers do not compute them twice;
- scope_label(), period_label(): the scope and the period in words, in the active locale;
- the KPIs a report computes (REPORT_KPIS), so that scope(prefetch=True) computes every card in one pass.

Scope caveat: `Dataset.filter` filters only the tables that have the column. Subscriptions, customers,
spend and traffic have a region but no team or rep, so for a team or rep scope the KPIs built on them
(MRR, churn, NRR, CAC, the visitor stage...) would be company-wide figures; they are left out and
listed in the data notes instead (`Scope.unscoped`).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .. import i18n
from ..calendars.periods import calendar_name, parse_period, period_at, period_span, to_index
from ..calendars.relative import parse_relative
from ..data import Dataset
from ..i18n import N_
from ..i18n import gettext as _
from ..kpis.activity import active_reps
from ..kpis.compare import compare as _compare
from ..kpis.compare import last_complete_period
from ..kpis.compute import compute as _compute
from ..kpis.registry import REGISTRY
from ..kpis.targets import targets_for

HEADLINE_KPIS = ("revenue", "won_deals", "win_rate", "avg_purchase_value", "pipeline_value", "quota_attainment",
                 "mrr", "customer_churn_rate", "nrr", "cac")
FILTERS = ("region", "team", "rep")  # the scope dimensions a report notebook takes
# the cards of each section (few on purpose: every KPI costs time in each of many batch runs); listed here,
# not in the sections' modules, because scope(prefetch=True) computes all of them in one pass
PIPELINE_KPIS = ("pipeline_value", "weighted_pipeline", "open_deals", "pipeline_coverage", "win_rate",
                 "avg_sales_cycle_days", "opportunities_created")
FUNNEL_KPIS = ("lead_conversion_rate",)
ACTIVITY_KPIS = ("activities_per_rep", "call_reach_rate", "call_qualification_rate", "call_conversion_rate",
                 "email_reply_rate", "demos_booked")
RECURRING_KPIS = ("mrr", "customer_churn_rate", "nrr", "grr")
CUSTOMER_KPIS = ("new_customers", "lost_customers", "cac", "clv", "cac_payback_months")
REPORT_KPIS = tuple(dict.fromkeys((*HEADLINE_KPIS, *PIPELINE_KPIS, *FUNNEL_KPIS, *ACTIVITY_KPIS, *RECURRING_KPIS,
                                    *CUSTOMER_KPIS)))
# the report notebooks' default titles (their `title` parameter), translated by Scope.header()
REPORT_TITLES = (N_("Sales report"), N_("Rep scorecard"))
# KPIs that join a table lacking the filter column by id, not by that column: still right for the scope
_ID_JOINED = {"churn_after_sale"}
_SCOPE_WORDS = {"region": N_("Region"), "team": N_("Team"), "rep": N_("Rep")}
_DIMENSION_WORDS = {"region": N_("region"), "team": N_("team"), "rep": N_("rep")}
_CACHE_SIZE = 8


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
                as_of = ds.as_of
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
        key = compute_key(kpis, by, period, options)
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
        base = compare_key(by, options)
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

    def active(self, level: str = "rep") -> set[str]:
        """The reps (level "rep") or teams ("team") active in the scope's period, by the one rule
        (kpitools.kpis.active_reps: an activity, or a deal created or closed, won or lost). Cached."""
        key = ("active", level)
        if key not in self._cache:
            found = active_reps(self.ds, self.freq, [level])
            found = found[(found["period"] == self.period) & found[level].notna()]
            self._cache[key] = {str(v) for v in found[level]}
        return self._cache[key]

    def series(self, kpi: str) -> pd.Series:
        """The KPI's value in every period of the data at the scope's frequency (a Series indexed by
        period); cached."""
        key = ("series", kpi)
        if key not in self._cache:
            frame = self.compute(kpi, period=None)
            self._cache[key] = _series(frame, kpi)
        return self._cache[key]


def _join_or(items: list[str]) -> str:
    """"team or rep" in the active locale."""
    if len(items) <= 1:
        return "".join(items)
    return _("{items} or {last}", items=", ".join(items[:-1]), last=items[-1])


def _as_list(x: Any) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def compute_key(kpis: Any, by: Any, period: Any, options: Mapping[str, Any]) -> tuple:
    """The cache key of `Scope.compute(kpis, by, period, **options)` (period already resolved from "same")."""
    return ("compute", _key(kpis), _key(by), _key(period), _key(sorted(options.items())))


def compare_key(by: Any, options: Mapping[str, Any]) -> tuple:
    """The cache key of `Scope.compare(..., by, **options)` without its KPI: one entry per KPI is `key + (kpi,)`."""
    return ("compare", _key(by), _key(sorted(options.items())))


def _key(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return tuple(_key(v) for v in x)
    if isinstance(x, pd.Period) or i18n.is_jalali(x):
        return ("period", str(x), x.freqstr, i18n.is_jalali(x))
    return x


_SCOPES: list[tuple[Dataset, Any, tuple, Scope]] = []  # small cache: (ds, period, filters) -> Scope


def reserve(n: int) -> None:
    """Keep at least `n` more scopes in the cache (a batch's fork server primes one per report, see prime.py)."""
    global _CACHE_SIZE
    _CACHE_SIZE = max(_CACHE_SIZE, n + 8)


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
    s = Scope(full=ds, ds=ds.filter(**flt), period=p, filters=flt, unscoped=unscoped, as_of=ds.as_of,
              prefetch=pre, locale=loc)
    _SCOPES.append((ds, pkey, fkey, s))
    del _SCOPES[:-_CACHE_SIZE]
    return s


def _scope(ds: Any, period: Any, filters: Mapping[str, Any] | None) -> Scope:
    return ds if isinstance(ds, Scope) else scope(ds, period, filters)


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
