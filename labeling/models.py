"""User pattern labels: a bar range of one series marked as a chart pattern, with its history.

Instants (`start_ts`, `end_ts`, key-point `ts`) are bar instants of stored candles (see
`marketdata.models` for the bar timestamp convention), stored as aware UTC and shown in KST.
Every change to a label writes a `LabelRevision` in the same transaction (see `services.py`);
deleting sets `deleted_at` so the owner can restore it.
"""

import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from analysis.models import Detector
from marketdata.models import Stock, Timeframe

# Key points: a handful per pattern (a head and shoulders needs five or six), each a plain role
# name and a finite price. The form, the services and `Label.clean` apply the same rules.
MAX_KEY_POINTS = 10
MAX_KEY_POINT_PRICE = 1_000_000_000.0  # KRW; far above any KRX share price
KEY_POINT_ROLE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")
TOO_MANY_KEY_POINTS = format_lazy(
    _("At most {n} key points per label, one per line."), n=MAX_KEY_POINTS
)
BAD_KEY_POINT_ROLE = _(
    "the role {role!r} is not a plain name: 1–16 letters, digits or _, starting with a letter "
    "(e.g. P1, LS, NL2)."
)
BAD_KEY_POINT_PRICE = _("the price must be a positive number of KRW, at most 1,000,000,000.")
REPEATED_KEY_POINT_ROLE = _("the role {role} appears more than once; each role is used once.")


def key_point_problem(role: str, price: float, earlier_roles) -> str | None:
    """What is wrong with one key point (`role`, `price` in KRW) after the roles `earlier_roles`,
    or None."""
    if not KEY_POINT_ROLE.fullmatch(role):
        return BAD_KEY_POINT_ROLE.format(role=role[:40])
    if not (math.isfinite(price) and 0 < price <= MAX_KEY_POINT_PRICE):
        return BAD_KEY_POINT_PRICE
    if role in earlier_roles:
        return REPEATED_KEY_POINT_ROLE.format(role=role)
    return None


def key_points_check(points) -> None:
    """Raises ValidationError({"key_points": …}) unless `points` ({"role", "ts", "price"}
    mappings) keep the key point rules; reads nothing from the database."""
    points = list(points)
    if len(points) > MAX_KEY_POINTS:
        raise ValidationError({"key_points": TOO_MANY_KEY_POINTS})
    roles: list[str] = []
    for number, point in enumerate(points, start=1):
        try:
            role, price = str(point["role"]), float(point["price"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                {"key_points": _("Key point {number}: role and price.").format(number=number)}
            ) from None
        problem = key_point_problem(role, price, roles)
        if problem:
            raise ValidationError({"key_points": f"Key point {number}: {problem}"})
        roles.append(role)


class LabelPatternType(models.TextChoices):
    DT = "DT", _("Double top")
    DB = "DB", _("Double bottom")
    HS = "HS", _("Head and shoulders")
    IHS = "IHS", _("Inverse head and shoulders")
    TRIANGLE_ASC = "triangle_asc", _("Ascending triangle")
    TRIANGLE_DESC = "triangle_desc", _("Descending triangle")
    TRIANGLE_SYM = "triangle_sym", _("Symmetric triangle")
    FLAG_BULL = "flag_bull", _("Bull flag")
    FLAG_BEAR = "flag_bear", _("Bear flag")
    PENNANT = "pennant", _("Pennant")
    WEDGE_RISING = "wedge_rising", _("Rising wedge")
    WEDGE_FALLING = "wedge_falling", _("Falling wedge")
    CUP_HANDLE = "cup_handle", _("Cup and handle")
    RECTANGLE = "rectangle", _("Rectangle")
    CHANNEL = "channel", _("Channel")
    OTHER = "other", _("Other")


class Anchor(models.TextChoices):
    """Where a key point sits on its bar: a peak on the High, a valley on the Low."""

    HIGH = "high", "High"
    LOW = "low", "Low"


# The key-point roles of each pattern type, in the order they occur, and the price each snaps to
# when clicked on a bar (the one table the form, the chart clicking and the docs use; README
# "Pattern labels"). Peaks take the High, valleys the Low; the neckline points of a head and
# shoulders are the lows between the shoulders and the head, of the inverse one the highs.
KEY_POINT_ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    LabelPatternType.DT: (("P1", Anchor.HIGH), ("V1", Anchor.LOW), ("P2", Anchor.HIGH)),
    LabelPatternType.DB: (("V1", Anchor.LOW), ("P1", Anchor.HIGH), ("V2", Anchor.LOW)),
    LabelPatternType.HS: (
        ("LS", Anchor.HIGH),
        ("NL1", Anchor.LOW),
        ("H", Anchor.HIGH),
        ("NL2", Anchor.LOW),
        ("RS", Anchor.HIGH),
    ),
    LabelPatternType.IHS: (
        ("LS", Anchor.LOW),
        ("NL1", Anchor.HIGH),
        ("H", Anchor.LOW),
        ("NL2", Anchor.HIGH),
        ("RS", Anchor.LOW),
    ),
}
# Hotkeys of the label form (static/js/labeling.js): a number key picks a pattern type, a role
# key the n-th key-point role of the chosen type.
PATTERN_TYPE_KEYS: dict[str, str] = {
    "1": LabelPatternType.DT,
    "2": LabelPatternType.DB,
    "3": LabelPatternType.HS,
    "4": LabelPatternType.IHS,
    "5": LabelPatternType.TRIANGLE_ASC,
    "6": LabelPatternType.TRIANGLE_DESC,
    "7": LabelPatternType.TRIANGLE_SYM,
    "8": LabelPatternType.FLAG_BULL,
    "9": LabelPatternType.FLAG_BEAR,
    "0": LabelPatternType.OTHER,
}
ROLE_KEYS = ("q", "w", "e", "r", "t")


class Direction(models.TextChoices):
    BULLISH = "bullish", _("Bullish")
    BEARISH = "bearish", _("Bearish")
    NEUTRAL = "neutral", _("Neutral")


# The direction a pattern type usually implies; the form pre-selects it when none is given.
TYPICAL_DIRECTION = {
    LabelPatternType.DT: Direction.BEARISH,
    LabelPatternType.HS: Direction.BEARISH,
    LabelPatternType.TRIANGLE_DESC: Direction.BEARISH,
    LabelPatternType.FLAG_BEAR: Direction.BEARISH,
    LabelPatternType.WEDGE_RISING: Direction.BEARISH,
    LabelPatternType.DB: Direction.BULLISH,
    LabelPatternType.IHS: Direction.BULLISH,
    LabelPatternType.TRIANGLE_ASC: Direction.BULLISH,
    LabelPatternType.FLAG_BULL: Direction.BULLISH,
    LabelPatternType.WEDGE_FALLING: Direction.BULLISH,
    LabelPatternType.CUP_HANDLE: Direction.BULLISH,
}


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")
    UNKNOWN = "unknown", _("Unknown")


class Source(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ACCEPTED = "accepted_detection", _("Accepted detection")
    REJECTED = "rejected_detection", _("Rejected detection")


# The sources of an accept/reject label: the user's decision on one detected pattern.
DECISION_SOURCES = (Source.ACCEPTED, Source.REJECTED)
# A decision answers a detection by its series, pattern type and bar range, not by its row id: a
# re-analysis replaces the pattern rows, and the decision stays with the same detection. The
# detector is not part of the key: both detectors finding the same range is one detection to the
# user, and `Label.detector` only records which one the decision was made on.
DETECTION_KEY_FIELDS = ("stock_id", "timeframe", "pattern_type", "start_ts", "end_ts")


def detection_key(obj) -> tuple:
    """The DETECTION_KEY_FIELDS values of a label or an `analysis.PatternInstance`."""
    return tuple(getattr(obj, field) for field in DETECTION_KEY_FIELDS)


def detection_key_filter(obj) -> dict:
    """Keyword filters matching the rows with the same DETECTION_KEY_FIELDS as `obj` (works on
    labels and on `analysis.PatternInstance`)."""
    return dict(zip(DETECTION_KEY_FIELDS, detection_key(obj), strict=True))


def _in_choices(field: str, choices: type[models.TextChoices]) -> models.Q:
    return models.Q(**{f"{field}__in": choices.values})


class LabelQuerySet(models.QuerySet):
    def alive(self):
        """Labels that are not (soft-)deleted."""
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        """Soft-deleted labels (restorable by their owner)."""
        return self.filter(deleted_at__isnull=False)

    def owned_by(self, user):
        """Labels whose owner is `user`."""
        return self.filter(owner=user)

    def visible_to(self, user):
        """What `user` may see outside the admin: staff see everyone's, others their own."""
        return self if user.is_staff else self.filter(owner=user)

    def decisions(self):
        """Accept/reject labels (answers to detected patterns), not manual ones."""
        return self.filter(source__in=DECISION_SOURCES)

    def answering(self, pattern):
        """Decisions on detected `pattern` (an `analysis.PatternInstance`), by its series,
        type and bar range (`DETECTION_KEY_FIELDS`). One query when evaluated."""
        return self.decisions().filter(**detection_key_filter(pattern))

    def decisions_by_key(self, patterns) -> dict[tuple, "Label"]:
        """{detection_key: the newest decision in this queryset} for the detected `patterns`.

        One query whatever the number of patterns: it reads the decisions on their stocks,
        timeframes, types and start bars and keeps those whose whole key matches."""
        patterns = list(patterns)
        if not patterns:
            return {}
        candidates = self.decisions().filter(
            stock_id__in={p.stock_id for p in patterns},
            timeframe__in={p.timeframe for p in patterns},
            pattern_type__in={p.pattern_type for p in patterns},
            start_ts__in={p.start_ts for p in patterns},
        )
        wanted = {detection_key(p) for p in patterns}
        found: dict[tuple, Label] = {}
        for label in candidates.order_by("id"):
            key = detection_key(label)
            if key in wanted:
                found[key] = label  # ordered by id: the newest decision wins
        return found

    def overlapping(self, *, start=None, end=None):
        """Labels whose [start_ts, end_ts] intersects [start, end] (either bound may be None)."""
        qs = self
        if end is not None:
            qs = qs.filter(start_ts__lte=end)
        if start is not None:
            qs = qs.filter(end_ts__gte=start)
        return qs


class Label(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="pattern_labels",
        verbose_name=_("owner"),
    )
    stock = models.ForeignKey(
        Stock, on_delete=models.PROTECT, related_name="pattern_labels", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    pattern_type = models.CharField(
        max_length=16, choices=LabelPatternType.choices, verbose_name=_("pattern type")
    )
    start_ts = models.DateTimeField(
        help_text=_("First bar of the pattern (a stored bar instant)"), verbose_name=_("start ts")
    )
    end_ts = models.DateTimeField(
        help_text=_("Last bar of the pattern (a stored bar instant)"), verbose_name=_("end ts")
    )
    direction = models.CharField(
        max_length=8, choices=Direction.choices, verbose_name=_("direction")
    )
    key_points = models.JSONField(
        default=list,
        blank=True,
        help_text=_('List of {"role": "P1", "ts": ISO bar instant, "price": KRW}, oldest first'),
        verbose_name=_("key points"),
    )
    outcome = models.CharField(
        max_length=8, choices=Outcome.choices, default=Outcome.UNKNOWN, verbose_name=_("outcome")
    )
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    tags = models.JSONField(
        default=list, blank=True, help_text=_("List of short strings"), verbose_name=_("tags")
    )
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.MANUAL, verbose_name=_("source")
    )
    detected_pattern = models.ForeignKey(
        "analysis.PatternInstance",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="labels",
        help_text=_(
            "The detection an accept/reject answers (cleared when the series is re-analysed)"
        ),
        verbose_name=_("detected pattern"),
    )
    detector = models.CharField(
        max_length=20,
        choices=Detector.choices,
        blank=True,
        default="",
        help_text=_(
            "Swing detector of the detection an accept/reject answers (provenance only: "
            "decisions match detections by series, type and range); empty on the user's own labels"
        ),
        verbose_name=_("detector"),
    )
    detection_ref = models.JSONField(
        null=True,
        blank=True,
        help_text=_(
            "The detected pattern an accept/reject refers to, as it was then "
            "(id, type, status, start/end, score); kept when the detection is recomputed"
        ),
        verbose_name=_("detection ref"),
    )
    deleted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("deleted at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = LabelQuerySet.as_manager()

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_ts__gte=models.F("start_ts")), name="label_end_gte_start"
            ),
            models.CheckConstraint(
                condition=_in_choices("timeframe", Timeframe), name="label_timeframe_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("pattern_type", LabelPatternType),
                name="label_pattern_type_valid",
            ),
            models.CheckConstraint(
                condition=_in_choices("direction", Direction), name="label_direction_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("outcome", Outcome), name="label_outcome_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("source", Source), name="label_source_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(detector="") | _in_choices("detector", Detector),
                name="label_detector_valid",
            ),
            # Only a decision names a detector; the user's own labels have none.
            models.CheckConstraint(
                condition=~models.Q(source=Source.MANUAL) | models.Q(detector=""),
                name="label_manual_has_no_detector",
            ),
            # An accept/reject always says which detection it answered.
            models.CheckConstraint(
                condition=models.Q(source=Source.MANUAL) | models.Q(detection_ref__isnull=False),
                name="label_detection_has_ref",
            ),
        ]
        indexes = [
            # Radar overlays and the review: one user's labels on one series by range.
            models.Index(
                fields=["owner", "stock", "timeframe", "start_ts"], name="label_owner_series_start"
            ),
            # The list page: one user's labels, newest first.
            models.Index(fields=["owner", "-created_at"], name="label_owner_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.pattern_type} {self.stock_id} {self.timeframe}"

    def get_absolute_url(self) -> str:
        return reverse("labeling:detail", args=[self.pk])

    def clean(self):
        key_points_check(self.key_points)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ReviewedRangeQuerySet(models.QuerySet):
    def owned_by(self, user):
        """Ranges whose owner is `user`."""
        return self.filter(owner=user)

    def covering(self, obj):
        """Ranges of `obj`'s series (a label or an `analysis.PatternInstance`) that contain its
        whole bar range [start_ts, end_ts]."""
        return self.filter(
            stock_id=obj.stock_id,
            timeframe=obj.timeframe,
            start_ts__lte=obj.start_ts,
            end_ts__gte=obj.end_ts,
        )


class ReviewedRange(models.Model):
    """A bar range of one series in which the owner says every pattern is labelled.

    The detector review counts a detection against precision only when it lies inside one of
    these (or the owner accepted or rejected it): elsewhere an unlabelled detection may simply not
    have been looked at yet (docs/architecture.md#detector-review).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reviewed_ranges",
        verbose_name=_("owner"),
    )
    stock = models.ForeignKey(
        Stock, on_delete=models.PROTECT, related_name="reviewed_ranges", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    start_ts = models.DateTimeField(
        help_text=_("First bar of the range (a stored bar instant)"), verbose_name=_("start ts")
    )
    end_ts = models.DateTimeField(
        help_text=_("Last bar of the range (a stored bar instant)"), verbose_name=_("end ts")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = ReviewedRangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("reviewed range")
        verbose_name_plural = _("reviewed ranges")
        ordering = ["stock", "timeframe", "start_ts", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_ts__gte=models.F("start_ts")),
                name="reviewedrange_end_gte_start",
            ),
            models.CheckConstraint(
                condition=_in_choices("timeframe", Timeframe), name="reviewedrange_timeframe_valid"
            ),
            models.UniqueConstraint(
                fields=["owner", "stock", "timeframe", "start_ts", "end_ts"],
                name="reviewedrange_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["owner", "stock", "timeframe", "start_ts"],
                name="reviewedrange_owner_series",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.timeframe} {self.start_ts:%Y-%m-%d}..{self.end_ts:%Y-%m-%d}"


class LabelRevision(models.Model):
    """One change to a label: the full state after the change, numbered per label from 1."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")
        RESTORED = "restored", _("Restored")

    label = models.ForeignKey(
        Label, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("label")
    )
    number = models.PositiveIntegerField(verbose_name=_("number"))
    action = models.CharField(max_length=8, choices=Action.choices, verbose_name=_("action"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    snapshot = models.JSONField(
        help_text=_("The label's fields after this change"), verbose_name=_("snapshot")
    )
    changed_fields = models.JSONField(default=list, blank=True, verbose_name=_("changed fields"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("label revision")
        verbose_name_plural = _("label revisions")
        ordering = ["label", "number"]
        constraints = [
            models.UniqueConstraint(fields=["label", "number"], name="labelrevision_unique_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="labelrevision_number_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"label #{self.label_id} r{self.number} {self.action}"
