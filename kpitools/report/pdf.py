"""The house HTML report as a PDF, made by WeasyPrint (no LaTeX, no browser): `write_pdf(html, out)`.

The layout is the page's own print stylesheet (templates/kpitools/static/house.css, `@page` and
`@media print`), so a browser's print and the PDF agree: A4, a running header with the report's title,
scope and period, page numbers, KPI cards three to a row, charts and tables never split, the CSV links
hidden; right-to-left reports mirror (their `dir="rtl"` picks a named page), in the report's own digits.
WeasyPrint lays text out with Pango, which joins Arabic and Persian letters and finds the glyphs of every
script in the system fonts (DejaVu Sans has Persian, Arabic and Cyrillic).

    from kpitools.report.pdf import write_pdf
    write_pdf(Path("reports/emea.html"), Path("reports/emea.pdf"))
"""
from __future__ import annotations

from pathlib import Path

from ..files import atomic_write

__all__ = ["write_pdf"]


def write_pdf(html: str | Path, out: Path) -> Path:
    """Render the house HTML to the PDF `out`, written atomically (readers see the old file or the new
    one, never half of one); returns `out`.

    html: a Path to the .html file, or the page itself as a str (a str without "<" is taken as a path).

    Like the page's Content-Security-Policy, the PDF loads nothing: only data: URIs (the embedded charts)
    are fetched, so a remote image a notebook's markdown might name stays out."""
    from weasyprint import HTML, URLFetcher  # lazy: Pango is loaded only when a PDF is made

    page = Path(html).read_text(encoding="utf-8") if isinstance(html, Path) or "<" not in html else html
    document = HTML(string=page, url_fetcher=URLFetcher(allowed_protocols={"data"}))
    out = Path(out)
    atomic_write(out, lambda tmp: document.write_pdf(tmp))
    return out
