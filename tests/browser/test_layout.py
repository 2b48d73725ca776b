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
    """At 390 px the symbol and name cells are on screen and the secondary columns (`col-2nd`)
    are folded away; at 1280 px those are shown."""
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    row = page.locator("table.data tbody tr").first
    for cell in ("td.code", "td.name"):
        assert row.locator(cell).is_visible(), f"{cell} hidden on {url}"
        box = row.locator(cell).bounding_box()
        assert box is not None and box["width"] > 0, f"{cell} hidden on {url}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert "005930" in row.inner_text() and "삼성전자" in row.inner_text()
    folded = row.locator("td.col-2nd")
    assert folded.count() > 0
    assert not any(folded.nth(i).is_visible() for i in range(folded.count()))
    page.set_viewport_size({"width": 1280, "height": 800})
    assert all(folded.nth(i).is_visible() for i in range(folded.count()))


def test_radar_chart_is_full_width_and_controls_fold_on_a_phone(data, logged_in_page, screenshot):
    """At 390 px the chart takes the whole width and the detector, layer and indicator controls
    are folded under "Controls", which opens them; at 1280 px they are open, no summary."""
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    chart = page.locator("#radar-chart").bounding_box()
    assert chart["width"] >= 0.95 * 390 and chart["x"] >= 0 and chart["x"] + chart["width"] <= 390
    groups = page.locator("#radar-control-groups")
    layer_box = page.locator('input[data-layer="zigzag"]')
    summary = groups.locator("summary")
    assert groups.get_attribute("open") is None
    assert not layer_box.is_visible() and not page.locator("#detector-picker").is_visible()
    assert summary.is_visible() and summary.inner_text() == "차트 설정"
    screenshot(page, "radar-phone")
    summary.click()
    assert groups.get_attribute("open") is not None
    assert layer_box.is_visible() and page.locator('input[name="ind"]').first.is_visible()
    assert page.locator("#detector-picker").is_visible()
    screenshot(page, "radar-phone-controls")
    summary.click()
    assert not layer_box.is_visible()
    # A wide window: open, nothing to click.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_function("() => document.getElementById('radar-control-groups').open")
    assert layer_box.is_visible() and not summary.is_visible()
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert layer_box.is_visible() and not summary.is_visible()
    screenshot(page, "radar-1280")
