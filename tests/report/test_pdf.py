"""The house report as PDF (kpitools.report.pdf, WeasyPrint): the real sales report in English, Persian, Russian and
Arabic (conftest.sales_reports), read back with pypdf: header, running header, page numbers, cards, the script's
letters, right to left mirrored; and `kpitools render --pdf`."""
from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

from kpitools.cli import app
from kpitools.report.pdf import write_pdf

HOUSE_CSS = Path(__file__).parents[2] / "kpitools" / "report" / "templates" / "kpitools" / "static" / "house.css"
DIGITS = {"fa": "۰۱۲۳۴۵۶۷۸۹", "ar": "0123456789", "ru": "0123456789", "en": "0123456789"}
RTL = {"fa", "ar"}
MARGIN = 40  # pt: the running header and the page numbers sit in the top and bottom 14-16 mm


@pytest.fixture(scope="module")
def pdfs(sales_reports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pdf")
    return {name: write_pdf(page, folder / f"{name}.pdf") for name, page in sales_reports.items()}


def _field(page: str, pattern: str) -> str:
    return html.unescape(re.search(pattern, page, re.DOTALL).group(1)).strip()


def _found(expected: str, text: str) -> bool:
    """Every word of `expected` is in `text`. pypdf gives right-to-left runs with some numbers reversed
    ("۱۴۰۵" as "۵۰۴۱") and drops the invisible joiner and direction marks, so words may read either way."""
    invisible = dict.fromkeys(map(ord, "\u200c\u200e\u200f"))
    text = text.translate(invisible)
    return all(w in text or w[::-1] in text for w in expected.translate(invisible).split())


def _runs(page) -> list[tuple[float, float, str]]:
    """(x, y, text) of each text run on a pypdf page, in points from the bottom-left corner."""
    runs = []

    def visit(text: str, cm: list, tm: list, font: object, size: float) -> None:
        if text.strip():
            runs.append((tm[4] * cm[0] + tm[5] * cm[2] + cm[4], tm[4] * cm[1] + tm[5] * cm[3] + cm[5], text))

    page.extract_text(visitor_text=visit)
    return runs


def _number(n: int, name: str) -> str:
    return str(n).translate(str.maketrans("0123456789", DIGITS[name]))


@pytest.mark.parametrize("name", ["en", "fa", "ru", "ar"])
def test_pdf_of_the_sales_report(pdfs: dict[str, Path], sales_reports: dict[str, Path], name: str) -> None:
    page = sales_reports[name].read_text(encoding="utf-8")
    title = _field(page, r'<h1 class="report-title">(.*?)</h1>')
    scope = _field(page, r'class="report-meta-scope"><dt>.*?</dt><dd>(.*?)</dd>')
    period = _field(page, r'class="report-meta-period"><dt>.*?</dt><dd>(.*?)</dd>')
    names = [_field(m, r"(.*)") for m in re.findall(r'<div class="kpi-name">([^<]*)', page)[:3]]
    values = [_field(m, r"(.*)") for m in re.findall(r'<div class="kpi-value">([^<]*)</div>', page)[:3]]

    reader = PdfReader(pdfs[name])
    pages = reader.pages
    n = len(pages)
    assert 3 <= n <= 14
    first = pages[0].extract_text()
    for text in (title, scope, period, *names, *values):
        assert _found(text, first), (text, first[:600])
    assert "Data (CSV)" not in "".join(p.extract_text() for p in pages)  # hidden in print
    assert not any("/Annots" in p for p in pages)  # and no link left behind

    width, height = float(pages[0].mediabox.width), float(pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    rtl = name in RTL
    for i, p in enumerate(pages, start=1):
        runs = _runs(p)
        top = [(x, t) for x, y, t in runs if y > height - MARGIN]
        bottom = [(x, t) for x, y, t in runs if y < MARGIN]
        # page numbers "2 / 11" at the reading end of the foot, in the report's digits
        (x, number), = bottom
        forms = {f"{_number(i, name)} / {_number(n, name)}", f"{_number(n, name)} / {_number(i, name)}"}
        assert number.strip() in forms | {f[::-1] for f in forms}, number
        assert (x < width / 2) == rtl, (number, x)
        if i == 1:
            assert top == []  # page 1 has the report's own header
            continue
        # the running header: the title at the reading start, scope · period at the other end
        text = " ".join(t for _x, t in top)
        assert _found(title, text) and _found(scope, text) and _found(period, text), text
        title_x = next(x for x, t in top if _found(t.strip(), title))
        assert (title_x > width / 2) == rtl, (text, title_x)

    body = "".join(p.extract_text() for p in pages)
    if name in ("fa", "ar"):
        assert sum("\u0600" <= c <= "\u06ff" for c in body) > 2000  # Persian / Arabic text, not boxes
    if name == "ru":
        assert sum("\u0400" <= c <= "\u04ff" for c in body) > 2000


@pytest.mark.parametrize("name", ["fa", "ar"])
def test_arabic_script_letters_are_joined(pdfs: dict[str, Path], name: str) -> None:
    """Joined letters take a different glyph at the start, middle and end of a word: with shaping, one letter
    (lam, meem...) maps from several glyphs in the fonts' ToUnicode tables; unshaped, from one."""
    forms: dict[str, set[str]] = defaultdict(set)
    for font in PdfReader(pdfs[name]).pages[0]["/Resources"]["/Font"].values():
        cmap = font.get_object()["/ToUnicode"].get_object().get_data().decode("latin-1")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
            for glyph, code in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                forms[bytes.fromhex(code).decode("utf-16-be")].add(glyph)
    joined = [c for c, glyphs in forms.items() if len(glyphs) > 1 and "\u0620" <= c <= "\u06ff"]
    assert len(joined) >= 5, dict(forms)


def test_print_css_hides_the_links_and_keeps_blocks_whole() -> None:
    css = HOUSE_CSS.read_text(encoding="utf-8")
    print_rules = css[css.index("@media print {"):]
    assert re.search(r"\.kpi-chart-data \{ display: none; \}", print_rules)
    assert re.search(r"img, figure, table, tr[^{]*\{ break-inside: avoid;", print_rules)
    assert "size: A4" in css and "counter(pages, report-digits)" in css and "string-set: report-title" in css


def test_write_pdf_takes_the_page_as_text_and_fetches_nothing(tmp_path: Path) -> None:
    image = tmp_path / "remote.png"  # stands for a remote image a notebook's markdown might name
    Image.new("RGB", (8, 8), "red").save(image)
    page = f'<html><body><h1>Hello</h1><img src="{image.as_uri()}"><img src="http://127.0.0.1:9/x.png"></body></html>'
    out = write_pdf(page, tmp_path / "out" / "page.pdf")
    assert out == tmp_path / "out" / "page.pdf"
    reader = PdfReader(out)
    assert "Hello" in reader.pages[0].extract_text()
    assert not reader.pages[0]["/Resources"].get("/XObject")  # neither image was loaded
    assert sorted(p.name for p in out.parent.iterdir()) == ["page.pdf"]  # no temporary file left


def test_render_command_writes_the_pdf_beside_the_html(demo_executed: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["render", str(demo_executed), "-o", str(tmp_path / "sales.html"), "--pdf"])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'sales.pdf'}" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales.html", "sales.pdf"]
    assert "Monthly sales report" in PdfReader(tmp_path / "sales.pdf").pages[0].extract_text()

