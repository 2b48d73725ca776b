"""Pages whose query count must not grow with what they show: each holds with 25 (Radar) or
50+ (Scanner, pattern statistics) stored patterns and 200 labels on the page (bulk reads, no
query per row or per template tag).

The bounds are the counts measured (session, user and the notification bell's unread COUNT
included; the Radar adds the watchlist star and the alert column's two bulk reads, the Scanner
its watchlist filter's choices); one query per pattern, label or series would exceed them by
far."""

from datetime import timedelta

import pytest

from analysis.models import PatternInstance
from analysis.services import series_analyze_detectors
from analysis.tests.factories import make_detection, make_pattern, make_run, walk
from labeling.models import Label, Source
from labeling.services import reviewed_range_mark
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db

PATTERNS = 50
# Textbook patterns are sparse (one every ~50 daily bars): the 1,500-bar walk of seed 7 holds 28.
RADAR_PATTERNS = 25
LABELS = 200


def bulk_labels(owner, stock, bars, count: int, *, decisions=()) -> list[Label]:
    """`count` labels of `owner` on stored bars of `stock` (1d): an accept on each of the
    `decisions` (stored patterns) first, then manual labels of 5–25 bars."""
    rows = [
        Label(
            owner=owner,
            stock=stock,
            timeframe="1d",
            pattern_type=pattern.pattern_type,
            start_ts=pattern.start_ts,
            end_ts=pattern.end_ts,
            direction="bullish",
            source=Source.ACCEPTED,
            detected_pattern=pattern,
            detection_ref={"id": pattern.pk},
        )
        for pattern in decisions
    ]
    for i in range(count - len(rows)):
        first = (i * 7) % (len(bars) - 30)
        rows.append(
            Label(
                owner=owner,
                stock=stock,
                timeframe="1d",
                pattern_type=("DT", "DB", "HS", "IHS", "rectangle")[i % 5],
                start_ts=bars[first],
                end_ts=bars[first + 5 + i % 20],
                direction="neutral",
            )
        )
    return Label.objects.bulk_create(rows)


@pytest.fixture
def busy_series(user):
    """A stock whose 1,500 daily bars hold at least 25 stored patterns, with 200 of the user's
    labels on them (an accept on 25 of the atr detector's patterns); both detectors are stored."""
    stock = make_stock("005930", "삼성전자")
    frame = walk(1500, seed=7)
    make_candles(stock, "1d", frame)
    series_analyze_detectors(stock=stock, timeframe="1d")
    patterns = list(
        PatternInstance.objects.filter(stock=stock, detector="atr").order_by("start_ts")
    )
    assert len(patterns) >= RADAR_PATTERNS
    bulk_labels(user, stock, list(frame.index), LABELS, decisions=patterns[:RADAR_PATTERNS])
    return stock


DETECTOR_QUERIES = [{}, {"detector": "atr"}, {"detector": "structural"}]


@pytest.mark.parametrize("query", DETECTOR_QUERIES)
def test_radar_page(user_client, busy_series, django_assert_max_num_queries, query):
    # 10 + 1: the multi-timeframe strip (every timeframe's run and newest pattern, one query);
    # + 4: the bell, the watchlist star, the alert column's two bulk reads.
    with django_assert_max_num_queries(15):
        response = user_client.get("/radar/", {"symbol": "005930", "bars": 1500, **query})
    data = response.context["data"]
    assert data["detector"] == query.get("detector", "atr")
    assert len(data["labels"]) == LABELS and data["patterns"]
    if data["detector"] == "atr":
        assert len(data["patterns"]) >= RADAR_PATTERNS
        assert response.content.decode().count("Accepted as") == RADAR_PATTERNS


@pytest.mark.parametrize("query", DETECTOR_QUERIES)
def test_radar_figure(user_client, busy_series, django_assert_max_num_queries, query):
    with django_assert_max_num_queries(7):
        response = user_client.get("/radar/figure", {"symbol": "005930", "bars": 1500, **query})
    layer = response.json()["figure"]["radar"]["layers"]["labels"]
    assert len(layer["shapes"]) == LABELS


@pytest.mark.parametrize("query", DETECTOR_QUERIES)
def test_api_radar(user_client, busy_series, django_assert_max_num_queries, query):
    with django_assert_max_num_queries(7):
        body = user_client.get("/api/radar", {"symbol": "005930", "bars": 1500, **query}).json()
    assert body["detector"] == query.get("detector", "atr")
    assert body["analysis"]["source"] == "stored" and body["analysis"]["patterns"]
    assert len(body["labels"]) == LABELS


def test_scanner(user_client, django_assert_max_num_queries):
    for i in range(PATTERNS + 10):
        run = make_run(make_stock(f"{100000 + i}", f"stock {i}"))
        pattern_end = run.last_bar_ts - timedelta(days=i % 5)
        make_pattern(run, "DB", start=pattern_end - timedelta(days=30), end=pattern_end)
    with django_assert_max_num_queries(7):
        response = user_client.get("/scanner/")
    assert len(response.context["page"].object_list) == PATTERNS


def test_pattern_stats(user_client, django_assert_max_num_queries):
    for i in range(PATTERNS + 10):
        run = make_run(make_stock(f"{100000 + i}", f"stock {i}", market=("KOSPI", "KOSDAQ")[i % 2]))
        end = run.last_bar_ts - timedelta(days=30)
        for kind, outcome in (("DB", "target"), ("DT", "failed"), ("HS", "expired")):
            make_pattern(run, kind, start=end - timedelta(days=30), end=end, outcome=outcome)
    with django_assert_max_num_queries(6):
        response = user_client.get("/patterns/stats/")
    assert len(response.context["rows"]) == 6  # 3 types x 2 markets on 1d
    assert response.context["totals"]["completed"] == 3 * (PATTERNS + 10)


@pytest.mark.parametrize("viewer", ["user_client", "staff_client"])
def test_label_list(request, user, busy_series, viewer, django_assert_max_num_queries):
    client = request.getfixturevalue(viewer)
    with django_assert_max_num_queries(5):
        response = client.get("/labels/")
    page = response.context["page_obj"]
    assert page.paginator.count == LABELS and len(page.object_list) == 50


def test_label_review(user_client, user, django_assert_max_num_queries):
    """200 labels, 50 detections of each detector and 5 reviewed ranges over 5 series."""
    for n in range(5):
        stock = make_stock(f"00{n}930", f"stock {n}")
        frame = walk(300, seed=n)
        make_candles(stock, "1d", frame)
        bars = list(frame.index)
        detections = [
            make_detection(stock, "DT", bars[20 + 25 * i], bars[30 + 25 * i]) for i in range(10)
        ]
        for i in range(10):  # the other detector's patterns: same query count
            make_detection(stock, "DT", bars[21 + 25 * i], bars[30 + 25 * i], detector="structural")
        bulk_labels(user, stock, bars, LABELS // 5, decisions=detections[:3])
        reviewed_range_mark(owner=user, stock=stock, timeframe="1d", start=bars[0], end=bars[-1])
    with django_assert_max_num_queries(9):
        response = user_client.get("/labels/review/")
    report = response.context["report"]
    assert report["series"] == 5 and report["result"].total.labels > 0
    assert [d["result"].total.detections for d in report["detectors"]] == [50, 50]
    assert len(report["false_alarms"]) > 0
    assert response.content.decode().count("Accepted as") + response.content.decode().count(
        'value="accept"'
    ) >= len(report["false_alarms"])
