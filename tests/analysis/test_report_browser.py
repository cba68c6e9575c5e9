"""report.html of a real small sweep opened in a real browser (Debian's Chromium and chromedriver,
driven by selenium with the system driver, no network): every figure loads, the console stays
clean, the headline is in the first 1280×800 view. The same checks on a copy broken three ways
(a figure not embedded, a script from a CDN, the headline pushed down) must find each fault.

Without /usr/bin/chromedriver (``apt-get install -y chromium chromium-driver``) the test skips and
says why; with CI=true or RSB_REQUIRE_BROWSER=1 it fails instead, so CI cannot pass without it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMEDRIVER, CHROMIUM = Path("/usr/bin/chromedriver"), Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 800

pytestmark = pytest.mark.slow


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMEDRIVER, CHROMIUM) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if not missing:
        return
    why = f"no browser to open report.html: {', '.join(missing)} missing (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("RSB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}; CI=true or RSB_REQUIRE_BROWSER=1 requires the browser test to run")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # offline, as on a cluster's login node: any host name fails to resolve
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()


@dataclass
class Page:
    """What the browser saw: each image (src head, loaded, natural width), console errors, the
    headline's text and where its box ends."""

    images: list[dict]
    errors: list[str]
    headline: str
    headline_bottom: float


def open_page(driver, html: Path) -> Page:
    driver.get_log("browser")  # drop what an earlier page logged
    driver.get(html.resolve().as_uri())
    driver.execute_script("window.scrollTo(0, 0)")
    images = driver.execute_script(
        "return Array.from(document.images).map(i => ({src: i.getAttribute('src').slice(0, 40), "
        "complete: i.complete, width: i.naturalWidth}))")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    found = driver.execute_script(
        "const h = document.querySelector('.rsb-headline');"
        "return h ? [h.innerText, h.getBoundingClientRect().bottom] : null")
    text, bottom = found if found else ("", math.inf)  # no headline: nowhere in the view
    return Page(images=images, errors=errors, headline=" ".join(text.split()), headline_bottom=float(bottom))


@pytest.mark.timeout(900)
def test_report_opens_in_a_browser(browser, real_seed_sweep, tmp_path):
    """The report of the real 4-seed sweep (conftest's ``real_seed_sweep``, shared with
    test_analysis_real_sweep: the browser adds seconds, not a second sweep)."""
    sweep_report = real_seed_sweep
    report = json.loads((sweep_report / "report.json").read_text())
    html = sweep_report / "report.html"
    page = open_page(browser, html)
    # every figure the report recorded is an embedded image the browser decoded
    assert len(page.images) == len(report["figures"]) >= 3, (page.images, list(report["figures"]))
    assert all(i["complete"] and i["width"] > 0 and i["src"].startswith("data:image/png") for i in page.images)
    assert page.errors == []
    # the answer first: report.json's headline, inside the first 1280×800 view
    assert page.headline == report["headline"]["sentence"] and "4 trials of A2" in page.headline
    assert page.headline_bottom <= HEIGHT

    # the same checks find each fault of a broken copy
    text = html.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    src = text.index('src="data:image/png')
    text = text[:src] + 'src="figures/not-embedded.png" data-x="' + text[src + len('src="'):]
    text = text.replace("<head>", '<head><script src="https://cdnjs.cloudflare.com/ajax/libs/x.js"></script>', 1)
    text = text.replace('<p class="rsb-headline">', f'<div style="height:{HEIGHT}px"></div><p class="rsb-headline">', 1)
    broken.write_text(text, encoding="utf-8")
    bad = open_page(browser, broken)
    assert [i["width"] for i in bad.images].count(0) == 1
    assert any("cdnjs.cloudflare.com" in e for e in bad.errors) and any("not-embedded.png" in e for e in bad.errors)
    assert bad.headline_bottom > HEIGHT
