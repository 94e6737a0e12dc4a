"""The rendered report in a real browser: headless Chromium (Debian's /usr/bin/chromium) via Playwright.

Skipped locally when Chromium or the playwright package is missing; under CI (CI set) it fails instead.
Screenshots land in test-artifacts/screenshots/ at the repository root.
"""
from __future__ import annotations

import importlib.util
import os
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
def browser():  # noqa: ANN201
    if _missing:  # under CI: fail, don't skip
        pytest.fail(_reason + " (CI must install them)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, url: str, **context):  # noqa: ANN001, ANN202
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
def test_report_in_chromium(browser, demo_report: Path, name: str, context: dict) -> None:  # noqa: ANN001
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


def test_print_layout(browser, demo_report: Path) -> None:  # noqa: ANN001
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
