"""The review queue: the stored detections a user has not accepted or rejected yet, one at a
time, with the progress over the whole filtered set."""

from django.db.models import Exists, OuterRef, Q

from analysis.models import PatternInstance

from ..models import DETECTION_KEY_FIELDS, Label
from .charts import detection_figure


def queue_detections(
    *,
    user,
    symbol: str = "",
    timeframe: str = "",
    pattern_type: str = "",
    status: str = "",
    detector: str = "",
):
    """Stored detections of default-parameter runs (of every swing detector, or of `detector`),
    filtered, each annotated with `decided`
    (the user has a live accept/reject on it: same series, type and bar range), oldest first.

    `symbol` matches the code exactly or the name partly (as the label list does)."""
    decision = (
        Label.objects.owned_by(user)
        .alive()
        .decisions()
        .filter(**{field: OuterRef(field) for field in DETECTION_KEY_FIELDS})
    )
    qs = PatternInstance.objects.filter(run__is_default=True)
    if symbol:
        qs = qs.filter(Q(stock__code=symbol) | Q(stock__name__icontains=symbol))
    if timeframe:
        qs = qs.filter(timeframe=timeframe)
    if pattern_type:
        qs = qs.filter(pattern_type=pattern_type)
    if status:
        qs = qs.filter(status=status)
    if detector:
        qs = qs.filter(detector=detector)
    return qs.annotate(decided=Exists(decision))


def queue_page(*, user, after: int | None = None, **filters) -> dict:
    """{"pattern": the next undecided detection (after id `after` when given, wrapping round to
    the first) or None, "figure": its focused chart, "total", "decided", "remaining"}.
    Four queries."""
    detections = queue_detections(user=user, **filters)
    total = detections.count()
    remaining = detections.filter(decided=False).count()
    undecided = detections.filter(decided=False).select_related("stock").order_by("pk")
    pattern = None
    if after is not None:
        pattern = undecided.filter(pk__gt=after).first()
    if pattern is None:
        pattern = undecided.first()
    return {
        "pattern": pattern,
        "figure": detection_figure(pattern=pattern) if pattern is not None else None,
        "total": total,
        "decided": total - remaining,
        "remaining": remaining,
    }
