"""Garbage in any query parameter of the Radar, its JSON endpoints and the Scanner: 200/400/404,
never a 500."""

from datetime import timedelta

import pytest

from analysis.selectors.scanner import trading_days_cutoff
from analysis.tests.factories import make_pattern, make_run
from marketdata.tests.factories import make_stock
from tests.factories import GARBAGE

pytestmark = pytest.mark.django_db

PARAMS = {
    "/radar/": [
        "symbol",
        "tf",
        "bars",
        "ind",
        "pane",
        "layers",
        "asof",
        "focus_start",
        "focus_end",
    ],
    "/radar/figure": ["symbol", "tf", "bars", "ind", "pane", "layers", "asof", "focus_start"],
    "/radar/symbols": ["q", "symbol", "tf"],
    "/api/radar": ["symbol", "tf", "bars", "stored"],
    "/scanner/": ["market", "tf", "type", "status", "days", "min_score", "sort", "page"],
}


@pytest.mark.parametrize("path", list(PARAMS))
def test_garbage_parameters_never_500(user_client, samsung, path):
    failures = []
    for name in PARAMS[path]:
        for value in GARBAGE:
            query = {"symbol": "005930", name: value}
            if name == "focus_start":
                query["focus_end"] = value
            response = user_client.get(path, query)
            if response.status_code not in (200, 302, 400, 404):
                failures.append((name, value, response.status_code))
    assert failures == []


def test_scanner_with_a_zero_last_close_shows_no_distance(user_client):
    halted = make_run(make_stock("123450", "정지종목"), last_close=0.0)
    end = trading_days_cutoff(1)
    make_pattern(halted, "DB", start=end - timedelta(days=30), end=end)
    response = user_client.get("/scanner/")
    assert response.status_code == 200
    assert "정지종목" in response.content.decode()


def test_symbol_suggestions_keep_the_radar_choices(user_client, samsung):
    """The type-ahead sends the Radar form (hx-include); its links keep layers and indicators."""
    page = user_client.get("/radar/", {"symbol": "005930"}).content.decode()
    assert 'hx-include="#radar-controls"' in page
    query = {"symbol": "삼성", "tf": "1w", "bars": "300", "ind": "sma20", "pane": "rsi"}
    query["layers"] = ["_", "major"]
    html = user_client.get("/radar/symbols", query, HTTP_HX_REQUEST="true").content.decode()
    assert (
        "/radar/?symbol=005930&amp;tf=1w&amp;bars=300&amp;layers=_&amp;layers=major"
        "&amp;ind=sma20&amp;pane=rsi" in html
    )
