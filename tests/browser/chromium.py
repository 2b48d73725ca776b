"""Debian's Chromium through Playwright, shared by every browser test suite.

The root conftest registers it as a plugin, so its fixtures are everywhere: `browser`; `page` (a
fresh context on the live server that fails the test on any page error, console error or
Content-Security-Policy violation; append a URL suffix to `page.expected_error_urls` before a
request that fails on purpose); `logged_in_page` (the `user` fixture logged in through the login
form); `screenshot(page, name)` (PNGs under test-artifacts/, gitignored). It never downloads a
browser (no `playwright install`): /usr/bin/chromium is Debian's, installed by `make test`.

`page.wait_for_function` gets a function (`"() => …"`): Playwright evaluates a bare expression
with `eval`, which the pages' Content-Security-Policy refuses.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
# thread with a running loop unless told it is safe (the tests and the live server are sync).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.factories import PASSWORD  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Runs in every document before the page's own scripts. Playwright injects it through the
# DevTools protocol, so the page's Content-Security-Policy does not apply to it.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} ` +
    `in ${event.sourceFile || event.documentURI}:${event.lineNumber}:${event.columnNumber} ` +
    (event.sample || '')
  );
});
"""


def report_csp_violations(context, problems: list[str]) -> None:
    """Appends every Content-Security-Policy violation on any page of `context` to `problems`
    (the `securitypolicyviolation` event; console filters for expected errors do not hide it)."""
    context.expose_function(
        "__reportCspViolation", lambda text: problems.append(f"CSP violation: {text}")
    )
    context.add_init_script(CSP_LISTENER)


@pytest.fixture(scope="module")
def browser():
    # Module scope: one Playwright event loop at a time, so several suites' browser tests can
    # run in the same session one module after another.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_locale():
    """The browser's language (its Accept-Language): English, like the rest of the suite; a
    module overrides this fixture to read the pages in Korean."""
    return "en-US"


@pytest.fixture
def page(browser, live_server, transactional_db, browser_locale):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}, locale=browser_locale
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
