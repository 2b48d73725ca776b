"""Detector review: how the automatic pattern detection compares with a user's own labels.

`review_metrics` is pure (no ORM): it takes spans on a bar-index axis and matches each label with
at most one detection of the same series and pattern type whose range overlaps it with an
intersection over union ≥ `threshold` (bars counted inclusively, so a one-bar span has length 1).
Matching is greedy by decreasing IoU, which is optimal for the one-to-one case of well-separated
patterns and deterministic on ties (smaller keys first).

The two figures count different things, so each has its own counts (per pattern type):

- recall = labels found / labels: TP = labels matched by a detection, FN = labels no detection
  matched (*misses*). Every label counts.
- precision = detections matched / detections counted: TP = counted detections that match a
  label, FP = counted detections that match none (*false alarms*). Only the detections in
  `counted` count (the caller passes those the user has reviewed); an unlabelled detection
  elsewhere may simply not have been looked at, so it is neither a hit nor a false alarm.

Both are None when their denominator is zero.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field

IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class Span:
    """A labelled or detected pattern: `start`/`end` are inclusive bar indexes of its series."""

    key: Hashable
    series: Hashable
    pattern_type: str
    start: int
    end: int
    payload: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Match:
    label: Span
    detection: Span
    iou: float


@dataclass(frozen=True)
class TypeMetrics:
    """Counts behind precision and recall of one pattern type (see the module docstring)."""

    pattern_type: str
    labels: int
    labels_found: int
    detections: int
    detections_matched: int
    not_counted: int = 0  # detections outside what the user reviewed, in no figure

    @property
    def precision(self) -> float | None:
        return self.detections_matched / self.detections if self.detections else None

    @property
    def recall(self) -> float | None:
        return self.labels_found / self.labels if self.labels else None

    @property
    def true_positives_precision(self) -> int:
        return self.detections_matched

    @property
    def false_positives(self) -> int:
        return self.detections - self.detections_matched

    @property
    def true_positives_recall(self) -> int:
        return self.labels_found

    @property
    def false_negatives(self) -> int:
        return self.labels - self.labels_found


@dataclass(frozen=True)
class ReviewResult:
    per_type: list[TypeMetrics]
    matches: list[Match]
    misses: list[Span]
    false_alarms: list[Span]
    threshold: float = IOU_THRESHOLD

    @property
    def total(self) -> TypeMetrics:
        return TypeMetrics(
            pattern_type="all",
            labels=sum(m.labels for m in self.per_type),
            labels_found=sum(m.labels_found for m in self.per_type),
            detections=sum(m.detections for m in self.per_type),
            detections_matched=sum(m.detections_matched for m in self.per_type),
            not_counted=sum(m.not_counted for m in self.per_type),
        )


def span_iou(a: Span, b: Span) -> float:
    """Intersection over union of two inclusive bar ranges (0.0 when they do not overlap)."""
    inter = min(a.end, b.end) - max(a.start, b.start) + 1
    if inter <= 0:
        return 0.0
    union = (a.end - a.start + 1) + (b.end - b.start + 1) - inter
    return inter / union


def review_metrics(
    labels: Iterable[Span],
    detections: Iterable[Span],
    *,
    threshold: float = IOU_THRESHOLD,
    counted: Collection[Hashable] | None = None,
) -> ReviewResult:
    """Matches labels with detections (same series and type, IoU ≥ threshold), one to one.

    All `detections` take part in the matching (so a label is found by any of them); only those
    whose key is in `counted` (all of them when None) count for precision and can be false
    alarms. `threshold` must be in (0, 1].
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"IoU threshold must be in (0, 1], got {threshold!r}")
    labels = list(labels)
    detections = list(detections)
    if counted is None:
        counted = {d.key for d in detections}
    candidates = []
    for label in labels:
        for detection in detections:
            if (label.series, label.pattern_type) != (detection.series, detection.pattern_type):
                continue
            iou = span_iou(label, detection)
            if iou >= threshold:
                candidates.append((iou, label, detection))
    candidates.sort(key=lambda c: (-c[0], str(c[1].key), str(c[2].key)))
    used_labels: set = set()
    used_detections: set = set()
    matches = []
    for iou, label, detection in candidates:
        if label.key in used_labels or detection.key in used_detections:
            continue
        used_labels.add(label.key)
        used_detections.add(detection.key)
        matches.append(Match(label=label, detection=detection, iou=iou))
    types = sorted({s.pattern_type for s in labels} | {s.pattern_type for s in detections})
    per_type = [
        TypeMetrics(
            pattern_type=t,
            labels=sum(1 for s in labels if s.pattern_type == t),
            labels_found=sum(1 for m in matches if m.label.pattern_type == t),
            detections=sum(1 for s in detections if s.pattern_type == t and s.key in counted),
            detections_matched=sum(
                1 for m in matches if m.detection.pattern_type == t and m.detection.key in counted
            ),
            not_counted=sum(1 for s in detections if s.pattern_type == t and s.key not in counted),
        )
        for t in types
    ]
    return ReviewResult(
        per_type=per_type,
        matches=matches,
        misses=[s for s in labels if s.key not in used_labels],
        false_alarms=[s for s in detections if s.key not in used_detections and s.key in counted],
        threshold=threshold,
    )
