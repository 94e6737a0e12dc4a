"""The rendered report in a real browser: headless Chromium (Debian's /usr/bin/chromium) via Playwright.

Skipped locally when Chromium or the playwright package is missing; under CI (CI set) it fails instead.
Screenshots land in test-artifacts/screenshots/ at the repository root.
"""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"

_missing = [what for what, ok in (("/usr/bin/chromium (apt-get install chromium)", CHROMIUM.exists()),
                                  ("the playwright package (pip install playwright)",
                                   importlib.util.find_spec("playwright") is not None)) if not ok]
_reason = "real-browser test needs " + " and ".join(_missing)
if _missing and not os.environ.get("CI"):
    pytest.skip(_reason, allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    if _missing:  # under CI: fail, don't skip
        pytest.fail(_reason + " (CI must install them)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, url: str, **context):
    """A page at url, with every request and every console error/page error recorded."""
    page = browser.new_context(**context).new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.goto(url, wait_until="load")
    return page, requests, errors


@pytest.mark.parametrize(("name", "context"), [
    ("desktop", {"viewport": {"width": 1280, "height": 900}}),
    ("phone", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
               "has_touch": True}),
])
def test_report_in_chromium(browser, demo_report: Path, name: str, context: dict) -> None:
    url = demo_report.resolve().as_uri()
    page, requests, errors = _open(browser, url, **context)
    try:
        assert [r for r in requests if r != url and not r.startswith("data:")] == []
        assert errors == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"report-{name}.png"), full_page=True)

        # content is there and laid out
        assert page.locator("h1.report-title").inner_text() == "Monthly sales report"
        assert page.locator(".kpi-card").count() == 4
        assert page.evaluate("document.querySelectorAll('img').length") == 1
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
        columns = page.evaluate(
            "getComputedStyle(document.querySelector('.kpi-cards')).gridTemplateColumns.split(' ').length")
        if name == "phone":
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert columns == 1
            assert page.evaluate("document.querySelector('img').getBoundingClientRect().right <= window.innerWidth")
        else:
            assert width <= 1000 and columns == 4
    finally:
        page.context.close()


def test_print_layout(browser, demo_report: Path) -> None:
    """Print media at an A4 page's printable width (210 mm less 2 x 12 mm margins = 703 px): no navy band,
    and everything fits the paper's width. Saved as a screenshot to look at."""
    page, requests, errors = _open(browser, demo_report.resolve().as_uri(), viewport={"width": 703, "height": 1000})
    try:
        page.emulate_media(media="print")
        background = page.evaluate("getComputedStyle(document.querySelector('.report-header')).backgroundColor")
        assert background in ("rgba(0, 0, 0, 0)", "transparent")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "report-print.png"), full_page=True)
        assert errors == []
    finally:
        page.context.close()


# --- reports in other languages: Persian (Solar Hijri calendar, right to left) and Russian ------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("name", ["fa", "ru"])
@pytest.mark.parametrize(("device", "context"), [("desktop", {"viewport": {"width": 1280, "height": 900}}),
                                                 ("phone", PHONE)])
def test_localised_report_in_chromium(browser, sales_reports: dict, name: str, device: str,
                                      context: dict) -> None:
    url = sales_reports[name].resolve().as_uri()
    page, requests, errors = _open(browser, url, **context)
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"report-{name}-{device}.png"), full_page=True)
        assert [r for r in requests if r != url and not r.startswith("data:")] == []
        assert errors == []
        html = page.locator("html")
        assert html.get_attribute("lang") == name
        assert html.get_attribute("dir") == ("rtl" if name == "fa" else None)
        assert page.evaluate("getComputedStyle(document.body).direction") == ("rtl" if name == "fa" else "ltr")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        title = page.locator("h1.report-title").inner_text()
        headings = page.locator("h2").all_inner_texts()
        if name == "fa":
            assert title == "گزارش فروش" and "نگاه کلی" in headings and "یادداشت‌های داده" in headings
            period = page.locator(".report-meta dd").nth(1).inner_text()
            assert period.split()[0] in ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان",
                                         "آذر", "دی", "بهمن", "اسفند") and period.split()[1].startswith("۱۴")
            # cards mirror: the first card sits at the right edge of the grid, its status pill at its left
            card = page.locator(".kpi-card").first.bounding_box()
            grid = page.locator(".kpi-cards").first.bounding_box()
            assert abs((card["x"] + card["width"]) - (grid["x"] + grid["width"])) < 2
            pill = page.locator(".kpi-card .kpi-status").first.bounding_box()
            assert pill["x"] < card["x"] + card["width"] / 2
            value = page.locator(".kpi-card .kpi-value").first.inner_text()
            assert any("۰" <= c <= "۹" for c in value) and not any("0" <= c <= "9" for c in value)
        else:
            assert title == "Отчёт о продажах" and "Коротко" in headings and "Примечания к данным" in headings
    finally:
        page.context.close()


# --- dark mode, the charts' CSV links, print ------------------------------------------------------------------

def _luminance(css: str) -> float:
    """WCAG relative luminance of a computed colour "rgb(r, g, b)"."""
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(v)) for v in re.findall(r"[\d.]+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


STYLE = "([sel, prop]) => getComputedStyle(document.querySelector(sel))[prop]"


@pytest.mark.parametrize(("device", "context"), [("desktop", {"viewport": {"width": 1280, "height": 900}}),
                                                 ("phone", PHONE)])
def test_dark_mode(browser, sales_reports: dict, device: str, context: dict, tmp_path: Path) -> None:
    """prefers-color-scheme: dark: a dark page, light text, dark cards and tables whose texts and status colours
    keep 4.5:1, the PNG charts on a white card. Screenshots in the test's tmp folder."""
    url = sales_reports["en"].resolve().as_uri()
    page, requests, errors = _open(browser, url, color_scheme="dark", **context)
    try:
        page.screenshot(path=str(tmp_path / f"dark-{device}.png"), full_page=True)
        assert [r for r in requests if r != url and not r.startswith("data:")] == [] and errors == []

        def style(selector: str, prop: str) -> str:
            return page.evaluate(STYLE, [selector, prop])

        page_bg, card_bg = style("body", "backgroundColor"), style(".kpi-card", "backgroundColor")
        assert _luminance(page_bg) < 0.02 and _luminance(card_bg) < 0.03
        assert _luminance(style("body", "color")) > 0.7
        for selector in (".kpi-card .kpi-value", ".kpi-card .kpi-name", ".kpi-card .kpi-target", ".kpi-delta.good b",
                         ".kpi-delta.bad b", ".jp-RenderedMarkdown h2", "td", "a.kpi-chart-data"):
            background = card_bg if selector.startswith(".kpi") else page_bg
            assert _contrast(style(selector, "color"), background) >= 4.5, selector
        assert style(".kpi-chart img", "backgroundColor") == "rgb(255, 255, 255)"
        assert style(".kpi-chart img", "borderTopLeftRadius") != "0px"
        if device == "phone":
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.emulate_media(media="print")  # print stays light, and the links go
        assert style("body", "backgroundColor") == "rgb(255, 255, 255)"
        assert _luminance(style(".kpi-card .kpi-value", "color")) < 0.1
        assert style("a.kpi-chart-data", "display") == "none"
    finally:
        page.context.close()


def test_chart_data_downloads_as_csv(browser, sales_reports: dict) -> None:
    """The data: link downloads under the page's Content-Security-Policy (it governs loads, not downloads)."""
    import pandas as pd

    url = sales_reports["en"].resolve().as_uri()
    page, requests, errors = _open(browser, url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        link = page.locator("a.kpi-chart-data").first
        assert link.inner_text() == "Data (CSV)"
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "revenue_trend.csv"
        data = pd.read_csv(download.value.path())
        assert list(data.columns[:3]) == ["period", "revenue", "target"] and data["revenue"].notna().sum() >= 12
        assert page.url == url and errors == []  # no navigation, no CSP report
    finally:
        page.context.close()


def test_persian_print_layout(browser, sales_reports: dict) -> None:
    """Print at A4's printable width: three cards to a row, the first on the right (the grid runs left to right
    in print for WeasyPrint's sake, filled from the right), no CSV link."""
    url = sales_reports["fa"].resolve().as_uri()
    page, _requests, errors = _open(browser, url, viewport={"width": 703, "height": 1000})
    try:
        page.emulate_media(media="print")
        boxes = [c.bounding_box() for c in page.locator(".kpi-cards").first.locator(".kpi-card").all()[:4]]
        assert boxes[0]["x"] > boxes[1]["x"] > boxes[2]["x"]  # right to left
        assert boxes[3]["x"] == boxes[0]["x"] and boxes[3]["y"] > boxes[0]["y"]  # the next row starts on the right
        assert page.evaluate(STYLE, ["a.kpi-chart-data", "display"]) == "none"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1") and errors == []
    finally:
        page.context.close()


# --- safety: hostile names from the data, in the real report and the portal -------------------------------

@pytest.mark.parametrize("which", ["company", "regional", "portal"])
def test_hostile_pages_run_nothing_and_load_nothing(browser, hostile_batch: dict, which: str) -> None:
    """The pages of conftest.hostile_batch (names carrying <script>, onerror=, onmouseover=): no dialog
    opens, no request leaves the file, no console error (a handler blocked by the CSP would log one),
    no script element or on* attribute in the live DOM, and the names are there as text."""
    assert hostile_batch["code"] == 0, hostile_batch["stderr"]
    path = hostile_batch[which]
    url = path.resolve().as_uri()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(url, wait_until="load")
        page.mouse.move(10, 10)
        for cell in page.locator("td, li, p, h1, h3").all()[:200]:  # onmouseover would fire here
            cell.hover(timeout=2000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"hostile-{which}.png"), full_page=True)
        assert dialogs == []
        assert [r for r in requests if r != url and not r.startswith("data:")] == []
        assert errors == []
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                             ".filter(a => a.name.startsWith('on')).length") == 0
        text = page.evaluate("document.body.innerText")
        if which == "portal":
            assert hostile_batch["region"] in text
        elif which == "regional":
            assert f"Sales {hostile_batch['region']}" in text
        else:
            assert f"Ann {hostile_batch['strings']['script']}" in text
    finally:
        page.context.close()
