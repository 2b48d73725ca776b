"""The detector-review metrics on hand-built cases (pure, no database)."""

import pytest

from labeling.review import Span, review_metrics, span_iou

A = ("005930", "1d")
B = ("000660", "1d")


def lab(key, start, end, t="DT", series=A):
    return Span(key=f"L{key}", series=series, pattern_type=t, start=start, end=end)


def det(key, start, end, t="DT", series=A):
    return Span(key=f"D{key}", series=series, pattern_type=t, start=start, end=end)


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ((0, 9), (0, 9), 1.0),
        ((0, 9), (5, 14), 5 / 15),  # 5 shared bars of 15
        ((0, 9), (10, 19), 0.0),  # touching, no shared bar
        ((0, 9), (9, 18), 1 / 19),  # one shared bar
        ((0, 9), (2, 7), 6 / 10),  # contained
        ((4, 4), (4, 4), 1.0),  # one-bar spans
    ],
)
def test_span_iou(a, b, iou):
    assert span_iou(lab(1, *a), det(1, *b)) == pytest.approx(iou)
    assert span_iou(det(1, *b), lab(1, *a)) == pytest.approx(iou)


def test_threshold_is_inclusive_at_one_half():
    # [0, 9] vs [0, 4]: 5 / 10 = 0.5 exactly → a match; [0, 9] vs [0, 3]: 0.4 → none.
    assert len(review_metrics([lab(1, 0, 9)], [det(1, 0, 4)]).matches) == 1
    assert review_metrics([lab(1, 0, 9)], [det(1, 0, 3)]).matches == []


def test_precision_recall_misses_and_false_alarms():
    labels = [
        lab(1, 10, 20),  # matched by D1 (IoU 10/12)
        lab(2, 50, 60),  # missed: D2 overlaps too little
        lab(3, 100, 120, t="DB"),  # matched by D4
        lab(4, 200, 210, t="HS"),  # missed, no HS detection at all
    ]
    detections = [
        det(1, 11, 21),
        det(2, 58, 70),  # IoU 3/21
        det(3, 300, 310),  # false alarm
        det(4, 100, 118, t="DB"),
        det(5, 10, 20, series=B),  # another series: false alarm, not a match for L1
    ]
    result = review_metrics(labels, detections)
    by_type = {m.pattern_type: m for m in result.per_type}
    dt = by_type["DT"]
    assert (dt.labels, dt.labels_found, dt.detections, dt.detections_matched) == (2, 1, 4, 1)
    assert (dt.true_positives_precision, dt.false_positives) == (1, 3)
    assert (dt.true_positives_recall, dt.false_negatives) == (1, 1)
    assert by_type["DT"].precision == pytest.approx(0.25)
    assert by_type["DT"].recall == pytest.approx(0.5)
    assert (by_type["DB"].precision, by_type["DB"].recall) == (1.0, 1.0)
    assert by_type["HS"].precision is None and by_type["HS"].recall == 0.0
    assert {m.label.key: m.detection.key for m in result.matches} == {"L1": "D1", "L3": "D4"}
    assert [s.key for s in result.misses] == ["L2", "L4"]
    assert [s.key for s in result.false_alarms] == ["D2", "D3", "D5"]
    total = result.total
    assert (total.labels, total.detections, total.detections_matched) == (4, 5, 2)
    assert total.not_counted == 0


def test_types_must_agree():
    result = review_metrics([lab(1, 0, 9, t="DT")], [det(1, 0, 9, t="DB")])
    assert result.matches == []
    assert [s.key for s in result.misses] == ["L1"]
    assert [s.key for s in result.false_alarms] == ["D1"]


def test_one_to_one_greedy_by_best_overlap():
    # Two labels compete for one detection: the better overlap wins, the other is a miss.
    result = review_metrics([lab(1, 0, 9), lab(2, 1, 10)], [det(1, 1, 10)])
    assert [(m.label.key, m.detection.key) for m in result.matches] == [("L2", "D1")]
    assert [s.key for s in result.misses] == ["L1"]
    # Two detections of one label: one matches, the duplicate is a false alarm.
    result = review_metrics([lab(1, 0, 9)], [det(1, 0, 9), det(2, 0, 8)])
    assert [m.detection.key for m in result.matches] == ["D1"]
    assert [s.key for s in result.false_alarms] == ["D2"]


def test_empty_inputs():
    result = review_metrics([], [])
    assert result.per_type == [] and result.matches == []
    assert result.total.precision is None and result.total.recall is None


def test_precision_counts_only_counted_detections():
    # Three detections; the user reviewed only D1 (a hit) and D2 (a false alarm). D3, an
    # unlabelled detection elsewhere, is in neither figure; it still may find a label (D4).
    labels = [lab(1, 10, 20), lab(2, 400, 410)]
    detections = [det(1, 10, 20), det(2, 50, 60), det(3, 300, 310), det(4, 400, 410)]
    result = review_metrics(labels, detections, counted={"D1", "D2"})
    dt = result.per_type[0]
    assert (dt.detections, dt.detections_matched, dt.not_counted) == (2, 1, 2)
    assert dt.precision == pytest.approx(0.5)
    assert (dt.labels, dt.labels_found, dt.recall) == (2, 2, 1.0)
    assert [s.key for s in result.false_alarms] == ["D2"]
    # Nothing reviewed: precision has no denominator, recall is unchanged.
    nothing = review_metrics(labels, detections, counted=set()).total
    assert nothing.precision is None and nothing.not_counted == 4 and nothing.recall == 1.0


@pytest.mark.parametrize(("threshold", "matched"), [(0.3, 1), (1 / 3, 1), (0.34, 0), (1.0, 0)])
def test_threshold_parameter(threshold, matched):
    # [0, 9] vs [5, 14]: IoU 5/15.
    result = review_metrics([lab(1, 0, 9)], [det(1, 5, 14)], threshold=threshold)
    assert len(result.matches) == matched and result.threshold == threshold


@pytest.mark.parametrize("threshold", [0, -0.5, 1.01, float("nan")])
def test_threshold_out_of_range_is_refused(threshold):
    with pytest.raises(ValueError, match="IoU threshold"):
        review_metrics([], [], threshold=threshold)
