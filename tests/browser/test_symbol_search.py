"""The symbol box in Chromium: 초성 and code-prefix suggestions, chosen with the keyboard."""

import pytest

from analysis.tests.factories import make_swing_stock
from marketdata.tests.factories import make_stock

pytestmark = pytest.mark.browser


@pytest.fixture
def stocks(transactional_db):
    make_swing_stock()  # 005930 삼성전자 with daily bars
    make_stock("005935", "삼성전자우")
    make_stock("028260", "삼성물산")


def suggestions(page):
    page.wait_for_selector("#symbol-results [role=option]")
    return page.locator("#symbol-results [role=option]").evaluate_all(
        "(options) => options.map(o => o.id.replace('symbol-option-', ''))"
    )


def highlighted(page):
    return page.evaluate(
        "() => [...document.querySelectorAll('#symbol-results [aria-selected=true]')]"
        ".map(o => o.id.replace('symbol-option-', ''))"
    )


def test_initial_consonants_arrow_keys_and_enter_open_the_stock(stocks, logged_in_page):
    page = logged_in_page
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    box = page.locator("#symbol-input")
    box.fill("ㅅㅅ")
    assert suggestions(page) == ["005930", "005935", "028260"]
    box.press("ArrowDown")
    box.press("ArrowDown")
    assert highlighted(page) == ["005935"]
    assert box.get_attribute("aria-activedescendant") == "symbol-option-005935"
    box.press("ArrowUp")
    box.press("ArrowUp")  # wraps to the last suggestion
    assert highlighted(page) == ["028260"]
    box.press("ArrowDown")  # and back to the first
    assert highlighted(page) == ["005930"]
    box.fill("ㅅㅅㅈㅈㅇ")  # a new list: nothing highlighted until an arrow key
    page.wait_for_function(
        "() => document.querySelectorAll('#symbol-results [role=option]').length === 1"
    )
    assert highlighted(page) == []
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    assert "symbol=005935" in page.url and "tf=1d" in page.url


def test_code_prefix_on_the_search_page(stocks, logged_in_page):
    page = logged_in_page
    page.goto("/radar/symbols")
    page.locator("#q").fill("02826")
    assert suggestions(page) == ["028260"]
    page.locator("#q").press("ArrowDown")
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    assert "symbol=028260" in page.url
