"""Headless Chromium (Debian's) driven by Playwright, for map tests.

Skipped with a reason when Chromium or Playwright is missing; `.ci/run`
installs both so that these tests run in CI.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LoadedPage:
    """A page with what it asked the network for and the errors it raised."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def network_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(("file:", "data:", "about:"))]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}; install Debian's chromium package")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """Open a local HTML file; returns a :class:`LoadedPage`."""
    pages = []

    def load(path: Path, *, width: int = 1280, height: int = 860) -> LoadedPage:
        page = browser.new_page(viewport={"width": width, "height": height})
        loaded = LoadedPage(page)
        page.on("request", lambda request: loaded.requests.append(request.url))
        page.on("pageerror", lambda error: loaded.errors.append(str(error)))
        page.on("console", lambda message: loaded.errors.append(message.text) if message.type == "error" else None)
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
        pages.append(page)
        return loaded

    yield load
    for page in pages:
        page.close()
