"""The Radar's multi-timeframe strip: every timeframe's stored trend state and newest pattern,
each a link to that timeframe, read in one query."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from analysis.selectors.timeframes import timeframe_strip
from analysis.tests.factories import make_pattern, make_run
from marketdata.krx_calendar import TIMEFRAMES

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(samsung):
    stock, _frame = samsung
    now = timezone.now()
    daily = make_run(stock, "1d", trend="down")
    make_pattern(daily, "DT", start=now - timedelta(days=60), end=now - timedelta(days=30))
    make_pattern(
        daily, "HS", start=now - timedelta(days=40), end=now - timedelta(days=10), status="forming"
    )
    weekly = make_run(stock, "1w", trend="up")
    make_pattern(weekly, "IHS", start=now - timedelta(days=300), end=now - timedelta(days=100))
    make_run(stock, "5m", trend="sideways")
    make_run(stock, "1h", trend="down", is_default=False)  # custom parameters: not shown
    return stock


def test_one_cell_per_timeframe_with_trend_and_newest_pattern(runs, django_assert_num_queries):
    with django_assert_num_queries(1):
        cells = {cell.timeframe: cell for cell in timeframe_strip(stock=runs)}
    assert list(cells) == list(TIMEFRAMES)
    assert (cells["1d"].trend_state, cells["1d"].pattern_type, cells["1d"].pattern_status) == (
        "down",
        "HS",  # detected last: the newest
        "forming",
    )
    assert (cells["1w"].trend_state, cells["1w"].pattern_type) == ("up", "IHS")
    assert (cells["5m"].trend_state, cells["5m"].pattern_type) == ("sideways", "")
    assert not cells["1h"].analysed and not cells["30m"].analysed and not cells["1mo"].analysed


def test_radar_shows_the_strip_with_a_link_per_timeframe(user_client, runs):
    html = user_client.get("/radar/", {"symbol": "005930", "tf": "1d", "ind": "sma20"}).text
    strip = html[
        html.index('id="timeframe-strip"') : html.index(
            "</nav>", html.index('id="timeframe-strip"')
        )
    ]
    links = re.findall(r'data-timeframe="(\w+)"\s+href="([^"]+)"', strip)
    assert [tf for tf, _ in links] == list(TIMEFRAMES)
    for tf, href in links:
        assert href == f"?symbol=005930&amp;tf={tf}&amp;ind=sma20"
    assert 'class="mtf-cell current" data-timeframe="1d"' in strip
    cell_1d = strip[strip.index('data-timeframe="1d"') : strip.index('data-timeframe="1w"')]
    assert "▼ Downtrend" in cell_1d and "Head and shoulders · Forming" in cell_1d
    assert 'class="mtf-trend down"' in cell_1d
    cell_1w = strip[strip.index('data-timeframe="1w"') : strip.index('data-timeframe="1mo"')]
    assert "▲ Uptrend" in cell_1w and "Inverse head and shoulders · Completed" in cell_1w
    assert strip.count("not analysed") == 3  # 30m, 1h (custom run only), 1mo


def test_replay_hides_the_other_timeframes_state(user_client, runs):
    html = user_client.get("/radar/", {"symbol": "005930", "tf": "1d", "asof": 100}).text
    strip = html[
        html.index('id="timeframe-strip"') : html.index(
            "</nav>", html.index('id="timeframe-strip"')
        )
    ]
    assert "Downtrend" not in strip and "Head and shoulders" not in strip
    assert "hidden during replay" in strip
    assert len(re.findall(r'data-timeframe="(\w+)"', strip)) == len(TIMEFRAMES)
