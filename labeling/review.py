"""Detector review: how the automatic pattern detection compares with a user's own labels.

`review_metrics` is pure (no ORM): it takes spans on a bar-index axis and matches each label with
at most one detection of the same series and pattern type whose range overlaps it with an
intersection over union ≥ `threshold` (bars counted inclusively, so a one-bar span has length 1).
Matching is greedy by decreasing IoU, which is optimal for the one-to-one case of well-separated
patterns and deterministic on ties (smaller keys first).

Per pattern type: precision = matched detections / detections, recall = matched labels / labels
(None when the denominator is zero). Unmatched labels are *misses*, unmatched detections *false
alarms*.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
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
    pattern_type: str
    labels: int
    detections: int
    matched: int

    @property
    def precision(self) -> float | None:
        return self.matched / self.detections if self.detections else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.labels if self.labels else None


@dataclass(frozen=True)
class ReviewResult:
    per_type: list[TypeMetrics]
    matches: list[Match]
    misses: list[Span]
    false_alarms: list[Span]

    @property
    def total(self) -> TypeMetrics:
        return TypeMetrics(
            pattern_type="all",
            labels=sum(m.labels for m in self.per_type),
            detections=sum(m.detections for m in self.per_type),
            matched=sum(m.matched for m in self.per_type),
        )


def span_iou(a: Span, b: Span) -> float:
    """Intersection over union of two inclusive bar ranges (0.0 when they do not overlap)."""
    inter = min(a.end, b.end) - max(a.start, b.start) + 1
    if inter <= 0:
        return 0.0
    union = (a.end - a.start + 1) + (b.end - b.start + 1) - inter
    return inter / union


def review_metrics(
    labels: Iterable[Span], detections: Iterable[Span], *, threshold: float = IOU_THRESHOLD
) -> ReviewResult:
    """Matches labels with detections (same series and type, IoU ≥ threshold), one to one."""
    labels = list(labels)
    detections = list(detections)
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
            detections=sum(1 for s in detections if s.pattern_type == t),
            matched=sum(1 for m in matches if m.label.pattern_type == t),
        )
        for t in types
    ]
    return ReviewResult(
        per_type=per_type,
        matches=matches,
        misses=[s for s in labels if s.key not in used_labels],
        false_alarms=[s for s in detections if s.key not in used_detections],
    )
