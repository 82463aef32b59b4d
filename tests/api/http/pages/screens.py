"""Screenshots of a page at the widths people use (a laptop, a narrow window or a tablet),
each checked for horizontal overflow: a page wider than its window hides its right edge.

The PNG files go to ``$TWINREG_TEST_SCREENSHOTS`` when it names a directory (to look at
them), else to the test's temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

from tests.api.http.pages.web import Web

WIDTHS = (1366, 800)
HEIGHT = 900
#: The browser's window after a screenshot (the session's Chromium starts so).
RESTORED = (1280, 1600)
#: The tallest screenshot taken (Chromium's limit on one capture is far above it).
MAX_HEIGHT = 16000


def screenshot_dir(default: Path) -> Path:
    chosen = os.environ.get("TWINREG_TEST_SCREENSHOTS")
    out = Path(chosen) if chosen else default
    out.mkdir(parents=True, exist_ok=True)
    return out


def overflow(web: Web) -> tuple[int, int]:
    """(document width, window width) of the page shown."""
    widths = web.driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return int(widths[0]), int(widths[1])


def shoot(web: Web, directory: Path, name: str) -> list[Path]:
    """The page shown, reloaded at each of :data:`WIDTHS`: asserted not to overflow its
    window, and saved whole (the window as tall as the page)."""
    saved = []
    try:
        for width in WIDTHS:
            web.driver.set_window_size(width, HEIGHT)
            web.driver.refresh()
            document, window = overflow(web)
            assert document <= window, f"{name} overflows at {width} px: {document} > {window}"
            height = web.driver.execute_script("return document.documentElement.scrollHeight")
            web.driver.set_window_size(width, min(int(height) + 140, MAX_HEIGHT))
            path = directory / f"{name}-{width}.png"
            assert web.driver.save_screenshot(str(path)), path
            assert path.stat().st_size > 10_000, f"{path} is (nearly) empty"
            saved.append(path)
    finally:
        web.driver.set_window_size(*RESTORED)
    return saved


def card_top_gaps(web: Web) -> dict[str, float]:
    """Per card (by its test id): the space, in px, between the inside of the card's top
    edge (its border and padding) and its first shown child's top (a hidden input shows
    nothing): an empty band at a card's top reads as something missing."""
    gaps: dict[str, float] = web.driver.execute_script(
        """
        const out = {};
        document.querySelectorAll('.card').forEach((card, i) => {
          const first = [...card.children].find(e => e.getClientRects().length > 0);
          if (!first) return;
          const style = getComputedStyle(card);
          const inside = card.getBoundingClientRect().top + card.clientTop
            + parseFloat(style.paddingTop);
          out[card.dataset.testid || 'card-' + i] = first.getBoundingClientRect().top - inside;
        });
        return out;
        """
    )
    return gaps
