"""Headless Chromium through Playwright for the browser tests (`@pytest.mark.browser`).

Fixtures (`browser` itself comes from `tests/browser/chromium.py`): `page` (a fresh context on
the live server that fails the test on any page error, console error or Content-Security-Policy
violation),
`logged_in_page` (the `user` fixture logged in through the login form; append a URL suffix to
`page.expected_error_urls` before opening an error page on purpose) and `screenshot(page, name)`
which saves PNGs under test-artifacts/ (gitignored).

`page.wait_for_function` gets a function (`"() => …"`): Playwright evaluates a bare expression
with `eval`, which the pages' Content-Security-Policy refuses.
"""

from pathlib import Path

import pytest

from conftest import PASSWORD
from tests.browser.chromium import ARTIFACTS, report_csp_violations


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}, locale="ko-KR"
    )
    context.set_default_timeout(15_000)
    problems: list[str] = []
    report_csp_violations(context, problems)
    page = context.new_page()

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
    assert problems == [], "JavaScript errors or CSP violations on the page:\n" + "\n".join(
        problems
    )


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
