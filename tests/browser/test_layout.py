"""No page is wider than the window: at 1280×800 (a laptop) and 390×844 (a phone), every page's
`document.documentElement.scrollWidth` stays within `innerWidth` (pages in Korean, the
default). At 390 px the Scanner and the labels list keep the symbol and name visible."""

import pytest

from alerts.models import PATTERN_STATUS_FLAGS, PATTERN_TYPE_FLAGS, Notification, RuleKind
from alerts.tests.factories import make_rule, make_watchlist
from analysis.services import series_analyze
from analysis.tests.factories import make_swing_stock
from labeling.tests.factories import make_label

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (390, 844)]


@pytest.fixture
def browser_locale():
    return "ko-KR"


@pytest.fixture
def data(transactional_db, user):
    stock, _frame = make_swing_stock()
    series_analyze(stock=stock, timeframe="1d")
    label = make_label(user, stock, tags=["교과서", "연습"])
    make_watchlist(user, "반도체", [stock])
    make_rule(
        user,
        kind=RuleKind.PATTERN,
        stock=stock,
        name="삼성 패턴 완성",
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["completed"]),
    )
    Notification.objects.create(
        owner=user,
        stock=stock,
        timeframe="1d",
        kind="pattern",
        event_key="005930:1d:pattern:DT:x:completed",
        bar_ts="2025-11-20T00:00:00+09:00",
        focus_start_ts="2025-11-01T00:00:00+09:00",
        title="005930 삼성전자 1d: Double top completed (confirmed)",
        body="Bar 2025-11-20 (Thu) (KST). Neckline 70,000 KRW, target 65,000 KRW.",
        payload={"symbol": "005930"},
    )
    return {"label": label}


def pages(label) -> dict[str, str]:
    return {
        "radar": "/radar/?symbol=005930&tf=1d",
        "scanner": "/scanner/?tf=1d&days=5000",
        "labels": "/labels/",
        "label detail": label.get_absolute_url(),
        "pattern stats": "/patterns/stats/",
        "watchlists": "/watchlists/",
        "alerts": "/alerts/",
        "notifications": "/notifications/",
        "alert settings": "/alerts/settings/",
        "settings": "/settings/",
    }


def overflow(page) -> dict:
    return page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                  widest: [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                    .filter(e => ![...e.children].some(
                        c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
                    .slice(0, 4).map(e => `${e.tagName}.${e.className}#${e.id}`)})"""
    )


@pytest.mark.parametrize("width,height", SIZES)
def test_no_page_overflows_horizontally(data, logged_in_page, width, height, screenshot):
    page = logged_in_page
    page.set_viewport_size({"width": width, "height": height})
    too_wide = {}
    for name, url in pages(data["label"]).items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        if name == "radar":
            page.wait_for_selector("#radar-chart[data-ready=true]")
        measured = overflow(page)
        print(
            f"{width}px {name}: scrollWidth {measured['scroll']} / innerWidth {measured['inner']}"
        )
        if measured["scroll"] > measured["inner"]:
            too_wide[name] = measured
            screenshot(page, f"layout-{width}-{name.replace(' ', '-')}")
    assert too_wide == {}


@pytest.mark.parametrize("url", ["/scanner/?tf=1d&days=5000", "/labels/"])
def test_phone_keeps_symbol_and_name_visible(data, logged_in_page, url):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    row = page.locator("table.data tbody tr").first
    for cell in ("td.code", "td.name"):
        box = row.locator(cell).bounding_box()
        assert box is not None and box["width"] > 0, f"{cell} hidden on {url}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert "005930" in row.inner_text() and "삼성전자" in row.inner_text()


def test_radar_chart_is_full_width_on_a_phone(data, logged_in_page):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    chart = page.locator("#radar-chart").bounding_box()
    assert chart["width"] >= 390 - 40 and chart["x"] + chart["width"] <= 390
