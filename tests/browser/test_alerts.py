"""Watchlists and alerts in headless Chromium: star a stock and ask for a pattern's neckline
break on the Radar, a collection completes the pattern, the bell counts it, and the notification
opens the Radar at that bar."""

import pytest
from celery import current_app

from alerts.models import Notification, WatchlistItem
from alerts.tests.factories import (
    NECKLINE_BROKEN,
    NECKLINE_COMPLETION_BAR,
    NECKLINE_FORMING,
    NECKLINE_SEED,
    random_walk,
)
from analysis.models import PatternInstance
from analysis.services import series_analyze
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.browser


@pytest.fixture
def eager_celery():
    # The live server and the test share this process: the evaluation the analysis queues runs
    # right after its commit, as a worker would run it a moment later.
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = False


@pytest.fixture
def forming(transactional_db, eager_celery):
    """005930 collected and analysed up to a bar where a double bottom is forming (the first
    evaluation of the series: the baseline, which notifies nothing)."""
    stock = make_stock("005930", "삼성전자")
    frame = random_walk(NECKLINE_BROKEN, seed=NECKLINE_SEED)
    make_candles(stock, "1d", frame.iloc[:NECKLINE_FORMING])
    series_analyze(stock=stock, timeframe="1d")
    assert PatternInstance.objects.filter(stock=stock, pattern_type="DB", status="forming")
    return {"stock": stock, "frame": frame}


def bell_count(page) -> str:
    return page.inner_text("#bell-count").strip()


def test_a_neckline_alert_from_the_radar_rings_the_bell_after_a_collection(
    forming, logged_in_page, user, screenshot
):
    page = logged_in_page
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert bell_count(page) == "0"

    # The star puts the stock on the default watchlist (HTMX swaps the star in place).
    page.click("#radar-info .watchlist-star button")
    page.wait_for_selector("#radar-info .watchlist-star button[aria-pressed=true]")
    assert WatchlistItem.objects.filter(watchlist__owner=user, stock=forming["stock"]).exists()

    # "Alert me on its neckline break" on the forming double bottom.
    forming_db = "tr.pattern-row:has(form.neckline-alert input[name=pattern_type][value=DB])"
    start = page.get_attribute(forming_db, "data-start-index")
    row = page.locator(f"tr.pattern-row[data-start-index='{start}']")
    row.locator("form.neckline-alert button").click()
    row.locator(".alert-set").wait_for()
    assert "neckline break" in row.locator(".alert-set").inner_text()
    screenshot(page, "radar-neckline-alert-set")

    # A collection stores the next bars and the pipeline analyses the series again.
    make_candles(forming["stock"], "1d", forming["frame"].iloc[NECKLINE_FORMING:])
    series_analyze(stock=forming["stock"], timeframe="1d")
    notification = Notification.objects.get(owner=user)

    page.reload()
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert bell_count(page) == "1"
    page.click("#bell")
    page.wait_for_url("**/notifications/")
    assert "Double bottom completed" in page.inner_text(".notifications-table")
    screenshot(page, "notifications-after-collection")

    page.click(f"#notification-{notification.pk} a.open-radar")
    page.wait_for_url("**/radar/?symbol=005930&tf=1d&focus_start=*")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    completion = forming["frame"].index[NECKLINE_COMPLETION_BAR]
    assert f"focus_end={completion.date().isoformat()}" in page.url
    # The chart is zoomed onto the pattern, up to and including the completion bar.
    first, last, width = page.evaluate(
        """() => {
            const gd = document.getElementById('radar-chart');
            const figure = JSON.parse(document.getElementById('radar-figure').textContent);
            const ts = figure.radar.ts, [lo, hi] = gd.layout.xaxis.range;
            const at = (i) => ts[Math.min(ts.length - 1, Math.max(0, i))];
            return [at(Math.ceil(lo)), at(Math.floor(hi)), hi - lo];
        }"""
    )
    assert first <= completion.isoformat() <= last and width < 200
    assert bell_count(page) == "0"
    screenshot(page, "radar-at-the-notified-bar")
