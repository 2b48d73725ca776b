"""Trading Radar pages with the Django test client: rendering, parameters, errors, empty states."""

import json
import re
from datetime import date
from html.parser import HTMLParser

import pandas as pd
import pytest
from django.urls import reverse
from django.utils.http import urlencode

from analysis.figures import LAYERS
from analysis.models import PatternInstance
from analysis.services import series_analyze
from analysis.tests.factories import swing_series
from marketdata.krx_calendar import TIMEFRAMES
from marketdata.models import Candle
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db

RADAR = "/radar/"


def radar_figure(response) -> dict:
    """The figure dict embedded in the page (what radar.js draws)."""
    html = response.content.decode()
    start = html.index('<script id="radar-figure" type="application/json">') + len(
        '<script id="radar-figure" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def traces(figure, name):
    return [t for t in figure["data"] if t.get("name") == name]


def test_urls_keep_their_names():
    assert reverse("analysis:radar") == RADAR
    assert reverse("analysis:scanner") == "/scanner/"
    assert reverse("analysis:radar_figure") == "/radar/figure"
    assert reverse("analysis:symbol_search") == "/radar/symbols"


@pytest.mark.parametrize("url", [RADAR, "/radar/figure", "/radar/symbols", "/scanner/"])
def test_login_required(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_radar_renders_latest_500_bars_and_offers_older(user_client, samsung):
    _stock, frame = samsung
    response = user_client.get(RADAR, {"symbol": "005930", "tf": "1d"})
    assert response.status_code == 200
    html = response.content.decode()
    figure = radar_figure(response)
    candles = traces(figure, "Price")[0]
    assert len(candles["x"]) == 500 and candles["close"][-1] == frame["close"].iloc[-1]
    assert figure["radar"]["ts"][0] == frame.index[204].isoformat()
    # Never a silent cap: the page says how many bars exist and offers the older ones.
    assert "Showing the latest 500 of 704 stored 1d bars." in html
    assert 'id="load-older"' in html and "bars=704" in html and "Load 204 older bars" in html
    # Vendored plotly and the radar script; no CDN.
    assert "/static/js/plotly-finance-4.1.0.min.js" in html and "/static/js/radar.js" in html
    assert "cdn." not in html
    # Markers and zigzag come from the analysis.
    assert traces(figure, "Major peak")[0]["x"] and traces(figure, "Zigzag")[0]["x"]


def test_load_older_shows_every_stored_bar(user_client, samsung):
    response = user_client.get(RADAR, {"symbol": "005930", "bars": 704})
    assert len(traces(radar_figure(response), "Price")[0]["x"]) == 704
    html = response.content.decode()
    assert "All 704 stored 1d bars shown." in html and 'id="load-older"' not in html


def test_info_line_name_last_close_change_and_trend(user_client, samsung):
    _stock, frame = samsung
    response = user_client.get(RADAR, {"symbol": "005930"})
    html = response.content.decode()
    last, prev = frame["close"].iloc[-1], frame["close"].iloc[-2]
    assert "삼성전자" in html
    assert f"{last:,.0f}원" in html
    change_pct = (last / prev - 1) * 100
    assert f"{change_pct:.2f}%" in html
    assert ("▲" if last > prev else "▼") in html
    data = response.context["data"]
    assert data["trend_state"] in {"up", "down", "sideways"}
    assert f"{data['trend_state'].title()} trend since " in html
    assert "last bar 2025-11-20 00:00 KST" in html


def test_default_symbol_and_timeframe(user_client, samsung):
    response = user_client.get(RADAR)
    assert response.status_code == 200
    assert response.context["stock"].code == "005930"
    assert response.context["params"]["tf"] == "1d"


def test_timeframe_switch_links_keep_symbol_and_indicators(user_client, samsung):
    html = user_client.get(RADAR, {"symbol": "005930", "ind": "sma20"}).content.decode()
    for tf in TIMEFRAMES:
        assert f'?symbol=005930&amp;ind=sma20&amp;tf={tf}"' in html


def test_symbol_search_fragment_for_htmx_by_code_and_korean_name(user_client, samsung):
    make_stock("000660", "SK하이닉스")
    make_stock("005935", "삼성전자우")
    fragment = user_client.get("/radar/symbols", {"q": "삼성", "tf": "1w"}, HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert "/radar/?symbol=005930&amp;tf=1w" in html and "/radar/?symbol=005935&amp;tf=1w" in html
    assert "000660" not in html
    by_code = user_client.get("/radar/symbols", {"q": "0006"}, HTTP_HX_REQUEST="true")
    assert "SK하이닉스" in by_code.content.decode() and "삼성" not in by_code.content.decode()
    # The radar's own input sends its value as `symbol`.
    by_input = user_client.get("/radar/symbols", {"symbol": "하이닉스"}, HTTP_HX_REQUEST="true")
    assert "000660" in by_input.content.decode()
    nothing = user_client.get("/radar/symbols", {"q": "없는회사"}, HTTP_HX_REQUEST="true")
    assert "No stock matches" in nothing.content.decode()


def test_symbol_search_by_initial_consonants_and_code_prefix(user_client, samsung):
    make_stock("000660", "SK하이닉스")
    make_stock("005935", "삼성전자우")
    make_stock("028260", "삼성물산")

    def codes(q):
        html = user_client.get("/radar/symbols", {"q": q}, HTTP_HX_REQUEST="true").text
        return re.findall(r'id="symbol-option-(\w+)"', html)

    assert codes("ㅅㅅㅈㅈ") == ["005930", "005935"]  # 삼성전자, 삼성전자우
    assert codes("ㅅㅅ") == ["005930", "005935", "028260"]
    assert codes("ㅎㅇㄴㅅ") == ["000660"]  # SK하이닉스: initials anywhere in the name
    assert codes("skㅎ") == ["000660"]
    assert codes("ㅅㅈㅈ") == ["005930", "005935"]
    assert codes("ㅁㅅ") == ["028260"]
    assert codes("00593") == ["005930", "005935"]  # code prefix
    assert codes("삼성ㅈ") == []  # a complete syllable: a name search, not initials


def test_symbol_search_full_page_without_htmx(user_client, samsung):
    response = user_client.get("/radar/symbols", {"q": "삼성"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'action="/radar/symbols"' in html and "/radar/?symbol=005930" in html


def test_unknown_symbol_is_404_page_with_search_box(user_client, samsung):
    response = user_client.get(RADAR, {"symbol": "00593X"})
    assert response.status_code == 404
    html = response.content.decode()
    assert "Stock not found" in html and "00593X" in html
    assert 'action="/radar/symbols"' in html and 'name="q"' in html
    make_stock("005935", "삼성전자우")
    suggestion = user_client.get(RADAR, {"symbol": "0059"})
    assert suggestion.status_code == 404
    html = suggestion.content.decode()
    assert "/radar/?symbol=005930" in html and "/radar/?symbol=005935" in html  # did you mean


def test_a_name_that_matches_one_stock_opens_it(user_client, samsung):
    response = user_client.get(RADAR, {"symbol": "삼성전자", "tf": "1d", "ind": "sma20"})
    assert response.status_code == 302
    assert response["Location"] == "/radar/?symbol=005930&tf=1d&ind=sma20"


def test_no_candles_is_an_empty_state_with_the_backfill_command(user_client):
    make_stock("000660", "SK하이닉스")
    response = user_client.get(RADAR, {"symbol": "000660", "tf": "5m"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No 5m bars stored for 000660 yet." in html
    assert "python manage.py backfill --codes 000660 --timeframes 5m" in html
    assert 'id="radar-figure"' not in html and "plotly" not in html


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"tf": "2d"}, "tf: Select a valid choice."),
        ({"bars": "5"}, "bars:"),
        ({"bars": "x"}, "bars:"),
        ({"ind": "sma7"}, "ind: Select a valid choice."),
        ({"pane": "stoch"}, "pane:"),
        ({"layers": "everything"}, "layers:"),
        ({"asof": "-1"}, "asof:"),
        ({"asof": "500"}, "Replay bar must be between 0 and 499."),
        (
            {"focus_start": "2025-01-02T00:00:00+09:00"},
            "focus_end: focus_start and focus_end go together.",
        ),
        (
            {"focus_start": "2025-02-02T00:00:00+09:00", "focus_end": "2025-01-02T00:00:00+09:00"},
            "focus_end: focus_end is before focus_start.",
        ),
        ({"focus_start": "yesterday", "focus_end": "today"}, "focus_start:"),
    ],
)
def test_invalid_parameters_are_400_with_the_reason(user_client, samsung, params, reason):
    response = user_client.get(RADAR, {"symbol": "005930", **params})
    assert response.status_code == 400
    assert reason in response.content.decode()
    figure = user_client.get("/radar/figure", {"symbol": "005930", **params})
    assert figure.status_code == 400
    assert reason in figure.json()["error"]


def test_layer_choices_in_the_url_hide_layers_and_untick_boxes(user_client, samsung):
    query = urlencode(
        [("symbol", "005930"), ("layers", "_"), ("layers", "major"), ("layers", "trend")],
        doseq=True,
    )
    response = user_client.get(f"{RADAR}?{query}")
    figure = radar_figure(response)
    assert set(figure["radar"]["hidden"]) == set(LAYERS) - {"major", "trend"}
    assert traces(figure, "Major peak")[0].get("visible", True) is True
    assert traces(figure, "Zigzag")[0]["visible"] is False
    assert traces(figure, "Volume")[0]["visible"] is False
    html = response.content.decode()
    assert 'value="major" data-layer="major" checked' in html
    assert 'value="zigzag" data-layer="zigzag" >' in html
    # Everything unticked survives the round trip thanks to the sentinel.
    none = radar_figure(user_client.get(f"{RADAR}?symbol=005930&layers=_"))
    assert set(none["radar"]["hidden"]) == set(LAYERS)
    # No layers parameter at all: a calm chart (minor points, trend shading and invalidated
    # patterns one click away).
    default = radar_figure(user_client.get(RADAR, {"symbol": "005930"}))
    assert default["radar"]["hidden"] == ["invalidated", "minor", "trend"]


def test_indicators_chosen_by_the_user(user_client, samsung):
    query = "symbol=005930&ind=sma20&ind=bb&pane=rsi&pane=macd&pane=obv"
    response = user_client.get(f"{RADAR}?{query}")
    figure = radar_figure(response)
    sma = traces(figure, "SMA 20")[0]
    assert sma["yaxis"] == "y" and sma["y"][-1] is not None
    closes = samsung[1]["close"].to_numpy()
    # Bar k of the window (history of 204 bars before it) averages the 20 closes ending there.
    for k in (0, 250, 499):
        assert sma["y"][k] == pytest.approx(closes[204 + k - 19 : 204 + k + 1].mean())
    assert traces(figure, "Bollinger 20, 2σ upper")[0]["y"][0] is not None  # warm-up in history
    assert traces(figure, "RSI 14")[0]["yaxis"] == "y3"
    assert traces(figure, "MACD hist")[0]["yaxis"] == "y4"
    assert traces(figure, "OBV")[0]["yaxis"] == "y5"
    assert not traces(figure, "ATR 14") and not traces(figure, "EMA 12")
    assert 'name="pane" value="rsi" data-recompute checked' in response.content.decode()


def test_replay_shows_only_what_was_known_at_that_bar(user_client, samsung):
    live_response = user_client.get(RADAR, {"symbol": "005930"})
    replay_response = user_client.get(RADAR, {"symbol": "005930", "asof": 250})
    live, replay = radar_figure(live_response), radar_figure(replay_response)
    listed = replay_response.context["data"]["patterns"]
    assert all(p["detected_index"] <= 250 for p in listed)
    assert len(listed) < len(live_response.context["data"]["patterns"])
    live_rows = {(p["type"], p["start_ts"]): p for p in live_response.context["data"]["patterns"]}
    for p in listed:  # a pattern that completed after bar 250 was still forming then
        live_row = live_rows[(p["type"], p["start_ts"])]
        assert p["end_index"] <= 250
        if live_row["end_index"] > 250:
            assert p["status"] == "forming", p
            assert p["end_ts"] == replay_response.context["data"]["last_ts"]
    # The info line is the cursor's: its close, its change, its date, the trend then.
    data, frame = replay_response.context["data"], samsung[1]
    assert data["last_close"] == frame["close"].iloc[204 + 250]
    assert data["change"] == pytest.approx(
        frame["close"].iloc[204 + 250] - frame["close"].iloc[204 + 249]
    )
    assert data["last_ts"] == frame.index[204 + 250]
    html = replay_response.content.decode()
    assert f"{frame['close'].iloc[204 + 250]:,.0f}원" in html
    assert f"replay at {frame.index[204 + 250].tz_convert('Asia/Seoul'):%Y-%m-%d} " in html
    assert f"({len(listed)} in view)" in html
    assert len(traces(replay, "Price")[0]["x"]) == 251
    peaks = traces(replay, "Major peak")[0]["x"]
    assert peaks and max(peaks) <= 250
    assert len(traces(live, "Major peak")[0]["x"]) > len(peaks)
    assert replay["radar"]["asof"] == 250
    as_json = user_client.get("/radar/figure", {"symbol": "005930", "asof": 250}).json()
    assert as_json["figure"]["data"][0]["x"] == traces(replay, "Price")[0]["x"]
    assert as_json["bars"] == 500 and as_json["bars_stored"] == 704


def test_focus_from_the_scanner_loads_enough_bars_and_zooms(user_client, samsung):
    _stock, frame = samsung
    start, end = frame.index[100], frame.index[130]  # older than the default 500 bars
    response = user_client.get(
        RADAR, {"symbol": "005930", "focus_start": start.isoformat(), "focus_end": end.isoformat()}
    )
    figure = radar_figure(response)
    ts = figure["radar"]["ts"]
    first = ts.index(start.isoformat())
    assert ts.index(end.isoformat()) == first + 30
    lo, hi = figure["layout"]["xaxis"]["range"]
    assert first - 20 <= lo < first and first + 30 < hi <= first + 50


def test_detected_patterns_list_with_zoom_links(user_client, samsung):
    response = user_client.get(RADAR, {"symbol": "005930", "bars": 704})
    patterns = response.context["data"]["patterns"]
    assert patterns, "the test series should contain detected patterns"
    html = response.content.decode()
    assert html.count('class="pattern-row') == len(patterns)
    first = patterns[0]
    assert f'data-start-index="{first["start_index"]}"' in html
    assert (
        "focus_start=" + first["start_ts"].isoformat().replace(":", "%3A").replace("+", "%2B")
        in html
    )
    for status in {p["status"] for p in patterns}:
        assert f'class="status status-{status}"' in html


def test_figure_json_endpoint_errors(user_client, samsung):
    assert user_client.get("/radar/figure", {"symbol": "123456"}).status_code == 404
    make_stock("000660", "SK하이닉스")
    missing = user_client.get("/radar/figure", {"symbol": "000660"})
    assert missing.status_code == 404 and "backfill --codes 000660" in missing.json()["error"]


def test_radar_post_not_allowed(user_client, samsung):
    assert user_client.post(RADAR).status_code == 405


def test_stored_analysis_patterns_carry_their_ids(user_client, samsung):
    stock, _frame = samsung
    series_analyze(stock=stock, timeframe="1d")
    response = user_client.get(RADAR, {"symbol": "005930", "bars": 704})
    patterns = response.context["data"]["patterns"]
    assert patterns
    stored = {p.pk: p for p in PatternInstance.objects.filter(stock=stock, timeframe="1d")}
    for pattern in patterns:
        instance = stored[pattern["id"]]
        assert (instance.pattern_type, instance.start_ts) == (pattern["type"], pattern["start_ts"])


def test_computed_analysis_patterns_have_no_ids(user_client, samsung):
    response = user_client.get(RADAR, {"symbol": "005930", "bars": 704})
    patterns = response.context["data"]["patterns"]
    assert patterns and all(p["id"] is None for p in patterns)


def test_patterns_computed_during_the_session_keep_their_stored_ids(user_client, samsung):
    """A forming bar makes the Radar analyse on the fly; patterns already stored (found on final
    bars) still carry their ids, so a Radar extension's decisions work during the session."""
    stock, frame = samsung
    series_analyze(stock=stock, timeframe="1d")
    stored = {
        (p.pattern_type, p.start_ts, p.detected_ts): p.pk
        for p in PatternInstance.objects.filter(stock=stock, timeframe="1d")
    }
    last = frame.iloc[-1]
    forming = frame.iloc[[-1]].copy()
    forming.index = forming.index + pd.Timedelta(days=1)
    make_candles(stock, "1d", forming.assign(open=last.close, close=last.close))
    Candle.objects.filter(stock=stock, timeframe="1d", ts=forming.index[0]).update(is_final=False)
    response = user_client.get(RADAR, {"symbol": "005930", "bars": 705})
    patterns = response.context["data"]["patterns"]
    assert patterns
    with_ids = [p for p in patterns if p["id"] is not None]
    assert with_ids
    for pattern in with_ids:
        key = (pattern["type"], pattern["start_ts"], pd.Timestamp(pattern["detected_ts"]))
        assert stored[key] == pattern["id"]


def test_landing_without_symbol_uses_the_first_stock_when_the_default_is_absent(user_client):
    make_stock("000660", "SK하이닉스")
    make_stock("035720", "카카오")
    response = user_client.get(RADAR)
    assert response.status_code == 200
    assert response.context["stock"].code == "000660"
    assert "No 1d bars stored for 000660 yet." in response.content.decode()


def test_landing_without_any_stock_says_how_to_load_them(user_client):
    response = user_client.get(RADAR)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No stocks are stored yet" in html and "python manage.py sync_stocks" in html


def test_focus_link_shows_every_layer_and_marks_the_range(user_client, samsung):
    _stock, frame = samsung
    response = user_client.get(
        RADAR,
        {
            "symbol": "005930",
            "focus_start": frame.index[600].isoformat(),
            "focus_end": frame.index[620].isoformat(),
        },
    )
    figure = radar_figure(response)
    assert figure["radar"]["hidden"] == []  # an invalidated pattern from the Scanner is visible
    assert len(figure["radar"]["layers"]["focus"]["shapes"]) == 1


def test_pattern_list_newest_first(user_client, samsung):
    patterns = user_client.get(RADAR, {"symbol": "005930", "bars": 704}).context["data"]["patterns"]
    ends = [p["end_index"] for p in patterns]
    assert ends == sorted(ends, reverse=True)


@pytest.mark.parametrize("count", [1, 2, 30])
def test_a_new_listing_with_few_bars(user_client, count):
    stock = make_stock("450080", "신규상장")
    make_candles(
        stock, "1d", swing_series("1d", date(2025, 10, 1), date(2025, 11, 20)).iloc[:count]
    )
    response = user_client.get(RADAR, {"symbol": "450080", "ind": "sma20", "pane": "macd"})
    assert response.status_code == 200
    figure = radar_figure(response)
    assert len(traces(figure, "Price")[0]["x"]) == count
    assert f"All {count} stored 1d bars shown." in response.content.decode()
    api = user_client.get("/api/radar", {"symbol": "450080"})
    assert api.status_code == 200 and len(api.json()["candles"]) == count


def htmx_get(client, params, current=None):
    headers = {"HX-Request": "true"}
    if current is not None:
        headers["HX-Current-URL"] = f"http://testserver{RADAR}?{urlencode(current)}"
    return client.get(RADAR, params, headers=headers)


def test_htmx_request_gets_the_view_rendered_by_the_page_code(user_client, samsung):
    """The Radar's controls (replay, indicators, timeframe, symbol) swap the view: the figure
    and, out of band, every part of the page that depends on the query, from the same
    template code as the full page."""
    params = {"symbol": "005930", "tf": "1d", "asof": 250}
    page = user_client.get(RADAR, params)
    swap = htmx_get(user_client, params, current={"symbol": "005930", "tf": "1d"})
    assert swap.status_code == 200
    html = swap.content.decode()
    assert "<html" not in html and "radar-controls" not in html
    assert radar_figure(swap) == radar_figure(page)
    page_html = page.content.decode()
    for part in (
        "radar-info",
        "radar-span",
        "radar-timeframes",
        "detector-picker",
        "replay-state",
        "detected-patterns",
    ):
        assert f'id="{part}"' in html and f'id="{part}"' in page_html
    assert 'id="timeframe-strip-wrap"' in html
    assert html.count('hx-swap-oob="true"') == 8  # the panels stay: same series

    def section(text, part):  # the element's markup, without the out-of-band marker
        text = text.replace(' hx-swap-oob="true"', "")
        start = text.index(f'id="{part}"')
        return text[
            start : text.index("</section>" if part == "detected-patterns" else "\n", start)
        ]

    for part in ("radar-info", "detected-patterns"):
        assert section(html, part) == section(page_html, part)
    assert "<title>삼성전자 005930 · Trading Radar · ChartInsight Studio</title>" in html
    # Another timeframe or symbol: the extension panels (label form links) come along.
    moved = htmx_get(user_client, params, current={"symbol": "000660", "tf": "1d"})
    assert 'id="radar-panels" hx-swap-oob="true"' in moved.content.decode()


class _ControlsForm(HTMLParser):
    """The (name, value) pairs the Radar's controls form (#radar-controls) submits: its text
    and hidden inputs and its ticked boxes, in document order."""

    def __init__(self):
        super().__init__()
        self.inside, self.values = False, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == "radar-controls"
        elif tag == "input" and self.inside and attrs.get("name"):
            ticked = attrs.get("type") != "checkbox" or "checked" in attrs
            self.values += [(attrs["name"], attrs.get("value") or "")] if ticked else []

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def controls_query(html: str, **changes) -> list[tuple[str, str]]:
    parser = _ControlsForm()
    parser.feed(html)
    return [*parser.values, *changes.items()]


def test_changing_an_indicator_in_replay_keeps_the_replay_bar(user_client, samsung):
    """Replay at bar 48, then tick an indicator: the controls' GET carries the replay bar, so
    the view answered (htmx) is still bar 48, with the indicator; live stays live."""
    replay = {"symbol": "005930", "tf": "1d", "asof": 48}
    page = user_client.get(RADAR, replay).content.decode()
    query = controls_query(page, ind="sma20")
    assert ("asof", "48") in query
    swap = htmx_get(user_client, query, current=replay)
    html = swap.content.decode()
    assert 'id="replay-state" data-max="499" data-asof="48"' in html
    assert (
        '<span id="radar-asof" hx-swap-oob="true"><input type="hidden" name="asof" value="48">'
        in html
    )
    figure = radar_figure(swap)
    assert figure["radar"]["asof"] == 48
    assert len(traces(figure, "Price")[0]["x"]) == 49
    assert len(traces(figure, "SMA 20")[0]["y"]) == 49
    # A full-page submit (no JavaScript) keeps it too.
    assert radar_figure(user_client.get(RADAR, query))["radar"]["asof"] == 48
    # Live: nothing to keep, and the swap clears a replay bar the form held.
    live_page = user_client.get(RADAR, {"symbol": "005930", "tf": "1d"}).content.decode()
    assert not any(name == "asof" for name, _ in controls_query(live_page))
    live_swap = htmx_get(user_client, controls_query(live_page, ind="sma20"), current=replay)
    assert '<span id="radar-asof" hx-swap-oob="true"></span>' in live_swap.content.decode()
    assert radar_figure(live_swap)["radar"]["asof"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "005930", "bars": "5"},  # bad input
        {"symbol": "999999"},  # unknown symbol
        {"symbol": "005930", "tf": "5m"},  # no bars of that timeframe
        {"symbol": "005930", "asof": "9999"},  # replay bar out of range
    ],
)
def test_htmx_request_that_cannot_show_a_chart_loads_the_page(user_client, samsung, params):
    response = htmx_get(user_client, params)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(RADAR + "?")
    assert user_client.get(response["HX-Redirect"]).status_code in (200, 400, 404)
