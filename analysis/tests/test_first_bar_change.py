"""The Radar's first shown bar compares with the stored bar before it (hover change, volume
colour), not with nothing."""

from datetime import date

import pytest

from analysis.figures import VOLUME_DOWN, VOLUME_UP
from analysis.tests.radar_data import swing_series
from analysis.tests.test_views import figure_of
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db


def test_first_shown_bar_has_its_change_vs_the_previous_stored_close(user_client):
    stock = make_stock("005930", "삼성전자")
    frame = swing_series("1d", date(2023, 1, 2), date(2025, 11, 20))
    make_candles(stock, "1d", frame)
    figure = figure_of(user_client.get("/radar/", {"symbol": "005930", "bars": 100}))
    candles = next(t for t in figure["data"] if t.get("name") == "Price")
    volume = next(t for t in figure["data"] if t.get("name") == "Volume")
    closes = frame["close"].to_numpy()
    first, before = closes[-100], closes[-101]
    assert f"Chg {(first / before - 1) * 100:+.2f}%" in candles["text"][0]
    expected = VOLUME_UP if first > before else VOLUME_DOWN
    assert volume["marker"]["color"][0] == expected
