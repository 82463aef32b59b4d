"""A small page-object over Selenium for the page tests."""

from __future__ import annotations

from dataclasses import dataclass

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait


@dataclass
class Web:
    driver: webdriver.Chrome
    base: str

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base)

    def sign_in(self, token: str, path: str = "/ui/") -> None:
        self.driver.delete_all_cookies()
        self.open(path)
        self.find("#token").send_keys(token)
        self.click("#sign-in")

    def click(self, css: str, within: WebElement | None = None) -> None:
        """Click and wait for the next page to load (a form post or a link)."""
        page = self.find("html")
        element = within.find_element(By.CSS_SELECTOR, css) if within else self.find(css)
        element.click()
        WebDriverWait(self.driver, 30, ignored_exceptions=[WebDriverException]).until(
            expected_conditions.staleness_of(page)
        )

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def testid(self, name: str) -> WebElement:
        return self.find(f'[data-testid="{name}"]')

    def text(self) -> str:
        return str(self.find("body").text)

    def fill(self, css: str, value: str) -> None:
        element = self.find(css)
        element.clear()
        element.send_keys(value)

    def enter(self, name: str, value: float) -> None:
        """A form field by its name: a yes/no or coded choice clicked or selected, a number
        typed."""
        code = f"{value:g}"
        radios = self.all(f'input[type="radio"][name="{name}"][value="{code}"]')
        if radios:
            radios[0].click()
        elif self.all(f"select#{name}"):
            self.select(f"#{name}", code)
        else:
            self.fill(f"#{name}", repr(value))

    def select(self, css: str, value: str) -> None:
        Select(self.find(css)).select_by_value(value)

    def links(self) -> set[str]:
        return {str(a.get_attribute("href")).removeprefix(self.base) for a in self.all("a")}
