"""Drive the docs site in headless Chromium (Selenium + Debian's chromedriver).

Usage: python docs_browser.py BASE_URL EXPECT_JSON [SCREENSHOT_DIR]

EXPECT_JSON holds what the calling test knows independently: the stage names of the pipeline,
how many runs built ads_rfm_score, and the lineage and source columns expected for
ads_rfm_score.monetary_365d. Prints a JSON summary; exits non-zero on the first failed check.
"""

import json
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def fail(msg):
    raise SystemExit(msg)


def main():
    base, expect = sys.argv[1], json.loads(sys.argv[2])
    shots = sys.argv[3] if len(sys.argv) > 3 else None
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1500,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    summary = {}
    try:
        wait = WebDriverWait(driver, 20)
        driver.get(base + "index.html")
        # The DAG shows every stage as a link, inside the band of its layer.
        nodes = {a.text: a for a in driver.find_elements(By.CSS_SELECTOR, "svg a.node")}
        missing = [s for s in expect["stages"] if s not in nodes]
        if missing:
            fail(f"stages missing from the DAG: {missing}")
        bands = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "svg text.band-label")]
        if bands != ["ODS", "DWD", "DWS", "ADS"]:
            fail(f"layer bands: {bands}")
        summary["dag_nodes"] = len(nodes)
        if shots:
            svg = driver.find_element(By.CSS_SELECTOR, ".dag svg").size
            driver.set_window_size(int(svg["width"]) + 80, int(svg["height"]) + 460)
            driver.save_screenshot(f"{shots}/docs-dag.png")
            driver.set_window_size(1500, 1000)
        # Clicking a node opens its table page.
        driver.execute_script("arguments[0].scrollIntoView({inline: 'center'});", nodes["ads_rfm_score"])
        driver.execute_script(
            "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));",
            nodes["ads_rfm_score"],
        )
        wait.until(lambda d: d.current_url.endswith("tables/ads_rfm_score.html"))
        # Columns with their lineage.
        row = driver.find_element(By.ID, "col-monetary_365d")
        cells = row.find_elements(By.TAG_NAME, "td")
        origins = [a.text for a in cells[3].find_elements(By.TAG_NAME, "a")]
        # Grouped by table: "ods_order: amount, order_time".
        sources = [
            f"{line.split(': ')[0]}.{col}"
            for line in cells[4].text.split("\n")
            for col in line.split(": ")[1].split(", ")
        ]
        if origins != expect["monetary_origins"]:
            fail(f"lineage of monetary_365d: {origins}")
        if sorted(sources) != sorted(expect["monetary_sources"]):
            fail(f"source columns of monetary_365d: {sources}")
        columns = len(driver.find_elements(By.CSS_SELECTOR, "table.columns tr[id^='col-']"))
        summary["rfm_columns"] = columns
        # The row-count chart renders one visible bar per run.
        bars = driver.find_elements(By.CSS_SELECTOR, "svg.rows rect.bar.published")
        sizes = [b.rect for b in bars]
        if len(bars) != expect["rfm_runs"] or any(s["height"] <= 0 or s["width"] <= 0 for s in sizes):
            fail(f"row chart bars: {sizes}")
        cells = driver.find_elements(By.CSS_SELECTOR, "svg.checks rect.cell")
        if not cells or any(c.rect["width"] <= 0 for c in cells):
            fail("check results chart did not render")
        summary["chart_bars"] = len(bars)
        summary["check_cells"] = len(cells)
        if shots:
            driver.set_window_size(1500, 2600)
            driver.save_screenshot(f"{shots}/docs-ads_rfm_score.png")
            driver.set_window_size(1500, 1000)
        # Search: typing lists matching columns; Enter opens the first hit.
        box = driver.find_element(By.ID, "search")
        box.send_keys("monetary_365d")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results a"))
        hits = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#results a .name")]
        if "ads_rfm_score.monetary_365d" not in hits:
            fail(f"search hits: {hits}")
        box.send_keys(Keys.ENTER)
        wait.until(lambda d: "#col-" in d.current_url)
        summary["search_hits"] = hits
        summary["after_enter"] = driver.current_url.rsplit("/", 1)[-1]
    finally:
        driver.quit()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
