"""Reviewed ranges: marking them (review page, Radar panel) and the honest precision they give."""

import pytest

from analysis.tests.factories import make_detection
from labeling import services
from labeling.models import ReviewedRange
from labeling.tests.factories import HTMX, make_label
from marketdata.tests.factories import kst


def mark(client, extra=None, **data):
    payload = {"symbol": "005930", "timeframe": "1d", "start": "2024-01-08", "end": "2024-01-19"}
    payload.update(data)
    return client.post("/labels/review/ranges/", payload, **(extra or {}))


def ranges_of(user):
    return [
        (r.start_ts.date().isoformat(), r.end_ts.date().isoformat())
        for r in ReviewedRange.objects.owned_by(user).order_by("start_ts")
    ]


def test_mark_snaps_merges_and_repeats_safely(user_client, user, stock):
    response = mark(user_client, start="2024-01-06", end="2024-01-19", next="/labels/review/")
    assert response.status_code == 302 and response["Location"] == "/labels/review/"
    # 01-06 is a Saturday: the range starts at the next stored bar (KST 01-08 = UTC 01-07).
    assert ranges_of(user) == [("2024-01-07", "2024-01-18")]
    mark(user_client)  # the same range again: nothing new
    assert ReviewedRange.objects.count() == 1
    mark(user_client, start="2024-01-22", end="2024-01-26")  # touches it: merged
    mark(user_client, start="2024-02-05", end="2024-02-09")  # a gap: a second range
    assert ranges_of(user) == [("2024-01-07", "2024-01-25"), ("2024-02-04", "2024-02-08")]
    mark(user_client, start="2024-01-15", end="2024-02-06")  # bridges both
    assert ranges_of(user) == [("2024-01-07", "2024-02-08")]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"symbol": "999999"}, "999999"),
        ({"end": "2024-01-01"}, "before the start"),
        ({"start": "soon"}, "ISO 8601"),
        ({"start": "2023-06-01"}, "outside the stored bars"),
    ],
)
def test_mark_refuses_bad_input_with_400(user_client, stock, data, error):
    response = mark(user_client, **data)
    assert response.status_code == 400 and error in response.content.decode()
    htmx = mark(user_client, HTMX, **data)
    assert htmx.status_code == 400 and 'id="reviewed-range-result"' in htmx.content.decode()
    assert not ReviewedRange.objects.exists()


def test_mark_from_the_radar_panel_answers_with_a_fragment(user_client, user, stock):
    radar = user_client.get("/radar/", {"symbol": "005930", "tf": "1d"}).content.decode()
    assert 'id="reviewed-range-form"' in radar and 'action="/labels/review/ranges/"' in radar
    response = mark(user_client, HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "radar:labels-changed"
    body = response.content.decode()
    assert "005930 1d" in body and "2024-01-08 – 2024-01-19" in body
    assert ranges_of(user) == [("2024-01-07", "2024-01-18")]


def test_ranges_are_per_user(user_client, user, other_user, stock):
    theirs = services.reviewed_range_mark(
        owner=other_user, stock=stock, timeframe="1d", start=kst(2024, 1, 8), end=kst(2024, 1, 19)
    )
    page = user_client.get("/labels/review/")
    assert page.context["report"]["reviewed_ranges"] == []
    assert user_client.post(f"/labels/review/ranges/{theirs.pk}/delete/").status_code == 404
    mine = services.reviewed_range_mark(
        owner=user, stock=stock, timeframe="1d", start=kst(2024, 1, 8), end=kst(2024, 1, 19)
    )
    assert user_client.get("/labels/review/").context["report"]["reviewed_ranges"] == [mine]
    assert user_client.post(f"/labels/review/ranges/{mine.pk}/delete/").status_code == 302
    assert list(ReviewedRange.objects.all()) == [theirs]
    assert user_client.get("/labels/review/ranges/").status_code == 405
    user_client.logout()
    assert user_client.post("/labels/review/ranges/", {}).status_code == 302  # login first


def test_precision_counts_only_reviewed_detections(user_client, user, stock):
    """Three labels, nine detections: the old rule made precision 1/9; only the reviewed
    detections count now."""
    make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 12), pattern_type="DT")
    make_label(user, stock, kst(2024, 1, 15), kst(2024, 1, 19), pattern_type="DB")
    make_label(user, stock, kst(2024, 3, 4), kst(2024, 3, 8), pattern_type="DT")
    make_detection(stock, "DT", kst(2024, 1, 8), kst(2024, 1, 12))  # hit, reviewed
    make_detection(stock, "DB", kst(2024, 1, 22), kst(2024, 1, 26))  # false alarm, reviewed
    make_detection(stock, "DT", kst(2024, 1, 29), kst(2024, 2, 2))  # false alarm, reviewed
    make_detection(stock, "DT", kst(2024, 3, 4), kst(2024, 3, 8))  # hit, not reviewed
    for day in (12, 19, 26):  # unlabelled, unreviewed: not counted
        make_detection(stock, "HS", kst(2024, 2, day), kst(2024, 2, day + 2))
    straddles = make_detection(stock, "DB", kst(2024, 2, 1), kst(2024, 2, 8))  # half outside
    rejected = make_detection(stock, "DT", kst(2024, 3, 11), kst(2024, 3, 15))
    services.detection_decide(user=user, decision="reject", pattern=rejected)

    before = user_client.get("/labels/review/").context["report"]["result"].total
    assert (before.detections, before.detections_matched) == (1, 0)  # only the rejection
    services.reviewed_range_mark(
        owner=user, stock=stock, timeframe="1d", start=kst(2024, 1, 8), end=kst(2024, 2, 5)
    )
    response = user_client.get("/labels/review/")
    report = response.context["report"]
    total = report["result"].total
    # Precision: 1 hit (01-08) of 4 counted (3 in the range + the rejected one).
    assert (total.true_positives_precision, total.false_positives) == (1, 3)
    assert total.precision == pytest.approx(0.25)
    assert total.not_counted == 5  # the unreviewed hit, three HS, the straddling DB
    # Recall: every label; the 03-04 label is found by an unreviewed detection.
    assert (total.true_positives_recall, total.false_negatives) == (2, 1)
    assert total.recall == pytest.approx(2 / 3)
    assert straddles.pk not in [row["id"] for row in report["false_alarms"]]
    assert rejected.pk in [row["id"] for row in report["false_alarms"]]
    body = response.content.decode()
    assert "counts only detections you reviewed" in body and "at least 0.5" in body
    total_row = body[body.index('data-type="all"') :]
    for count, value in (("tp-precision", 1), ("fp", 3), ("not-counted", 5), ("fn", 1)):
        assert f'data-count="{count}">{value}<' in total_row


def test_iou_threshold_is_a_validated_url_parameter(user_client, user, stock):
    make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 19), pattern_type="DB")  # 10 bars
    make_detection(stock, "DB", kst(2024, 1, 15), kst(2024, 1, 26))  # 5 shared of 15: IoU 1/3
    default = user_client.get("/labels/review/")
    assert default.context["report"]["threshold"] == 0.5
    assert default.context["report"]["result"].total.labels_found == 0
    loose = user_client.get("/labels/review/", {"iou": "0.3"})
    assert loose.context["report"]["result"].total.labels_found == 1
    assert "at least 0.3" in loose.content.decode()
    for bad in ("0", "1.5", "half", "-1", "nan"):
        response = user_client.get("/labels/review/", {"iou": bad})
        assert response.status_code == 400, bad
        assert "from 0.05 to 1" in response.content.decode()
