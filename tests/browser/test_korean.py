"""The Radar read in Korean in a real browser: Plotly's own tooltips and the hover legend come
from the JavaScript catalog (static/js/chart_locale.js, static/js/radar.js)."""

import pytest

from analysis.tests.factories import make_swing_stock

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_locale():
    return "ko-KR"


def test_the_radar_chart_speaks_korean(transactional_db, logged_in_page):
    make_swing_stock()
    page = logged_in_page
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    titles = page.eval_on_selector_all(
        "#radar-chart .modebar-btn", "buttons => buttons.map(b => b.dataset.title)"
    )
    assert "이동" in titles and "축 초기화" in titles and "Pan" not in titles
    legend = page.inner_text("#hover-readout")
    assert "시 " in legend and "종 " in legend and "거래량 " in legend
