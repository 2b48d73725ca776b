"""Writes for watchlists, alert rules, notifications and their delivery, and the evaluation.

Keyword-only and atomic. Views fetch rows with the owner in the filter (another user's row is a
404); these services check ownership again (`PermissionDenied(NOT_OWNER)`) so no caller can
skip it. Error messages are module constants.

The evaluation runs after recomputed analyses: each marks its series pending
(`series_pending_add`), and `pending_alerts_evaluate` claims a batch of pending series and
evaluates them together (`series_batch_alerts_evaluate`). In one transaction it locks the
series' `EvaluatedSeries` cursors, reads what each run found at the bars newer than its cursor
(`alerts.events`), selects the rules those events concern in one query for the whole batch,
writes at most one `Notification` per rule and event, moves the cursors to the runs' last bars,
and queues the e-mail/webhook deliveries, one task per 20, once committed. Its query count
depends on neither the number of series in the batch nor the rules, users or notifications.
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
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.selectors import preferences_get
from analysis.figures import bar_label
from marketdata.models import Stock
from marketdata.selectors import series_filter

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
    PendingSeries,
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

# Series evaluated together by one `pending_alerts_evaluate` (one task): the queries are the
# same for one or for all of them, so the cost per series falls with the batch.
EVALUATION_BATCH = 50

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
    bars newer than the last evaluation: `series_batch_alerts_evaluate` for one series."""
    key = (stock_id, timeframe)
    return series_batch_alerts_evaluate(series=[key], now=now)[key]


def series_batch_alerts_evaluate(
    *, series: list[selectors.Series], now: datetime | None = None
) -> dict[selectors.Series, Evaluation]:
    """Notifies the rules on each of `series` ((stock id, timeframe) pairs) of what its stored
    default analysis found at the bars newer than its last evaluation (at most
    `events.FRESH_BARS` of them); returns what it did per series.

    The first evaluation of a series only records its last bar (a baseline: history is not
    news). Idempotent: evaluating again without a newer run does nothing, and a notification
    that exists for a rule and event is never written twice (a one-shot rule fires once per
    batch). Atomic, under a lock on the series' cursors, so parallel evaluations of a series
    follow one another; deliveries are queued (tasks `alerts.deliver_batch`) after commit. A
    fixed number of queries, whatever the number of series, rules, users and notifications.
    """
    with transaction.atomic():
        return _batch_evaluate(list(dict.fromkeys(series)), now or timezone.now())


def _batch_evaluate(
    series: list[selectors.Series], now: datetime
) -> dict[selectors.Series, Evaluation]:
    if not series:
        return {}
    cursors = {
        (row.stock_id, row.timeframe): row
        for row in EvaluatedSeries.objects.select_for_update()
        .filter(series_filter(series))
        .order_by("pk")  # one lock order for every evaluation: no deadlock
    }
    runs = selectors.series_runs(series=series)
    results: dict[selectors.Series, Evaluation] = {}
    baselines, moved, since = [], [], {}
    for key in series:
        run, cursor = runs.get(key), cursors.get(key)
        if run is None:
            results[key] = Evaluation(NO_RUN)
        elif cursor is None:
            results[key] = Evaluation(BASELINE)
            baselines.append(
                EvaluatedSeries(
                    stock_id=key[0], timeframe=key[1], last_bar_ts=run.last_bar_ts, evaluated_at=now
                )
            )
        elif run.last_bar_ts <= cursor.last_bar_ts:
            results[key] = Evaluation(NOTHING_NEW)
        else:
            since[key] = cursor.last_bar_ts
            cursor.last_bar_ts, cursor.evaluated_at = run.last_bar_ts, now
            moved.append(cursor)
    if since:
        candidates = _candidates({key: runs[key] for key in since}, since, results)
        _notify(candidates, runs, results)
    if baselines:
        # A parallel first evaluation of the same series found nothing either.
        EvaluatedSeries.objects.bulk_create(baselines, ignore_conflicts=True)
    if moved:
        EvaluatedSeries.objects.bulk_update(moved, ["last_bar_ts", "evaluated_at"])
    return results


def _candidates(
    runs: dict[selectors.Series, selectors.SeriesRun],
    since: dict[selectors.Series, datetime],
    results: dict[selectors.Series, Evaluation],
) -> list[tuple[selectors.Series, dict, ev.Event]]:
    """Reads what each run found at the bars after since[series] and the rules it may concern:
    the (series, rule, event) triples to notify, oldest event first per rule and series, each
    one-shot rule once (its oldest event). Fills `results`; writes nothing."""
    tails = selectors.series_tails(runs=runs)
    first_new = {key: ev.first_new_index(tails[key], since=since[key]) for key in runs}
    fresh = {key for key in runs if first_new[key] < len(tails[key])}
    patterns = selectors.runs_patterns(since={runs[key].run_id: tails[key].ts[0] for key in fresh})
    periods = selectors.runs_trend_periods(
        since={runs[key].run_id: tails[key].ts[first_new[key]] for key in fresh}
    )
    news: dict[selectors.Series, selectors.SeriesNews] = {}
    for key in runs:
        tail, first = tails[key], first_new[key]
        results[key] = result = Evaluation(EVALUATED, new_bars=len(tail) - first)
        if key not in fresh:
            continue
        run_id = runs[key].run_id
        events = ev.pattern_events(patterns[run_id], tail, first_new=first) + ev.trend_events(
            periods[run_id], tail, first_new=first
        )
        result.events = len(events)
        close_range = ev.close_range(tail, first_new=first)
        if events or close_range is not None:
            news[key] = selectors.SeriesNews(*key, events=events, close_range=close_range)
    if not news:
        return []
    watching: dict[int, list[selectors.Series]] = {}
    for key in news:
        watching.setdefault(key[0], []).append(key)
    candidates = []
    for rule in selectors.series_rules(news=list(news.values())):
        for key in watching[rule["series_stock_id"]]:
            if not rule["timeframes"] & TIMEFRAME_FLAGS.mask([key[1]]):
                continue
            results[key].rules += 1
            fired = _rule_events(rule, news[key].events, tails[key], first_new[key])
            candidates.extend((key, rule, event) for event in fired)
    candidates.sort(key=lambda c: (c[2].bar_ts, c[2].key))
    once_fired: set[int] = set()
    out = []
    for key, rule, event in candidates:
        if rule["once"]:
            if rule["id"] in once_fired:
                continue
            once_fired.add(rule["id"])
        out.append((key, rule, event))
    return out


def _notify(
    candidates: list[tuple[selectors.Series, dict, ev.Event]],
    runs: dict[selectors.Series, selectors.SeriesRun],
    results: dict[selectors.Series, Evaluation],
) -> None:
    """Writes the notifications of `candidates` not written before and their deliveries (queued
    once the caller's transaction commits), switches off the one-shot rules that fired, and
    records them in `results`."""
    if not candidates:
        return

    def event_key(key: selectors.Series, event: ev.Event) -> str:
        return f"{runs[key].code}:{key[1]}:{event.key}"

    existing = set(
        Notification.objects.filter(
            rule_id__in={rule["id"] for _, rule, _ in candidates},
            event_key__in={event_key(key, event) for key, _, event in candidates},
        ).values_list("rule_id", "event_key")
    )
    rows, row_series, channels = [], [], []
    texts: dict[tuple[str, str], tuple[str, str]] = {}  # per event and language, not per rule
    payloads: dict[str, dict] = {}
    for key, rule, event in candidates:
        stored_key = event_key(key, event)
        if (rule["id"], stored_key) in existing:
            continue
        existing.add((rule["id"], stored_key))
        run, timeframe = runs[key], key[1]
        # Stored text: written in the recipient's language, whoever triggered the analysis.
        language = _language(rule["language"])
        if (stored_key, language) not in texts:
            with translation.override(language):
                texts[stored_key, language] = _event_text(event, run, timeframe)
        title, body = texts[stored_key, language]
        if stored_key not in payloads:
            payloads[stored_key] = _payload(event, run, timeframe)
        rows.append(
            Notification(
                owner_id=rule["owner_id"],
                rule_id=rule["id"],
                stock_id=key[0],
                timeframe=timeframe,
                kind=event.kind,
                event_key=stored_key,
                bar_ts=event.bar_ts,
                focus_start_ts=event.pattern_start_ts,
                title=title[:200],
                body=body,
                payload=payloads[stored_key],
            )
        )
        row_series.append(key)
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
    once = {rule["id"] for _, rule, _ in candidates if rule["once"]}
    if once:
        AlertRule.objects.filter(pk__in=once).update(is_active=False, updated_at=timezone.now())
    for row, key in zip(rows, row_series, strict=True):
        results[key].notifications.append(row.pk)
    for delivery in deliveries:
        results[_series_of(delivery.notification)].deliveries.append(delivery.pk)
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=ids))
    for key in dict.fromkeys(row_series):
        result = results[key]
        logger.info(
            "Alerts %s %s: %d new bars, %d events, %d notifications",
            runs[key].code,
            key[1],
            result.new_bars,
            result.events,
            len(result.notifications),
        )


def _series_of(notification: Notification) -> selectors.Series:
    return notification.stock_id, notification.timeframe


# --- The pending series ---------------------------------------------------------------------


def series_pending_add(*, stock_id: int, timeframe: str) -> None:
    """Marks the series as awaiting its evaluation (one `INSERT … ON CONFLICT DO NOTHING`: a
    series waits once, however many analyses ran meanwhile)."""
    PendingSeries.objects.bulk_create(
        [PendingSeries(stock_id=stock_id, timeframe=timeframe)], ignore_conflicts=True
    )


def pending_series_claim(*, limit: int) -> list[selectors.Series]:
    """Takes up to `limit` pending series, oldest first, off the queue: their rows are deleted,
    those another transaction holds skipped. Call it inside the transaction that evaluates
    them (its rollback puts them back). Costs one query when none is pending, two otherwise."""
    claimed = list(
        PendingSeries.objects.select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", "stock_id", "timeframe")[:limit]
    )
    if claimed:
        PendingSeries.objects.filter(pk__in=[pk for pk, _, _ in claimed]).delete()
    return [(stock_id, timeframe) for _, stock_id, timeframe in claimed]


@dataclass
class PendingEvaluation:
    """What one `pending_alerts_evaluate` did: the series it claimed, per series result."""

    claimed: int = 0
    results: dict[selectors.Series, Evaluation] = field(default_factory=dict)
    failed: list[selectors.Series] = field(default_factory=list)

    @property
    def notifications(self) -> int:
        return sum(len(r.notifications) for r in self.results.values())


def pending_alerts_evaluate(
    *, limit: int = EVALUATION_BATCH, now: datetime | None = None
) -> PendingEvaluation:
    """Claims up to `limit` series awaiting evaluation, oldest first, and evaluates them together
    (`series_batch_alerts_evaluate`), in one transaction.

    The claim deletes their `PendingSeries` rows, skipping rows another batch holds (`SELECT …
    FOR UPDATE SKIP LOCKED`), so parallel batches never share a series; a rollback (a database
    error, a worker that dies) puts them back. The runs are read after the claim, so an analysis
    committed before it is seen, and one committed after it marks the series again (its insert
    waits for this transaction). Should the batch fail on one series' data, each series is
    evaluated alone and only the failing ones are dropped (logged). A claim that finds nothing
    costs one query.
    """
    now = now or timezone.now()
    out = PendingEvaluation()
    with transaction.atomic():
        series = pending_series_claim(limit=limit)
        if not series:
            return out
        out.claimed = len(series)
        try:
            out.results = series_batch_alerts_evaluate(series=series, now=now)
        except DatabaseError:
            raise  # the whole claim rolls back; the task retries
        except Exception:
            logger.exception("Alert batch of %d series failed; evaluating each alone", len(series))
            for key in series:
                try:
                    out.results.update(series_batch_alerts_evaluate(series=[key], now=now))
                except DatabaseError:
                    raise
                except Exception:
                    logger.exception("Alerts %s %s: evaluation failed, dropped", *key)
                    out.failed.append(key)
    return out


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
