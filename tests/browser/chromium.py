"""Debian's Chromium through Playwright, shared by every browser test suite.

The root conftest registers it as a plugin, so the `browser` fixture is everywhere. It never
downloads a browser (no `playwright install`): /usr/bin/chromium is Debian's, installed by
`make test`. `report_csp_violations(context, problems)` makes every page fixture fail on any
Content-Security-Policy violation.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
# thread with a running loop unless told it is safe (the tests and the live server are sync).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import sync_playwright  # noqa: E402

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
