"""Browser fixtures: the real app served by uvicorn in another process, driven by Debian's
Chromium through Selenium and chromedriver (no browser download).

Outside CI a machine without Chromium skips the browser tests; in CI (``CI=true``) a
missing browser fails them, because ``.ci/test`` installs it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from api.composition.settings import Settings
from tests.conftest import IN_CI
from tests.security.workers import worker

CHROMIUM = os.environ.get("TWINREG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TWINREG_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")


def _browser_available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


def chromium(profile: Any, network_log: bool = False) -> webdriver.Chrome:
    """Headless Chromium through chromedriver; ``network_log`` keeps DevTools' network
    events (``driver.get_log("performance")``: every request the pages make)."""
    if not _browser_available():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing; .ci/test installs them")
        pytest.skip("Chromium and chromedriver are not installed (apt install chromium-driver)")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture()
def server(settings: Settings, service: Any) -> Iterator[str]:
    """The app in a uvicorn process on this test's home (the test's ``service`` shares
    its databases, so it can prepare patients and read the audit log)."""
    with worker(settings) as url:
        yield url


@pytest.fixture()
def web(browser: webdriver.Chrome, server: str) -> Iterator[Any]:
    from tests.api.http.pages.web import Web

    yield Web(browser, server)
    browser.delete_all_cookies()
