"""The API docs at ``/schema`` render in Chromium (issue 13, finding 25).

The document is OpenAPI 3.1; Swagger UI 4 answered it with "Unable to render this
definition". Every operation of the document must be listed on the page, and the page must
load everything from the server itself (no CDN, nothing from elsewhere at run time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.http.pages.conftest import chromium

UNRENDERABLE = "Unable to render this definition"


@pytest.fixture()
def watched_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A Chromium of its own that logs every request its pages make."""
    driver = chromium(tmp_path_factory.mktemp("chromium-network"), network_log=True)
    yield driver
    driver.quit()


def _requested_urls(driver: webdriver.Chrome) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def _listed_operations(driver: webdriver.Chrome) -> set[tuple[str, str]]:
    def rendered(d: Any) -> bool:
        return bool(d.find_elements(By.CSS_SELECTOR, ".opblock")) or UNRENDERABLE in d.page_source

    try:
        WebDriverWait(driver, 60).until(rendered)
    except TimeoutException:
        pytest.fail("/schema rendered neither operations nor an error within 60 s")
    body = driver.find_element(By.TAG_NAME, "body").text
    assert UNRENDERABLE not in body, body[:500]
    listed = set()
    for block in driver.find_elements(By.CSS_SELECTOR, ".opblock"):
        method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text
        path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
            "data-path"
        )
        listed.add((method.upper(), str(path)))
    return listed


def test_the_docs_list_every_operation_and_load_nothing_from_elsewhere(
    watched_browser: webdriver.Chrome, server: str
) -> None:
    document = httpx.get(server + "/schema/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.1")
    expected = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    watched_browser.get_log("performance")  # what the browser did before this page
    watched_browser.get(server + "/schema")
    listed = _listed_operations(watched_browser)
    assert ("POST", "/v1/predictions") in listed
    assert listed == expected
    requested = _requested_urls(watched_browser)
    assert any(url.endswith("swagger-ui-bundle.js") for url in requested), requested
    # every request over the network (the browser's own chrome:// pages and data: or
    # blob: URLs are not), to the server or elsewhere
    network = [u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    elsewhere = sorted(u for u in network if urlsplit(u).netloc != urlsplit(server).netloc)
    assert elsewhere == [], f"/schema requested other hosts: {elsewhere}"
    watched_browser.set_window_size(800, 900)  # issue 16: no horizontal overflow at 800 px
    document, window = watched_browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert document <= window, f"/schema overflows at 800 px: {document} > {window}"
