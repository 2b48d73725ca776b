"""The Radar's first shown bar compares with the stored bar before it (hover change, volume
colour), not with nothing."""

import pytest

from analysis.figures import volume_bar_colors
from analysis.tests.factories import radar_figure

pytestmark = pytest.mark.django_db


def test_first_shown_bar_has_its_change_vs_the_previous_stored_close(user_client, samsung):
    _stock, frame = samsung
    figure = radar_figure(user_client.get("/radar/", {"symbol": "005930", "bars": 100}))
    candles = next(t for t in figure["data"] if t.get("name") == "Price")
    volume = next(t for t in figure["data"] if t.get("name") == "Volume")
    closes = frame["close"].to_numpy()
    first, before = closes[-100], closes[-101]
    assert f"Chg {(first / before - 1) * 100:+.2f}%" in candles["text"][0]
    volume_up, volume_down = volume_bar_colors("kr")  # the Korean convention by default
    expected = volume_up if first > before else volume_down
    assert volume["marker"]["color"][0] == expected
