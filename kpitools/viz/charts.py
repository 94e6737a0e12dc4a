"""Chart functions: tidy pandas frames in, a house-style matplotlib Figure out.

Every function returns a `matplotlib.figure.Figure` with `fig.alt_text` set to a plain-language
description with the key numbers (for the report's <img alt>, screen readers and e-mail previews).
They all cope with empty input (a "No data for this period" figure), NaN values (drawn as gaps or
"–" labels), long labels (truncated with an ellipsis) and many groups (the largest N; additive
measures gather the rest into "Other", others say how many are not shown).

Figures are created without pyplot (a `Figure` subclass, `export.Chart`), so they never pile up in
pyplot's registry, are safe in worker threads, and show exactly once when returned in a notebook cell.

Every chart takes `locale=` ("fa", "ru"...; default the active locale, kpitools.i18n): titles, legends,
labels, numbers and alt text in that language; Arabic-script text is shaped and ordered by matplotlib's own
text layout (libraqm, matplotlib >= 3.11), with the house font (DejaVu Sans) holding the Persian, Arabic and
Cyrillic glyphs; titles and legends start on the right in right-to-left locales.

Table KPIs straight from `kpitools.compute` (columns period, <dimension>, kpi "table.measure",
value) are accepted too: they are pivoted to one column per measure, keeping the latest period.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import i18n
from ..i18n import N_, format_value
from ..i18n import gettext as _
from .export import Chart
from .theme import (
    DPI,
    FIGSIZE,
    HOUSE_COLORS,
    MISSING,
    STATUS_COLORS,
    ValueFormatter,
    format_money,
    group_colors,
    status_color,
    use_house_style,
)

__all__ = ["kpi_trend", "period_bars", "funnel", "pipeline_by_stage", "mrr_waterfall", "cohort_heatmap",
           "rep_leaderboard", "product_revenue_volume", "channel_comparison"]

NO_DATA = N_("No data for this period")
_HALO = [patheffects.withStroke(linewidth=3, foreground="white")]  # keeps text legible over lines
LABEL_WIDTH = 22  # characters of a category label before "…"
TITLE_WIDTH = 70
_META = {"period", "kpi", "value", "note", "name", "unit", "direction", "status", "model", "benchmark",
         "good", "target", "measure"}
_ACRONYMS = {"mql", "sql", "mrr", "arr", "nps", "cac", "ltv", "clv", "arpu", "sdr", "bdr", "crm", "seo", "ppc",
             "b2b", "b2c", "nrr", "grr", "id", "kpi", "emea", "apac", "latam"}
_FUNNEL_ORDER = ["visitor", "lead", "mql", "sql", "opportunity", "won"]
_MOVEMENT_ORDER = ["new", "expansion", "reactivation", "contraction", "churn"]
_DECREASES = {"contraction", "churn"}
_MOVEMENT_KPIS = {"new_mrr": "new", "expansion_mrr": "expansion", "reactivation_mrr": "reactivation",
                  "contraction_mrr": "contraction", "churned_mrr": "churn"}


# ----------------------------------------------------------------------------- small helpers

def _clip(text: Any, width: int = LABEL_WIDTH) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _label(x: Any, width: int = LABEL_WIDTH, column: str | None = None) -> str:
    """A category label for a chart: "cold_email" -> "Cold email", "mql" -> "MQL", truncated; a canonical
    value of `column` (a funnel stage, a channel, an MRR movement) in the active locale's words."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return _("(none)")
    text = str(x).strip()
    if text == "Other":
        return _clip(_("Other"), width)
    if re.fullmatch(r"[a-z0-9_]+", text):  # an id, not a name someone typed
        word = i18n.pgettext(column, text) if column else text
        if word != text:
            return _clip(word, width)
        words = [w.upper() if w in _ACRONYMS else w for w in text.split("_")]
        text = " ".join(words)
        text = text[:1].upper() + text[1:]
    return _clip(text, width)


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _scalar(x: Any) -> float | None:
    """A single number (a target given as one value for every period), else None."""
    return float(x) if isinstance(x, (int, float, np.number)) and not isinstance(x, bool) else None


def _is_empty(df: pd.DataFrame | None, cols: Iterable[str] = ("value",)) -> bool:
    if df is None or len(df) == 0:
        return True
    cols = [c for c in cols if c in df.columns]
    return bool(cols) and all(_num(df[c]).isna().all() for c in cols)


def _require(df: pd.DataFrame, cols: Iterable[str], chart: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{chart}: missing column(s) {', '.join(missing)}; got {', '.join(map(str, df.columns))}")


def _period_text(p: Any) -> str:
    """"Sep 2026", "Q3 2026", "2026", "7 Sep 2026" for a pandas Period (or a Jalali period: "Mehr 1405"),
    in the active locale; str() otherwise."""
    return i18n.period_short(p)


_SPANS = {"M": N_("by month, {first} to {last}"), "Q": N_("by quarter, {first} to {last}"),
          "Y": N_("by year, {first} to {last}"), "W": N_("by week, {first} to {last}"),
          "D": N_("by day, {first} to {last}")}
_COHORT_SPANS = {"M": N_("{n} monthly cohorts from {first} to {last}"),
                 "Q": N_("{n} quarterly cohorts from {first} to {last}"),
                 "Y": N_("{n} yearly cohorts from {first} to {last}"),
                 "W": N_("{n} weekly cohorts from {first} to {last}"),
                 "D": N_("{n} daily cohorts from {first} to {last}")}


def _kind(p: Any) -> str | None:
    return i18n.period_kind(p) if isinstance(p, pd.Period) or i18n.is_jalali(p) else None


def _span_text(first: Any, last: Any) -> str:
    """"by month, Sep 2024 to Sep 2026"."""
    return _(_SPANS.get(_kind(last) or "", N_("by period, {first} to {last}")), first=_period_text(first),
             last=_period_text(last))


def _pct_change(v: float, ref: float, unit: str) -> str | None:
    """"up 8.0%" / "down 1.2 points" (ratios and scores change in points) / "unchanged"; None if
    not comparable."""
    if v is None or ref is None or any(isinstance(x, float) and math.isnan(x) for x in (v, ref)):
        return None
    if unit in ("ratio", "score"):
        d = (v - ref) * (100 if unit == "ratio" else 1)
        if round(d, 1) == 0:
            return _("unchanged")
        pts = i18n.localize(f"{abs(d):.1f}")
        count = i18n.plural_count(0.5)  # a number with a decimal: "1.0 points"
        return (i18n.ngettext("up {n} point", "up {n} points", count, n=pts) if d > 0
                else i18n.ngettext("down {n} point", "down {n} points", count, n=pts))
    if ref == 0:
        return None
    d = v / ref - 1
    if round(d, 3) == 0:
        return _("unchanged")
    amount = format_value(abs(d), "ratio")
    return _("up {amount}", amount=amount) if d > 0 else _("down {amount}", amount=amount)


def _kpi_meta(kpi_id: str) -> tuple[str, str]:
    """Display name and unit of a KPI id from the registry ("revenue" -> ("Revenue", "money"))."""
    from ..kpis.registry import REGISTRY  # lazy: the KPI layer is only needed for ids

    base, _sep, measure = str(kpi_id).partition(".")
    k = REGISTRY.get(measure or base)
    if k is not None and k.unit != "table":
        return i18n.kpi_name(k), k.unit
    if measure in ("revenue", "avg_purchase_value"):
        return i18n.kpi_name(measure), "money"
    if measure in ("quantity", "count", "won_deals"):
        return (i18n.kpi_name(measure) if measure in REGISTRY else _label(measure, 60)), "count"
    if measure == "share":
        return _("Share"), "ratio"
    return _label(measure or base, 60), ""


def _wide(df: pd.DataFrame | None, needed: Sequence[str]) -> pd.DataFrame | None:
    """Pivot a tidy table-KPI frame (kpi "table.measure", value) to one column per measure."""
    if df is None or all(c in df.columns for c in needed) or not {"kpi", "value"} <= set(df.columns):
        return df
    keys = [c for c in df.columns if c not in ("kpi", "value", "note")]
    measure = df["kpi"].astype(str).str.rsplit(".", n=1).str[-1].rename("measure")
    wide = df.set_index([*keys, measure])["value"].unstack("measure") if keys else None
    if wide is None:
        return df
    wide.columns.name = None
    return wide.reset_index()


def _latest(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Keep only the latest period when a frame holds several; return it with its label."""
    if "period" not in df.columns or df["period"].isna().all():
        return df, ""
    last = df["period"].dropna().max()
    return df[df["period"] == last], _period_text(last)


def _top(df: pd.DataFrame, label: str, by: str, n: int, sums: Sequence[str] = ()) -> tuple[pd.DataFrame, int]:
    """The n largest rows by `by` (NaN last). With `sums` (additive columns), the rest become one
    "Other" row holding their sums (its other numbers NaN). Returns the rows and how many were cut."""
    df = df.sort_values(by, ascending=False, na_position="last", kind="stable")
    if len(df) <= n:
        return df, 0
    keep = n - 1 if sums else n
    head, rest = df.iloc[:keep], df.iloc[keep:]
    if sums:
        other = {c: (rest[c].sum(min_count=1) if c in sums else np.nan) for c in df.columns if c != label}
        other[label] = "Other"  # shown as _("Other") by _label
        head = pd.concat([head, pd.DataFrame([other])], ignore_index=True)
    return head, len(rest)


def _figure(height: float = FIGSIZE[1], ncols: int = 1, **subplot_kw: Any) -> tuple[Chart, Any]:
    use_house_style()
    fig = Chart(figsize=(FIGSIZE[0], height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols, **subplot_kw)
    if i18n.is_rtl():  # titles start on the right, where a right-to-left reader starts
        for ax in np.atleast_1d(axes):
            ax.set_title("", loc="left")
    return fig, axes


def _title(ax: Any, text: str, **kw: Any) -> None:
    """The axes title, at the reading start: left, or right in a right-to-left locale."""
    ax.set_title(text, loc="right" if i18n.is_rtl() else "left", **kw)


def _suptitle(fig: Figure, text: str) -> None:
    rtl = i18n.is_rtl()
    fig.suptitle(text, x=0.99 if rtl else 0.01, ha="right" if rtl else "left", fontsize=13, fontweight="bold")


def _empty(title: str, message: str = NO_DATA) -> Chart:
    message = _(message)
    fig, ax = _figure(height=2.0)
    ax.set_axis_off()
    _title(ax, _clip(title, TITLE_WIDTH))
    ax.text(0.5, 0.45, message, ha="center", va="center", fontsize=12, color=HOUSE_COLORS["muted"],
            transform=ax.transAxes)
    fig.alt_text = _("{title}: {message}.", title=title, message=message[:1].lower() + message[1:])
    _rtl_texts(fig)
    return fig


def _note(ax: Any, text: str) -> None:
    """A muted footnote under the axes, below any tick labels (the constrained layout keeps it in)."""
    rtl = i18n.is_rtl()
    if ax.xaxis.get_visible():  # the x label slot sits under the tick labels
        ax.set_xlabel(_("; ").join(t for t in (ax.get_xlabel(), text) if t), loc="right" if rtl else "left",
                      fontsize=9, color=HOUSE_COLORS["muted"])
        return
    ax.annotate(text, xy=(1 if rtl else 0, 0), xycoords="axes fraction", xytext=(0, -8),
                textcoords="offset points", ha="right" if rtl else "left", va="top", fontsize=9,
                color=HOUSE_COLORS["muted"])


def _bar_height(n_rows: int, per_row: float = 0.32, base: float = 1.1) -> float:
    return max(2.4, base + per_row * n_rows)


def _hbar_axes(ax: Any, labels: Sequence[str]) -> None:
    """Category axis for horizontal bars: first row on top, value axis hidden (bars carry labels)."""
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.xaxis.set_visible(False)
    ax.spines[["bottom", "top", "right"]].set_visible(False)
    ax.grid(False)
    ax.tick_params(axis="y", length=0)


def _bar_labels(ax: Any, bars: Any, values: Sequence[float], unit: str, currency: str, **kw: Any) -> None:
    texts = [format_value(v, unit, currency) for v in values]
    ax.bar_label(bars, texts, padding=3, fontsize=kw.pop("fontsize", 10), path_effects=_HALO, **kw)


def _title_legend(ax: Any, title: str, handles: Sequence[Any] = (), label_chars: int = 0) -> None:
    """Title, then a one-line legend (wrapped to more rows if it would not fit) above the axes.
    label_chars: longest category label left of the axes, which narrows the room for the legend."""
    _title(ax, _clip(title, TITLE_WIDTH), pad=10)
    if not handles:
        return
    room = FIGSIZE[0] - 0.3 - (0.25 + 0.075 * label_chars if label_chars else 0.7)  # inches
    widths = [0.5 + 0.075 * len(h.get_label()) for h in handles]  # handle + 10 pt text + spacing
    for ncols in range(len(handles), 0, -1):  # the most columns that fit
        rows = math.ceil(len(handles) / ncols)
        if ncols == 1 or sum(max(widths[c::ncols]) for c in range(ncols)) <= room:
            break
    by_row = [h for c in range(ncols) for h in handles[c::ncols]]  # so the wrapped legend reads across
    rtl = i18n.is_rtl()
    if rtl and rows == 1:  # read from the right: the first entry rightmost
        by_row = by_row[::-1]
    ax.legend(handles=by_row, loc="lower right" if rtl else "lower left", bbox_to_anchor=(1 if rtl else 0, 1.0),
              ncols=ncols, borderaxespad=0.2, handlelength=1.6, columnspacing=1.2, markerfirst=not rtl)
    _title(ax, _clip(title, TITLE_WIDTH), pad=8 + 17 * rows)


def _heading(title: str, period: str) -> str:
    """"Funnel, Sep 2026": a chart's title with the period it shows."""
    return _("{title}, {period}", title=title, period=period) if period else title


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


RLM = "\u200f"  # right-to-left mark


def _rtl_texts(fig: Figure) -> None:
    """In a right-to-left locale every text starts with a right-to-left mark: matplotlib takes a text's
    direction from its first strong character, and a number or a Latin name first (or CLDR's left-to-right
    mark before a sign, "‎+۳۵ هزار دلار") would lay a Persian label out left to right."""
    if not i18n.is_rtl():
        return
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        text = t.get_text()
        if text and not text.startswith(RLM):
            t.set_text(RLM + text)


def _finish(fig: Chart, alt: str, data: pd.DataFrame | None = None, name: str = "chart") -> Chart:
    """The figure with its alt text and the numbers it shows (`data`, one row per bar, point or cell), which
    figure_to_html offers as `<name>.csv` under the chart."""
    _rtl_texts(fig)
    fig.alt_text = re.sub(r"\s+", " ", alt).strip()
    if data is not None:
        fig._kpitools_data = data.reset_index(drop=True)
        fig._kpitools_data_name = name
    return fig


# ----------------------------------------------------------------------------- 1. trend

def _as_frame(data: pd.DataFrame | pd.Series | None, value: str = "value") -> pd.DataFrame | None:
    """Series (indexed by period) or frame (period column or period index) -> frame with period."""
    if data is None:
        return None
    if isinstance(data, pd.Series):
        return pd.DataFrame({"period": data.index, value: data.to_numpy()})
    if "period" not in data.columns:
        data = data.rename_axis("period").reset_index()
    return data


def _to_x(periods: Iterable[Any]) -> dict[Any, Any]:
    """Map each period to an x value: its start time if every period parses as one (a real time
    axis, gaps included), else its position in sorted order (a category axis)."""
    keys = list(dict.fromkeys(p for p in periods if not pd.isna(p)))
    try:
        starts = [p.start_time if isinstance(p, pd.Period) or i18n.is_jalali(p) else
                  (p if isinstance(p, pd.Timestamp) else pd.Period(str(p)).start_time) for p in keys]
        return {k: np.datetime64(s, "ns") for k, s in zip(keys, starts)}
    except (ValueError, TypeError):
        return {k: i for i, k in enumerate(sorted(keys, key=str))}


@i18n.localised
def kpi_trend(actual: pd.DataFrame | pd.Series | None, target: pd.DataFrame | pd.Series | float | None = None,
              forecast: pd.DataFrame | None = None, *, title: str | None = None, unit: str | None = None,
              currency: str = "USD", by: str | None = None, max_groups: int = 6) -> Figure:
    """A KPI over time: actual values as a line, the target and the forecast mean dashed, the
    forecast's 80% and 95% ranges shaded. One line per group (stable region colours) when the frame has a
    group column (`by`, or the one non-KPI text column); target and forecast need a single series.

    actual: KPI frame (period, [group], kpi, value) or a Series indexed by period.
    target: a number, a Series indexed by period, or a frame with period and target (or value).
    forecast: frame indexed by period (or with a period column): mean, lo_80, hi_80, lo_95, hi_95.
    """
    title = _(title) if title else title
    df = _as_frame(actual)
    kpi_id = None
    if df is not None and "kpi" in df.columns and df["kpi"].nunique() > 0:
        kpis = df["kpi"].dropna().unique()
        if len(kpis) > 1:
            raise ValueError(f"kpi_trend draws one KPI; filter the frame to one of: {', '.join(map(str, kpis))}")
        kpi_id = kpis[0]
    if unit is None and df is not None and "unit" in df.columns and df["unit"].notna().any():
        unit = str(df["unit"].dropna().iloc[0])
    if kpi_id is not None and (title is None or unit is None):
        name, kpi_unit = _kpi_meta(kpi_id)
        title = title if title is not None else name
        unit = unit if unit is not None else kpi_unit
    if title is None:
        title = str(actual.name) if isinstance(actual, pd.Series) and actual.name is not None else _("Trend")
    unit = unit or ""
    if df is None or _is_empty(df):
        return _empty(title)
    _require(df, ["period", "value"], "kpi_trend")
    df = df.dropna(subset=["period"]).assign(value=_num(df["value"]))

    if by is None:
        groups = [c for c in df.columns if c not in _META and not pd.api.types.is_numeric_dtype(df[c])
                  and df[c].nunique() > 1]
        if len(groups) > 1:
            raise ValueError(f"kpi_trend: several group columns ({', '.join(groups)}); pass by=... or filter")
        by = groups[0] if groups else None
    if by is not None and (target is not None or forecast is not None):
        raise ValueError("kpi_trend: target and forecast need a single series; filter to one group")

    fc = _as_frame(forecast)
    if fc is not None and (len(fc) == 0 or "mean" not in fc.columns):
        fc = None
    tg = None if target is None or np.isscalar(target) else _as_frame(target, "target")
    if tg is not None and "target" not in tg.columns:
        tg = tg.rename(columns={"value": "target"})
    all_periods = list(df["period"]) + (list(fc["period"]) if fc is not None else []) + \
        (list(tg["period"]) if tg is not None else [])
    xmap = _to_x(all_periods)
    is_time = bool(xmap) and isinstance(next(iter(xmap.values())), np.datetime64)

    def xs(periods: pd.Series) -> np.ndarray:
        return np.array([xmap.get(p) for p in periods])

    fig, ax = _figure()
    ax.yaxis.set_major_formatter(ValueFormatter(unit, currency))
    if unit in ("days", "months", "minutes"):
        ax.set_ylabel(i18n.pgettext("unit", unit))
    ax.grid(axis="x", visible=False)
    legend: list[Any] = []
    latest_period = df.loc[df["value"].notna(), "period"].max() if df["value"].notna().any() else None
    first_period = df.loc[df["value"].notna(), "period"].min() if latest_period is not None else None
    span = _span_text(first_period, latest_period)
    note = ""

    if by is not None:
        last = df.dropna(subset=["value"]).sort_values("period").groupby(by, sort=False, observed=True)["value"].last()
        order = last.sort_values(ascending=False).index.tolist()
        shown = order[:max_groups]
        if len(order) > max_groups:
            note = _("The {shown} highest of {n} by latest value; {hidden} not shown",
                     shown=i18n.localize(str(max_groups)),
                     n=i18n.localize(str(len(order))), hidden=i18n.localize(str(len(order) - max_groups)))
        colors = group_colors(shown)
        for g in shown:
            part = df[df[by] == g].sort_values("period")
            (line,) = ax.plot(xs(part["period"]), part["value"], color=colors[g], lw=2,
                              marker="o" if len(part) <= 12 else None, ms=4, label=_label(g, 18))
            legend.append(line)
        parts = [_("{name} {value}", name=_label(g, 60), value=format_value(last[g], unit, currency))
                 for g in shown[:4]]
        alt = _("{title} {span}, by {dimension}: latest {values}", title=title, span=span,
                dimension=_(by), values=_(", ").join(parts))
        if len(order) > 4:
            alt = _("{text}; {n} more", text=alt, n=i18n.localize(str(len(order) - 4)))
        alt = _("{sentence}.", sentence=alt)
        data = df.loc[df[by].isin(shown), ["period", by, "value"]].sort_values([by, "period"], key=_sort_key(xmap))
    else:
        df = df.sort_values("period")
        if fc is not None:
            fc = fc.sort_values("period")
            fx = xs(fc["period"])
            for lo, hi, alpha, name in (("lo_95", "hi_95", 0.15, _("95% range")),
                                        ("lo_80", "hi_80", 0.30, _("80% range"))):
                if lo in fc.columns and hi in fc.columns:
                    legend.insert(0, ax.fill_between(fx, _num(fc[lo]), _num(fc[hi]), color=HOUSE_COLORS["forecast"],
                                                     alpha=alpha, lw=0, label=name))
            last_ok = df.dropna(subset=["value"]).iloc[-1:]  # join the forecast to the last actual point
            mx = np.concatenate([xs(last_ok["period"]), fx])
            my = np.concatenate([last_ok["value"].to_numpy(), _num(fc["mean"]).to_numpy()])
            legend.insert(0, ax.plot(mx, my, color=HOUSE_COLORS["forecast"], ls="--", lw=2, label=_("Forecast"))[0])
        if tg is not None and not _num(tg["target"]).isna().all():
            tg = tg.sort_values("period")
            legend.insert(0, ax.plot(xs(tg["period"]), _num(tg["target"]), color=HOUSE_COLORS["target"], ls=(0, (4, 3)),
                                     lw=1.5, label=_("Target"))[0])
        elif (level := _scalar(target)) is not None and not math.isnan(level):
            legend.insert(0, ax.axhline(level, color=HOUSE_COLORS["target"], ls=(0, (4, 3)), lw=1.5,
                                        label=_("Target")))
        (line,) = ax.plot(xs(df["period"]), df["value"], color=HOUSE_COLORS["actual"], lw=2.2,
                          marker="o" if len(df) <= 12 else None, ms=4, label=_("Actual"))
        legend.insert(0, line)
        ok = df.dropna(subset=["value"])
        lx, ly = xs(ok["period"].iloc[-1:])[0], ok["value"].iloc[-1]
        ax.plot([lx], [ly], "o", color=HOUSE_COLORS["actual"], ms=6)
        ax.annotate(format_value(ly, unit, currency), (lx, ly), xytext=(-4, 8), textcoords="offset points",
                    ha="right", fontsize=10, fontweight="bold", color=HOUSE_COLORS["actual"],
                    path_effects=_HALO)
        alt = _("{title} {span}: latest ({period}) {value}", title=title, span=span,
                period=_period_text(latest_period), value=format_value(ly, unit, currency))
        if len(ok) > 1:
            change = _pct_change(ly, ok["value"].iloc[-2], unit)
            if change:
                alt = _("{text}, {change} on {previous}", text=alt, change=change,
                        previous=_period_text(ok["period"].iloc[-2]))
        tv = _scalar(target)
        if tg is not None:
            match = _num(tg.loc[tg["period"] == latest_period, "target"])
            tv = float(match.iloc[0]) if len(match) else None
        if tv is not None and not math.isnan(tv) and tv != 0:
            gap = ly / tv - 1
            if not round(gap, 3):
                alt = _("{text}, on target", text=alt)
            elif gap > 0:
                alt = _("{text}, {amount} above target ({target})", text=alt, amount=format_value(abs(gap), "ratio"),
                        target=format_value(tv, unit, currency))
            else:
                alt = _("{text}, {amount} below target ({target})", text=alt, amount=format_value(abs(gap), "ratio"),
                        target=format_value(tv, unit, currency))
        alt = _("{sentence}.", sentence=alt)
        if fc is not None and _num(fc["mean"]).notna().any():
            end = fc.dropna(subset=["mean"]).iloc[-1]
            text = _("Forecast for {period}: {value}", period=_period_text(end["period"]),
                     value=format_value(end["mean"], unit, currency))
            if {"lo_80", "hi_80"} <= set(fc.columns) and not pd.isna(end["lo_80"]):
                text = _("{text} (80% range {low} to {high})", text=text,
                         low=format_value(end["lo_80"], unit, currency),
                         high=format_value(end["hi_80"], unit, currency))
            alt += " " + _("{sentence}.", sentence=text)
        data = _trend_table(df, tg if tg is not None else target, fc, xmap)

    if unit in ("money", "count") and np.nanmin(ax.get_ylim()) > 0:
        ax.set_ylim(bottom=0)  # sums start at zero so changes are not exaggerated
    if is_time and (i18n.language() != "en" or any(i18n.is_jalali(p) for p in xmap)):
        _period_ticks(ax, xmap)
    elif is_time:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    else:
        cats = sorted(xmap, key=lambda p: xmap[p])
        step = max(1, math.ceil(len(cats) / 8))
        ax.set_xticks(range(0, len(cats), step), [_label(c, 10) for c in cats[::step]])
    _title_legend(ax, title, legend if len(legend) > 1 else ())
    if note:
        _note(ax, note)
    value_name = str(kpi_id) if kpi_id is not None else "value"
    return _finish(fig, alt, data.rename(columns={"value": value_name}), f"{value_name}_trend")


def _sort_key(xmap: dict[Any, Any]) -> Any:
    """A sort key putting periods in time order (by their place on the axis); other columns as they are."""
    return lambda col: col.map(xmap) if col.name == "period" else col


def _trend_table(actual: pd.DataFrame, target: Any, forecast: pd.DataFrame | None,
                 xmap: dict[Any, Any]) -> pd.DataFrame:
    """One row per period: value, target, and the forecast with its ranges (forecast_lo_80...), in time order."""
    rows: dict[Any, dict[str, Any]] = {p: {"value": v} for p, v in zip(actual["period"], actual["value"])}
    if isinstance(target, pd.DataFrame):
        for p, v in zip(target["period"], _num(target["target"])):
            rows.setdefault(p, {})["target"] = v
    elif (level := _scalar(target)) is not None and not math.isnan(level):
        for values in rows.values():
            values["target"] = level
    if forecast is not None:
        names = {"mean": "forecast", **{c: f"forecast_{c}" for c in ("lo_80", "hi_80", "lo_95", "hi_95")}}
        for record in forecast.to_dict("records"):
            rows.setdefault(record["period"], {}).update({n: record[c] for c, n in names.items() if c in record})
    order = sorted(rows, key=lambda p: xmap[p])
    return pd.DataFrame([{"period": p, **rows[p]} for p in order])


def _period_ticks(ax: Any, xmap: dict[Any, Any], most: int = 7) -> None:
    """Time-axis ticks at period starts, labelled in the active locale and the periods' own calendar
    (matplotlib's date ticks know only Gregorian English months): "Mehr 1405", then month names alone
    until the year changes."""
    periods = [p for p in sorted(xmap, key=lambda p: xmap[p]) if isinstance(p, pd.Period) or i18n.is_jalali(p)]
    if not periods:
        return
    step = max(1, math.ceil(len(periods) / most))
    picks = periods[::step]
    labels, year = [], None
    for p in picks:
        kind = i18n.period_kind(p)
        if kind == "M" and i18n.period_year(p) == year:
            labels.append(i18n.month_name(p.month, calendar="jalali" if i18n.is_jalali(p) else "gregorian",
                                          width="wide" if i18n.is_jalali(p) else "abbreviated"))
        else:
            labels.append(_period_text(p))
        year = i18n.period_year(p)
    ax.set_xticks([xmap[p] for p in picks], labels)


# ----------------------------------------------------------------------------- 2. this vs previous periods

_COMPARE = (("value", "actual"), ("previous", "previous"), ("last_year", "last_year"))


@i18n.localised
def period_bars(df: pd.DataFrame | None, title: str | None = None, unit: str | None = None, *,
                label: str | None = None, currency: str = "USD", max_groups: int = 10) -> Figure:
    """This period vs the previous period vs the same period a year earlier, as grouped horizontal bars:
    one group of bars per region/team/... (one KPI), or per KPI (no group column; bars of KPIs with
    different units are scaled per KPI, every bar carries its value).

    df: columns <label>, value, and previous and/or last_year (the output of `kpitools.kpis.compare`
    fits as is). label: the category column (default: the group column, else name, else kpi).
    """
    default_title = title is None
    title = _(title) if title else _("This period vs previous periods")
    if _is_empty(df, [c for c, _color in _COMPARE]):
        return _empty(title)
    _require(df, ["value"], "period_bars")
    df, period = _latest(df)
    groups = [c for c in df.columns if c not in _META and c not in ("previous", "last_year")
              and not pd.api.types.is_numeric_dtype(df[c])]
    if label is None:
        label = groups[0] if groups else ("name" if "name" in df.columns else "kpi" if "kpi" in df.columns else None)
    if label is None:
        raise ValueError("period_bars: no category column; pass label=...")
    by_kpi = label in ("kpi", "name")
    if not by_kpi and "kpi" in df.columns and df["kpi"].nunique() > 1:
        raise ValueError("period_bars draws one KPI by group, or several KPIs without a group: filter the frame")

    df = df.copy()
    for c, _color in _COMPARE:
        df[c] = _num(df[c]) if c in df.columns else np.nan
    if unit is not None:
        df["_unit"] = unit
    elif "unit" in df.columns:
        df["_unit"] = df["unit"].fillna("").astype(str)
    elif "kpi" in df.columns:
        df["_unit"] = df["kpi"].map(lambda k: _kpi_meta(k)[1])
    else:
        df["_unit"] = ""
    if "kpi" in df.columns and df["kpi"].nunique() == 1 and default_title:
        title = _("{kpi} by {dimension}", kpi=_kpi_meta(df["kpi"].iloc[0])[0], dimension=_(label)
                  if label in ("region", "team", "rep", "product", "channel") else _label(label, 30).lower())
    same_scale = df["_unit"].nunique() <= 1
    cut = 0
    if not by_kpi:
        df, cut = _top(df, label, "value", max_groups)
    elif len(df) > max_groups:
        df, cut = df.iloc[:max_groups], len(df) - max_groups
    series = [(c, color) for c, color in _COMPARE if df[c].notna().any()]
    n, k = len(df), len(series)

    # bars of one row share a scale; rows share one too unless their units differ
    values = df[[c for c, _color in series]].to_numpy(dtype=float)
    if same_scale:
        scale = np.ones(n)
    else:
        scale = np.nanmax(np.abs(values), axis=1)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    fig, ax = _figure(height=_bar_height(n, per_row=0.22 * k + 0.12))
    h = 0.8 / k
    p: Any = df["period"].iloc[0] if "period" in df.columns and len(df) else None
    names = {"value": _("This period"), "previous": _("Previous period"), "last_year": _("Same period last year")}
    if isinstance(p, pd.Period) or i18n.is_jalali(p):
        from ..calendars.periods import year_earlier
        names = {"value": _period_text(p), "previous": _period_text(p - 1), "last_year": _period_text(year_earlier(p))}
    for j, (c, color) in enumerate(series):
        y = np.arange(n) - 0.4 + h * (j + 0.5)
        raw = df[c].to_numpy(dtype=float)
        bars = ax.barh(y, np.nan_to_num(raw / scale), height=h * 0.9, color=HOUSE_COLORS[color], label=names[c])
        texts = [format_value(v, u, currency) for v, u in zip(raw, df["_unit"])]
        ax.bar_label(bars, texts, padding=3, fontsize=10 if c == "value" else 9, path_effects=_HALO,
                     color=HOUSE_COLORS["text"] if c == "value" else HOUSE_COLORS["muted"])
    _hbar_axes(ax, [_label(v) for v in df[label]])
    ax.margins(x=0.22)
    ax.axvline(0, color="#BBBBBB", lw=0.8)
    _title_legend(ax, title, ax.get_legend_handles_labels()[0], max(len(t.get_text()) for t in ax.get_yticklabels()))
    notes = []
    if not same_scale:
        notes.append(_("Bars are scaled per KPI"))
    if cut:
        notes.append(_("{n} more not shown", n=i18n.localize(str(cut))))
    if notes:
        _note(ax, _("; ").join(notes))

    def row_text(r: pd.Series) -> str:
        refs = (("previous", N_("{change} on the previous period")), ("last_year", N_("{change} on a year earlier")))
        changes = [_(when, change=change) for ref, when in refs
                   if (change := _pct_change(r["value"], r[ref], r["_unit"]))]
        text = _("{name} {value}", name=_label(r[label], 60), value=format_value(r["value"], r["_unit"], currency))
        return _("{text} ({change})", text=text, change=_(", ").join(changes)) if changes else text

    head = _heading(title, period)
    if by_kpi:
        more = n + cut - 3
        alt = _("{title}: {values}", title=head, values=_("; ").join(row_text(r) for _i, r in df.head(3).iterrows()))
        if more > 0:
            alt = i18n.ngettext("{text}; {n} more KPI", "{text}; {n} more KPIs", more, text=alt,
                                n=i18n.localize(str(more)))
    else:
        ok = df.dropna(subset=["value"])
        alt = (_("{title}: highest {row}", title=head, row=row_text(ok.iloc[0])) if len(ok)
               else _("{title}: no values", title=head))
        if len(ok) > 1:
            alt = _("{text}; lowest {row}", text=alt, row=row_text(ok.iloc[-1]))
    columns = [label, *[c for c, _color in series]] + ([] if same_scale else ["_unit"])
    data = df[columns].rename(columns={"_unit": "unit"})
    if period:
        data.insert(0, "period", df["period"])
    return _finish(fig, _("{sentence}.", sentence=alt), data, "period_comparison")


# ----------------------------------------------------------------------------- 3. funnel

def _stage_order(df: pd.DataFrame, col: str = "stage") -> pd.DataFrame:
    """Funnel stages in funnel order, an ordered categorical in its order, else as given."""
    names = df[col].astype(str).str.lower()
    if set(names) <= set(_FUNNEL_ORDER):
        return df.iloc[np.argsort([_FUNNEL_ORDER.index(s) for s in names], kind="stable")]
    if isinstance(df[col].dtype, pd.CategoricalDtype):
        return df.sort_values(col, kind="stable")
    return df


@i18n.localised
def funnel(stages: pd.DataFrame | None, title: str = N_("Funnel")) -> Figure:
    """Funnel bars (centred, widest first) with each stage's count and its conversion from the previous stage.

    stages: columns stage, count, in funnel order (the `funnel` KPI's tidy output works as is).
    """
    title = _(title)
    stages = _wide(stages, ["stage", "count"])
    if stages is not None and "count" not in stages.columns and "value" in stages.columns:
        stages = stages.rename(columns={"value": "count"})
    if _is_empty(stages, ["count"]):
        return _empty(title)
    _require(stages, ["stage", "count"], "funnel")
    stages, period = _latest(stages)
    if stages["stage"].duplicated().any():
        raise ValueError("funnel: one row per stage expected; filter the frame to one group")
    df = _stage_order(stages)
    counts = _num(df["count"]).to_numpy()
    prev = np.concatenate([[np.nan], counts[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(prev > 0, counts / prev, np.nan)
    labels = [_label(s, column="stage") for s in df["stage"]]
    n = len(df)
    width = np.nan_to_num(counts)
    top = width.max() or 1.0
    # Visitors often outnumber leads 30:1 and would flatten every other bar: shorten the first bar
    # (with a break mark and a note) and scale the rest to the second stage.
    rest = width[1:].max() if n > 1 else 0.0
    shortened = rest > 0 and width[0] > 4 * rest
    if shortened:
        top = rest * 1.4
        width[0] = top
    width = np.where(width > 0, np.maximum(width, top * 0.006), 0.0)  # a tiny stage stays visible

    fig, ax = _figure(height=_bar_height(n, per_row=0.42))
    ax.barh(range(n), width, left=-width / 2, height=0.72, color=HOUSE_COLORS["actual"])
    if shortened:
        for dx in (-0.035, 0.035):
            ax.plot([dx * top - 0.02 * top, dx * top + 0.02 * top], [0.42, -0.42], color="white", lw=3)
    _hbar_axes(ax, labels)
    ax.spines["left"].set_visible(False)
    ax.set_xlim(-top / 2 * 1.04, top / 2 * 1.9)  # the right-hand columns hold the numbers
    c1, c2 = top / 2 * 1.42, top / 2 * 1.88
    ax.text(c1, -0.75, _("Count"), ha="right", va="bottom", fontsize=9, color=HOUSE_COLORS["muted"])
    ax.text(c2, -0.75, _("From previous"), ha="right", va="bottom", fontsize=9, color=HOUSE_COLORS["muted"])
    for i, (c, r) in enumerate(zip(counts, rates)):
        ax.text(c1, i, format_value(c, "count"), ha="right", va="center", fontsize=10, fontweight="bold")
        ax.text(c2, i, "" if i == 0 else format_value(r, "ratio"), ha="right", va="center", fontsize=10,
                color=HOUSE_COLORS["muted"])
    ax.set_ylim(n - 0.5, -1.0)
    _title(ax, _clip(_heading(title, period), TITLE_WIDTH))
    if shortened:
        _note(ax, _("{stage} bar shortened (not to scale)", stage=labels[0]))

    first, last = counts[0], counts[-1]
    alt = _("{title}: {count} at {stage}", title=_heading(title, period), count=format_value(first, "count"),
            stage=labels[0])
    if n > 1:
        overall = last / first if first and not math.isnan(first) and not math.isnan(last) else np.nan
        alt = _("{text}, {count} at {stage} ({share} overall)", text=alt, count=format_value(last, "count"),
                stage=labels[-1], share=format_value(overall, "ratio", decimals=2 if overall < 0.01 else None))
        if np.isfinite(rates).any():
            w = int(np.nanargmin(rates))
            alt = _("{text}; the weakest step is {first} to {second} ({rate})", text=alt, first=labels[w - 1],
                    second=labels[w], rate=format_value(rates[w], "ratio"))
    data = pd.DataFrame({"stage": df["stage"].to_numpy(), "count": counts, "from_previous": rates})
    return _finish(fig, _("{sentence}.", sentence=alt), data, "funnel")


# ----------------------------------------------------------------------------- 4. pipeline by stage

@i18n.localised
def pipeline_by_stage(df: pd.DataFrame | None, title: str = N_("Open pipeline by stage"), *, currency: str = "USD",
                      max_stages: int = 10) -> Figure:
    """Open pipeline value per stage (horizontal bars in stage order) labelled with value and deal count.

    df: columns stage, value, count (count optional).
    """
    title = _(title)
    if _is_empty(df, ["value"]):
        return _empty(title)
    _require(df, ["stage", "value"], "pipeline_by_stage")
    df, period = _latest(df)
    df = _stage_order(df).reset_index(drop=True)
    df = df.assign(value=_num(df["value"]), count=_num(df["count"]) if "count" in df.columns else np.nan)
    cut = 0
    if len(df) > max_stages:  # keep stage order; fold the smallest stages into "Other"
        keep = set(df["value"].nlargest(max_stages - 1).index)
        rest = df[~df.index.isin(keep)]
        df = pd.concat([df[df.index.isin(keep)], pd.DataFrame([{"stage": "Other", "value": rest["value"].sum(),
                       "count": rest["count"].sum(min_count=1)}])], ignore_index=True)
        cut = len(rest)
    n = len(df)
    fig, ax = _figure(height=_bar_height(n, per_row=0.40))
    bars = ax.barh(range(n), df["value"].fillna(0), height=0.7,
                   color=[HOUSE_COLORS["neutral"] if s == "Other" else HOUSE_COLORS["actual"] for s in df["stage"]])
    texts = [format_money(v, currency) if pd.isna(c) else
             i18n.ngettext("{amount} · {n} deal", "{amount} · {n} deals", i18n.plural_count(c),
                           amount=format_money(v, currency), n=format_value(c, "count"))
             for v, c in zip(df["value"], df["count"])]
    ax.bar_label(bars, texts, padding=4, fontsize=10)
    _hbar_axes(ax, [_label(s, column="stage") for s in df["stage"]])
    ax.margins(x=0.35)
    _title(ax, _clip(_heading(title, period), TITLE_WIDTH))
    if cut:
        _note(ax, _("Other: {n} smaller stages", n=i18n.localize(str(cut))))

    total, deals = df["value"].sum(), df["count"].sum(min_count=1)
    alt = (_("{title}: {amount} in total", title=_heading(title, period), amount=format_money(total, currency))
           if pd.isna(deals) else
           i18n.ngettext("{title}: {amount} in total across {n} deal", "{title}: {amount} in total across {n} deals",
                         i18n.plural_count(deals), title=_heading(title, period), amount=format_money(total, currency),
                         n=format_value(deals, "count")))
    if df["value"].notna().any() and total:
        big = df.loc[df["value"].idxmax()]
        alt = _("{text}; the largest stage is {stage} with {amount} ({share})", text=alt,
                stage=_label(big["stage"], 60), amount=format_money(big["value"], currency),
                share=format_value(big["value"] / total, "ratio"))
    return _finish(fig, _("{sentence}.", sentence=alt), df[["stage", "value", "count"]], "pipeline_by_stage")


# ----------------------------------------------------------------------------- 5. MRR waterfall

@i18n.localised
def mrr_waterfall(movements: pd.DataFrame | None, start: float, end: float | None = None, *,
                  title: str = N_("MRR movements"), currency: str = "USD") -> Figure:
    """Waterfall from MRR at the start to MRR at the end of a period through its movements:
    new, expansion and reactivation add (green), contraction and churn subtract (red) whatever sign
    they come with. If start + movements differs from `end`, an "Unexplained" bar shows the gap.

    movements: columns movement, value (or kpi ids new_mrr, churned_mrr, ... and value).
    end: MRR at the end; default start + the movements.
    """
    title = _(title)
    if movements is not None and "movement" not in movements.columns and "kpi" in movements.columns:
        movements = movements.assign(movement=movements["kpi"].map(_MOVEMENT_KPIS)).dropna(subset=["movement"])
    if start is None or pd.isna(start) or _is_empty(movements, ["value"]):
        return _empty(title)
    _require(movements, ["movement", "value"], "mrr_waterfall")
    movements, _period = _latest(movements)
    m = movements.assign(movement=movements["movement"].astype(str).str.lower(), value=_num(movements["value"]))
    m = m[m["movement"] != "none"].groupby("movement", sort=False)["value"].sum(min_count=1)
    order = [k for k in _MOVEMENT_ORDER if k in m.index] + [k for k in m.index if k not in _MOVEMENT_ORDER]
    m = m.reindex(order)
    signed = pd.Series({k: (-abs(v) if k in _DECREASES else abs(v) if k in _MOVEMENT_ORDER else v)
                        for k, v in m.items()}, dtype="float64")
    start = float(start)
    end = start + signed.sum() if end is None or pd.isna(end) else float(end)
    gap = end - start - signed.sum()
    if abs(gap) > max(0.5, 1e-6 * abs(end)):  # stay honest when the inputs disagree
        signed["unexplained"] = gap

    steps = signed.fillna(0.0).to_numpy()
    levels = start + np.concatenate([[0.0], np.cumsum(steps)])
    names = [_("Start"), *[_label(k, column="movement") for k in signed.index], _("End")]
    # Movements are often a few % of MRR: then the axis starts near the lowest level (the totals get a
    # break mark and a note) instead of at zero, where every movement would be a sliver.
    lo, hi = levels.min(), levels.max()
    base = 0.0
    if lo > 0 and hi - lo < 0.25 * lo:
        unit = 10 ** math.floor(math.log10(max(hi - lo, 1.0)))
        base = max(0.0, math.floor((lo - 0.8 * (hi - lo)) / unit) * unit)
    bottoms = np.concatenate([[base], np.minimum(levels[:-1], levels[1:]), [base]])
    heights = np.concatenate([[start - base], np.abs(steps), [end - base]])
    step_colors = [HOUSE_COLORS["neutral" if k == "unexplained" else "negative" if v < 0 else "positive"]
                   for k, v in zip(signed.index, steps)]
    colors = [HOUSE_COLORS["actual"], *step_colors, HOUSE_COLORS["actual"]]

    fig, ax = _figure()
    x = np.arange(len(names))
    ax.bar(x, heights, bottom=bottoms, color=colors, width=0.62)
    for i, level in enumerate(levels):  # connector: the running level after bar i, to bar i + 1
        ax.plot([i + 0.31, i + 0.69], [level, level], color="#999999", lw=0.8, ls=":")
    def total(v: float) -> str:  # "$1.27M", not "$1.3M": totals must visibly add up with the movements
        return format_money(v, currency, 2 if abs(v) >= 1e6 else None)

    labels = [total(start)] + [
        MISSING if pd.isna(v) else (i18n.formatting.sign_symbols()[0] if v >= 0 else "") + format_money(v, currency)
        for v in signed] + [total(end)]
    tops = bottoms + heights
    for i, (t, text) in enumerate(zip(tops, labels)):
        ax.annotate(text, (i, t), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=10, fontweight="bold" if i in (0, len(names) - 1) else "normal")
    ax.set_xticks(x, names)
    ax.tick_params(axis="x", length=0)
    ax.yaxis.set_major_formatter(ValueFormatter("money", currency))
    ax.set_ylim(base, base + (max(tops.max(), 0) - base) * 1.12 or 1)
    if base > 0:
        for i in (0, len(names) - 1):  # a white break across each total: its bar does not start at zero
            y = base + (min(start, end) - base) * 0.25
            ax.plot([i - 0.36, i + 0.36], [y, y + (hi - lo) * 0.06], color="white", lw=3)
        _note(ax, _("Axis starts at {amount}", amount=format_money(base, currency)))
    _title(ax, _clip(title, TITLE_WIDTH))

    change = _pct_change(end, start, "money")
    parts = [_("{name} {value}", name=i18n.in_sentence(_label(k, 60, column="movement")), value=labels[i + 1])
             for i, k in enumerate(signed.index)]
    net = end - start
    net_text = (i18n.formatting.sign_symbols()[0] if net >= 0 else "") + format_money(net, currency)
    if change:
        net_text = _("{amount}, {change}", amount=net_text, change=change)
    alt = _("{title}: MRR went from {start} to {end} ({net}): {movements}.", title=title, start=total(start),
            end=total(end), net=net_text, movements=_(", ").join(parts))
    data = pd.DataFrame({"step": ["start", *signed.index, "end"], "value": [start, *signed.to_numpy(), end]})
    return _finish(fig, alt, data, "mrr_movements")


# ----------------------------------------------------------------------------- 6. cohorts

@i18n.localised
def cohort_heatmap(df: pd.DataFrame | None, title: str = N_("Retention by cohort"), *, max_cohorts: int = 12,
                   max_months: int = 12) -> Figure:
    """Share of each acquisition cohort (rows) still paying k months later (columns), as an annotated heatmap.

    df: columns cohort (or period), months_since, value (shares 0-1). The `cohort_retention` KPI's
    tidy output works as is (its "retention" measure is used). Shows the latest `max_cohorts` cohorts.
    """
    title = _(title)
    if df is not None and "kpi" in df.columns and df["kpi"].nunique() > 1:
        df = df[df["kpi"].astype(str).str.endswith("retention")]
    if df is not None and "cohort" not in df.columns and "period" in df.columns:
        df = df.rename(columns={"period": "cohort"})
    if df is None or _is_empty(df):
        return _empty(title)
    _require(df, ["cohort", "months_since", "value"], "cohort_heatmap")
    df = df.assign(months_since=_num(df["months_since"]).astype("Int64"), value=_num(df["value"]))
    grid = df.pivot_table(index="cohort", columns="months_since", values="value", aggfunc="mean", observed=True,
                          dropna=False).sort_index()
    grid = grid.loc[:, [c for c in grid.columns if pd.notna(c) and 0 <= c <= max_months]].dropna(how="all")
    if grid.empty:
        return _empty(title)
    n_all = len(grid)
    grid = grid.iloc[-max_cohorts:]
    grid = grid.loc[:, grid.notna().any()]
    cohorts = list(grid.index)
    grid.index = [_label(_period_text(c), 16) for c in cohorts]
    grid.columns = [int(c) for c in grid.columns]

    fig, ax = _figure(height=max(2.4, 1.2 + 0.3 * len(grid)))
    # colours span the data (from a round 10% below its minimum) so 85% and 95% look different
    vmin = max(0.0, math.floor(float(np.nanmin(grid.to_numpy())) * 10 - 1) / 10)
    vmax = max(1.0, float(np.nanmax(grid.to_numpy())))
    annot = grid.map(lambda v: "" if pd.isna(v) else format_value(v, "ratio", decimals=0))
    sns.heatmap(grid, ax=ax, annot=annot, fmt="", cmap="Blues", vmin=vmin, vmax=vmax, cbar=False,
                linewidths=0.6, linecolor="white", annot_kws={"fontsize": 9 if grid.shape[1] > 10 else 10},
                xticklabels=[i18n.localize(str(c)) for c in grid.columns])
    ax.set_xlabel(_("Months since first payment"))
    ax.set_ylabel("")
    ax.tick_params(axis="both", length=0)
    ax.tick_params(axis="y", rotation=0)
    ax.grid(False)
    _title(ax, _clip(title, TITLE_WIDTH))
    if n_all > len(grid):
        ax.set_xlabel(_("Months since first payment (latest {n} of {total} cohorts)", n=i18n.localize(str(len(grid))),
                        total=i18n.localize(str(n_all))))

    means = grid.mean()
    picks = [m for m in (1, 3, 6, 12, 24) if m in means.index and pd.notna(means[m])]
    if picks and means.index.max() not in picks and pd.notna(means[means.index.max()]):
        picks.append(int(means.index.max()))
    picks = sorted(set([picks[0], picks[len(picks) // 2], picks[-1]])) if picks else []
    alt = _("{title}: {cohorts}", title=title, cohorts=_(
        _COHORT_SPANS.get(_kind(cohorts[0]) or "", N_("{n} cohorts from {first} to {last}")),
        n=i18n.localize(str(len(grid))), first=_period_text(cohorts[0]), last=_period_text(cohorts[-1])))
    if picks:
        parts = [i18n.ngettext("{share} after {n} month", "{share} after {n} months", m,
                               share=format_value(means[m], "ratio", decimals=0), n=i18n.localize(str(m)))
                 for m in picks]
        alt = _("{text}; on average {shares} are still paying", text=alt, shares=_(", ").join(parts))
    data = pd.DataFrame([{"cohort": c, "months_since": m, "share": v}
                         for c, row in zip(cohorts, grid.to_numpy()) for m, v in zip(grid.columns, row) if pd.notna(v)])
    return _finish(fig, _("{sentence}.", sentence=alt), data, "cohort_retention")


# ----------------------------------------------------------------------------- 7. reps

@i18n.localised
def rep_leaderboard(df: pd.DataFrame | None, title: str | None = None, unit: str | None = None, *,
                    value: str = "value", currency: str = "USD", max_reps: int = 15,
                    higher_is_better: bool = True) -> Figure:
    """Reps ranked by a measure (horizontal bars, best on top), coloured by status when there is one,
    with the team median as a line (or a tick per bar when medians differ by team).

    df: columns rep, <value>, and optionally team_median (or <value>_team_median) and status.
    The `rep_leaderboard` KPI's tidy output works with value="revenue" (or another measure).
    """
    df = _wide(df, ["rep", value])
    title = _(title) if title else title
    title = title or (_("{kpi} by rep", kpi=_kpi_meta(value)[0]) if value != "value" else _("Leaderboard"))
    if unit is None and value != "value":
        unit = _kpi_meta(value)[1]
    elif unit is None:
        units = df["unit"].dropna() if df is not None and "unit" in df.columns else pd.Series(dtype=object)
        unit = str(units.iloc[0]) if len(units) else ""
    if _is_empty(df, [value]):
        return _empty(title)
    _require(df, ["rep", value], "rep_leaderboard")
    df, period = _latest(df)
    median_col = next((c for c in (f"{value}_team_median", "team_median") if c in df.columns), None)
    df = df.assign(_v=_num(df[value]), _m=_num(df[median_col]) if median_col else np.nan)
    overall = df["_v"].median()
    ranked = df.assign(_key=df["_v"] if higher_is_better else -df["_v"])
    ranked, cut = _top(ranked, "rep", "_key", max_reps)
    n = len(ranked)
    status = ranked["status"] if "status" in ranked.columns else pd.Series([None] * n, index=ranked.index)

    has_status = status.notna() & (status.astype(str).str.strip() != "")
    colors = [status_color(s) if ok or not has_status.any() else HOUSE_COLORS["last_year"]
              for s, ok in zip(status, has_status)]
    fig, ax = _figure(height=_bar_height(n, per_row=0.30))
    bars = ax.barh(range(n), ranked["_v"].fillna(0), height=0.7, color=colors)
    _bar_labels(ax, bars, ranked["_v"], unit, currency)
    _hbar_axes(ax, [_label(r) for r in ranked["rep"]])
    ax.margins(x=0.18)
    handles: list[Any] = []
    medians = ranked["_m"].dropna().unique()
    if len(medians) > 1:  # reps of different teams: one tick per bar at its own team's median
        for i, mv in enumerate(ranked["_m"]):
            if not pd.isna(mv):
                ax.plot([mv, mv], [i - 0.45, i + 0.45], color=HOUSE_COLORS["text"], lw=2)
        handles.append(Line2D([], [], color=HOUSE_COLORS["text"], lw=2, label=_("Team median")))
        median_text = _("each rep's team median is marked on its bar")
    else:
        mv, team = (medians[0], True) if len(medians) else (overall, False)
        shown = format_value(mv, unit, currency)
        median_text = _("team median {value}", value=shown) if team else _("median {value}", value=shown)
        if not pd.isna(mv):
            ax.axvline(mv, color=HOUSE_COLORS["text"], ls=(0, (4, 3)), lw=1.2)
            handles.append(Line2D([], [], color=HOUSE_COLORS["text"], ls=(0, (4, 3)), lw=1.2,
                                  label=_("Team median {value}", value=shown) if team
                                  else _("Median {value}", value=shown)))
    present = [s for s in STATUS_COLORS if s in set(status.dropna().astype(str).str.lower())]
    handles += [Patch(color=STATUS_COLORS[s], label=_capital(i18n.status_text(s))) for s in present]
    if present and not has_status.all():
        handles.append(Patch(color=HOUSE_COLORS["last_year"], label=_("No status")))
    _title_legend(ax, _heading(title, period), handles,
                  max(len(t.get_text()) for t in ax.get_yticklabels()))
    if cut:
        _note(ax, _("Top {n} of {total} reps", n=i18n.localize(str(n)), total=i18n.localize(str(n + cut))))

    ok = ranked.dropna(subset=["_v"])
    parts = []
    if len(ok):
        parts.append(_("{rep} leads with {value}", rep=_label(ok["rep"].iloc[0], 60),
                       value=format_value(ok["_v"].iloc[0], unit, currency)))
    if len(ok) > 1:
        last_rep, last_value = _label(ok["rep"].iloc[-1], 60), format_value(ok["_v"].iloc[-1], unit, currency)
        parts[-1] = (_("{text}, lowest shown is {rep} with {value}", text=parts[-1], rep=last_rep, value=last_value)
                     if cut else _("{text}, last is {rep} with {value}", text=parts[-1], rep=last_rep,
                                   value=last_value))
    parts.append(median_text)
    if "status" in df.columns:  # over every rep, not only those shown
        counts = df["status"].dropna().astype(str).str.strip().str.lower().value_counts()
        if any(s in counts for s in STATUS_COLORS):
            parts.append(_(", ").join(_("{n} {status}", n=i18n.localize(str(counts[s])), status=i18n.status_text(s))
                                      for s in STATUS_COLORS if s in counts))
    alt = _("{title}: {text}", title=_heading(title, period), text=_("; ").join(parts))
    if cut:
        alt = _("{text} (top {n} of {total} reps shown)", text=alt, n=i18n.localize(str(n)),
                total=i18n.localize(str(n + cut)))
    data = ranked[["rep", "_v", *(["_m"] if median_col else []), *(["status"] if "status" in ranked.columns else [])]]
    data = data.rename(columns={"_v": value, "_m": "team_median"})
    name = f"{value}_by_rep" if value != "value" else "leaderboard"
    return _finish(fig, _("{sentence}.", sentence=alt), data, name)


# ----------------------------------------------------------------------------- 8. products

@i18n.localised
def product_revenue_volume(df: pd.DataFrame | None, title: str = N_("Revenue and units by product"), *,
                           currency: str = "USD", max_products: int = 10) -> Figure:
    """Revenue and units side by side per product (shared rows, sorted by revenue), so a cheap product
    that sells many units stands out: its units bar is highlighted when its share of units is at least
    twice its share of revenue.

    df: columns product, revenue, quantity (the `product_performance` KPI's tidy output works as is).
    """
    title = _(title)
    df = _wide(df, ["product", "revenue", "quantity"])
    if _is_empty(df, ["revenue", "quantity"]):
        return _empty(title)
    _require(df, ["product", "revenue", "quantity"], "product_revenue_volume")
    df, period = _latest(df)
    df = df.assign(revenue=_num(df["revenue"]), quantity=_num(df["quantity"]))[["product", "revenue", "quantity"]]
    df, cut = _top(df, "product", "revenue", max_products, sums=("revenue", "quantity"))
    n = len(df)
    rev_share = df["revenue"] / df["revenue"].sum()
    qty_share = df["quantity"] / df["quantity"].sum()
    volume = ((qty_share >= 2 * rev_share) & (qty_share >= 0.1) & (df["product"] != "Other")).to_numpy()

    fig, (ax1, ax2) = _figure(height=_bar_height(n, per_row=0.36, base=1.3), ncols=2, sharey=True)
    other = (df["product"] == "Other").to_numpy()
    b1 = ax1.barh(range(n), df["revenue"].fillna(0), height=0.7,
                  color=np.where(other, HOUSE_COLORS["neutral"], HOUSE_COLORS["actual"]))
    _bar_labels(ax1, b1, df["revenue"], "money", currency)
    b2 = ax2.barh(range(n), df["quantity"].fillna(0), height=0.7,
                  color=np.where(volume, HOUSE_COLORS["forecast"],
                                 np.where(other, HOUSE_COLORS["neutral"], HOUSE_COLORS["previous"])))
    _bar_labels(ax2, b2, df["quantity"], "count", currency)
    _hbar_axes(ax1, [_label(p) for p in df["product"]])
    _hbar_axes(ax2, [_label(p) for p in df["product"]])
    ax2.tick_params(axis="y", labelleft=False)
    for ax, name in ((ax1, _("Revenue")), (ax2, _("Units sold"))):
        ax.margins(x=0.3)
        _title(ax, name, fontsize=11, fontweight="normal", color=HOUSE_COLORS["muted"], pad=4)
    _suptitle(fig, _clip(_heading(title, period), TITLE_WIDTH))
    notes = [text for text, show in ((_("Highlighted: many units, little revenue"), volume.any()),
                                     (_("Other: {n} products", n=i18n.localize(str(cut))), cut)) if show]
    if notes:
        _note(ax1, _("; ").join(notes))

    ok = df[df["product"] != "Other"].dropna(subset=["revenue"])
    parts = []
    if len(ok):
        top = ok.iloc[0]
        parts.append(_("{product} brings the most revenue ({amount}, {share})", product=_label(top["product"], 60),
                       amount=format_money(top["revenue"], currency), share=format_value(rev_share[top.name], "ratio")))
    by_units = df[df["product"] != "Other"].dropna(subset=["quantity"])
    if len(by_units):
        u = by_units.loc[by_units["quantity"].idxmax()]
        parts.append(_("{product} sells the most units ({units}, {unit_share} of units) for {revenue_share} of "
                       "revenue", product=_label(u["product"], 60), units=format_value(u["quantity"], "count"),
                       unit_share=format_value(qty_share[u.name], "ratio"),
                       revenue_share=format_value(rev_share[u.name], "ratio")))
    alt = _("{title}: {text}", title=_heading(title, period), text=_("; ").join(parts))
    return _finish(fig, _("{sentence}.", sentence=alt), df, "revenue_by_product")


# ----------------------------------------------------------------------------- 9. channels

_CHANNEL_MEASURES = (("revenue", N_("Revenue"), "money"), ("win_rate", N_("Win rate"), "ratio"),
                     ("avg_purchase_value", N_("Average purchase"), "money"))


@i18n.localised
def channel_comparison(df: pd.DataFrame | None, title: str = N_("Sales by channel"), *, currency: str = "USD",
                       max_channels: int = 8) -> Figure:
    """Revenue, win rate and average purchase value per channel as three small bar panels sharing rows
    (sorted by revenue).

    df: columns channel, revenue, win_rate, avg_purchase_value (the `sales_by_channel` KPI's tidy
    output works as is). "Other" sums revenue; its rates are unknown and shown as "–".
    """
    title = _(title)
    df = _wide(df, ["channel", "revenue"])
    if _is_empty(df, [c for c, _name, _unit in _CHANNEL_MEASURES]):
        return _empty(title)
    _require(df, ["channel", "revenue"], "channel_comparison")
    df, period = _latest(df)
    measures = [m for m in _CHANNEL_MEASURES if m[0] in df.columns]
    columns = [c for c, _name, _unit in measures]
    df = df.assign(**{c: _num(df[c]) for c in columns})[["channel", *columns]]
    df, cut = _top(df, "channel", "revenue", max_channels, sums=("revenue",))
    n = len(df)

    fig, axes = _figure(height=_bar_height(n, per_row=0.36, base=1.3), ncols=len(measures), sharey=True)
    axes = np.atleast_1d(axes)
    labels = [_label(c, 16, column="channel") for c in df["channel"]]
    other = (df["channel"] == "Other").to_numpy()
    for ax, (col, name, unit) in zip(axes, measures):
        vals = df[col]
        best = (vals == vals[~other].max()).to_numpy() & ~other  # the leader of each measure stands out
        colors = np.where(other, HOUSE_COLORS["neutral"],
                          np.where(best, HOUSE_COLORS["actual"], HOUSE_COLORS["previous"]))
        bars = ax.barh(range(n), vals.fillna(0), height=0.7, color=colors)
        _bar_labels(ax, bars, vals, unit, currency)
        _hbar_axes(ax, labels)
        ax.margins(x=0.45)
        _title(ax, _(name), fontsize=11, fontweight="normal", color=HOUSE_COLORS["muted"], pad=4)
    for ax in axes[1:]:
        ax.tick_params(axis="y", labelleft=False)
    _suptitle(fig, _clip(_heading(title, period), TITLE_WIDTH))
    if cut:
        _note(axes[0], _("Other: {n} channels", n=i18n.localize(str(cut))))

    real = df[~other]
    parts = []
    leaders = {"revenue": N_("most revenue: {channel} ({value})"),
               "win_rate": N_("highest win rate: {channel} ({value})"),
               "avg_purchase_value": N_("highest average purchase: {channel} ({value})")}
    for col, _name, unit in measures:
        if real[col].notna().any():
            r = real.loc[real[col].idxmax()]
            total = df["revenue"].sum()
            value = format_value(r[col], unit, currency)
            if col == "revenue" and total:
                value = _("{value}, {share} of the total", value=value, share=format_value(r[col] / total, "ratio"))
            parts.append(_(leaders[col], channel=_label(r["channel"], 60, column="channel"), value=value))
    alt = _("{title}: {text}", title=_heading(title, period), text=_("; ").join(parts))
    return _finish(fig, _("{sentence}.", sentence=alt), df, "sales_by_channel")


def warm() -> None:
    """Draw a small chart to PNG and throw it away: the renderer, the PNG encoder and the house fonts are
    loaded then (a batch's fork server calls it once, so that the kernels it forks start with them)."""
    from .export import figure_to_png

    y = pd.Series([1.0, 2.0, 3.0, 2.0, 4.0, 5.0], index=pd.period_range("2024-01", periods=6, freq="M"))
    figure_to_png(kpi_trend(y, target=y * 1.1, title="Revenue", currency="USD"))
    figure_to_png(_empty("Revenue"))
