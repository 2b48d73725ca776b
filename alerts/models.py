"""Watchlists, alert rules and the notifications they produce, with their deliveries.

- `Watchlist` / `WatchlistItem`: each user has one default list (created on first use) and any
  number of named lists, in the user's order; a stock appears at most once per list.
- `AlertRule`: what a user wants to hear about, on a watchlist or on one stock, on chosen
  timeframes — a pattern reaching a status, the close crossing a price level, or the trend
  state changing. Sets of choices (timeframes, pattern types, statuses, trend states) are
  stored as bit masks (`FlagsField`, bits in the `*_FLAGS` tables below, append-only) so the
  evaluation selects the rules an event concerns in one indexed query.
- `Notification`: one event for one rule (unique per rule and event key), shown in-app.
- `NotificationSettings`: per user, e-mail and webhook delivery (with the webhook's HMAC secret).
- `Delivery` / `DeliveryAttempt`: one outgoing e-mail or webhook POST of a notification and
  each try to send it (status, error), so failures are visible to the user.
- `EvaluatedSeries`: per series, the newest bar the evaluation has seen (its causality cursor).
- `PendingSeries`: series analysed since their last evaluation, waiting to be evaluated together
  (the evaluation's durable queue: a batch claims them in the transaction that evaluates them).

Instants are aware UTC in the database and shown in Asia/Seoul; prices are KRW.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.db.models import Lookup
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The analysis vocabulary, imported here once for the whole app.
from analysis.models import DetectedPatternType, TrendState
from marketdata.models import Stock, Timeframe

WEBHOOK_SECRET_BYTES = 32


class Flags:
    """A set of choice values stored in one integer, one bit per value (`bits` is append-only:
    a stored mask keeps its meaning only while every value keeps its bit)."""

    def __init__(self, bits: dict[str, int]):
        self.bits = bits

    def mask(self, values) -> int:
        """The integer for `values` (unknown values raise KeyError)."""
        out = 0
        for value in values:
            out |= self.bits[value]
        return out

    def values(self, mask: int) -> list[str]:
        """The values whose bit is set in `mask`, in table order."""
        return [value for value, bit in self.bits.items() if mask & bit]


class FlagsField(models.PositiveIntegerField):
    """A `Flags` mask. Lookup `has_any`: `timeframes__has_any=mask` is true when the stored mask
    shares at least one bit with `mask` (SQL `(col & mask) <> 0`, PostgreSQL and SQLite)."""


@FlagsField.register_lookup
class HasAnyFlag(Lookup):
    lookup_name = "has_any"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"({lhs} & {rhs}) <> 0", [*lhs_params, *rhs_params]


class RuleKind(models.TextChoices):
    PATTERN = "pattern", _("Pattern status")
    PRICE = "price", _("Price crosses a level")
    TREND = "trend", _("Trend state change")


class AlertPatternStatus(models.TextChoices):
    """What can happen to a detected pattern (the engine's statuses plus its outcome)."""

    FORMING = "forming", _("Forming")
    COMPLETED = "completed", _("Completed (confirmed)")
    TARGET_REACHED = "target_reached", _("Target reached")
    FAILED = "failed", _("Failed")


class CrossDirection(models.TextChoices):
    UP = "up", _("Crosses up")
    DOWN = "down", _("Crosses down")
    ANY = "any", _("Crosses either way")


TIMEFRAME_FLAGS = Flags(
    {
        Timeframe.M5: 1,
        Timeframe.M30: 2,
        Timeframe.H1: 4,
        Timeframe.D1: 8,
        Timeframe.W1: 16,
        Timeframe.MO1: 32,
    }
)
PATTERN_TYPE_FLAGS = Flags(
    {
        DetectedPatternType.DT: 1,
        DetectedPatternType.DB: 2,
        DetectedPatternType.HS: 4,
        DetectedPatternType.IHS: 8,
    }
)
PATTERN_STATUS_FLAGS = Flags(
    {
        AlertPatternStatus.FORMING: 1,
        AlertPatternStatus.COMPLETED: 2,
        AlertPatternStatus.TARGET_REACHED: 4,
        AlertPatternStatus.FAILED: 8,
    }
)
TREND_STATE_FLAGS = Flags({TrendState.UP: 1, TrendState.DOWN: 2, TrendState.SIDEWAYS: 4})


class WatchlistQuerySet(models.QuerySet):
    def owned_by(self, user):
        """Watchlists whose owner is `user`, in the user's order."""
        return self.filter(owner=user).order_by("position", "id")


class Watchlist(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="watchlists",
        verbose_name=_("owner"),
    )
    name = models.CharField(max_length=60, verbose_name=_("name"))
    position = models.PositiveIntegerField(
        default=0, help_text=_("Order among the owner's lists"), verbose_name=_("position")
    )
    is_default = models.BooleanField(
        default=False,
        help_text=_("The list the Radar's star adds to (one per user)"),
        verbose_name=_("is default"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = WatchlistQuerySet.as_manager()

    class Meta:
        verbose_name = _("watchlist")
        verbose_name_plural = _("watchlists")
        ordering = ["owner", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="watchlist_unique_name"),
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(is_default=True),
                name="watchlist_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('alerts:watchlists')}#watchlist-{self.pk}"


class WatchlistItem(models.Model):
    watchlist = models.ForeignKey(
        Watchlist, on_delete=models.CASCADE, related_name="items", verbose_name=_("watchlist")
    )
    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="watchlist_items", verbose_name=_("stock")
    )
    position = models.PositiveIntegerField(
        default=0, help_text=_("Order within the list"), verbose_name=_("position")
    )
    added_at = models.DateTimeField(auto_now_add=True, verbose_name=_("added at"))

    class Meta:
        verbose_name = _("watchlist item")
        verbose_name_plural = _("watchlist items")
        ordering = ["watchlist", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "stock"], name="watchlistitem_unique")
        ]
        indexes = [
            # The evaluation: "which watchlists hold this stock?"
            models.Index(fields=["stock", "watchlist"], name="watchlistitem_stock"),
        ]

    def __str__(self) -> str:
        return f"{self.watchlist_id}: {self.stock_id}"


class AlertRuleQuerySet(models.QuerySet):
    def owned_by(self, user):
        """Rules whose owner is `user`, newest first."""
        return self.filter(owner=user).order_by("-created_at", "-id")

    def watching(self, *, on_stock: models.Q, on_watchlist: models.Q):
        """Active rules that watch some of the stocks, each with `series_stock_id`, the stock
        watched: the rules on a stock (filtered by `on_stock`, over the rule's own fields) and
        those on a watchlist holding it (`on_watchlist`, where `watchlist__items__stock_id` is
        that stock), a rule on a list appearing once per stock of the list the filter lets
        through. Pick the columns (`values`) first: the result is a UNION ALL of the two scopes
        (a rule has one), which allows no further filtering. Each side is an index lookup —
        (stock, is_active), and the watchlist items' (stock, watchlist) joined to the rules'
        watchlist index — so the cost follows the rules watching those stocks, not all rules
        (one `OR` over both scopes made PostgreSQL scan the whole table)."""
        active = self.filter(is_active=True).order_by()
        return (
            active.filter(on_stock)
            .annotate(series_stock_id=models.F("stock_id"))
            .union(
                active.filter(on_watchlist).annotate(
                    series_stock_id=models.F("watchlist__items__stock_id")
                ),
                all=True,
            )
        )


class AlertRule(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alert_rules",
        verbose_name=_("owner"),
    )
    name = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Optional; described if empty"),
        verbose_name=_("name"),
    )
    kind = models.CharField(max_length=7, choices=RuleKind.choices, verbose_name=_("kind"))
    watchlist = models.ForeignKey(
        Watchlist,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rules",
        verbose_name=_("watchlist"),
    )
    stock = models.ForeignKey(
        Stock,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
        verbose_name=_("stock"),
    )
    timeframes = FlagsField(help_text=_("TIMEFRAME_FLAGS mask"), verbose_name=_("timeframes"))
    pattern_types = FlagsField(
        default=0,
        help_text=_("PATTERN_TYPE_FLAGS mask (pattern rules)"),
        verbose_name=_("pattern types"),
    )
    pattern_statuses = FlagsField(
        default=0,
        help_text=_("PATTERN_STATUS_FLAGS mask (pattern rules)"),
        verbose_name=_("pattern statuses"),
    )
    pattern_start_ts = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "Pins the rule to the one pattern starting at this bar (the Radar's "
            '"alert me on its neckline break")'
        ),
        verbose_name=_("pattern start ts"),
    )
    level = models.FloatField(
        null=True, blank=True, help_text=_("KRW (price rules)"), verbose_name=_("level")
    )
    direction = models.CharField(
        max_length=4,
        choices=CrossDirection.choices,
        blank=True,
        help_text=_("Price rules"),
        verbose_name=_("direction"),
    )
    trend_states = FlagsField(
        default=0,
        help_text=_("TREND_STATE_FLAGS mask (trend rules)"),
        verbose_name=_("trend states"),
    )
    once = models.BooleanField(
        default=False,
        help_text=_("Switch the rule off after its first notification"),
        verbose_name=_("once"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = AlertRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=RuleKind.values), name="alertrule_kind_valid"
            ),
            # Exactly one scope: a watchlist or a stock.
            models.CheckConstraint(
                condition=(
                    models.Q(watchlist__isnull=False, stock__isnull=True)
                    | models.Q(watchlist__isnull=True, stock__isnull=False)
                ),
                name="alertrule_one_scope",
            ),
            models.CheckConstraint(
                condition=models.Q(timeframes__gt=0), name="alertrule_has_timeframes"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=RuleKind.PATTERN)
                | models.Q(pattern_types__gt=0, pattern_statuses__gt=0),
                name="alertrule_pattern_complete",
            ),
            # A price level belongs to one stock.
            models.CheckConstraint(
                condition=~models.Q(kind=RuleKind.PRICE)
                | models.Q(
                    level__isnull=False,
                    level__gt=0,
                    direction__in=CrossDirection.values,
                    stock__isnull=False,
                ),
                name="alertrule_price_complete",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=RuleKind.TREND) | models.Q(trend_states__gt=0),
                name="alertrule_trend_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["stock", "is_active"], name="alertrule_stock_active"),
            models.Index(fields=["watchlist", "is_active"], name="alertrule_watchlist_active"),
            models.Index(fields=["owner", "-created_at"], name="alertrule_owner_created"),
        ]

    def __str__(self) -> str:
        return self.name or self.describe()

    def get_absolute_url(self) -> str:
        return reverse("alerts:rule_edit", args=[self.pk])

    @property
    def timeframe_list(self) -> list[str]:
        return TIMEFRAME_FLAGS.values(self.timeframes)

    @property
    def pattern_type_list(self) -> list[str]:
        return PATTERN_TYPE_FLAGS.values(self.pattern_types)

    @property
    def pattern_status_list(self) -> list[str]:
        return PATTERN_STATUS_FLAGS.values(self.pattern_statuses)

    @property
    def trend_state_list(self) -> list[str]:
        return TREND_STATE_FLAGS.values(self.trend_states)

    def scope_label(self) -> str:
        """'watchlist Semis' or '005930 삼성전자' (reads the related row)."""
        if self.watchlist_id is not None:
            return gettext("watchlist {name}").format(name=self.watchlist.name)
        return f"{self.stock.code} {self.stock.name}"

    def describe(self) -> str:
        """A sentence for lists and e-mails, e.g. 'Double top completed on 005930 삼성전자 (1d)',
        in the active language."""
        frames = ", ".join(self.timeframe_list)
        where = gettext("on {scope} ({frames})").format(scope=self.scope_label(), frames=frames)
        if self.kind == RuleKind.PATTERN:
            kinds = " / ".join(str(DetectedPatternType(t).label) for t in self.pattern_type_list)
            states = " / ".join(
                AlertPatternStatus(s).label.lower() for s in self.pattern_status_list
            )
            pinned = gettext(" (one pattern)") if self.pattern_start_ts else ""
            return gettext("{kinds}{pinned} {states} {where}").format(
                kinds=kinds, pinned=pinned, states=states, where=where
            )
        if self.kind == RuleKind.PRICE:
            verb = (
                CrossDirection(self.direction).label.lower()
                if self.direction
                else gettext("crosses")
            )
            return gettext("Close {verb} {level} KRW {where}").format(
                verb=verb, level=f"{self.level:,.0f}", where=where
            )
        states = " / ".join(TrendState(s).label.lower() for s in self.trend_state_list)
        return gettext("Trend turns {states} {where}").format(states=states, where=where)


class NotificationQuerySet(models.QuerySet):
    def owned_by(self, user):
        """Notifications of `user`, newest first."""
        return self.filter(owner=user).order_by("-created_at", "-id")

    def unread(self):
        """Not yet marked read (served by the partial index `notification_unread`)."""
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("owner"),
    )
    rule = models.ForeignKey(
        AlertRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        help_text=_("Kept when the rule is deleted"),
        verbose_name=_("rule"),
    )
    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="+", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    kind = models.CharField(max_length=7, choices=RuleKind.choices, verbose_name=_("kind"))
    event_key = models.CharField(
        max_length=200,
        help_text=_("The event, unique per rule: series, kind, bars involved"),
        verbose_name=_("event key"),
    )
    bar_ts = models.DateTimeField(
        help_text=_("Bar at which the event happened"), verbose_name=_("bar ts")
    )
    focus_start_ts = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("First bar the Radar link shows (a pattern's start)"),
        verbose_name=_("focus start ts"),
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    payload = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The event's figures (KRW)"),
        verbose_name=_("payload"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one notification per rule and event (redelivered tasks, re-evaluation).
            models.UniqueConstraint(
                fields=["rule", "event_key"], name="notification_unique_rule_event"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="notification_owner_created"),
            models.Index(
                fields=["owner"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("alerts:notification_open", args=[self.pk])

    def radar_url(self) -> str:
        """The Radar at the event's bar: `/radar/?symbol=…&tf=…&focus_start=…&focus_end=…`."""
        start = self.focus_start_ts or self.bar_ts
        query = urlencode(
            {
                "symbol": self.stock.code,
                "tf": self.timeframe,
                "focus_start": timezone.localtime(start).isoformat(),
                "focus_end": timezone.localtime(self.bar_ts).isoformat(),
            }
        )
        return f"{reverse('analysis:radar')}?{query}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)


class NotificationSettings(models.Model):
    """How one user's notifications leave the site besides the in-app list."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_settings",
        verbose_name=_("user"),
    )
    email_enabled = models.BooleanField(default=False, verbose_name=_("email enabled"))
    email = models.EmailField(blank=True, help_text=_("Where e-mails go"), verbose_name=_("email"))
    webhook_enabled = models.BooleanField(default=False, verbose_name=_("webhook enabled"))
    webhook_url = models.URLField(max_length=500, blank=True, verbose_name=_("webhook url"))
    webhook_secret = models.CharField(
        max_length=100,
        default=new_webhook_secret,
        help_text=_("HMAC-SHA256 key of the X-ChartInsight-Signature header"),
        verbose_name=_("webhook secret"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email_enabled=False) | ~models.Q(email=""),
                name="notificationsettings_email_needs_address",
            ),
            models.CheckConstraint(
                condition=models.Q(webhook_enabled=False) | ~models.Q(webhook_url=""),
                name="notificationsettings_webhook_needs_url",
            ),
        ]

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Delivery(models.Model):
    """Sending one notification through one channel; retried with backoff until sent or out of
    attempts."""

    notification = models.ForeignKey(
        Notification,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("notification"),
    )
    channel = models.CharField(max_length=7, choices=Channel.choices, verbose_name=_("channel"))
    status = models.CharField(
        max_length=9,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_unique_channel"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status")]

    def __str__(self) -> str:
        return f"{self.channel} of notification {self.notification_id}: {self.status}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    number = models.PositiveSmallIntegerField(verbose_name=_("number"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    duration_ms = models.FloatField(verbose_name=_("duration ms"))
    ok = models.BooleanField(verbose_name=_("ok"))
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("HTTP"), verbose_name=_("status code")
    )
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="deliveryattempt_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class EvaluatedSeries(models.Model):
    """The newest bar of a series that the alert evaluation has seen: events at or before it
    are never notified (so a backfill or a re-analysis fires nothing old)."""

    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="+", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    last_bar_ts = models.DateTimeField(verbose_name=_("last bar ts"))
    evaluated_at = models.DateTimeField(verbose_name=_("evaluated at"))

    class Meta:
        verbose_name = _("evaluated series")
        verbose_name_plural = _("evaluated series")
        constraints = [
            models.UniqueConstraint(fields=["stock", "timeframe"], name="evaluatedseries_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.timeframe} ≤ {self.last_bar_ts:%Y-%m-%d %H:%M}"


class PendingSeries(models.Model):
    """A series whose default analysis was recomputed and whose alert evaluation has not run yet.

    Written (once per series, whatever the number of runs meanwhile) when an analysis commits;
    an evaluation batch deletes the rows it claims in the transaction that evaluates them, so
    a worker that dies leaves them for the next batch."""

    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="+", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    queued_at = models.DateTimeField(auto_now_add=True, verbose_name=_("queued at"))

    class Meta:
        verbose_name = _("series awaiting evaluation")
        verbose_name_plural = _("series awaiting evaluation")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["stock", "timeframe"], name="pendingseries_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.timeframe} (since {self.queued_at:%Y-%m-%d %H:%M:%S})"
