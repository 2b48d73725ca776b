"""The Content-Security-Policy in a real browser: an inline script that is not the project's own
is blocked, and the page fixture reports the violation (so every browser test fails on one)."""

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

INJECT_INLINE_SCRIPT = """() => {
  const script = document.createElement('script');
  script.textContent = 'window.injected = true';
  document.body.appendChild(script);
}"""


def test_an_injected_inline_script_is_blocked_and_reported(logged_in_page):
    page = logged_in_page
    page.goto("/radar/")
    page.evaluate(INJECT_INLINE_SCRIPT)
    page.wait_for_timeout(200)  # the violation event is dispatched as a task
    assert page.evaluate("window.injected") is None
    violations = [p for p in page.problems if p.startswith("CSP violation: script-src")]
    assert violations, page.problems
    page.problems.clear()  # seen on purpose; anything else still fails the test


def test_admin_runs_under_the_policy(page, django_user_model):
    from marketdata.tests.factories import make_stock

    stock = make_stock("005930", "삼성전자")
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    page.goto("/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/admin/login" not in url)
    for path in [
        "/admin/",
        "/admin/marketdata/stock/",
        f"/admin/marketdata/stock/{stock.pk}/change/",
        # Date and time widgets, the two-list permission picker, related-object links.
        f"/admin/auth/user/{root.pk}/change/",
    ]:
        response = page.goto(path)
        assert response.status == 200, path
    page.wait_for_timeout(200)
    assert page.problems == []
