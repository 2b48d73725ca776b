"""The Scanner in headless Chromium: an HTMX filter narrows the table and keeps the URL; a row
opens the Radar focused on its pattern."""

from datetime import date

import pytest

from analysis.models import PatternInstance
from analysis.services import series_analyze
from analysis.tests.factories import swing_series
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.browser


@pytest.fixture
def analysed(transactional_db):
    for code, name, seed in [("005930", "삼성전자", 7), ("000660", "SK하이닉스", 3)]:
        stock = make_stock(code, name)
        make_candles(
            stock, "1d", swing_series("1d", date(2023, 1, 2), date(2025, 11, 20), seed=seed)
        )
        series_analyze(stock=stock, timeframe="1d")
    return PatternInstance.objects.filter(timeframe="1d")


def test_filter_narrows_the_table_and_a_row_opens_the_radar(analysed, logged_in_page, screenshot):
    page = logged_in_page
    page.goto("/scanner/?days=5000")
    rows = page.locator("#scanner-results tr.scanner-row")
    total = analysed.count()
    assert rows.count() == min(total, 50)
    kinds = set(analysed.values_list("pattern_type", flat=True))
    kind = "DB" if "DB" in kinds else sorted(kinds)[0]
    expected = analysed.filter(pattern_type=kind).count()
    assert 0 < expected < total
    page.select_option("select[name=type]", kind)
    shown = min(expected, 50)
    page.wait_for_function(
        f"() => document.querySelectorAll('#scanner-results tr.scanner-row').length === {shown}"
    )
    assert f"type={kind}" in page.url  # HTMX pushed the filter into the URL
    firsts = page.locator("#scanner-results tr.scanner-row td:first-child b").all_inner_texts()
    assert set(firsts) == {kind}
    screenshot(page, "scanner-filtered")
    page.click("#scanner-results th a:has-text('Score')")
    page.wait_for_url("**sort=score**")
    scores = [
        float(s)
        for s in page.locator("#scanner-results tr.scanner-row td:nth-child(8)").all_inner_texts()
    ]
    assert scores == sorted(scores, reverse=True)
    page.locator("#scanner-results a.open-radar").first.click()
    page.wait_for_url("**/radar/?symbol=*focus_start=*")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    x0, x1 = page.evaluate("document.getElementById('radar-chart').layout.xaxis.range")
    assert x1 - x0 < 400  # zoomed to the pattern, not the whole series
    screenshot(page, "radar-focused-from-scanner")
