"""The pattern statistics page in headless Chromium: both Plotly charts draw from the embedded
figures under the Content-Security-Policy, and a filter narrows the table through the URL."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from analysis.services import series_analyze
from analysis.tests.factories import swing_series
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.browser


@pytest.fixture
def outcomes(transactional_db):
    for code, name, seed in [("005930", "삼성전자", 7), ("000660", "SK하이닉스", 3)]:
        stock = make_stock(code, name)
        make_candles(
            stock, "1d", swing_series("1d", date(2019, 1, 2), date(2025, 11, 20), seed=seed)
        )
        series_analyze(stock=stock, timeframe="1d")
    call_command("calibrate_patterns", stdout=StringIO())


def test_charts_draw_and_filters_live_in_the_url(outcomes, logged_in_page, screenshot):
    page = logged_in_page
    page.goto("/patterns/stats/")
    page.wait_for_selector("#outcome-histogram .main-svg")
    page.wait_for_selector("#calibration-curve .main-svg")
    bars = page.locator("#outcome-histogram g.trace.bars").count()
    assert bars == 4  # target, failed, expired, pending
    rows = page.locator("#stats-table tr.stats-row")
    kinds = set(rows.locator("td:first-child b").all_inner_texts())
    assert len(kinds) > 1
    screenshot(page, "pattern-stats")
    kind = sorted(kinds)[0]
    page.select_option("select[name=type]", kind)
    page.click("#stats-filters button[type=submit]")
    page.wait_for_url(f"**type={kind}**")
    assert set(page.locator("#stats-table tr.stats-row td:first-child b").all_inner_texts()) == {
        kind
    }
