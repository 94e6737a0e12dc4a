"""The portal: `index.html` in the output folder, listing every report of a batch.

At the top, a matrix compares the scopes at a glance: one row per scope (its newest
report), one column per headline KPI, each cell the value, the change and the status
colour, with a sparkline of the last 12 periods (history.py keeps them across batches).
Below, reports are grouped by period (newest first), one card per scope with its
headline KPIs coloured by status; failed runs show their error and link to the
log and the partial notebook. One self-contained file: inline CSS, no scripts,
nothing from the network, every string escaped, relative links that work when
the folder is opened from the file system or copied elsewhere.

Sorting the matrix needs no script (the page's CSP allows none, and a portal opened from a
mail attachment or a share may run none): a hidden radio button per column, its label the
column heading; the rows are flex items, each carrying its rank in every column as a CSS
variable, and the checked radio picks which variable sets their `order`. One copy of the
rows whatever the number of columns, and it works from the keyboard (arrow keys).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import i18n
from ..files import atomic_write_text
from ..i18n import N_
from ..i18n import gettext as _

COLOURS = {"on track": "good", "at risk": "warn", "off track": "bad"}
STATUS_TEXT = {"ok": N_("ok"), "skipped": N_("unchanged"), "failed": N_("failed")}
_DIR = ' dir="rtl"'
# texts translated inside f-strings below, where Babel's extractor (Python 3.11 tokens) cannot see them
_TEXTS = (N_("Reports"), N_("batch still running or interrupted"), N_("{n} updated"), N_("{n} unchanged"),
          N_("{n} failed"), N_("No reports yet."), N_("machine-readable:"), N_("log"), N_("notebook"),
          N_("last good version"), N_("Company-wide"), N_("At a glance"), N_("Scope"),
          N_("Sort: select a column heading"))

CSS = """
:root{--ink:#1f2933;--muted:#5f6b7a;--line:#d9dee5;--bg:#f6f7f9;--card:#fff;--good:#1b7f46;--warn:#a86200;
--bad:#b42318;--goodbg:#e7f5ec;--warnbg:#fff4e0;--badbg:#fdecea}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:var(--bg)}main{max-width:1100px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.15rem;margin:32px 0 12px;border-bottom:1px solid var(--line);
padding-bottom:6px}.meta{color:var(--muted);margin:0 0 8px}.counts span{display:inline-block;margin-inline-end:8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-inline-start:5px solid var(--good);border-radius:6px;
padding:12px 14px}.card.failed{border-inline-start-color:var(--bad)}.card h3{font-size:1rem;margin:0 0 6px;
display:flex;justify-content:space-between;gap:8px}.card h3 a{color:inherit}
.badge{font-size:.75rem;font-weight:600;padding:1px 8px;border-radius:10px;white-space:nowrap;align-self:start}
.badge.ok,.badge.skipped{background:var(--goodbg);color:var(--good)}.badge.failed{background:var(--badbg);
color:var(--bad)}ul.kpis{list-style:none;margin:0;padding:0}ul.kpis li{display:flex;justify-content:space-between;
gap:8px;padding:3px 0;border-top:1px solid var(--bg)}.kpi-name{color:var(--muted)}.kpi-value{font-weight:600;
text-align:end}.kpi-change{display:block;font-weight:400;font-size:.8rem;color:var(--muted)}
.kpi-value.good{color:var(--good)}.kpi-value.warn{color:var(--warn)}.kpi-value.bad{color:var(--bad)}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-inline-end:6px;background:var(--line)}
.dot.good{background:var(--good)}.dot.warn{background:var(--warn)}.dot.bad{background:var(--bad)}
pre.error{white-space:pre-wrap;word-break:break-word;background:var(--badbg);color:var(--bad);padding:8px;
border-radius:4px;margin:6px 0;font-size:.85rem}.links{font-size:.85rem;margin-top:6px}.links a{margin-inline-end:10px}
.small{font-size:.8rem;color:var(--muted)}footer{margin-top:40px;color:var(--muted);font-size:.8rem}
@media print{body{background:#fff}.card{break-inside:avoid}}
[dir=rtl] body{font-family:Vazirmatn,"Noto Sans Arabic","Segoe UI",Tahoma,"Geeza Pro","DejaVu Sans",system-ui,
  sans-serif}
a{color:var(--link)}:root{--link:#0b57d0}
@media screen and (prefers-color-scheme:dark){:root{--ink:#e3e7ed;--muted:#9aa6b4;--line:#343c48;--bg:#101419;
--card:#1a2029;--good:#4cc38a;--warn:#f0a848;--bad:#f47067;--goodbg:#15301f;--warnbg:#3a2a10;--badbg:#3d1b19;
--link:#8ab4f8}}
.glance{position:relative}.sort{position:absolute;opacity:0;width:1px;height:1px;margin:0}
.matrix-wrap{overflow-x:auto}.matrix{display:block;width:100%}.matrix caption{display:block;text-align:start;
color:var(--muted);margin:0 0 8px}.matrix thead,.matrix tbody{display:flex;flex-direction:column;gap:6px}
.matrix tbody{margin-top:6px}.matrix tr{display:grid;gap:6px;
grid-template-columns:minmax(9rem,1.2fr) repeat(var(--kpis,1),minmax(8.5rem,1fr))}
.matrix th,.matrix td{display:block;text-align:start;padding:6px 10px;border-radius:6px}
.matrix thead th{font-size:.85rem;font-weight:600;color:var(--muted);padding-block:2px}
.matrix thead label{cursor:pointer;border-bottom:1px dashed var(--line)}
.matrix tbody th{background:var(--card);border:1px solid var(--line);font-weight:600}.matrix tbody th a{color:inherit}
.matrix tbody th .small,.matrix tbody th .badge{display:block;font-weight:400;margin-top:2px;width:max-content}
.cell{background:var(--card);border:1px solid var(--line);border-inline-start:5px solid var(--line)}
.cell.good{border-inline-start-color:var(--good)}.cell.warn{border-inline-start-color:var(--warn)}
.cell.bad{border-inline-start-color:var(--bad)}.cell .v{font-weight:700}.cell.good .v{color:var(--good)}
.cell.warn .v{color:var(--warn)}.cell.bad .v{color:var(--bad)}.cell .chg{display:block;font-size:.8rem;
color:var(--muted)}.cell::before{display:none}.spark{display:block;width:100px;height:24px;
margin-top:3px;color:var(--muted);overflow:visible}.spark .end{fill:var(--ink)}.good .spark .end{fill:var(--good)}
.warn .spark .end{fill:var(--warn)}.bad .spark .end{fill:var(--bad)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:640px){.matrix thead tr{display:flex;flex-wrap:wrap}.matrix thead th{padding:0}
.matrix thead label{display:inline-block;border:1px solid var(--line);border-radius:14px;padding:3px 10px;
background:var(--card)}.matrix tbody tr{grid-template-columns:1fr 1fr}.matrix tbody th{grid-column:1/-1}
.cell::before{display:block;content:attr(data-label);font-size:.75rem;color:var(--muted)}}
@media print{.sort,.matrix caption .small{display:none}.matrix-wrap{overflow:visible}.matrix tr{break-inside:avoid;
grid-template-columns:minmax(7rem,1.2fr) repeat(var(--kpis,1),minmax(0,1fr))}.matrix{font-size:.8rem}
.matrix thead label{border:0}body{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def write_portal(manifest: dict[str, Any], path: Path, history: dict | None = None) -> Path:
    """Write the portal for a manifest (paths in it are relative to `path`'s folder); `history`
    (history.py) gives the sparklines their earlier periods."""
    atomic_write_text(Path(path), portal_html(manifest, Path(path).parent, history))
    return Path(path)


def _locale(runs: list[dict[str, Any]], key: str, default: str) -> str:
    """The runs' common `locale` (or `calendar`) parameter: the portal speaks the batch's language."""
    values = {str((run.get("parameters") or {}).get(key) or "") for run in runs}
    return values.pop() or default if len(values) == 1 else default


def portal_html(manifest: dict[str, Any], root: Path | None = None, history: dict | None = None) -> str:
    """The portal page, in the language of the batch's reports (their `locale` parameter; English when
    the runs differ)."""
    runs = manifest.get("runs", [])
    try:
        locale = i18n.normalize(_locale(runs, "locale", i18n.DEFAULT))
    except ValueError:
        locale = i18n.DEFAULT
    with i18n.using(locale):
        return _portal_html(manifest, root, _locale(runs, "calendar", "gregorian"), history)


def _portal_html(manifest: dict[str, Any], root: Path | None, calendar: str, history: dict | None) -> str:
    runs = manifest.get("runs", [])
    matrix, matrix_css = _matrix(runs, root, calendar, history)
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        period = str((run.get("parameters") or {}).get("period") or "")
        groups.setdefault(period, []).append(run)
    counts = manifest.get("counts", {})
    failed_style = ' style="color:var(--bad)"' if counts.get("failed") else ""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{i18n.html_lang()}"{_DIR if i18n.is_rtl() else ""}><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>{_e(_('Reports'))}</title>",
        f"<style>{CSS}{matrix_css}</style></head><body><main>",
        f"<h1>{_e(_('Reports'))}</h1>",
        '<p class="meta">' + _e(_("Generated {when} from {spec}", when=_when(manifest.get("generated_at"), calendar),
                                   spec=manifest.get("spec", "")))
        + ("" if manifest.get("complete", True) else
           f" &middot; <strong>{_e(_('batch still running or interrupted'))}</strong>") + "</p>",
        '<p class="meta counts">'
        f'<span>{_e(_("{n} updated", n=_n(counts.get("ok", 0))))}</span>'
        f'<span>{_e(_("{n} unchanged", n=_n(counts.get("skipped", 0))))}</span>'
        f'<span{failed_style}>{_e(_("{n} failed", n=_n(counts.get("failed", 0))))}'
        "</span></p>",
    ]
    if not runs:
        parts.append(f'<p class="meta">{_e(_("No reports yet."))}</p>')
    parts.append(matrix)
    for period in sorted(groups, reverse=True):
        heading = _period_label(period, calendar) if period else _("Reports")
        parts.append(f"<section><h2>{_e(heading)}</h2><div class=\"grid\">")
        for run in sorted(groups[period], key=_order):
            parts.append(_card(run, root, calendar))
        parts.append("</div></section>")
    parts.append(f'<footer>kpitools {_e(manifest.get("kpitools_version", ""))} &middot; '
                 f'{_e(_("machine-readable:"))} <a href="manifest.json">manifest.json</a></footer>')
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _matrix(runs: list[dict[str, Any]], root: Path | None, calendar: str, history: dict | None) -> tuple[str, str]:
    """The at-a-glance matrix and the CSS that sorts it (see the module doc); ("", "") without headlines."""
    from .history import add_entries, series

    newest: dict[str, dict[str, Any]] = {}
    for run in runs:  # one row per scope: its newest report
        scope = str(run.get("scope") or "")
        if scope not in newest or _period(run) >= _period(newest[scope]):
            newest[scope] = run
    rows = sorted(newest.values(), key=_order)
    kpis: dict[str, str] = {}
    for run in rows:
        for key, kpi in (run.get("headline") or {}).items():
            kpis.setdefault(key, str(kpi.get("name") or key))
    if not kpis:
        return "", ""
    history = {"scopes": {s: dict(p) for s, p in ((history or {}).get("scopes") or {}).items()}}
    add_entries(history, rows)  # this batch's values, also when the caller keeps no history
    latest = max(_period(r) for r in rows)
    ranks = [_ranks(rows, key) for key in kpis]
    radios = [f'<input type="radio" name="sort" id="sort-{i}" class="sort"{" checked" if i == 0 else ""}>'
              for i in range(len(kpis) + 1)]
    heads = [_("Scope"), *kpis.values()]
    out = ['<section class="glance">', f"<h2>{_e(_('At a glance'))}</h2>", *radios,
           f'<div class="matrix-wrap"><table class="matrix" style="--kpis:{len(kpis)}">',
           f'<caption>{_e(_period_label(latest, calendar) if latest else "")} '
           f'<span class="small">{_e(_("Sort: select a column heading"))}</span></caption>',
           "<thead><tr>" + "".join(f'<th scope="col"><label for="sort-{i}">{_e(h)}</label></th>'
                                   for i, h in enumerate(heads)) + "</tr></thead><tbody>"]
    for n, run in enumerate(rows):
        order = ";".join(f"--s{i + 1}:{r[n]}" for i, r in enumerate(ranks))
        scope = str(run.get("scope") or "")
        name = _("Company-wide") if scope == "Company-wide" else scope
        html_path = run.get("html") or ""
        if run.get("status") != "failed" and html_path and (root is None or (root / html_path).is_file()):
            name_html = f'<a href="{_href(html_path)}">{_e(name)}</a>'
        else:
            name_html = _e(name)
        note = (f'<span class="badge failed">{_e(_(STATUS_TEXT["failed"]))}</span>' if run.get("status") == "failed"
                else f'<span class="small">{_e(_period_label(_period(run), calendar))}</span>'
                if _period(run) != latest else "")
        cells = [f'<th scope="row">{name_html}{note}</th>']
        for key, kpi_name in kpis.items():
            cells.append(_cell((run.get("headline") or {}).get(key) or {}, kpi_name,
                               series(history, scope, key, _period(run))))
        out.append(f'<tr style="{order}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table></div></section>")
    css = "".join(f"#sort-{i}:checked~.matrix-wrap tbody tr{{order:var(--s{i})}}" for i in range(1, len(kpis) + 1))
    css += "".join(f'#sort-{i}:checked~.matrix-wrap label[for="sort-{i}"]{{color:var(--ink);border-bottom-style:solid}}'
                   f'#sort-{i}:checked~.matrix-wrap label[for="sort-{i}"]::after{{content:" \\2193"}}'
                   f'#sort-{i}:focus-visible~.matrix-wrap label[for="sort-{i}"]{{outline:2px solid var(--link)}}'
                   for i in range(len(kpis) + 1))
    return "\n".join(out), css


def _cell(kpi: dict[str, Any], name: str, points: list[tuple[str, float]]) -> str:
    """One KPI of one scope: value, change, status colour (and its word, for screen readers), sparkline."""
    status = str(kpi.get("status") or "").lower()
    colour = COLOURS.get(status, "")
    state = f'<span class="sr"> {_e(i18n.status_text(status))}</span>' if status else ""
    change = f'<span class="chg">{_e(kpi["change"])}</span>' if kpi.get("change") else ""
    label = i18n.ngettext("{kpi}, last {n} period", "{kpi}, last {n} periods", len(points), kpi=name,
                          n=_n(len(points)))
    value = _e(kpi.get("display")) if kpi else "–"
    return (f'<td class="cell {colour}" data-label="{_e(name)}"><span class="v">{value}</span>{state}{change}'
            f"{_sparkline([v for _, v in points], label)}</td>")


def _sparkline(values: list[float], label: str) -> str:
    """An inline SVG line of the values, oldest on the left, the last one dotted; "" without values."""
    if not values:
        return ""
    w, h, pad = 100, 24, 3
    lo, hi = min(values), max(values)
    step = (w - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0
    xs = [w - pad - step * (len(values) - 1 - i) for i in range(len(values))]
    ys = [h / 2 if hi == lo else h - pad - (v - lo) / (hi - lo) * (h - 2 * pad) for v in values]
    line = (f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))}" fill="none" '
            'stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>'
            if len(values) > 1 else "")
    return (f'<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="{_e(label)}"><title>{_e(label)}</title>{line}'
            f'<circle class="end" cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2.5"/></svg>')


def _ranks(rows: list[dict[str, Any]], key: str) -> list[int]:
    """Each row's place (1 = first) when sorted by this KPI's value, largest first; no value last."""
    def value(run: dict[str, Any]) -> float | None:
        v = ((run.get("headline") or {}).get(key) or {}).get("value")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v else None

    values = [value(r) for r in rows]
    order = sorted(range(len(rows)), key=lambda i: (values[i] is None, -(values[i] or 0.0), i))
    ranks = [0] * len(rows)
    for place, i in enumerate(order, 1):
        ranks[i] = place
    return ranks


def _period(run: dict[str, Any]) -> str:
    return str((run.get("parameters") or {}).get("period") or "")


def _order(run: dict[str, Any]) -> tuple:
    scope = run.get("scope") or ""
    return (scope != "Company-wide", scope.lower())


def _n(count: Any) -> str:
    return i18n.localize(str(count))


def _card(run: dict[str, Any], root: Path | None, calendar: str = "gregorian") -> str:
    status = run.get("status", "failed")
    html_path = run.get("html") or ""
    exists = root is None or (root / html_path).is_file()
    scope = run.get("scope")
    name = _e((_("Company-wide") if scope == "Company-wide" else scope) or run.get("title") or html_path)
    heading = f'<a href="{_href(html_path)}">{name}</a>' if status != "failed" and exists else name
    badge = _(STATUS_TEXT[status]) if status in STATUS_TEXT else status
    out = [f'<article class="card {_e(status)}">',
           f'<h3>{heading}<span class="badge {_e(status)}">{_e(badge)}'
           '</span></h3>']
    if run.get("title"):
        out.append(f'<div class="small">{_e(run["title"])}</div>')
    headline = run.get("headline") or {}
    if headline and status != "failed":
        out.append('<ul class="kpis">')
        for kpi in headline.values():
            colour = COLOURS.get(str(kpi.get("status") or "").lower(), "")
            change = f'<span class="kpi-change">{_e(kpi["change"])}</span>' if kpi.get("change") else ""
            state = f' title="{_e(i18n.status_text(kpi["status"]))}"' if kpi.get("status") else ""
            out.append(f'<li><span class="kpi-name"><span class="dot {colour}"{state}></span>{_e(kpi.get("name"))}'
                       f'</span><span class="kpi-value {colour}">{_e(kpi.get("display"))}{change}</span></li>')
        out.append("</ul>")
    if status == "failed":
        out.append(f'<pre class="error">{_e(run.get("error") or _("failed"))}</pre>')
        links = [f'<a href="{_href(run["log"])}">{_e(_("log"))}</a>' if run.get("log") else "",
                 f'<a href="{_href(run["executed"])}">{_e(_("notebook"))}</a>' if run.get("executed") else ""]
        if html_path and exists and root is not None:
            links.append(f'<a href="{_href(html_path)}">{_e(_("last good version"))}</a>')
        out.append(f'<div class="links">{"".join(links)}</div>')
    if status != "failed" and run.get("pdf") and (root is None or (root / run["pdf"]).is_file()):
        out.append(f'<div class="links"><a href="{_href(run["pdf"])}">PDF</a></div>')
    if status != "failed" and run.get("finished_at"):
        when = _when(run["finished_at"], calendar)
        text = _("unchanged since {when}", when=when) if status == "skipped" else _("updated {when}", when=when)
        out.append(f'<div class="small">{_e(text)}</div>')
    out.append("</article>")
    return "\n".join(out)


def _when(iso: Any, calendar: str = "gregorian") -> str:
    """'22 Nov 2026, 17:23 UTC' from an ISO timestamp (as is when it is not one); in the active locale
    and calendar elsewhere ("۱ آذر ۱۴۰۵، ۱۷:۲۳ UTC")."""
    try:
        t = datetime.fromisoformat(str(iso)).astimezone(UTC)
    except ValueError:
        return str(iso or "")
    if i18n.language() == i18n.DEFAULT and calendar != "jalali":
        return f"{t.day} {t:%b %Y, %H:%M} UTC"
    return i18n.datetime_label(t, calendar=calendar)


def _period_label(period: str, calendar: str = "gregorian") -> str:
    """'October 2026' for 2026-10, 'Q3 2026' for 2026Q3 (in the active locale; "1405-07" of a Jalali batch:
    'مهر ۱۴۰۵'); other periods as they are."""
    if i18n.language() == i18n.DEFAULT and calendar != "jalali":
        if re.fullmatch(r"\d{4}-\d{2}", period):
            return datetime.strptime(period, "%Y-%m").strftime("%B %Y")
        m = re.fullmatch(r"(\d{4})-?Q([1-4])", period)
        return f"Q{m[2]} {m[1]}" if m else period
    try:
        from ..calendars.periods import parse_period
        return i18n.period_label(parse_period(period.replace("-Q", "Q"), calendar=calendar))
    except ValueError:
        return period


def _href(relative: str) -> str:
    """A relative URL: each path segment percent-encoded (spaces, #, ?), never absolute."""
    return "/".join(quote(part) for part in str(relative).replace("\\", "/").split("/") if part not in ("", ".."))


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)
