"""The data notes section: what the report left out and why, what the numbers rest on, and how fresh the
data is."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ... import i18n
from ...i18n import N_, NN_
from ...i18n import gettext as _
from ...kpis.compare import last_complete_period
from ..scope import _DIMENSION_WORDS, _join_or, _scope, period_label
from ..section import Section, _in_locale

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


@dataclass(eq=False)
class DataNotesSection(Section):
    table: pd.DataFrame | None = None  # KPI, Reason: one row per KPI left out
    display: pd.DataFrame | None = None  # the same with the KPI names as row labels, to show
    text: str | None = None  # paragraphs for note()


_KPI_WORDS = {"subscriptions": N_("MRR, churn, NRR and other subscription KPIs"), "customers": N_("customer counts"),
              "spend": N_("CAC and other spend KPIs"), "traffic": N_("website visitors"), "surveys": N_("NPS scores")}


@_in_locale
def data_notes(ds: Any, results: Iterable[Any] = (), period: Any = "", filters: Mapping[str, Any] | None = None
               ) -> DataNotesSection:
    """What the report left out and why, and how fresh the data is.

    results: the sections and frames of the report (anything with .skipped, attrs["skipped"] or .notes).
    skipped: {kpi: reason}; fields: table (KPI, Reason: one row per KPI left out), display (the same
    with the KPI names as row labels, to show), text (paragraphs for note())."""
    s = _scope(ds, period, filters)
    sec = DataNotesSection("data_notes", s)
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
    sec.table, sec.display, sec.text = table, shown, "\n\n".join(text)
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
