"""Candle colours: Korean red up / blue down by default, green up / red down by preference, in
the Radar's figure (candles, volume) and in the pages' up/down classes alike."""

import re
from pathlib import Path

import pytest

from accounts import colors
from accounts.services import preferences_update
from analysis.figures import volume_bar_colors
from analysis.tests.factories import radar_figure

ROOT = Path(__file__).resolve().parents[2]
KR_UP, KR_DOWN = colors.COLORS["kr"]
INTL_UP, INTL_DOWN = colors.COLORS["intl"]


def test_the_stylesheet_holds_the_same_colours_as_the_figure():
    css = (ROOT / "static" / "css" / "app.css").read_text()
    for convention, (up, down) in colors.COLORS.items():
        rule = re.search(rf"body\.colors-{convention} \{{([^}}]*)\}}", css).group(1)
        assert f"--up: {up};" in rule and f"--down: {down};" in rule


def test_korean_convention_is_red_up_blue_down():
    assert colors.up_down_colors("kr") == ("#E0201B", "#1261C4")
    assert colors.up_down_colors("intl") == ("#089981", "#F23645")
    assert colors.up_down_colors("nonsense") == colors.up_down_colors("kr")


def traces(figure):
    candles = next(t for t in figure["data"] if t.get("type") == "candlestick")
    volume = next(t for t in figure["data"] if t.get("name") == "Volume")
    return candles, volume


@pytest.mark.django_db
def test_radar_is_red_up_blue_down_by_default(user_client, samsung):
    response = user_client.get("/radar/", {"symbol": "005930", "bars": 120})
    candles, volume = traces(radar_figure(response))
    assert candles["increasing"]["fillcolor"] == KR_UP
    assert candles["decreasing"]["fillcolor"] == KR_DOWN
    assert set(volume["marker"]["color"]) - {"rgba(120,123,134,0.55)"} <= set(
        volume_bar_colors("kr")
    )
    assert 'class="colors-kr"' in response.text
    assert re.search(r'class="chg (up|down)"|class="chg "', response.text)


@pytest.mark.django_db
def test_radar_follows_a_green_red_preference(client, user, samsung):
    preferences_update(user=user, language="", candle_colors="intl")
    client.force_login(user)
    response = client.get("/radar/", {"symbol": "005930", "bars": 120})
    candles, volume = traces(radar_figure(response))
    assert candles["increasing"]["fillcolor"] == INTL_UP
    assert candles["decreasing"]["fillcolor"] == INTL_DOWN
    assert set(volume["marker"]["color"]) - {"rgba(120,123,134,0.55)"} <= set(
        volume_bar_colors("intl")
    )
    assert 'class="colors-intl"' in response.text
    figure = client.get("/radar/figure", {"symbol": "005930", "bars": 120}).json()["figure"]
    assert traces(figure)[0]["increasing"]["fillcolor"] == INTL_UP
