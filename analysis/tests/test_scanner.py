"""`/scanner/`: stored patterns across the market — filters, sorting, pages, links, errors."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analysis.models import AnalysisRun
from analysis.selectors.scanner import SCANNER_PAGE_SIZE, trading_days_cutoff
from analysis.services import series_analyze
from analysis.tests.factories import make_pattern, make_run, swing_series
from marketdata.models import Market
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db

URL = "/scanner/"


def recent_pattern(run, kind="DB", status="completed", *, days_ago=1, score=0.5, target=11000.0):
    """A 30-day pattern of `run` ending an hour into the trading day `days_ago` sessions back."""
    end = trading_days_cutoff(days_ago) + timedelta(hours=1)
    return make_pattern(
        run,
        kind,
        start=end - timedelta(days=30),
        end=end,
        status=status,
        score=score,
        target=target,
    )


@pytest.fixture
def market():
    samsung = make_run(make_stock("005930", "삼성전자"), last_close=10000.0, trend="up")
    hynix = make_run(make_stock("000660", "SK하이닉스"), last_close=20000.0, trend="down")
    kakao = make_run(
        make_stock("035720", "카카오", market=Market.KOSDAQ), last_close=5000.0, trend="sideways"
    )
    rows = {
        "samsung_db": recent_pattern(
            samsung, "DB", "completed", days_ago=1, score=0.9, target=11000
        ),
        "samsung_hs": recent_pattern(samsung, "HS", "forming", days_ago=2, score=0.4, target=9000),
        "hynix_dt": recent_pattern(hynix, "DT", "completed", days_ago=3, score=0.7, target=19000),
        "kakao_ihs": recent_pattern(
            kakao, "IHS", "invalidated", days_ago=4, score=0.6, target=5100
        ),
        "old_db": recent_pattern(samsung, "DB", "completed", days_ago=40, score=0.95, target=12000),
    }
    custom = make_run(samsung.stock, is_default=False)
    recent_pattern(custom, "DB", "completed", days_ago=1, score=0.99)  # non-default parameters
    weekly = make_run(samsung.stock, "1w")
    rows["weekly"] = recent_pattern(weekly, "DT", "completed", days_ago=1)
    return rows


def codes(response):
    return [(p.stock.code, p.pattern_type) for p in response.context["page"].object_list]


def test_default_lists_recent_daily_patterns_newest_first(user_client, market):
    response = user_client.get(URL)
    assert response.status_code == 200
    assert codes(response) == [
        ("005930", "DB"),
        ("005930", "HS"),
        ("000660", "DT"),
        ("035720", "IHS"),
    ]  # 40 days back, non-default runs and weekly patterns are out
    html = response.content.decode()
    assert "4 patterns on 1d, ending in the last 20 trading days." in html
    assert html.count('class="scanner-row"') == 4


def test_row_shows_fields_and_distances(user_client, market):
    html = user_client.get(URL, {"type": "DB"}).content.decode()
    assert "삼성전자" in html and "Double bottom" in html and "0.90" in html
    assert "11,000" in html
    assert ">10.0%<" in html  # (11,000 − 10,000) / 10,000 to the target
    assert ">5.0%<" in html  # neckline 10,500
    assert 'class="trend trend-up"' in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"market": "KOSDAQ"}, [("035720", "IHS")]),
        ({"type": "DT"}, [("000660", "DT")]),
        ({"status": "forming"}, [("005930", "HS")]),
        ({"days": "2"}, [("005930", "DB"), ("005930", "HS")]),
        ({"days": "60", "type": "DB"}, [("005930", "DB"), ("005930", "DB")]),
        ({"min_score": "0.65"}, [("005930", "DB"), ("000660", "DT")]),
        ({"tf": "1w"}, [("005930", "DT")]),
        ({"tf": "5m"}, []),
    ],
)
def test_filters(user_client, market, params, expected):
    assert codes(user_client.get(URL, params)) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("score", ["DB", "DT", "IHS", "HS"]),
        ("target", ["IHS", "DT", "DB", "HS"]),  # |2%|, |−5%|, |10%|, |−10%| (tie: newest first)
        ("neckline", ["DB", "HS", "DT", "IHS"]),  # 5%, 5%, −47.5%, 110%
        ("symbol", ["DT", "DB", "HS", "IHS"]),
    ],
)
def test_sorting(user_client, market, sort, expected):
    response = user_client.get(URL, {"sort": sort})
    assert [kind for _code, kind in codes(response)] == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-score", ["HS", "IHS", "DT", "DB"]),
        ("-target", ["DB", "HS", "DT", "IHS"]),  # farthest first (a tie stays newest first)
        ("-symbol", ["IHS", "DB", "HS", "DT"]),  # Z→A by code, a tie stays newest first
        ("-recent", None),  # oldest first: the default order reversed
    ],
)
def test_sorting_the_other_way_round(user_client, market, sort, expected):
    kinds = [kind for _code, kind in codes(user_client.get(URL, {"sort": sort}))]
    if expected is None:
        expected = [kind for _code, kind in codes(user_client.get(URL))][::-1]
    assert kinds == expected


def test_a_header_click_sorts_its_way_then_the_other_way(user_client, market):
    def header(sort, key):
        html = user_client.get(URL, {"sort": sort, "days": "60"}).text
        return re.search(rf'<a href="([^"]*)"[^>]*data-sort="{key}"([^>]*)>', html).groups()

    href, attrs = header("recent", "score")
    assert href == "?sort=score&amp;days=60" and "aria-sort" not in attrs
    href, attrs = header("score", "score")
    assert href == "?sort=-score&amp;days=60" and 'aria-sort="descending"' in attrs
    href, attrs = header("-score", "score")
    assert href == "?sort=score&amp;days=60" and 'aria-sort="ascending"' in attrs
    _href, attrs = header("-symbol", "symbol")
    assert 'aria-sort="descending"' in attrs


def test_htmx_filter_returns_the_results_fragment(user_client, market):
    response = user_client.get(URL, {"type": "DT"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="scanner-results"')
    assert html.count('class="scanner-row"') == 1
    assert 'id="scanner-sort"' in html and 'hx-swap-oob="true"' in html


def test_filters_sort_and_pages_work_as_plain_links(user_client, market):
    html = user_client.get(URL, {"type": "DB", "days": "60"}).content.decode()
    assert 'method="get" action="/scanner/"' in html
    assert 'href="?type=DB&amp;days=60&amp;sort=score"' in html
    assert 'hx-get="?type=DB&amp;days=60&amp;sort=score"' in html


def test_row_opens_the_radar_focused_on_the_pattern(user_client, market):
    html = user_client.get(URL, {"type": "DT"}).content.decode()
    pattern = market["hynix_dt"]
    start = pattern.start_ts.astimezone(timezone.get_current_timezone()).isoformat()
    assert start.endswith("+09:00")
    encoded = start.replace(":", "%3A").replace("+", "%2B")
    assert (
        f"/radar/?symbol=000660&amp;tf=1d&amp;detector=atr&amp;focus_start={encoded}&amp;focus_end="
        in html
    )


def test_pagination_in_the_database(user_client, market):
    run = AnalysisRun.objects.get(stock__code="000660")
    for i in range(SCANNER_PAGE_SIZE + 10):
        recent_pattern(run, "DB", "completed", days_ago=5, score=i / 100)
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get(URL, {"type": "DB", "sort": "score", "page": 2})
    page = response.context["page"]
    assert page.number == 2 and page.paginator.count == SCANNER_PAGE_SIZE + 11
    assert len(page.object_list) == 11
    assert "Page 2 of 2" in response.content.decode()
    scanner_queries = [
        q for q in queries.captured_queries if "analysis_patterninstance" in q["sql"]
    ]
    # count + one page of rows (stock and run joined) + the success rates of its kinds
    assert len(scanner_queries) == 3
    assert "OFFSET 50" in scanner_queries[1]["sql"]
    beyond = user_client.get(URL, {"type": "DB", "page": 99})
    assert beyond.context["page"].number == 2


def test_empty_state_says_how_patterns_appear(user_client):
    html = user_client.get(URL).content.decode()
    assert "No stored patterns match these filters." in html
    assert "python manage.py analyze" in html


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"tf": "2d"}, "tf:"),
        ({"market": "NYSE"}, "market:"),
        ({"type": "triangle"}, "type:"),
        ({"status": "maybe"}, "status:"),
        ({"days": "0"}, "days:"),
        ({"min_score": "1.5"}, "min_score:"),
        ({"sort": "random"}, "sort:"),
        ({"page": "x"}, "page:"),
    ],
)
def test_invalid_parameters_are_400_with_the_reason(user_client, params, reason):
    response = user_client.get(URL, params)
    assert response.status_code == 400
    assert reason in response.content.decode()


def test_real_analysis_rows_open_a_focused_radar(user_client):
    stock = make_stock("005930", "삼성전자")
    make_candles(stock, "1d", swing_series("1d", date(2023, 1, 2), date(2025, 11, 20)))
    series_analyze(stock=stock, timeframe="1d")
    response = user_client.get(URL, {"days": "5000"})
    rows = response.context["page"].object_list
    assert rows, "the analysis of the test series stores patterns"
    first = rows[0]
    radar = user_client.get(
        "/radar/",
        {
            "symbol": "005930",
            "tf": "1d",
            "focus_start": first.start_ts.isoformat(),
            "focus_end": first.end_ts.isoformat(),
        },
    )
    assert radar.status_code == 200
    listed = radar.context["data"]["patterns"]
    assert any(p["id"] == first.pk for p in listed)


@pytest.fixture
def two_detectors():
    """Samsung 1d analysed by both swing detectors, each finding another pattern; each detector
    has its own history of a DB's outcomes (ATR: 1 of 2 reached the target, structural: 3 of 3)."""
    stock = make_stock("005930", "삼성전자")
    atr = make_run(stock, last_close=10000.0, detector="atr")
    structural = make_run(stock, last_close=10000.0, detector="structural")
    recent_pattern(atr, "DB", days_ago=1)
    recent_pattern(structural, "HS", days_ago=1)
    recent_pattern(structural, "DB", days_ago=2)
    end = trading_days_cutoff(60)
    for run, outcomes in ((atr, ["target", "failed"]), (structural, ["target"] * 3)):
        for outcome in outcomes:
            make_pattern(run, "DB", start=end - timedelta(days=30), end=end, outcome=outcome)
    return stock


def test_detector_filter_shows_only_that_detectors_patterns_and_rates(user_client, two_detectors):
    default = user_client.get(URL)
    assert default.context["params"]["detector"] == "atr"  # ANALYSIS_DEFAULT_DETECTOR
    assert codes(default) == [("005930", "DB")]
    assert default.context["page"].object_list[0].success == {"rate": 0.5, "resolved": 2}
    chosen = user_client.get(URL, {"detector": "structural"})
    assert codes(chosen) == [("005930", "HS"), ("005930", "DB")]
    rows = {p.pattern_type: p for p in chosen.context["page"].object_list}
    assert rows["DB"].success == {"rate": 1.0, "resolved": 3}
    html = chosen.content.decode()
    assert re.search(r'<option value="structural" selected>', html)
    # Sort headers and the Radar links keep the detector.
    sort_links = re.findall(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#scanner-results"', html)
    assert sort_links and all("detector=structural" in link for link in sort_links)
    radar_links = re.findall(r'class="open-radar" href="([^"]+)"', html)
    assert radar_links and all("detector=structural" in link for link in radar_links)


def test_unknown_detector_is_400_naming_the_detectors(user_client):
    response = user_client.get(URL, {"detector": "magic"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "detector:" in text and "magic" in text and "atr" in text and "structural" in text
