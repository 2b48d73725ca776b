"""Headless Chromium through Playwright for the browser tests (`@pytest.mark.browser`).

Fixtures: `browser` (Debian's /usr/bin/chromium, never a Playwright download), `page` (a fresh
context on the live server that fails the test on any page error or console error),
`logged_in_page` (the `user` fixture logged in through the login form; append a URL suffix to
`page.expected_error_urls` before opening an error page on purpose) and `screenshot(page, name)`
which saves PNGs under test-artifacts/ (gitignored).
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
# thread with a running loop unless told it is safe (the tests and the live server are sync).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import PASSWORD  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    # Module scope: one Playwright event loop at a time, so other apps' browser tests (which
    # start their own) can run in the same session before or after these.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}, locale="ko-KR"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []

    expected_error_urls: list[str] = []  # a test that opens a 404 page on purpose adds it here

    def on_console(message):
        url = message.location.get("url", "")
        # The browser asks for /favicon.ico on its own; that 404 is not the page's doing.
        expected = any(url.endswith(suffix) for suffix in expected_error_urls)
        if message.type == "error" and not url.endswith("/favicon.ico") and not expected:
            problems.append(f"console.{message.type}: {message.text} ({message.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems
    page.expected_error_urls = expected_error_urls
    yield page
    context.close()
    assert problems == [], "JavaScript errors on the page"


@pytest.fixture
def logged_in_page(page, user):
    page.goto("/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    return page


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
