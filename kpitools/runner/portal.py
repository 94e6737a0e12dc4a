"""The portal: `index.html` in the output folder, listing every report of a batch.

Reports are grouped by period (newest first), one card per scope with its
headline KPIs coloured by status; failed runs show their error and link to the
log and the partial notebook. One self-contained file: inline CSS, no scripts,
nothing from the network, every string escaped, relative links that work when
the folder is opened from the file system or copied elsewhere.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
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
          N_("last good version"), N_("Company-wide"))

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
[dir=rtl] body{font-family:Vazirmatn,"Noto Sans Arabic","Segoe UI",Tahoma,"Geeza Pro","DejaVu Sans",system-ui,sans-serif}
"""


def write_portal(manifest: dict[str, Any], path: Path) -> Path:
    """Write the portal for a manifest (paths in it are relative to `path`'s folder)."""
    atomic_write_text(Path(path), portal_html(manifest, Path(path).parent))
    return Path(path)


def _locale(runs: list[dict[str, Any]], key: str, default: str) -> str:
    """The runs' common `locale` (or `calendar`) parameter: the portal speaks the batch's language."""
    values = {str((run.get("parameters") or {}).get(key) or "") for run in runs}
    return values.pop() or default if len(values) == 1 else default


def portal_html(manifest: dict[str, Any], root: Path | None = None) -> str:
    """The portal page, in the language of the batch's reports (their `locale` parameter; English when
    the runs differ)."""
    runs = manifest.get("runs", [])
    try:
        locale = i18n.normalize(_locale(runs, "locale", i18n.DEFAULT))
    except ValueError:
        locale = i18n.DEFAULT
    with i18n.using(locale):
        return _portal_html(manifest, root, _locale(runs, "calendar", "gregorian"))


def _portal_html(manifest: dict[str, Any], root: Path | None, calendar: str) -> str:
    runs = manifest.get("runs", [])
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
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>{_e(_('Reports'))}</title>",
        f"<style>{CSS}</style></head><body><main>",
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
    out = [f'<article class="card {_e(status)}">',
           f'<h3>{heading}<span class="badge {_e(status)}">{_e(_(STATUS_TEXT[status]) if status in STATUS_TEXT else status)}'
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
    elif run.get("finished_at"):
        when = _when(run["finished_at"], calendar)
        text = _("unchanged since {when}", when=when) if status == "skipped" else _("updated {when}", when=when)
        out.append(f'<div class="small">{_e(text)}</div>')
    out.append("</article>")
    return "\n".join(out)


def _when(iso: Any, calendar: str = "gregorian") -> str:
    """'22 Nov 2026, 17:23 UTC' from an ISO timestamp (as is when it is not one); in the active locale
    and calendar elsewhere ("۱ آذر ۱۴۰۵، ۱۷:۲۳ UTC")."""
    try:
        t = datetime.fromisoformat(str(iso)).astimezone(timezone.utc)
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
        from ..kpis.periods import parse_period
        return i18n.period_label(parse_period(period.replace("-Q", "Q"), calendar=calendar))
    except ValueError:
        return period


def _href(relative: str) -> str:
    """A relative URL: each path segment percent-encoded (spaces, #, ?), never absolute."""
    return "/".join(quote(part) for part in str(relative).replace("\\", "/").split("/") if part not in ("", ".."))


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)
