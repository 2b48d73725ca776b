"""`GET /api/radar`: bars and their analysis as JSON, and its JSON errors."""

import pytest
from django.urls import reverse

from analysis.engine import analyze
from analysis.selectors.radar import NO_DATA
from analysis.services import series_analyze
from analysis.views import LOGIN_REQUIRED
from marketdata.tests.factories import make_stock

pytestmark = pytest.mark.django_db

URL = "/api/radar"


def test_url_name():
    assert reverse("analysis:api_radar") == URL


def test_login_required_as_json_401(client, samsung):
    response = client.get(URL, {"symbol": "005930"})
    assert response.status_code == 401
    assert response.json() == {"error": LOGIN_REQUIRED}


def test_payload_shape_and_window(user_client, samsung):
    stock, frame = samsung
    response = user_client.get(URL, {"symbol": "005930", "tf": "1d", "bars": 500})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["symbol"] == "005930" and body["name"] == "삼성전자" and body["timeframe"] == "1d"
    assert body["bars"] == 500 and body["bars_stored"] == 704
    candles = body["candles"]
    assert len(candles) == 500
    assert candles[-1]["ts"] == "2025-11-20T00:00:00+09:00"
    assert candles[0]["ts"] == frame.index[204].isoformat()
    assert set(candles[0]) == {"ts", "open", "high", "low", "close", "volume", "is_final"}
    assert candles[-1]["close"] == frame["close"].iloc[-1]
    assert (
        candles[-1]["volume"] == int(frame["volume"].iloc[-1]) and candles[-1]["is_final"] is True
    )
    analysis = body["analysis"]
    assert {"extremes", "zigzag", "trend_periods", "trend_state", "patterns"} <= set(analysis)
    for point in analysis["extremes"] + analysis["zigzag"]:
        assert 0 <= point["index"] < 500
        assert point["ts"] == candles[point["index"]]["ts"]
    for pattern in analysis["patterns"]:
        assert pattern["end_index"] < 500 and pattern["detected_index"] < 500
    assert body["labels"] == []


def test_analysis_matches_full_history_at_the_left_edge(user_client, samsung):
    """The window is analysed with earlier history, so its first bars get the same swings as an
    analysis of the whole series (not a cold start)."""
    _stock, frame = samsung
    body = user_client.get(URL, {"symbol": "005930", "bars": 300}).json()
    offset = len(frame) - 300
    full = analyze(frame).window(offset, len(frame))
    got = [(e["kind"], e["level"], e["index"], e["price"]) for e in body["analysis"]["extremes"]]
    want = [(e["kind"], e["level"], e["index"], e["price"]) for e in full["extremes"]]
    assert got == want
    assert any(e["index"] < 15 for e in body["analysis"]["extremes"])


def test_on_the_fly_and_stored_give_the_same_answer(user_client, samsung):
    stock, _frame = samsung
    series_analyze(stock=stock, timeframe="1d")
    stored = user_client.get(URL, {"symbol": "005930", "bars": 200}).json()
    fresh = user_client.get(URL, {"symbol": "005930", "bars": 200, "stored": "0"}).json()
    assert stored["analysis"]["source"] == "stored"
    assert fresh["analysis"]["source"] == "computed"
    assert stored["candles"] == fresh["candles"]
    key = [(e["kind"], e["index"]) for e in stored["analysis"]["extremes"]]
    assert key == [(e["kind"], e["index"]) for e in fresh["analysis"]["extremes"]]


def test_bars_larger_than_stored_returns_everything(user_client, samsung):
    body = user_client.get(URL, {"symbol": "005930", "bars": 5000}).json()
    assert body["bars"] == 704 and len(body["candles"]) == 704


def test_unknown_symbol_is_404_json(user_client, samsung):
    response = user_client.get(URL, {"symbol": "999999"})
    assert response.status_code == 404
    assert "999999" in response.json()["error"]


def test_no_data_is_404_with_backfill_command(user_client):
    make_stock("000660", "SK하이닉스")
    response = user_client.get(URL, {"symbol": "000660", "tf": "1w"})
    assert response.status_code == 404
    assert response.json()["error"] == NO_DATA.format(code="000660", timeframe="1w")
    assert "python manage.py backfill --codes 000660 --timeframes 1w" in response.json()["error"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"symbol": "005930", "tf": "2d"}, "tf"),
        ({"symbol": "005930", "bars": "0"}, "bars"),
        ({"symbol": "005930", "bars": "abc"}, "bars"),
        ({"symbol": "005930", "bars": "1000000"}, "bars"),
        ({"symbol": "59"}, "symbol"),
        ({}, "symbol"),
    ],
)
def test_bad_parameters_are_400_json_with_the_reason(user_client, samsung, params, field):
    response = user_client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}:")
