"""The house HTML for an executed notebook: `render(notebook, output)`.

nbconvert's HTMLExporter with the "kpitools" template (templates/kpitools/, built on nbconvert's lab
cell markup) and a pipeline of small preprocessors:

    RemoveTaggedCells   papermill's parameters cells and cells tagged remove/hide
    RemoveStderr        warnings, logging, progress bars (stderr streams)
    StripScripts        JavaScript outputs, widgets and <script> elements: a report runs no code
    ShortenErrors       a failed cell shows "Error: message", never a traceback
    DropCardStyles      the cards' inline <style> (the page already has it)
    CollectHeader       the header fields: render() arguments > report_header() outputs > nb metadata;
                        the report's locale (its language, direction and calendar) comes the same way
    TranslateMarkdown   markdown cells in the report's language, from the message catalogues
    RemoveEmptyCells    code cells left with nothing to show

The page has no code, no prompts, no scripts, no web fonts and nothing loaded from the network (a
Content-Security-Policy says so too); images are embedded as data: URIs. Its print stylesheet (house.css) is
also the PDF's layout (kpitools.report.pdf).

The exporter is built once per process and reused (`html_exporter()`), so a batch runner renders
many notebooks in-process with `render()` or `render_many()`.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import strip_ansi
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Integer, List, Unicode

from .. import i18n
from ..files import atomic_write_text
from ..i18n import N_
from ..masking import mask_value
from .cards import HEADER_MIME

__all__ = ["render", "render_many", "html_exporter", "ReportExporter", "write_atomic", "TEMPLATES", "TEMPLATE_NAME",
           "RemoveTaggedCells", "RemoveStderr", "StripScripts", "ShortenErrors", "DropCardStyles",
           "CollectHeader", "TranslateMarkdown", "RemoveEmptyCells"]

NotebookLike = str | Path | nbformat.NotebookNode

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAME = "kpitools"
# CLDR numbering systems -> CSS counter styles, for page numbers in the report's digits
DIGITS = {"arabext": "persian", "arab": "arabic-indic"}
HEADER_FIELDS = {"scope": N_("Scope"), "period": N_("Period"), "data_freshness": N_("Data as of"),
                 "generated_at": N_("Generated")}

_SCRIPT_ELEMENT = re.compile(r"<script\b.*?(?:</script\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_SCRIPT_TAG = re.compile(r"<(/?)(script\b)", re.IGNORECASE)
_CARD_STYLE = re.compile(r"<style data-kpitools>.*?</style>\s*", re.DOTALL)


class RemoveTaggedCells(Preprocessor):
    """Drops cells tagged with any of `tags`: papermill's parameter cells and cells the author hid."""

    tags = List(Unicode(), default_value=["parameters", "injected-parameters", "remove", "hide",
                                          "remove-cell", "remove_cell", "hide-cell",
                                          "papermill-error-cell-tag"]).tag(config=True)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        drop = set(self.tags)
        nb.cells = [c for c in nb.cells if not drop & set(c.get("metadata", {}).get("tags", []))]
        return nb, resources


class RemoveStderr(Preprocessor):
    """Drops stderr streams: warnings, logging and progress bars are for the analyst, not the reader."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.get("name") == "stderr")]
        return cell, resources


def strip_scripts(html: str) -> str:
    """`html` without <script> elements; a stray script tag is left as harmless text."""
    return _SCRIPT_TAG.sub(r"&lt;\1\2", _SCRIPT_ELEMENT.sub("", html))


class StripScripts(Preprocessor):
    """Reports need no JavaScript: drops JavaScript and widget outputs, and <script> from HTML/markdown."""

    mimetypes = List(Unicode(), default_value=["application/javascript", "text/javascript",
                                               "application/vnd.jupyter.widget-view+json"]).tag(config=True)

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        if cell.cell_type in ("markdown", "raw"):
            cell.source = strip_scripts(cell.source)
        if cell.cell_type != "code":
            return cell, resources
        kept = []
        for out in cell.outputs:
            if "data" in out:
                for mime in self.mimetypes:
                    out.data.pop(mime, None)
                for mime in ("text/html", "text/markdown", "image/svg+xml"):
                    if mime in out.data:
                        out.data[mime] = strip_scripts(_text(out.data[mime]))
                if not out.data:
                    continue
            kept.append(out)
        cell.outputs = kept
        return cell, resources


class ShortenErrors(Preprocessor):
    """An error output keeps a one-line message (no traceback, no ANSI, no password in a URL)."""

    max_chars = Integer(200).tag(config=True)

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                lines = strip_ansi(str(out.get("evalue", ""))).strip().splitlines()
                message = mask_value("", lines[0] if lines else "")  # passwords in URLs
                if len(message) > self.max_chars:
                    message = message[: self.max_chars - 1] + "…"
                out.evalue = message
                out.ename = strip_ansi(str(out.get("ename", "Error")))
                out.traceback = []
        return cell, resources


class DropCardStyles(Preprocessor):
    """Removes the <style data-kpitools> that kpi_cards()/summary_box()/note() carry for JupyterLab."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        for out in cell.get("outputs", []):
            if "text/html" in out.get("data", {}):
                out.data["text/html"] = _CARD_STYLE.sub("", _text(out.data["text/html"]))
        return cell, resources


class CollectHeader(Preprocessor):
    """Puts the header in resources["report"]: title, fields [(key, label, text)], generated, and the locale's
    language, direction and digits (the print stylesheet numbers pages with them).

    Each field comes from resources["kpitools"] (render()'s arguments) if given, else from the last
    report_header() output, else from nb.metadata["kpitools"]. The report_header() outputs are dropped.
    """


    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        found: dict[str, Any] = {}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            kept = []
            for out in cell.outputs:
                if HEADER_MIME in out.get("data", {}):
                    found.update(out.data[HEADER_MIME])
                else:
                    kept.append(out)
            cell.outputs = kept
        meta = dict(nb.metadata.get("kpitools", {}))
        given = {k: v for k, v in (resources.get("kpitools") or {}).items() if v is not None}
        header = {**meta, **found, **given}
        try:
            locale = i18n.normalize(header.get("locale") or i18n.DEFAULT)
        except ValueError:
            locale = i18n.DEFAULT
        calendar = "jalali" if str(header.get("calendar") or "").lower() == "jalali" else "gregorian"
        with i18n.using(locale):
            title = header.get("title") or nb.metadata.get("title") or _humanise(resources["metadata"].get("name"))
            fields = [(key, i18n.gettext(label), _field_text(header[key], calendar))
                      for key, label in HEADER_FIELDS.items() if header.get(key) not in (None, "")]
            generated = _field_text(header["generated_at"], calendar) if header.get("generated_at") else ""
            footer = (i18n.gettext("Generated by kpitools on {date}.", date=generated) if generated
                      else i18n.gettext("Generated by kpitools."))
            error = i18n.gettext("This part of the report could not be produced:")
        resources["report"] = {"title": str(title), "fields": fields, "generated": generated, "footer": footer,
                               "error": error, "locale": locale, "lang": i18n.html_lang(locale),
                               "dir": i18n.direction(locale), "calendar": calendar,
                               "digits": DIGITS.get(i18n.babel_locale(locale).default_numbering_system, "")}
        return nb, resources


class TranslateMarkdown(Preprocessor):
    """Markdown cells in the report's language: each cell's text is looked up whole in the message
    catalogue (the notebooks' markdown is extracted into it); text without a translation stays as written."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        locale = (resources.get("report") or {}).get("locale", i18n.DEFAULT)
        if i18n.language(locale) == i18n.DEFAULT:
            return nb, resources
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                text = cell.source.strip()
                translated = i18n.gettext(text, locale)
                if translated != text:
                    cell.source = translated
        return nb, resources


class RemoveEmptyCells(Preprocessor):
    """Drops code cells with nothing left to show (the page shows outputs only)."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
        return nb, resources


PREPROCESSORS = [RemoveTaggedCells, RemoveStderr, StripScripts, ShortenErrors, DropCardStyles,
                 CollectHeader, TranslateMarkdown, RemoveEmptyCells]


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _humanise(name: Any) -> str:
    text = str(name or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text and text != "Notebook" else "Sales report"


def _field_text(value: Any, calendar: str = "gregorian") -> str:
    """A header value as text: dates and times in the active locale and calendar (English: as ISO)."""
    if isinstance(value, (datetime, date)):
        return i18n.datetime_label(value, calendar=calendar)
    return str(value)


class ReportExporter(HTMLExporter):
    """The house report as an nbconvert exporter: `jupyter nbconvert --to kpitools report.ipynb`, and
    JupyterLab's File > Save and Export Notebook As > kpitools report (registered by the entry point
    `nbconvert.exporters: kpitools` in pyproject.toml). The same page `render()` writes."""

    export_from_notebook = "kpitools report"
    extra_template_basedirs = List([str(TEMPLATES)]).tag(config=True)
    template_name = Unicode(TEMPLATE_NAME).tag(config=True)
    exclude_input = Bool(True).tag(config=True)
    exclude_input_prompt = Bool(True).tag(config=True)
    exclude_output_prompt = Bool(True).tag(config=True)
    embed_images = Bool(True).tag(config=True)
    exclude_anchor_links = Bool(True).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for preprocessor in PREPROCESSORS:
            self.register_preprocessor(preprocessor, enabled=True)

    # nbconvert annotates Exporter's output as a notebook; a template exporter's is the page's text
    def from_notebook_node(  # type: ignore[override]
            self, nb: Any, resources: dict | None = None, **kw: Any) -> tuple[str, dict]:
        resources = dict(resources or {})
        resources.setdefault("kpitools", {"generated_at": datetime.now(UTC)})  # exported from JupyterLab
        return super().from_notebook_node(nb, resources=resources, **kw)


@cache
def html_exporter() -> ReportExporter:
    """The house exporter, built once per process (rendering many notebooks reuses it)."""
    return ReportExporter()


_lock = threading.Lock()  # one exporter, shared by threads


def render(notebook: NotebookLike, output: Path | str | None = None, *, title: str | None = None,
           scope: str | None = None, period: Any = None, generated_at: datetime | str | None = None,
           data_freshness: Any = None) -> str:
    """The house HTML of an executed notebook; also written atomically to `output` when given.

    The header fields not given here come from the notebook: report_header() outputs, then
    nb.metadata["kpitools"] (title, scope, period, data_freshness). generated_at defaults to now (UTC).
    """
    if isinstance(notebook, nbformat.NotebookNode):
        nb, meta = notebook, {"name": "Notebook"}
    else:
        path = Path(notebook)
        nb, meta = nbformat.read(path, as_version=4), {"name": path.stem, "path": str(path.parent)}
    given = {"title": title, "scope": scope, "period": period, "data_freshness": data_freshness,
             "generated_at": generated_at or datetime.now(UTC)}
    resources = {"metadata": meta, "kpitools": given}
    with _lock:
        html, _ = html_exporter().from_notebook_node(nb, resources=resources)
    if output is not None:
        atomic_write_text(Path(output), html)
    return html


def render_many(jobs: Iterable[tuple[NotebookLike, Path | str]], **header: Any) -> list[Path]:
    """Renders each (notebook, output) pair with one exporter; header: render()'s keyword arguments."""
    written = []
    for notebook, output in jobs:
        render(notebook, output, **header)
        written.append(Path(output))
    return written


write_atomic = atomic_write_text  # kpitools.report.write_atomic: the one atomic writer (kpitools.files)
