"""Headless Chromium to look at the report as a user does: opened from disk, no server.

Used by the browser test and bench/report_build.py; needs Debian's `chromium` and
`chromium-driver` (tools/install_chromium.sh) and selenium (the test extra). The machine
may have no network: Chromium starts with everything that phones home turned off.
"""
import contextlib
from pathlib import Path

__all__ = ["CHROMIUM", "CHROMEDRIVER", "headless_chromium", "console_errors", "visible_images",
           "first_screen_ms"]

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARGUMENTS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--window-size=1400,1000")

# Each visible <img>: its src, whether it finished loading and its natural width.
_VISIBLE_IMAGES = """
return Array.from(document.images).filter(img => img.offsetParent !== null)
  .map(img => [img.getAttribute('src'), img.complete, img.naturalWidth]);
"""


@contextlib.contextmanager
def headless_chromium(user_data_dir):
    """A selenium WebDriver on a fresh headless Chromium profile in `user_data_dir`."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `bash tools/install_chromium.sh` as root "
                                    "(apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*ARGUMENTS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list:
    """The console messages of level SEVERE since the last call (errors, failed loads)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def visible_images(driver, timeout=20.0) -> list:
    """[(src, naturalWidth)] of every visible <img>, once all of them finished loading."""
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(drv):
        images = drv.execute_script(_VISIBLE_IMAGES)
        return images if images and all(complete for _, complete, _ in images) else False

    images = WebDriverWait(driver, timeout).until(settled)
    return [(src, width) for src, _, width in images]


def first_screen_ms(driver, index_html) -> float:
    """Load `index_html` from disk; ms from navigation start until the first screen's
    thumbnails have all loaded (the page's load event or the last thumbnail, the later)."""
    driver.get(Path(index_html).resolve().as_uri())
    visible_images(driver)
    return float(driver.execute_script("""
const navigation = performance.getEntriesByType('navigation')[0];
const images = performance.getEntriesByType('resource').filter(r => r.initiatorType === 'img');
return Math.max(navigation.loadEventEnd, ...images.map(r => r.responseEnd));"""))
