"""The detector review page over stored labels and detections."""

from analysis.tests.factories import make_detection
from labeling import services
from labeling.models import Source
from labeling.tests.factories import make_label
from marketdata.tests.factories import kst


def test_review_page_metrics_misses_and_false_alarms(user_client, user, other_user, stock):
    # Bars are weekdays from 2024-01-02. Label DB 01-08..01-19 (10 bars).
    matched = make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 19), pattern_type="DB")
    missed = make_label(user, stock, kst(2024, 2, 5), kst(2024, 2, 16), pattern_type="DT")
    make_label(
        user, stock, kst(2024, 1, 22), kst(2024, 1, 26), pattern_type="triangle_sym"
    )  # not a detector type
    gone = make_label(user, stock, kst(2024, 1, 22), kst(2024, 1, 26), pattern_type="DT")
    services.label_delete(label=gone, actor=user)
    make_label(
        other_user, stock, kst(2024, 1, 22), kst(2024, 1, 26), pattern_type="DT"
    )  # someone else's

    make_detection(stock, "DB", kst(2024, 1, 9), kst(2024, 1, 19))  # IoU 9/10 → match
    make_detection(stock, "DT", kst(2024, 2, 14), kst(2024, 2, 23))  # IoU 3/15 → false alarm
    alarm = make_detection(stock, "HS", kst(2024, 1, 22), kst(2024, 2, 2))  # no HS label
    make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16), status="invalidated")
    make_detection(stock, "DT", kst(2024, 3, 18), kst(2024, 3, 22))  # outside the window
    services.reviewed_range_mark(
        owner=user, stock=stock, timeframe="1d", start=kst(2024, 1, 2), end=kst(2024, 2, 29)
    )

    response = user_client.get("/labels/review/")
    assert response.status_code == 200
    report = response.context["report"]
    by_type = {m.pattern_type: m for m in report["result"].per_type}
    assert (by_type["DB"].precision, by_type["DB"].recall) == (1.0, 1.0)
    dt = by_type["DT"]
    assert (dt.labels, dt.labels_found, dt.detections, dt.detections_matched) == (1, 0, 1, 0)
    assert by_type["HS"].precision == 0.0 and by_type["HS"].recall is None
    assert [row["id"] for row in report["misses"]] == [missed.pk]
    assert {row["pattern_type"] for row in report["false_alarms"]} == {"DT", "HS"}
    assert report["other_types"] == 1 and report["series"] == 1
    body = response.content.decode()
    assert "/radar/?symbol=005930&amp;tf=1d&amp;focus_start=2024-02-05" in body
    assert f'id="detection-actions-{alarm.pk}"' in body  # accept/reject right from the review
    assert matched.pk not in [row["id"] for row in report["misses"]]


def test_rejected_detection_stays_a_false_alarm(user_client, user, stock):
    make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 19), pattern_type="DB")
    wrong = make_detection(stock, "DB", kst(2024, 1, 10), kst(2024, 1, 12))  # IoU 3/10
    services.detection_decide(user=user, decision="reject", pattern=wrong)
    report = user_client.get("/labels/review/").context["report"]
    assert report["rejected"] == 1
    assert [row["id"] for row in report["false_alarms"]] == [wrong.pk]
    accepted = make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 9))
    services.detection_decide(user=user, decision="accept", pattern=accepted)
    report = user_client.get("/labels/review/").context["report"]
    dt = next(m for m in report["result"].per_type if m.pattern_type == "DT")
    assert (dt.labels, dt.detections, dt.detections_matched) == (1, 1, 1)


def test_review_filters_and_empty_state(user_client, user, stock):
    response = user_client.get("/labels/review/")
    assert response.context["report"]["series"] == 0
    assert "Nothing to review yet" in response.content.decode()
    make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 19), pattern_type="DB")
    make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19))
    assert user_client.get("/labels/review/", {"timeframe": "5m"}).context["report"]["series"] == 0
    scoped = user_client.get(
        "/labels/review/", {"date_from": "2024-01-01", "date_to": "2024-01-31"}
    )
    assert scoped.context["report"]["result"].total.labels_found == 1
    later = user_client.get("/labels/review/", {"date_from": "2024-02-01"})
    assert later.context["report"]["series"] == 0
    assert user_client.get("/labels/review/", {"date_from": "soon"}).status_code == 400


def test_review_is_per_user(user_client, other_user, stock):
    make_label(
        other_user,
        stock,
        kst(2024, 1, 8),
        kst(2024, 1, 19),
        pattern_type="DB",
        source=Source.MANUAL,
    )
    make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19))
    assert user_client.get("/labels/review/").context["report"]["series"] == 0


def test_review_is_per_detector(user_client, user, stock, settings):
    """A pattern both detectors found counts once in each detector's figures, never as the other
    detector's false alarm; the default detector comes first."""
    make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 19), pattern_type="DB")
    make_label(user, stock, kst(2024, 2, 5), kst(2024, 2, 16), pattern_type="DT")
    make_detection(stock, "DB", kst(2024, 1, 9), kst(2024, 1, 19), detector="atr")
    make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19), detector="structural")
    make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16), detector="structural")
    make_detection(stock, "HS", kst(2024, 1, 22), kst(2024, 2, 2), detector="atr")  # unlabelled
    services.reviewed_range_mark(
        owner=user, stock=stock, timeframe="1d", start=kst(2024, 1, 2), end=kst(2024, 2, 29)
    )

    response = user_client.get("/labels/review/")
    report = response.context["report"]
    assert [d["name"] for d in report["detectors"]] == ["atr", "structural"]
    atr, structural = (d["result"].total for d in report["detectors"])
    assert (atr.true_positives_precision, atr.false_positives, atr.false_negatives) == (1, 1, 1)
    assert (structural.true_positives_precision, structural.false_positives) == (2, 0)
    assert (structural.false_negatives, structural.precision, structural.recall) == (0, 1.0, 1.0)
    assert report["detector"] == "atr" and report["result"].total == atr
    assert [row["pattern_type"] for row in report["false_alarms"]] == ["HS"]
    body = response.content.decode()
    assert body.index('data-detector="atr"') < body.index('data-detector="structural"')
    assert 'data-detector="structural" data-count="fp">0<' in body

    settings.ANALYSIS_DEFAULT_DETECTOR = "structural"
    report = user_client.get("/labels/review/").context["report"]
    assert [d["name"] for d in report["detectors"]] == ["structural", "atr"]
    assert report["detector"] == "structural" and report["false_alarms"] == []
