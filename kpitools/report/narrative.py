"""Plain-language text generated from the numbers: the report summary and what drove the change.

    from kpitools.report import narrative, sections
    cards = sections.cards(ds, "2026-10", {"region": "EMEA"})
    movers = narrative.drivers(ds, "revenue", "2026-10", {"region": "EMEA"})
    narrative.summary(cards, movers)
    # "Revenue was $272k in October 2026, down 15.8% on September and 22.5% below target; the rep
    #  Mei Cohen (−$40k) and Acme Core (−$35k) led the fall, while the partner channel rose $21k. ..."

The text is deterministic (same numbers, same words), plain text (escaping is the renderer's job:
summary_box() escapes it), with every number formatted by kpitools.viz.format_value. Sentences are whole
templates with named placeholders in the message catalogues (kpitools.i18n), written in the active locale.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import i18n
from ..i18n import N_, format_value
from ..i18n import gettext as _
from ..i18n import missing as _missing  # None, NA, NaT, NaN, ±inf
from ..kpis.registry import REGISTRY
from .scope import _scope, period_label

__all__ = ["DIMENSIONS", "drivers", "summary", "attainment", "money", "percent", "group_label"]

DIMENSIONS = ("region", "rep", "product", "channel")
SECONDARY = ("win_rate", "pipeline_value", "mrr")  # KPIs named in the summary's second sentence
_STATUS_ORDER = ("off track", "at risk", "on track")


# ----------------------------------------------------------------------------- formatting

def money(x: Any, currency: str = "USD") -> str:
    """Money as the KPI cards show it, three significant figures: $1.02M, $963k, $60k, $12.3k."""
    if _missing(x):
        return format_value(x, "money", currency)
    a = abs(float(x))
    decimals = 2 if 1e6 * 0.9995 <= a < 1e7 * 0.9995 else None
    return format_value(x, "money", currency, decimals=decimals)


def percent(x: Any) -> str:
    """A share or change as a percentage without a useless ".0": 0.081 -> "8.1%", 0.12 -> "12%"."""
    if _missing(x):
        return format_value(x, "ratio")
    return i18n.percent(float(x), 1 if abs(float(x)) < 1 else 0, trim=True)


def _value(x: Any, unit: str, currency: str) -> str:
    if unit == "money":
        return money(x, currency)
    if unit == "ratio":
        return format_value(x, "ratio")
    return format_value(x, unit, currency)


def _target_text(x: Any, unit: str, currency: str) -> str:
    return percent(x) if unit == "ratio" else _value(x, unit, currency)


def _iso(text: str) -> str:
    """A name from the data isolated from a right-to-left sentence around it (i18n.isolate), so "North
    America" keeps its punctuation; amounts are written in the locale's script and need no isolation."""
    return i18n.isolate(text)


def _signed(x: float, unit: str, currency: str) -> str:
    """+$60k / −$12k / +3 / −1.5 points."""
    body = _value(abs(x), unit, currency)
    plus, minus = i18n.formatting.sign_symbols()
    return (plus if x >= 0 else minus) + "\u2060" + body  # word joiner: no line break after the sign


def _join(items: list[str]) -> str:
    return i18n.join(items)


def _name(row: Mapping[str, Any]) -> str:
    name = row.get("name")
    name = row.get("kpi") if _missing_text(name) else name
    return i18n.kpi_name(row.get("kpi"), name=str(name))


def _missing_text(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _period_names(p: Any) -> tuple[str, str]:
    """("October 2026", "September") for a monthly period: the period and the previous one (its year only
    when it differs); quarters "Q3 2026" / "Q2"; years "2026" / "2025"."""
    if not isinstance(p, pd.Period) and not i18n.is_jalali(p):
        try:
            p = pd.Period(str(p))
        except (ValueError, TypeError):
            return str(p), _("the previous period")
    prev = p - 1
    same_year = i18n.period_year(prev) == i18n.period_year(p)
    return i18n.period_label(p), i18n.period_label(prev, short=same_year and i18n.period_kind(p) in "MQ")


def _points(x: float) -> tuple[str, int]:
    """A difference of ratios in percentage points, one decimal, no ".0": ("5.3", 2), ("1", 1)."""
    text = f"{abs(x) * 100:,.1f}".removesuffix(".0")
    return i18n.localize(text), 1 if text == "1" else i18n.plural_count(float(text.replace(",", "")))


def _change_words(change: Any, pct: Any, unit: str, currency: str) -> str | None:
    """"up 8.1%" / "down 5.3 points" (ratios change in percentage points) / "unchanged"; None if unknown."""
    if _missing(change):
        return None
    c = float(change)
    if c == 0:
        return _("unchanged")
    if unit == "ratio":
        pts, count = _points(c)
        if c > 0:
            return i18n.ngettext("up {n} point", "up {n} points", count, n=pts)
        return i18n.ngettext("down {n} point", "down {n} points", count, n=pts)
    amount = percent(abs(float(pct))) if not _missing(pct) else _value(abs(c), unit, currency)
    return _("up {amount}", amount=amount) if c > 0 else _("down {amount}", amount=amount)


# ----------------------------------------------------------------------------- drivers

_GROUP_WORDS = {"rep": N_("the rep {name}"), "team": N_("the {name} team"), "channel": N_("the {name} channel"),
                "campaign": N_("the {name} campaign"), "lead_source": N_("the {name} lead source")}


def group_label(dimension: str, group: Any) -> str:
    """How a group is named in a sentence: "EMEA", "the rep Ana Souza", "the partner channel"."""
    g = str(group)
    if re.fullmatch(r"[a-z0-9_]+", g):  # a canonical value ("cold_email"): in the catalogue's words
        word = i18n.pgettext(dimension, g)
        g = word if word != g else g.replace("_", " ")
    g = _iso(g)
    if dimension in ("region", "product", "segment", "plan"):
        return g
    if dimension in _GROUP_WORDS:
        return _(_GROUP_WORDS[dimension], name=g)
    return _("{dimension} {name}", dimension=dimension.replace("_", " "), name=g)


def drivers(ds: Any, kpi: str = "revenue", period: Any = "", filters: Mapping[str, Any] | None = None,
            dimensions: Iterable[str] = DIMENSIONS) -> pd.DataFrame:
    """Which groups explain the change of an additive KPI (revenue, won deals...) from the previous period.

    For each dimension (skipping those the scope fixes to one value and those the data lacks) and each of
    its groups: value, previous, change = value − previous, and share = change / the scope's total change
    (the groups of one dimension add up to the total, so their shares sum to 1). Rows are sorted by
    dimension (in the given order), then change from the largest rise to the largest fall; `mover` is
    "up" for the three largest rises and "down" for the three largest falls of each dimension (else missing).

    Columns: dimension, group, value, previous, change, share, mover. attrs: kpi, unit, period,
    previous_period (labels), value, previous, change (the scope's totals), currency.
    ds: a Dataset or a sections.Scope (then period and filters come from it).
    """
    k = REGISTRY.get(kpi)
    if k is None or k.kind == "table":
        raise ValueError(f"drivers needs a registered KPI id such as revenue, not {kpi!r}")
    if not k.additive:
        raise ValueError(f"drivers splits a change into group contributions: {kpi} is not additive "
                         f"(groups do not add up to the total); use revenue, won_deals or another sum")
    s = _scope(ds, period, filters)
    p, prev = s.period, s.period - 1
    cols = ["dimension", "group", "value", "previous", "change", "share", "mover"]
    out = pd.DataFrame({c: pd.Series(dtype="float64" if c in ("value", "previous", "change", "share") else object)
                        for c in cols})
    y = s.series(kpi) if s.message is None else pd.Series(dtype="float64")
    total, total_prev = float(y.get(p, np.nan)), float(y.get(prev, np.nan))
    total_change = total - total_prev
    frames = []
    table = k.tables[0]
    for dim in dict.fromkeys(dimensions):
        if dim in s.filters or s.message or not s.ds.has(table, dim):
            continue
        f = s.compute(kpi, by=dim, period=[prev, p])
        f = f[f[dim].notna()]
        if f.empty:
            continue
        groups = f[dim].astype(str).to_numpy()
        is_now = (f["period"] == p).to_numpy()
        values = f["value"].to_numpy(dtype="float64")
        now = dict(zip(groups[is_now], values[is_now]))
        before = dict(zip(groups[~is_now], values[~is_now]))
        names = list(dict.fromkeys(groups))
        if len(names) < 2:
            continue
        d = pd.DataFrame({"dimension": dim, "group": names,
                          "value": [now.get(g, np.nan) for g in names],
                          "previous": [before.get(g, np.nan) for g in names]}).astype(
                              {"value": "float64", "previous": "float64"})
        d = d[(d["value"].fillna(0) != 0) | (d["previous"].fillna(0) != 0)]
        d["change"] = d["value"].fillna(0) - d["previous"].fillna(0)
        d["share"] = d["change"] / total_change if total_change and not _missing(total_change) else np.nan
        d = d.sort_values(["change", "group"], ascending=[False, True], kind="stable")
        mover = pd.Series(None, index=d.index, dtype=object)
        ups = d[d["change"] > 0].index[:3]
        downs = d[d["change"] < 0].sort_values(["change", "group"], kind="stable").index[:3]
        mover[ups] = "up"
        mover[downs] = "down"
        d["mover"] = mover
        frames.append(d)
    if frames:
        out = pd.concat(frames, ignore_index=True)[cols]
    out.attrs = {"kpi": kpi, "unit": k.unit, "period": period_label(p), "previous_period": period_label(prev),
                 "value": total, "previous": total_prev, "change": total_change, "currency": s.currency}
    return out


# ----------------------------------------------------------------------------- summary

def _lead_sentence(row: Mapping[str, Any], currency: str) -> str:
    unit = str(row.get("unit") or "")
    now, before = _period_names(row.get("period"))
    parts = []
    change = _change_words(row.get("change"), row.get("change_pct"), unit, currency)
    if change:
        parts.append(_("{change} on {previous}", change=change, previous=before))
    target: Any = row.get("target")
    if not _missing(target) and not _missing(row.get("value")) and float(target) != 0:
        v, t = float(row["value"]), float(target)
        if unit == "ratio":
            diff = v - t
            pts, count = _points(diff)
            if round(diff, 4) == 0:
                parts.append(_("on target"))
            elif diff > 0:
                parts.append(i18n.ngettext("{n} point above target", "{n} points above target", count, n=pts))
            else:
                parts.append(i18n.ngettext("{n} point below target", "{n} points below target", count, n=pts))
        else:
            gap = v / t - 1
            parts.append(_("on target") if round(gap, 3) == 0 else
                         _("{amount} above target", amount=percent(abs(gap))) if gap > 0 else
                         _("{amount} below target", amount=percent(abs(gap))))
    value = _value(row.get("value"), unit, currency)
    if parts:
        return _("{name} was {value} in {period}, {details}", name=_name(row), value=value, period=now,
                 details=_join(parts))
    return _("{name} was {value} in {period}", name=_name(row), value=value, period=now)


# (a rise?, "most of" it?) -> the clause for one name and for several, chosen by the number of names: a
# language whose verb agrees with its subject words them differently
_DRIVER_CLAUSES = {
    (True, True): (N_("{name} drove most of the rise"), N_("{names} drove most of the rise")),
    (True, False): (N_("{name} led the rise"), N_("{names} led the rise")),
    (False, True): (N_("{name} drove most of the fall"), N_("{names} drove most of the fall")),
    (False, False): (N_("{name} led the fall"), N_("{names} led the fall")),
}


def _drivers_clause(d: pd.DataFrame | None, currency: str) -> str | None:
    """"EMEA (+$60k) and the rep Ana Souza (+$31k) drove most of the rise, while Starter Seats fell $12k"."""
    if d is None or len(d) == 0:
        return None
    total = d.attrs.get("change")
    if _missing(total) or float(total) == 0:
        return None
    total = float(total)
    unit = d.attrs.get("unit", "money")
    currency = d.attrs.get("currency", currency)
    sign = 1 if total > 0 else -1
    rows = d[d["group"].notna() & d["change"].notna()]
    order = list(dict.fromkeys(rows["dimension"]))
    leads = []
    for dim in order:
        part = rows[(rows["dimension"] == dim) & (rows["change"] * sign > 0)]
        if len(part):
            best = part.loc[(part["change"] * sign).sort_values(ascending=False, kind="stable").index[0]]
            leads.append(best)
    if not leads:
        return None
    leads = sorted(leads, key=lambda r: (-abs(float(r["change"])), order.index(r["dimension"])))[:2]
    names = [_("{group} ({change})", group=group_label(r["dimension"], r["group"]),
               change=_signed(float(r["change"]), unit, currency)) for r in leads]
    # "most of" only when the top mover is about the size of the total; when moves in both directions
    # offset each other (a mover several times the total) it "led" the change
    most = 0.5 <= abs(float(leads[0]["change"])) / abs(total) <= 1.25
    one, several = _DRIVER_CLAUSES[(sign > 0, most)]
    clause = _(one, name=names[0]) if len(names) == 1 else _(several, names=_join(names))
    against = rows[rows["change"] * sign < 0]
    if len(against):
        r = against.loc[(against["change"].abs()).sort_values(ascending=False, kind="stable").index[0]]
        amount = _value(abs(float(r["change"])), unit, currency)
        group = group_label(r["dimension"], r["group"])
        clause = (_("{clause}, while {group} fell {amount}", clause=clause, group=group, amount=amount) if sign > 0
                  else _("{clause}, while {group} rose {amount}", clause=clause, group=group, amount=amount))
    return clause


def _secondary_sentence(cards: pd.DataFrame, lead_kpi: str, currency: str) -> str | None:
    rows = [r for k in SECONDARY if k != lead_kpi for r in cards[cards["kpi"] == k].to_dict("records")
            if not _missing(r.get("value"))]
    if not rows:
        return None
    parts = []
    for i, r in enumerate(rows):
        unit = str(r.get("unit") or "")
        name = _name(r)
        value = _value(r["value"], unit, currency)
        change = _change_words(r.get("change"), r.get("change_pct"), unit, currency)
        text = (_("{name} was {value}", name=name, value=value) if i == 0
                else _("{name} {value}", name=i18n.in_sentence(name), value=value))
        parts.append(_("{text} ({change})", text=text, change=change) if change else text)
    return _join(parts)


def _status_item(r: Mapping[str, Any], currency: str) -> str:
    unit = str(r.get("unit") or "")
    name = i18n.in_sentence(_name(r))
    v = _value(r.get("value"), unit, currency)
    if not _missing(r.get("target")):
        t = _target_text(r["target"], unit, currency)
        if r.get("direction") == "lower":
            return _("{name} ({value} vs ≤ {target} target)", name=name, value=v, target=t)
        return _("{name} ({value} vs {target} target)", name=name, value=v, target=t)
    bench = r.get("benchmark")
    if bench is not None and not (isinstance(bench, float) and math.isnan(bench)) and bench is not pd.NA and str(bench):
        return _("{name} ({value} vs benchmark {benchmark})", name=name, value=v,
                 benchmark=i18n.benchmark_text(bench))
    return _("{name} ({value})", name=name, value=v)


_STATUS_SENTENCES = {"off track": N_("Off track: {items}."), "at risk": N_("At risk: {items}."),
                     "on track": N_("On track: {items}.")}


@i18n.localised
def summary(cards: pd.DataFrame, drivers: pd.DataFrame | None = None, *, currency: str | None = None,
            lead: str = "revenue") -> str:
    """The report's plain-language summary from the KPI cards (compare() rows) and drivers(), in the active
    locale (or `locale=`).

    Paragraph 1: the lead KPI (revenue) with its change on the previous period and against target, then
    which groups drove the change and the largest move the other way; the second sentence gives win rate,
    pipeline value and MRR with their changes. Paragraph 2: the KPIs off track, at risk and on track
    against their target or benchmark. Paragraphs are separated by a blank line (for summary_box).

    cards.attrs["message"] (set by sections.cards for a scope without data) becomes the whole text.
    """
    attrs = getattr(cards, "attrs", {}) or {}
    currency = currency or attrs.get("currency") or "USD"
    if attrs.get("scope_message") or attrs.get("message"):
        return str(attrs.get("scope_message") or attrs["message"])
    if cards is None or len(cards) == 0:
        return _("No KPI could be computed for this scope and period.")
    rows = cards.to_dict("records")
    lead_row = next((r for r in rows if r.get("kpi") == lead), rows[0])
    first = _lead_sentence(lead_row, currency)
    clause = _drivers_clause(drivers, currency) if lead_row.get("kpi") == (
        drivers.attrs.get("kpi") if drivers is not None else None) else None
    para1 = [_("{sentence}; {clause}.", sentence=first, clause=clause) if clause
             else _("{sentence}.", sentence=first)]
    second = _secondary_sentence(cards, str(lead_row.get("kpi")), currency)
    if second:
        para1.append(_("{sentence}.", sentence=second))
    status = []
    for st in _STATUS_ORDER:
        items = [_status_item(r, currency) for r in rows
                 if isinstance(r.get("status"), str) and r["status"].lower() == st]
        if items:
            status.append(_(_STATUS_SENTENCES[st], items=_join(items)))
    paragraphs = [" ".join(para1)]
    if status:
        paragraphs.append(" ".join(status))
    return "\n\n".join(paragraphs)


# ----------------------------------------------------------------------------- attainment

def _months(labels: list[str]) -> str:
    """["November 2026", "December 2026"] -> "November and December 2026"."""
    years = {lab.rsplit(" ", 1)[-1] for lab in labels}
    if len(years) == 1 and all(" " in lab for lab in labels) and len(labels) > 1:
        return _("{months} {year}", months=_join([lab.rsplit(" ", 1)[0] for lab in labels]), year=years.pop())
    return _join(labels)


def _reaching(text: str, p: float) -> str:
    """"{text}: a 15% chance of reaching the target." and its edge cases, as whole sentences."""
    if p <= 0:
        return _("{text}: no chance of reaching the target.", text=text)
    if p >= 1:
        return _("{text}: every chance of reaching the target.", text=text)
    if p < 0.01:
        return _("{text}: less than a 1% chance of reaching the target.", text=text)
    if p > 0.99:
        return _("{text}: more than a 99% chance of reaching the target.", text=text)
    return _("{text}: a {chance} chance of reaching the target.", text=text,
             chance=format_value(p, "ratio", decimals=0))


@i18n.localised
def attainment(section: Any) -> str:
    """Two or three sentences on quota attainment and the outlook, from sections.attainment()'s result
    (or a dict with attainment, target, actual, period_label, outlook, currency); in the active locale."""
    if isinstance(section, Mapping):
        data = dict(section)
    else:  # an AttainmentSection
        if section.message:
            return str(section.message)
        data = {"attainment": section.attainment, "target": section.target, "actual": section.actual,
                "period_label": section.period_label, "outlook": section.outlook, "currency": section.currency}
    currency = data.get("currency", "USD")
    label = data.get("period_label", _("the period"))
    sentences = []
    if not _missing(data.get("attainment")) and not _missing(data.get("target")):
        sentences.append(_("{period} closed at {share} of the {target} revenue target ({actual}).", period=label,
                           share=percent(data["attainment"]), target=money(data["target"], currency),
                           actual=money(data.get("actual"), currency)))
    out = data.get("outlook")
    if not out:
        return " ".join(sentences)
    what = out["label"]
    quarter = out.get("unit_word") == "quarter"
    if out.get("complete"):
        if out.get("target"):
            sentences.append(_("{period} closed at {actual}, {share} of its {target} target.", period=what,
                               actual=money(out["actual"], currency), share=percent(out["actual"] / out["target"]),
                               target=money(out["target"], currency)))
        else:
            sentences.append(_("{period} closed at {actual}.", period=what, actual=money(out["actual"], currency)))
        return " ".join(sentences)
    elapsed = format_value(out["elapsed"], "ratio", decimals=0)
    actual = money(out["actual"], currency)
    if out.get("target"):
        share, target = percent(out["actual"] / out["target"]), money(out["target"], currency)
        sentences.append(
            _("{period} so far: {actual}, {share} of its {target} target, with {elapsed} of the quarter gone.",
              period=what, actual=actual, share=share, target=target, elapsed=elapsed) if quarter else
            _("{period} so far: {actual}, {share} of its {target} target, with {elapsed} of the year gone.",
              period=what, actual=actual, share=share, target=target, elapsed=elapsed))
    else:
        sentences.append(
            _("{period} so far: {actual}, with {elapsed} of the quarter gone.", period=what, actual=actual,
              elapsed=elapsed) if quarter else
            _("{period} so far: {actual}, with {elapsed} of the year gone.", period=what, actual=actual,
              elapsed=elapsed))
    if out.get("projected") is not None:
        s = _("Projected total {amount}", amount=money(out["projected"], currency))
        if out.get("lo_80") is not None and out.get("hi_80") is not None:
            s = _("{text} (80% range {low} to {high})", text=s, low=money(out["lo_80"], currency),
                  high=money(out["hi_80"], currency))
        if out.get("target") and out["actual"] >= out["target"]:
            s = _("{text}: the target is already reached.", text=s)
        elif out.get("probability") is not None:
            s = _reaching(s, out["probability"])
        else:
            s = _("{sentence}.", sentence=s)
        sentences.append(s)
    if not out.get("target") and out.get("missing_target"):
        months = _months(out["missing_target"])
        sentences.append(
            _("The targets table has no revenue target for {months}, so the chance of reaching the quarter's "
              "target cannot be estimated yet.", months=months) if quarter else
            _("The targets table has no revenue target for {months}, so the chance of reaching the year's "
              "target cannot be estimated yet.", months=months))
    return " ".join(sentences)
