"""Writes for pattern labels. Every write is atomic and records a `LabelRevision` with it."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analysis.models import PatternInstance
from marketdata.krx_calendar import KST
from marketdata.models import Candle, Stock

from .models import (
    TYPICAL_DIRECTION,
    Direction,
    Label,
    LabelRevision,
    Outcome,
    ReviewedRange,
    Source,
    key_points_check,
)
from .selectors.detections import detection_decision
from .selectors.ranges import label_range_resolve

NOT_OWNER = _("Only the owner can change this label.")
NOT_RANGE_OWNER = _("Only the owner can remove this reviewed range.")
ALREADY_DELETED = _("This label is already deleted.")
NOT_DELETED = _("This label is not deleted.")
SOURCE_OF_DECISION = {"accept": Source.ACCEPTED, "reject": Source.REJECTED}


# Fields whose change is worth a revision (and shown in the history).
TRACKED_FIELDS = (
    "stock",
    "timeframe",
    "pattern_type",
    "start_ts",
    "end_ts",
    "direction",
    "key_points",
    "outcome",
    "notes",
    "tags",
    "source",
    "detector",
    "detection_ref",
    "deleted",
)


def label_snapshot(label: Label) -> dict:
    """The tracked state of a label as JSON-ready values (instants as ISO text in KST)."""
    return {
        "stock": label.stock.code,
        "timeframe": label.timeframe,
        "pattern_type": label.pattern_type,
        "start_ts": label.start_ts.astimezone(KST).isoformat(),
        "end_ts": label.end_ts.astimezone(KST).isoformat(),
        "direction": label.direction,
        "key_points": label.key_points,
        "outcome": label.outcome,
        "notes": label.notes,
        "tags": label.tags,
        "source": label.source,
        "detector": label.detector,
        "detection_ref": label.detection_ref,
        "deleted": label.deleted_at is not None,
    }


def _revision_write(*, label: Label, actor, action: str, previous: dict | None) -> LabelRevision:
    snapshot = label_snapshot(label)
    changed = (
        list(TRACKED_FIELDS)
        if previous is None
        else [f for f in TRACKED_FIELDS if previous.get(f) != snapshot[f]]
    )
    number = (
        1
        if previous is None
        else (LabelRevision.objects.filter(label=label).order_by("-number").first().number + 1)
    )
    return LabelRevision.objects.create(
        label=label,
        number=number,
        action=action,
        actor=actor,
        snapshot=snapshot,
        changed_fields=changed,
    )


def _detection_snapshot(pattern) -> dict:
    """What a label keeps of the detection it answers (survives re-analysis of the series)."""
    return {
        "id": pattern.pk,
        "pattern_type": pattern.pattern_type,
        "status": pattern.status,
        "start_ts": pattern.start_ts.astimezone(KST).isoformat(),
        "end_ts": pattern.end_ts.astimezone(KST).isoformat(),
        "score": pattern.score,
    }


def _clean_tags(tags) -> list[str]:
    seen: list[str] = []
    for tag in tags:
        tag = " ".join(str(tag).split())
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def _require_owner(*, label: Label, actor) -> None:
    if label.owner_id != actor.pk:
        raise PermissionDenied(NOT_OWNER)


@transaction.atomic
def label_create(
    *,
    owner,
    stock,
    timeframe: str,
    pattern_type: str,
    start: datetime,
    end: datetime,
    direction: str = "",
    key_points=(),
    outcome: str = Outcome.UNKNOWN,
    notes: str = "",
    tags=(),
    source: str = Source.MANUAL,
    detector: str = "",
    detection_ref: dict | None = None,
    detected_pattern=None,
) -> Label:
    """Creates a label on the stored bars of (stock, timeframe) and its first revision.

    `detector` names the swing detector of the detection an accept/reject answers (empty for
    the user's own labels).

    The range and key points snap to stored bars (`selectors.ranges.label_range_resolve`, which
    raises ValidationError keyed by field). An empty `direction` takes the pattern type's usual
    one.
    Key points breaking the rules (`models.key_points_check`) are refused before any read.
    """
    key_points_check(key_points)
    resolved = label_range_resolve(
        stock=stock, timeframe=timeframe, start=start, end=end, key_points=key_points
    )
    label = Label(
        owner=owner,
        stock=stock,
        timeframe=timeframe,
        pattern_type=pattern_type,
        start_ts=resolved["start_ts"],
        end_ts=resolved["end_ts"],
        direction=direction or TYPICAL_DIRECTION.get(pattern_type, Direction.NEUTRAL),
        key_points=resolved["key_points"],
        outcome=outcome,
        notes=notes,
        tags=_clean_tags(tags),
        source=source,
        detector=detector,
        detection_ref=detection_ref,
        detected_pattern=detected_pattern,
    )
    label.full_clean(
        exclude=["owner", "stock", "detected_pattern"],
        validate_unique=False,
        validate_constraints=False,
    )
    label.save()
    _revision_write(label=label, actor=owner, action=LabelRevision.Action.CREATED, previous=None)
    return label


@transaction.atomic
def label_update(
    *,
    label: Label,
    actor,
    stock,
    timeframe: str,
    pattern_type: str,
    start: datetime,
    end: datetime,
    direction: str = "",
    key_points=(),
    outcome: str = Outcome.UNKNOWN,
    notes: str = "",
    tags=(),
) -> Label:
    """Changes a label (owner only) and records a revision when anything tracked changed."""
    _require_owner(label=label, actor=actor)
    key_points_check(key_points)
    label = Label.objects.select_for_update().select_related("stock").get(pk=label.pk)
    previous = label_snapshot(label)
    resolved = label_range_resolve(
        stock=stock, timeframe=timeframe, start=start, end=end, key_points=key_points
    )
    label.stock = stock
    label.timeframe = timeframe
    label.pattern_type = pattern_type
    label.start_ts = resolved["start_ts"]
    label.end_ts = resolved["end_ts"]
    label.direction = direction or TYPICAL_DIRECTION.get(pattern_type, Direction.NEUTRAL)
    label.key_points = resolved["key_points"]
    label.outcome = outcome
    label.notes = notes
    label.tags = _clean_tags(tags)
    label.full_clean(
        exclude=["owner", "stock", "detected_pattern"],
        validate_unique=False,
        validate_constraints=False,
    )
    if label_snapshot(label) != previous:
        label.save()
        _revision_write(
            label=label, actor=actor, action=LabelRevision.Action.UPDATED, previous=previous
        )
    return label


def _deleted_set(*, label: Label, actor, deleted: bool) -> Label:
    """Soft-deletes (`deleted`) or restores a label for its owner, with a revision."""
    _require_owner(label=label, actor=actor)
    label = Label.objects.select_for_update().select_related("stock").get(pk=label.pk)
    if label.is_deleted == deleted:
        raise ValidationError(ALREADY_DELETED if deleted else NOT_DELETED)
    previous = label_snapshot(label)
    label.deleted_at = timezone.now() if deleted else None
    label.save(update_fields=["deleted_at", "updated_at"])
    action = LabelRevision.Action.DELETED if deleted else LabelRevision.Action.RESTORED
    _revision_write(label=label, actor=actor, action=action, previous=previous)
    return label


@transaction.atomic
def label_delete(*, label: Label, actor) -> Label:
    """Soft-deletes a label (owner only); `label_restore` undoes it."""
    return _deleted_set(label=label, actor=actor, deleted=True)


@transaction.atomic
def label_restore(*, label: Label, actor) -> Label:
    """Brings back a soft-deleted label (owner only)."""
    return _deleted_set(label=label, actor=actor, deleted=False)


@transaction.atomic
def detection_decide(*, user, decision: str, pattern) -> Label:
    """Accepts or rejects detected `pattern` (an `analysis.PatternInstance`) as a label.

    `decision` is "accept" or "reject". The label takes the detection's series, type and bar
    range, links to it, keeps a snapshot of it (`detection_ref`) and records its swing detector
    (`Label.detector`). A second decision on the same detection (the same series, type and
    range, whichever detector found it) changes the existing label (with a revision), never
    adds a label: its source, and when it is made on another detector's detection, its
    detector and the detection it links to.
    """
    source = SOURCE_OF_DECISION[decision]
    existing = detection_decision(user=user, pattern=pattern)
    if existing is not None:
        label = Label.objects.select_for_update().select_related("stock").get(pk=existing.pk)
        if label.source != source or label.detector != pattern.detector:
            previous = label_snapshot(label)
            label.source = source
            if label.detector != pattern.detector:
                label.detector = pattern.detector
                label.detected_pattern = pattern
                label.detection_ref = _detection_snapshot(pattern)
            label.save(
                update_fields=[
                    "source",
                    "detector",
                    "detected_pattern",
                    "detection_ref",
                    "updated_at",
                ]
            )
            _revision_write(
                label=label, actor=user, action=LabelRevision.Action.UPDATED, previous=previous
            )
        return label
    return label_create(
        owner=user,
        stock=pattern.stock,
        timeframe=pattern.timeframe,
        pattern_type=pattern.pattern_type,
        start=pattern.start_ts,
        end=pattern.end_ts,
        source=source,
        detector=pattern.detector,
        detection_ref=_detection_snapshot(pattern),
        detected_pattern=pattern,
    )


@transaction.atomic
def reviewed_range_mark(*, owner, stock, timeframe: str, start: datetime, end: datetime):
    """Marks the stored bars of (stock, timeframe) from `start` to `end` as reviewed by `owner`:
    every pattern in them is labelled.

    The range snaps to stored bars like a label's (`label_range_resolve`, ValidationError keyed
    by start/end). Ranges of the same series that overlap or touch it are merged into one, so
    marking twice changes nothing. Returns the (merged) `ReviewedRange`.
    """
    resolved = label_range_resolve(stock=stock, timeframe=timeframe, start=start, end=end)
    lo, hi = resolved["start_ts"], resolved["end_ts"]
    series = ReviewedRange.objects.select_for_update().filter(
        owner=owner, stock=stock, timeframe=timeframe
    )
    # Touching: the next stored bar after one range is the first of the other.
    bars = Candle.objects.filter(stock=stock, timeframe=timeframe)
    before = bars.filter(ts__lt=lo).order_by("-ts").first()
    after = bars.filter(ts__gt=hi).order_by("ts").first()
    reach_lo = before.ts if before else lo
    reach_hi = after.ts if after else hi
    merged = list(series.filter(start_ts__lte=reach_hi, end_ts__gte=reach_lo))
    if len(merged) == 1 and merged[0].start_ts <= lo and merged[0].end_ts >= hi:
        return merged[0]
    for other in merged:
        lo, hi = min(lo, other.start_ts), max(hi, other.end_ts)
    ReviewedRange.objects.filter(pk__in=[r.pk for r in merged]).delete()
    return ReviewedRange.objects.create(
        owner=owner, stock=stock, timeframe=timeframe, start_ts=lo, end_ts=hi
    )


@transaction.atomic
def reviewed_range_delete(*, reviewed_range: ReviewedRange, actor) -> None:
    """Removes a reviewed range (owner only); its detections stop counting for precision."""
    if reviewed_range.owner_id != actor.pk:
        raise PermissionDenied(NOT_RANGE_OWNER)
    reviewed_range.delete()


class LabelImportError(Exception):
    """An import that wrote nothing; the message names the record (line, task) at fault."""


@transaction.atomic
def labels_import(*, owner, records, dry_run: bool = False, progress=None) -> dict:
    """Stores `records` (`labeling.imports.LabelRecord`) as labels of `owner`, all or none.

    A record whose series, type and snapped bar range equal one of the owner's live labels (or
    an earlier record) is skipped, so importing a file twice adds nothing. An accept/reject
    record keeps its detector (empty when the file has none) and is linked to the stored
    detection with its range (of that detector, when named) when there is one, else keeps the
    exported detection id in `detection_ref`. Any bad record raises LabelImportError naming it
    and nothing is written; `dry_run` checks everything and writes nothing.
    `progress(done, total)` is called every 100 records. Returns {"added", "skipped"}.
    """
    records = list(records)
    stocks = {s.code: s for s in Stock.objects.filter(code__in={r.symbol for r in records})}
    added = skipped = 0
    for done, record in enumerate(records, 1):
        stock = stocks.get(record.symbol)
        if stock is None:
            raise LabelImportError(f"{record.where}: no stock with the code {record.symbol!r}.")
        try:
            resolved = label_range_resolve(
                stock=stock,
                timeframe=record.timeframe,
                start=record.start,
                end=record.end,
                key_points=record.key_points,
            )
            key = {
                "stock": stock,
                "timeframe": record.timeframe,
                "pattern_type": record.pattern_type,
                "start_ts": resolved["start_ts"],
                "end_ts": resolved["end_ts"],
            }
            if Label.objects.owned_by(owner).alive().filter(**key).exists():
                skipped += 1
                continue
            detection, detection_ref = None, None
            if record.source != Source.MANUAL:
                detections = PatternInstance.objects.filter(**key)
                if record.detector:
                    detections = detections.filter(detector=record.detector)
                detection = detections.order_by("-pk").first()
                detection_ref = (
                    _detection_snapshot(detection)
                    if detection is not None
                    else {"id": record.detection_id, "imported": True}
                )
            label_create(
                owner=owner,
                stock=stock,
                timeframe=record.timeframe,
                pattern_type=record.pattern_type,
                start=record.start,
                end=record.end,
                direction=record.direction,
                key_points=record.key_points,
                outcome=record.outcome,
                notes=record.notes,
                tags=record.tags,
                source=record.source,
                detector=record.detector,
                detection_ref=detection_ref,
                detected_pattern=detection,
            )
        except ValidationError as exc:
            raise LabelImportError(f"{record.where}: {' '.join(exc.messages)}") from None
        added += 1
        if progress is not None and done % 100 == 0:
            progress(done, len(records))
    if dry_run:
        transaction.set_rollback(True)
    return {"added": added, "skipped": skipped}
