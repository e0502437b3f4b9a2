"""The inspector page in a real headless Chromium (selenium + chromedriver).

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``)
and the Python package ``selenium`` (optional group ``test``); skipped with the reason otherwise.
"""

from __future__ import annotations

import shutil
import time

import pytest

from inspect_synth import write_fixture
from projner.inspect import inspect_files, render_report_html

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover
    HAVE_SELENIUM = False

if not (CHROMIUM and DRIVER and HAVE_SELENIUM):
    pytest.skip(
        "headless browser test needs chromium + chromedriver (apt-get install -y chromium chromium-driver) "
        f"and selenium (pip install selenium); found chromium={CHROMIUM}, chromedriver={DRIVER}, selenium={HAVE_SELENIUM}",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

N_PAIRS = 800


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    fx = write_fixture(folder, n_pairs=N_PAIRS, scores=False)
    rep = inspect_files(fx["src"], fx["tgt"], fx["align"], gold=fx["tgt"])
    page = folder / "report.html"
    page.write_text(render_report_html(rep, title="synthetic en-de"), encoding="utf-8")
    return page, rep, fx["cases"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def cards(drv):
    return drv.find_elements(By.CSS_SELECTOR, "main#pairs section.pair")


def ready(drv):
    WebDriverWait(drv, 15).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")


def test_report_in_headless_chromium(driver, report_page):
    page, rep, cases = report_page
    t0 = time.perf_counter()
    driver.get(page.as_uri())
    ready(driver)
    load_s = time.perf_counter() - t0
    assert load_s < 5, f"page took {load_s:.2f}s to render"  # generous under a loaded CI machine

    # first page: 25 pairs, counts, entities with the right classes
    assert len(cards(driver)) == 25
    assert driver.find_element(By.ID, "count").text == f"{N_PAIRS} of {N_PAIRS} pairs"
    assert driver.find_element(By.ID, "pageinfo").text == f"page 1 / {N_PAIRS // 25}"
    first, compound = cards(driver)[0], cards(driver)[1]
    assert cases[0] == "correct" and cases[1] == "compound"
    src_mark = first.find_element(By.CSS_SELECTOR, ".row.src mark")
    assert set(src_mark.get_attribute("class").split()) == {"ent", "ent-ORG", "o-projected"}
    assert "c-correct" in first.find_element(By.CSS_SELECTOR, ".row.tgt mark").get_attribute("class")
    m = compound.find_element(By.CSS_SELECTOR, ".row.src mark")
    assert {"ent", "ent-ORG", "o-length_ratio"} <= set(m.get_attribute("class").split())
    assert m.text.replace("\n", " ").startswith("Member States")
    assert "c-missed" in compound.find_element(By.CSS_SELECTOR, ".row.gold mark").get_attribute("class")
    lost = compound.find_elements(By.CSS_SELECTOR, ".row.tgt .tok.lost")
    assert [t.text for t in lost] == ["Mitgliedstaaten"]
    assert "compound?" in compound.find_element(By.CSS_SELECTOR, "li[data-category=missed]").text
    # displaCy-like colours come from the type class
    assert src_mark.value_of_css_property("background-color") == "rgba(122, 236, 236, 1)"
    # one line per alignment link, inside the drawing
    n_lines = len(first.find_elements(By.CSS_SELECTOR, "svg.links line"))
    assert n_lines == len(rep.pairs[0].alignment.links) > 0
    x1 = float(first.find_element(By.CSS_SELECTOR, "svg.links line").get_attribute("x1"))
    assert x1 > 0

    # errors only hides the correct pairs
    driver.find_element(By.ID, "f-errors").click()
    ready(driver)
    n_err = rep.n_error_pairs
    assert n_err == sum(1 for c in cases if c != "correct")
    assert driver.find_element(By.ID, "count").text == f"{n_err} of {N_PAIRS} pairs"
    shown = [int(c.get_attribute("data-i")) for c in cards(driver)]
    assert len(shown) == 25 and all(cases[i] != "correct" for i in shown)
    assert all(c.get_attribute("data-err") == "1" for c in cards(driver))

    # paging: next shows the following 25 error pairs, prev returns
    driver.find_element(By.ID, "next").click()
    shown2 = [int(c.get_attribute("data-i")) for c in cards(driver)]
    expected = [p.index for p in rep.pairs if p.has_error][25:50]
    assert shown2 == expected
    assert driver.find_element(By.ID, "pageinfo").text.startswith("page 2 /")
    driver.find_element(By.ID, "prev").click()
    assert [int(c.get_attribute("data-i")) for c in cards(driver)] == shown

    # reason + type filter, then search by token
    Select(driver.find_element(By.ID, "f-reason")).select_by_value("no_links")
    n_nolinks = sum(1 for c in cases if c == "no_links")
    assert driver.find_element(By.ID, "count").text == f"{n_nolinks} of {N_PAIRS} pairs"
    Select(driver.find_element(By.ID, "f-type")).select_by_value("ORG")
    assert driver.find_element(By.ID, "count").text == f"0 of {N_PAIRS} pairs"  # no_links entities are PER
    assert driver.find_element(By.CSS_SELECTOR, "main#pairs .empty").text
    driver.find_element(By.ID, "f-reset").click()
    box = driver.find_element(By.ID, "f-search")
    box.send_keys("mitgliedstaaten")
    n_comp = sum(1 for c in cases if c == "compound")
    WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "count").text == f"{n_comp} of {N_PAIRS} pairs")
    assert all(cases[int(c.get_attribute("data-i"))] == "compound" for c in cards(driver))

    # matrix view on demand, summary links filter
    Select(driver.find_element(By.ID, "f-view")).select_by_value("matrix")
    assert len(driver.find_elements(By.CSS_SELECTOR, "table.matrix")) == len(cards(driver)) == 25
    assert driver.find_elements(By.CSS_SELECTOR, "table.matrix td.on")
    gold_only = driver.find_elements(By.CSS_SELECTOR, "table.matrix thead th.gold-only")
    assert [th.get_attribute("textContent") for th in gold_only[:1]] == ["Mitgliedstaaten"]
    driver.find_element(By.ID, "f-reset").click()
    driver.find_element(By.CSS_SELECTOR, '#categories a[data-reason="wrong_type"]').click()
    assert driver.find_element(By.ID, "count").text == f"{sum(1 for c in cases if c == 'wrong_type')} of {N_PAIRS} pairs"

    # the summary carries the evaluate signature
    assert driver.find_element(By.ID, "eval-signature").text == rep.scores.signature

    # no console errors at all
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
