"""Writes for watchlists, alert rules, notifications and their delivery, and the evaluation.

Keyword-only and atomic. Views fetch rows with the owner in the filter (another user's row is a
404); these services check ownership again (`PermissionDenied(NOT_OWNER)`) so no caller can
skip it. Error messages are module constants.

The evaluation (`series_alerts_evaluate`) runs after every recomputed analysis of a series:
in one transaction it moves the series' `EvaluatedSeries` cursor to the run's last bar (the row
stays locked until commit, so a parallel evaluation of the series waits and then finds nothing
new), reads what the run found at the bars newer than where the cursor was (`alerts.events`),
selects the rules those events concern in one query, writes at most one `Notification` per
rule and event, and queues their e-mail/webhook deliveries, one task per batch, once committed.
Its query count does not depend on the number of rules, users or notifications.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from celery import current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.selectors import preferences_get
from analysis.figures import bar_label
from marketdata.models import Stock

from . import events as ev
from . import selectors
from .models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    TIMEFRAME_FLAGS,
    TREND_STATE_FLAGS,
    AlertPatternStatus,
    AlertRule,
    Channel,
    CrossDirection,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    DetectedPatternType,
    EvaluatedSeries,
    Notification,
    NotificationSettings,
    RuleKind,
    TrendState,
    Watchlist,
    WatchlistItem,
    new_webhook_secret,
)
from .webhooks import WebhookError, webhook_post

logger = logging.getLogger(__name__)

DEFAULT_WATCHLIST_NAME = _("Watchlist")
NOT_OWNER = _("This belongs to another user.")
DUPLICATE_WATCHLIST = _("You already have a watchlist named {name!r}.")
DEFAULT_NOT_DELETABLE = _("The default watchlist cannot be deleted (empty it instead).")
DELIVERY_TASK = "alerts.deliver"
DELIVERY_BATCH_TASK = "alerts.deliver_batch"
# First attempts per batch task: sent one after another, so even webhooks that all time out
# (WEBHOOK_TIMEOUT_SECONDS, 10 s) stay well inside the task time limit.
DELIVERY_BATCH = 20
DELIVERY_MAX_ATTEMPTS = 5
DELIVERY_FIRST_RETRY_SECONDS = 30
DELIVERY_BACKOFF_FACTOR = 4
CHANNEL_SWITCHED_OFF = _("{channel} was switched off before this notification was sent.")

BASELINE, NOTHING_NEW, EVALUATED, NO_RUN = "baseline", "nothing new", "evaluated", "no run"


def _language(preferred: str | None) -> str:
    """The language of text stored or sent for a user (notifications, e-mails, the default
    watchlist's name): their saved choice, else the site's default (a notification is written
    outside any request, so there is no browser to ask)."""
    return preferred or settings.LANGUAGE_CODE


def _own(row, user) -> None:
    if row.owner_id != user.pk:
        raise PermissionDenied(NOT_OWNER)


# --- Watchlists -----------------------------------------------------------------------------


def watchlist_default_get(*, user) -> Watchlist:
    """The user's default watchlist, created (first in their order) on first use."""
    watchlist = Watchlist.objects.filter(owner=user, is_default=True).first()
    if watchlist is not None:
        return watchlist
    try:
        with transaction.atomic():
            return Watchlist.objects.create(
                owner=user, name=str(DEFAULT_WATCHLIST_NAME), is_default=True, position=0
            )
    except IntegrityError:  # created meanwhile by a parallel request
        return Watchlist.objects.get(owner=user, is_default=True)


def watchlist_create(*, user, name: str) -> Watchlist:
    """A named watchlist at the end of the user's order. ValidationError for a duplicate name."""
    name = name.strip()
    with transaction.atomic():
        if Watchlist.objects.filter(owner=user, name=name).exists():
            raise ValidationError(DUPLICATE_WATCHLIST.format(name=name))
        last = Watchlist.objects.filter(owner=user).aggregate(last=Max("position"))["last"]
        return Watchlist.objects.create(
            owner=user, name=name, position=0 if last is None else last + 1
        )


def watchlist_rename(*, watchlist: Watchlist, user, name: str) -> Watchlist:
    _own(watchlist, user)
    name = name.strip()
    with transaction.atomic():
        clash = Watchlist.objects.filter(owner=user, name=name).exclude(pk=watchlist.pk)
        if clash.exists():
            raise ValidationError(DUPLICATE_WATCHLIST.format(name=name))
        watchlist.name = name
        watchlist.save(update_fields=["name"])
    return watchlist


def watchlist_delete(*, watchlist: Watchlist, user) -> None:
    """Deletes a named watchlist with its items and the rules that watch it."""
    _own(watchlist, user)
    if watchlist.is_default:
        raise ValidationError(DEFAULT_NOT_DELETABLE)
    watchlist.delete()


def watchlist_move(*, watchlist: Watchlist, user, offset: int) -> None:
    """Moves a watchlist `offset` places (-1 up, +1 down) in the user's order; positions are
    renumbered 0, 1, 2, … under a lock on the user's lists."""
    _own(watchlist, user)
    with transaction.atomic():
        lists = list(Watchlist.objects.owned_by(user).select_for_update())
        index = next(i for i, w in enumerate(lists) if w.pk == watchlist.pk)
        target = max(0, min(len(lists) - 1, index + offset))
        lists.insert(target, lists.pop(index))
        changed = []
        for position, row in enumerate(lists):
            if row.position != position:
                row.position = position
                changed.append(row)
        Watchlist.objects.bulk_update(changed, ["position"])


def watchlist_item_add(*, watchlist: Watchlist, user, stock: Stock) -> WatchlistItem:
    """Appends `stock` to the list (a stock already on it stays where it is)."""
    _own(watchlist, user)
    with transaction.atomic():
        Watchlist.objects.select_for_update().filter(pk=watchlist.pk).first()
        item = WatchlistItem.objects.filter(watchlist=watchlist, stock=stock).first()
        if item is not None:
            return item
        last = watchlist.items.aggregate(last=Max("position"))["last"]
        return WatchlistItem.objects.create(
            watchlist=watchlist, stock=stock, position=0 if last is None else last + 1
        )


def watchlist_item_remove(*, watchlist: Watchlist, user, stock: Stock) -> bool:
    """Removes `stock` from the list; False when it was not on it."""
    _own(watchlist, user)
    deleted, _ = WatchlistItem.objects.filter(watchlist=watchlist, stock=stock).delete()
    return bool(deleted)


def watchlist_star_toggle(*, user, stock: Stock) -> bool:
    """The Radar's star: adds `stock` to the default watchlist or removes it. True when the
    stock is on the list afterwards."""
    watchlist = watchlist_default_get(user=user)
    if watchlist_item_remove(watchlist=watchlist, user=user, stock=stock):
        return False
    watchlist_item_add(watchlist=watchlist, user=user, stock=stock)
    return True


# --- Rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """A rule as a form gives it (lists of choice values; KRW for the level)."""

    kind: str
    timeframes: list[str]
    watchlist: Watchlist | None = None
    stock: Stock | None = None
    name: str = ""
    pattern_types: list[str] = field(default_factory=list)
    pattern_statuses: list[str] = field(default_factory=list)
    pattern_start_ts: datetime | None = None
    level: float | None = None
    direction: str = ""
    trend_states: list[str] = field(default_factory=list)
    once: bool = False


def _rule_fields(spec: RuleSpec, user) -> dict:
    if spec.watchlist is not None:
        _own(spec.watchlist, user)
    pattern = spec.kind == RuleKind.PATTERN
    return {
        "name": spec.name.strip(),
        "kind": spec.kind,
        "watchlist": spec.watchlist,
        "stock": spec.stock if spec.watchlist is None else None,
        "timeframes": TIMEFRAME_FLAGS.mask(spec.timeframes),
        "pattern_types": PATTERN_TYPE_FLAGS.mask(spec.pattern_types) if pattern else 0,
        "pattern_statuses": PATTERN_STATUS_FLAGS.mask(spec.pattern_statuses) if pattern else 0,
        "pattern_start_ts": spec.pattern_start_ts if pattern else None,
        "level": spec.level if spec.kind == RuleKind.PRICE else None,
        "direction": spec.direction if spec.kind == RuleKind.PRICE else "",
        "trend_states": (
            TREND_STATE_FLAGS.mask(spec.trend_states) if spec.kind == RuleKind.TREND else 0
        ),
        "once": spec.once,
    }


def alert_rule_create(*, user, spec: RuleSpec) -> AlertRule:
    """A new active rule of `user` (the database refuses an incomplete one)."""
    return AlertRule.objects.create(owner=user, **_rule_fields(spec, user))


def alert_rule_update(*, rule: AlertRule, user, spec: RuleSpec) -> AlertRule:
    _own(rule, user)
    for name, value in _rule_fields(spec, user).items():
        setattr(rule, name, value)
    rule.save()
    return rule


def alert_rule_set_active(*, rule: AlertRule, user, active: bool) -> AlertRule:
    _own(rule, user)
    rule.is_active = active
    rule.save(update_fields=["is_active", "updated_at"])
    return rule


def alert_rule_delete(*, rule: AlertRule, user) -> None:
    """Deletes the rule; its notifications stay (without the rule)."""
    _own(rule, user)
    rule.delete()


def neckline_alert_create(
    *, user, stock: Stock, timeframe: str, pattern_type: str, pattern_start_ts: datetime
) -> tuple[AlertRule, bool]:
    """The Radar's "alert me on its neckline break": a one-shot rule on this one pattern
    (type, series and first bar) reaching *completed* — the engine completes a pattern when
    price breaks its neckline. Returns (rule, created); an identical active rule is reused."""
    spec = RuleSpec(
        kind=RuleKind.PATTERN,
        stock=stock,
        timeframes=[timeframe],
        pattern_types=[pattern_type],
        pattern_statuses=[AlertPatternStatus.COMPLETED],
        pattern_start_ts=pattern_start_ts,
        once=True,
        name=gettext("{pattern} neckline break, {code} {tf}").format(
            pattern=DetectedPatternType(pattern_type).label, code=stock.code, tf=timeframe
        ),
    )
    fields = _rule_fields(spec, user)
    with transaction.atomic():
        existing = AlertRule.objects.filter(owner=user, is_active=True, **fields).first()
        if existing is not None:
            return existing, False
        return AlertRule.objects.create(owner=user, **fields), True


# --- Notifications and settings -------------------------------------------------------------


def notification_mark_read(*, notification: Notification, user) -> Notification:
    _own(notification, user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Marks every unread notification of `user` read; returns how many."""
    return Notification.objects.filter(owner=user).unread().update(read_at=timezone.now())


def notification_settings_get(*, user) -> NotificationSettings:
    """The user's settings, created (everything off, e-mail = the account's) on first use."""
    row, _ = NotificationSettings.objects.get_or_create(
        user=user, defaults={"email": user.email or ""}
    )
    return row


def notification_settings_update(
    *, user, email_enabled: bool, email: str, webhook_enabled: bool, webhook_url: str
) -> NotificationSettings:
    row = notification_settings_get(user=user)
    row.email_enabled = email_enabled
    row.email = email
    row.webhook_enabled = webhook_enabled
    row.webhook_url = webhook_url
    row.save()
    return row


def webhook_secret_rotate(*, user) -> NotificationSettings:
    """A new random webhook secret (the old one stops verifying at once)."""
    row = notification_settings_get(user=user)
    row.webhook_secret = new_webhook_secret()
    row.save(update_fields=["webhook_secret", "updated_at"])
    return row


# --- Evaluation -----------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one evaluation of a series did."""

    status: str  # BASELINE | NOTHING_NEW | EVALUATED | NO_RUN
    new_bars: int = 0
    events: int = 0
    rules: int = 0
    notifications: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)


def _price_event(tail: ev.Tail, position: int, direction: str, level: float) -> ev.Event:
    ts = tail.ts[position]
    return ev.Event(
        kind=RuleKind.PRICE,
        key=f"price:{direction}:{level:g}:{ts.isoformat()}",
        bar_ts=ts,
        detail={
            "level": level,
            "direction": direction,
            "close": float(tail.close[position]),
            "previous_close": float(tail.close[position - 1]),
        },
    )


def _rule_events(
    rule: dict, events: list[ev.Event], tail: ev.Tail, first_new: int
) -> list[ev.Event]:
    """The events `rule` (a `selectors.series_rules` row) fires on, oldest first."""
    if rule["kind"] == RuleKind.PRICE:
        return [
            _price_event(tail, position, direction, rule["level"])
            for position, direction in ev.price_crossings(
                tail, first_new=first_new, level=rule["level"], direction=rule["direction"]
            )
        ]
    if rule["kind"] == RuleKind.PATTERN:
        types = set(PATTERN_TYPE_FLAGS.values(rule["pattern_types"]))
        statuses = set(PATTERN_STATUS_FLAGS.values(rule["pattern_statuses"]))
        pinned = rule["pattern_start_ts"]
        out = [
            e
            for e in events
            if e.kind == RuleKind.PATTERN
            and e.pattern_type in types
            and e.status in statuses
            and (pinned is None or pinned == e.pattern_start_ts)
        ]
    else:
        states = set(TREND_STATE_FLAGS.values(rule["trend_states"]))
        out = [e for e in events if e.kind == RuleKind.TREND and e.trend_state in states]
    return sorted(out, key=lambda e: (e.bar_ts, e.key))


def _event_text(event: ev.Event, run: selectors.SeriesRun, timeframe: str) -> tuple[str, str]:
    """(title, body) of a notification, in the words of the Radar and the active language."""
    series = f"{run.code} {run.name} {timeframe}"
    bar = bar_label(pd.Timestamp(event.bar_ts), timeframe)
    detail = event.detail

    def krw(value: float) -> str:
        return f"{value:,.0f}"

    if event.kind == RuleKind.PATTERN:
        what = gettext("{pattern} {status}").format(
            pattern=DetectedPatternType(event.pattern_type).label,
            status=AlertPatternStatus(event.status).label.lower(),
        )
        lines = [
            gettext("Neckline {neckline} KRW, target {target} KRW.").format(
                neckline=krw(detail["neckline"]), target=krw(detail["target"])
            )
        ]
        if "close" in detail:
            lines.append(gettext("Close {close} KRW.").format(close=krw(detail["close"])))
    elif event.kind == RuleKind.TREND:
        what = gettext("trend turned {state}").format(
            state=TrendState(event.trend_state).label.lower()
        )
        lines = [
            gettext("Previously {state}.").format(state=TrendState(detail["from"]).label.lower())
        ]
    else:
        what = gettext("close {direction} {level} KRW").format(
            direction=CrossDirection(detail["direction"]).label.lower(), level=krw(detail["level"])
        )
        lines = [
            gettext("Close {previous} → {close} KRW.").format(
                previous=krw(detail["previous_close"]), close=krw(detail["close"])
            )
        ]
    title = gettext("{series}: {what}").format(series=series, what=what)
    return title, gettext("Bar {bar} (KST).").format(bar=bar) + " " + " ".join(lines)


def _payload(event: ev.Event, run: selectors.SeriesRun, timeframe: str) -> dict:
    payload = {
        "symbol": run.code,
        "name": run.name,
        "timeframe": timeframe,
        "event": event.kind,
        "bar_ts": timezone.localtime(event.bar_ts).isoformat(),
        **event.detail,
    }
    if event.kind == RuleKind.PATTERN:
        payload.update(
            pattern_type=event.pattern_type,
            status=event.status,
            pattern_start_ts=timezone.localtime(event.pattern_start_ts).isoformat(),
        )
    elif event.kind == RuleKind.TREND:
        payload["trend_state"] = event.trend_state
    return payload


def series_alerts_evaluate(
    *, stock_id: int, timeframe: str, now: datetime | None = None
) -> Evaluation:
    """Notifies the rules on (stock, timeframe) of what its stored default analysis found at the
    bars newer than the last evaluation (at most `events.FRESH_BARS` of them).

    The first evaluation of a series only records its last bar (a baseline: history is not
    news). Idempotent: evaluating again without a newer run does nothing, and a notification
    that exists for a rule and event is never written twice. Deliveries are queued (tasks
    `alerts.deliver_batch`) after commit.
    """
    now = now or timezone.now()
    run = selectors.series_run(stock_id=stock_id, timeframe=timeframe)
    if run is None:
        return Evaluation(NO_RUN)
    since = run.evaluated_until
    if since is not None and run.last_bar_ts <= since:
        # A redelivered task or an unchanged run: the cursor never moves back, so no lock needed.
        return Evaluation(NOTHING_NEW)
    if since is not None:
        # Read and match before taking the cursor: most evaluations write nothing else, so they
        # end with one conditional UPDATE and no transaction of their own.
        series = {"run": run, "stock_id": stock_id, "timeframe": timeframe}
        result, candidates = _evaluate(**series, since=since)
        if not candidates:
            if _cursor_move(**series, now=now):
                return result
        else:
            with transaction.atomic():
                if _cursor_move(**series, now=now):
                    _notify(result, candidates, **series)
                    return result
    # The first evaluation, or another one moved the cursor since `series_run` read it: again
    # from where the cursor is, under its row lock.
    with transaction.atomic():
        cursor, created = EvaluatedSeries.objects.select_for_update().get_or_create(
            stock_id=stock_id,
            timeframe=timeframe,
            defaults={"last_bar_ts": run.last_bar_ts, "evaluated_at": now},
        )
        if created:
            return Evaluation(BASELINE)
        if run.last_bar_ts <= cursor.last_bar_ts:
            return Evaluation(NOTHING_NEW)
        EvaluatedSeries.objects.filter(pk=cursor.pk).update(
            last_bar_ts=run.last_bar_ts, evaluated_at=now
        )
        result, candidates = _evaluate(
            run=run, stock_id=stock_id, timeframe=timeframe, since=cursor.last_bar_ts
        )
        _notify(result, candidates, run=run, stock_id=stock_id, timeframe=timeframe)
    return result


def _cursor_move(*, run: selectors.SeriesRun, stock_id: int, timeframe: str, now: datetime) -> bool:
    """Moves the series' cursor from where `series_run` read it to the run's last bar; False
    when another evaluation moved it meanwhile. Inside a transaction the row stays locked until
    commit, so a parallel evaluation waits for the notifications, then finds it moved."""
    return bool(
        EvaluatedSeries.objects.filter(
            stock_id=stock_id, timeframe=timeframe, last_bar_ts=run.evaluated_until
        ).update(last_bar_ts=run.last_bar_ts, evaluated_at=now)
    )


def _evaluate(
    *, run: selectors.SeriesRun, stock_id: int, timeframe: str, since: datetime
) -> tuple[Evaluation, list[tuple[dict, ev.Event]]]:
    """Reads what the run found at the bars after `since` and the rules it may concern: the
    (rule, event) pairs to notify, oldest event first per rule. Writes nothing."""
    tail = selectors.series_tail(stock_id=stock_id, timeframe=timeframe, until=run.last_bar_ts)
    first_new = ev.first_new_index(tail, since=since)
    result = Evaluation(EVALUATED, new_bars=len(tail) - first_new)
    if first_new >= len(tail):
        return result, []
    events = ev.pattern_events(
        selectors.series_patterns(run_id=run.run_id, since=tail.ts[0]), tail, first_new=first_new
    ) + ev.trend_events(
        selectors.series_trend_periods(run_id=run.run_id, since=tail.ts[first_new]),
        tail,
        first_new=first_new,
    )
    result.events = len(events)
    close_range = ev.close_range(tail, first_new=first_new)
    if not events and close_range is None:
        return result, []
    rules = selectors.series_rules(
        stock_id=stock_id, timeframe=timeframe, events=events, close_range=close_range
    )
    result.rules = len(rules)
    candidates: list[tuple[dict, ev.Event]] = []
    for rule in rules:
        fired = _rule_events(rule, events, tail, first_new)
        candidates.extend((rule, event) for event in (fired[:1] if rule["once"] else fired))
    return result, candidates


def _notify(
    result: Evaluation,
    candidates: list[tuple[dict, ev.Event]],
    *,
    run: selectors.SeriesRun,
    stock_id: int,
    timeframe: str,
) -> None:
    """Writes the notifications of `candidates` not written before and their deliveries (queued
    once the caller's transaction commits), switches off the one-shot rules that fired, and
    records them in `result`."""
    if not candidates:
        return
    prefix = f"{run.code}:{timeframe}:"
    existing = set(
        Notification.objects.filter(
            rule_id__in={rule["id"] for rule, _ in candidates},
            event_key__in={prefix + event.key for _, event in candidates},
        ).values_list("rule_id", "event_key")
    )
    rows, channels = [], []
    texts: dict[tuple[str, str], tuple[str, str]] = {}  # per event and language, not per rule
    payloads: dict[str, dict] = {}
    for rule, event in candidates:
        key = prefix + event.key
        if (rule["id"], key) in existing:
            continue
        existing.add((rule["id"], key))
        # Stored text: written in the recipient's language, whoever triggered the analysis.
        language = _language(rule["language"])
        if (key, language) not in texts:
            with translation.override(language):
                texts[key, language] = _event_text(event, run, timeframe)
        title, body = texts[key, language]
        if key not in payloads:
            payloads[key] = _payload(event, run, timeframe)
        rows.append(
            Notification(
                owner_id=rule["owner_id"],
                rule_id=rule["id"],
                stock_id=stock_id,
                timeframe=timeframe,
                kind=event.kind,
                event_key=key,
                bar_ts=event.bar_ts,
                focus_start_ts=event.pattern_start_ts,
                title=title[:200],
                body=body,
                payload=payloads[key],
            )
        )
        channels.append(
            [Channel.EMAIL] * bool(rule["email_enabled"])
            + [Channel.WEBHOOK] * bool(rule["webhook_enabled"])
        )
    if not rows:
        return
    Notification.objects.bulk_create(rows)
    deliveries = Delivery.objects.bulk_create(
        Delivery(notification=row, channel=channel)
        for row, wanted in zip(rows, channels, strict=True)
        for channel in wanted
    )
    once = {rule["id"] for rule, _ in candidates if rule["once"]}
    if once:
        AlertRule.objects.filter(pk__in=once).update(is_active=False, updated_at=timezone.now())
    result.notifications = [row.pk for row in rows]
    result.deliveries = [delivery.pk for delivery in deliveries]
    if result.deliveries:
        ids = list(result.deliveries)
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=ids))
    logger.info(
        "Alerts %s %s: %d new bars, %d events, %d notifications",
        run.code,
        timeframe,
        result.new_bars,
        result.events,
        len(rows),
    )


# --- Delivery -------------------------------------------------------------------------------


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    """Queues the deliveries as `alerts.deliver_batch` tasks of up to `DELIVERY_BATCH` each —
    one broker message per evaluation, not per e-mail or webhook (a broker outage is logged;
    the notification is in-app either way and `manage.py deliver_pending` sends what is
    left)."""
    for start in range(0, len(delivery_ids), DELIVERY_BATCH):
        batch = delivery_ids[start : start + DELIVERY_BATCH]
        try:
            current_app.send_task(DELIVERY_BATCH_TASK, kwargs={"delivery_ids": batch})
        except Exception:
            logger.exception("Could not enqueue %s for deliveries %s", DELIVERY_BATCH_TASK, batch)


def retry_delay(attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt` (1-based): 30 s, 2 min, 8 min,
    32 min — about 42 minutes from the first try to the fifth and last."""
    return DELIVERY_FIRST_RETRY_SECONDS * DELIVERY_BACKOFF_FACTOR ** (attempt - 1)


def site_url(path: str) -> str:
    """`path` on the public address of the site (`SITE_URL`)."""
    return settings.SITE_URL.rstrip("/") + path


def webhook_body(notification: Notification) -> bytes:
    """The JSON a webhook receives (UTF-8, keys sorted): the notification, its event figures,
    and a link to the Radar at the event's bar."""
    return json.dumps(
        {
            "id": notification.pk,
            "type": "notification",
            "kind": notification.kind,
            "rule_id": notification.rule_id,
            "title": notification.title,
            "body": notification.body,
            "symbol": notification.stock.code,
            "name": notification.stock.name,
            "timeframe": notification.timeframe,
            "bar_ts": timezone.localtime(notification.bar_ts).isoformat(),
            "event": notification.payload,
            "url": site_url(notification.radar_url()),
            "created_at": timezone.localtime(notification.created_at).isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # DeliveryStatus value after the attempt
    retry_in: int | None = None  # seconds, when another attempt is due


def _send(delivery: Delivery, prefs: NotificationSettings) -> int | None:
    """Sends once; returns the HTTP status for a webhook. Raises WebhookError / OSError /
    SMTPException."""
    notification = delivery.notification
    if delivery.channel == Channel.EMAIL:
        send_mail(
            subject=notification.title,
            message=(
                f"{notification.body}\n\n"
                + gettext("On the Radar: {url}").format(url=site_url(notification.radar_url()))
                + "\n"
                + gettext("Alert settings: {url}").format(url=site_url(reverse("alerts:settings")))
                + "\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[prefs.email],
        )
        return None
    response = webhook_post(
        url=prefs.webhook_url,
        secret=prefs.webhook_secret,
        body=webhook_body(notification),
        delivery_id=delivery.pk,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_HOSTS,
    )
    return response.status_code


def delivery_attempt(*, delivery_id: int) -> AttemptOutcome:
    """Tries to send a pending delivery once and records the attempt.

    Sent → SENT. A retryable failure before the `DELIVERY_MAX_ATTEMPTS`-th attempt stays
    PENDING with `retry_in` = `retry_delay(attempt)`; otherwise FAILED with the error kept for
    the user. A channel switched off meanwhile → CANCELLED. Anything but a pending delivery is
    left alone (a redelivered task sends nothing twice). The network call happens outside any
    transaction.
    """
    delivery = (
        Delivery.objects.select_related("notification__stock", "notification__owner")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return AttemptOutcome(delivery.status if delivery else DeliveryStatus.CANCELLED)
    prefs = notification_settings_get(user=delivery.notification.owner)
    language = _language(preferences_get(user=delivery.notification.owner).language)
    enabled = prefs.email_enabled if delivery.channel == Channel.EMAIL else prefs.webhook_enabled
    if not enabled:
        with translation.override(language):
            error = CHANNEL_SWITCHED_OFF.format(channel=Channel(delivery.channel).label)
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.CANCELLED, last_error=error, next_attempt_at=None
        )
        return AttemptOutcome(DeliveryStatus.CANCELLED)
    started_at = timezone.now()
    started = time.perf_counter()
    status_code, error, retryable = None, "", True
    try:
        with translation.override(language):
            status_code = _send(delivery, prefs)
    except WebhookError as exc:
        error, retryable, status_code = str(exc), exc.retryable, exc.status_code
    except (smtplib.SMTPException, OSError) as exc:
        error = f"e-mail failed: {type(exc).__name__}: {exc}"[:500]
    duration_ms = (time.perf_counter() - started) * 1000
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status != DeliveryStatus.PENDING:
            return AttemptOutcome(delivery.status)
        number = delivery.attempts + 1
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration_ms=duration_ms,
            ok=not error,
            status_code=status_code,
            error=error,
        )
        delivery.attempts = number
        delivery.last_error = error
        retry_in = None
        if not error:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = timezone.now()
            delivery.next_attempt_at = None
        elif retryable and number < DELIVERY_MAX_ATTEMPTS:
            retry_in = retry_delay(number)
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        delivery.save()
    if error:
        logger.warning(
            "Delivery %s (%s) attempt %d failed: %s", delivery.pk, delivery.channel, number, error
        )
    return AttemptOutcome(delivery.status, retry_in)
