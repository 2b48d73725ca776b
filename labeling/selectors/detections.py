"""Reads about the detector's stored patterns from the labels' side: a user's accept/reject
decisions on them (matched by `Label.objects.answering` / `decisions_by_key`) and the stored
detection a decision refers to after a re-analysis."""

from analysis.models import PatternInstance

from ..models import Label, detection_key, detection_key_filter


def detection_decision(*, user, pattern: PatternInstance) -> Label | None:
    """The user's live accept/reject label for detected `pattern`, or None (the newest)."""
    return Label.objects.owned_by(user).alive().answering(pattern).order_by("-id").first()


def detection_decisions(*, user, pattern_ids) -> dict[int, Label]:
    """{pattern id: the user's live accept/reject label} for many stored detections, in two
    queries whatever their number. Registered as the Radar's decisions (`labeling.apps`)."""
    patterns = list(PatternInstance.objects.filter(pk__in=[int(i) for i in pattern_ids]))
    return decisions_for(user=user, patterns=patterns)


def decisions_for(*, user, patterns) -> dict[int, Label]:
    """{pattern id: the user's live accept/reject label} for loaded detections, in one query."""
    by_key = Label.objects.owned_by(user).alive().decisions_by_key(patterns)
    return {p.pk: by_key[detection_key(p)] for p in patterns if detection_key(p) in by_key}


def current_detection(*, label: Label) -> PatternInstance | None:
    """The stored detection with the label's series, type and range (after a re-analysis)."""
    return PatternInstance.objects.filter(**detection_key_filter(label)).order_by("-pk").first()
