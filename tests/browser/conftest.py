"""Browser tests: Playwright (sync API) driving Debian's chromium against pytest-django's live server.

Never downloads a browser: if /usr/bin/chromium is missing the tests fail and say so."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django would then refuse the test's
# own ORM calls (reading the member it just signed up) as "async-unsafe". The live server thread
# that serves the pages is unaffected.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian chromium is required for browser tests but {CHROMIUM} does not exist. "
            "Install it with `apt-get install -y chromium` (do not let Playwright download a browser).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    """A phone-sized page whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844},
                                  locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


# The password tests.factories.UserFactory gives every staff user it makes.
STAFF_PASSWORD = "correct-horse-42"


@pytest.fixture
def desk_page(browser, live_server):
    """A desk-sized (1366 × 768) page asking for Chinese, whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768},
                                  locale="zh-CN", extra_http_headers={"Accept-Language": "zh-Hans,zh;q=0.9"})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def desk_login(page, username: str, password: str = STAFF_PASSWORD) -> None:
    """Log in on the desk's own login page and land on the desk."""
    import re

    page.goto("/desk/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/desk/$"))
