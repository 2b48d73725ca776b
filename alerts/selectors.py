"""Reads for watchlists, alert rules and notifications, and the inputs of the alert evaluation.

Every selector costs a fixed number of queries, whatever the number of rows (query-count tests
in `alerts/tests/test_selectors.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import F, OuterRef, Q, Subquery

from analysis.models import AnalysisRun, PatternInstance, TrendPeriod
from analysis.radar_extensions import SymbolSetNotFound
from marketdata.models import Candle, Stock, Timeframe
from marketdata.selectors import series_filter

from .events import TAIL_BARS, Event, PatternRow, Tail, TrendRow
from .models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    TIMEFRAME_FLAGS,
    TREND_STATE_FLAGS,
    AlertRule,
    Delivery,
    DeliveryStatus,
    Notification,
    RuleKind,
    Watchlist,
    WatchlistItem,
)

# --- Watchlists -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchlistRow:
    """One symbol of a watchlist with what the page shows about it (KRW, Asia/Seoul)."""

    item_id: int
    stock: Stock
    last_close: float | None  # newest daily bar (may still be forming)
    last_ts: datetime | None
    change: float | None  # versus the daily bar before it
    change_pct: float | None
    trends: dict[str, str]  # timeframe -> up | down | sideways (stored default analysis)
    latest_pattern: PatternInstance | None  # newest detection on any timeframe


def watchlists_of(*, user) -> list[Watchlist]:
    """The user's watchlists in their order (one query)."""
    return list(Watchlist.objects.owned_by(user))


def _daily_close(offset: int):
    return Subquery(
        Candle.objects.filter(stock_id=OuterRef("stock_id"), timeframe=Timeframe.D1)
        .order_by("-ts")
        .values("close")[offset : offset + 1]
    )


def watchlist_rows(*, watchlists: list[Watchlist]) -> dict[int, list[WatchlistRow]]:
    """{watchlist id: rows in the list's order} for the given lists; three queries in all."""
    ids = [w.pk for w in watchlists]
    latest_pattern = (
        PatternInstance.objects.shown()
        .filter(stock_id=OuterRef("stock_id"))
        .order_by("-detected_ts", "-id")
        .values("id")[:1]
    )
    items = list(
        WatchlistItem.objects.filter(watchlist_id__in=ids)
        .select_related("stock")
        .annotate(
            last_close=_daily_close(0),
            previous_close=_daily_close(1),
            last_ts=Subquery(
                Candle.objects.filter(stock_id=OuterRef("stock_id"), timeframe=Timeframe.D1)
                .order_by("-ts")
                .values("ts")[:1]
            ),
            latest_pattern_id=Subquery(latest_pattern),
        )
        .order_by("watchlist_id", "position", "id")
    )
    stock_ids = {item.stock_id for item in items}
    trends: dict[int, dict[str, str]] = {}
    for stock_id, timeframe, state in (
        AnalysisRun.objects.shown()
        .filter(stock_id__in=stock_ids)
        .values_list("stock_id", "timeframe", "trend_state")
    ):
        trends.setdefault(stock_id, {})[timeframe] = state
    pattern_ids = [item.latest_pattern_id for item in items if item.latest_pattern_id]
    patterns = PatternInstance.objects.defer("points", "neckline").in_bulk(pattern_ids)
    out: dict[int, list[WatchlistRow]] = {pk: [] for pk in ids}
    for item in items:
        last, previous = item.last_close, item.previous_close
        change = last - previous if last is not None and previous else None
        out[item.watchlist_id].append(
            WatchlistRow(
                item_id=item.pk,
                stock=item.stock,
                last_close=last,
                last_ts=item.last_ts,
                change=change,
                change_pct=change / previous * 100 if change is not None else None,
                trends={tf: trends.get(item.stock_id, {}).get(tf, "") for tf in Timeframe.values},
                latest_pattern=patterns.get(item.latest_pattern_id),
            )
        )
    return out


def starred_codes(*, user, codes: list[str]) -> set[str]:
    """Which of `codes` are on the user's default watchlist (one query)."""
    return set(
        WatchlistItem.objects.filter(
            watchlist__owner=user, watchlist__is_default=True, stock__code__in=codes
        ).values_list("stock__code", flat=True)
    )


def radar_star(*, user, stock: Stock) -> dict:
    """The Radar star's context: {"stock", "starred"} — whether `stock` is on the user's
    default watchlist (one query)."""
    starred = WatchlistItem.objects.filter(
        watchlist__owner=user, watchlist__is_default=True, stock=stock
    ).exists()
    return {"stock": stock, "starred": starred}


def watchlist_choices(*, user) -> list[tuple[str, str]]:
    """[(id as text, name)] of the user's watchlists in their order (one query): the Scanner's
    watchlist filter."""
    return [
        (str(pk), name) for pk, name in Watchlist.objects.owned_by(user).values_list("pk", "name")
    ]


def watchlist_stock_ids(*, user, key: str):
    """The ids of the stocks on the user's watchlist `key` (its id as text), as a subquery for
    the Scanner (one query to check the owner). `SymbolSetNotFound` for another user's list,
    a missing one, or a key that is not an id."""
    try:
        pk = int(key)
    except (TypeError, ValueError):
        raise SymbolSetNotFound(key) from None
    if not Watchlist.objects.filter(pk=pk, owner=user).exists():
        raise SymbolSetNotFound(key)
    return WatchlistItem.objects.filter(watchlist_id=pk).values("stock_id")


# --- Rules and notifications ----------------------------------------------------------------


def rules_of(*, user) -> list[AlertRule]:
    """The user's rules, newest first, with their watchlist and stock (one query)."""
    return list(AlertRule.objects.owned_by(user).select_related("watchlist", "stock"))


def notifications_of(*, user, unread_only: bool = False):
    """The user's notifications, newest first, with stock and rule (a QuerySet to paginate)."""
    qs = Notification.objects.owned_by(user)
    if unread_only:
        qs = qs.unread()
    return qs.select_related("stock", "rule").prefetch_related("deliveries")


def troubled_deliveries(*, user, limit: int) -> list[Delivery]:
    """The user's newest e-mail/webhook deliveries that failed or are waiting for a retry, with
    their notification and stock (one query)."""
    return list(
        Delivery.objects.filter(
            notification__owner=user, status__in=[DeliveryStatus.FAILED, DeliveryStatus.PENDING]
        )
        .exclude(last_error="")
        .select_related("notification__stock")
        .order_by("-created_at", "-id")[:limit]
    )


def neckline_alerts(*, user, pattern_ids: list[int]) -> dict[int, AlertRule]:
    """{stored pattern id: the user's active rule pinned to that pattern} for the Radar's alert
    column (two queries, whatever the number of ids). A pinned rule names the pattern by series,
    type and first bar (`services.neckline_alert_create`)."""
    patterns = list(
        PatternInstance.objects.filter(pk__in=pattern_ids).values_list(
            "pk", "stock_id", "timeframe", "pattern_type", "start_ts"
        )
    )
    if not patterns:
        return {}
    rules = AlertRule.objects.filter(
        owner=user,
        is_active=True,
        kind=RuleKind.PATTERN,
        stock_id__in={stock_id for _, stock_id, _, _, _ in patterns},
        pattern_start_ts__in={start for *_, start in patterns},
    )
    by_key: dict[tuple, AlertRule] = {}
    for rule in rules:
        for timeframe in rule.timeframe_list:
            for pattern_type in rule.pattern_type_list:
                key = (rule.stock_id, timeframe, pattern_type, rule.pattern_start_ts)
                by_key.setdefault(key, rule)
    return {
        pk: by_key[(stock_id, timeframe, pattern_type, start)]
        for pk, stock_id, timeframe, pattern_type, start in patterns
        if (stock_id, timeframe, pattern_type, start) in by_key
    }


def unread_count(*, user) -> int:
    """How many of the user's notifications are unread (one COUNT on a partial index)."""
    return Notification.objects.filter(owner=user).unread().count()


# --- Evaluation inputs ----------------------------------------------------------------------
#
# Each reads what a batch of series needs in one query, however many series, rules or rows.

Series = tuple[int, str]  # (stock id, timeframe)


@dataclass(frozen=True, slots=True)
class SeriesRun:
    run_id: int
    last_bar_ts: datetime
    code: str
    name: str
    tail_start: datetime | None  # first bar of its `series_tails` tail (None: fewer bars)


def series_runs(*, series: list[Series]) -> dict[Series, SeriesRun]:
    """The stored default-parameter run of each of `series` by the default detector (alerts
    watch what the Radar and the Scanner show by default), without its result JSON, with the
    first of the newest `TAIL_BARS` final bars up to its last bar; series without a run are
    left out (one query)."""
    tail_start = (
        Candle.objects.filter(
            stock_id=OuterRef("stock_id"),
            timeframe=OuterRef("timeframe"),
            is_final=True,
            ts__lte=OuterRef("last_bar_ts"),
        )
        .order_by("-ts")
        .values("ts")[TAIL_BARS - 1 : TAIL_BARS]
    )
    rows = (
        AnalysisRun.objects.shown()
        .filter(series_filter(series))
        .exclude(last_bar_ts=None)
        .values_list(
            "stock_id",
            "timeframe",
            "pk",
            "last_bar_ts",
            "stock__code",
            "stock__name",
            Subquery(tail_start),
        )
    )
    return {(stock_id, timeframe): SeriesRun(*rest) for stock_id, timeframe, *rest in rows}


def series_tails(*, runs: dict[Series, SeriesRun]) -> dict[Series, Tail]:
    """The newest `TAIL_BARS` final bars of each series up to its run's last bar, oldest first
    (one query; a series without bars gets an empty tail)."""
    # After a collection most series share their bounds: one condition per distinct bounds.
    bounds: dict[tuple, list[int]] = {}
    for (stock_id, timeframe), run in runs.items():
        bounds.setdefault((timeframe, run.tail_start, run.last_bar_ts), []).append(stock_id)
    wanted = Q(pk__in=[])
    for (timeframe, start, until), stock_ids in bounds.items():
        bars = Q(timeframe=timeframe, stock_id__in=stock_ids, ts__lte=until)
        wanted |= bars if start is None else bars & Q(ts__gte=start)
    rows: dict[Series, list[tuple]] = {key: [] for key in runs}
    for stock_id, timeframe, *bar in (
        Candle.objects.filter(wanted, is_final=True)
        .order_by("stock_id", "timeframe", "ts")
        .values_list("stock_id", "timeframe", "ts", "high", "low", "close")
    ):
        rows[stock_id, timeframe].append(bar)
    return {key: _tail(bars[-TAIL_BARS:]) for key, bars in rows.items()}


def _tail(rows: list[tuple]) -> Tail:
    if not rows:
        return Tail([], np.empty(0), np.empty(0), np.empty(0))
    ts, high, low, close = zip(*rows, strict=True)
    return Tail(list(ts), np.array(high), np.array(low), np.array(close))


def _runs_since(since: dict[int, datetime]) -> Q:
    """Rows of run r ending at or after since[r] (one condition per distinct instant)."""
    runs: dict[datetime, list[int]] = {}
    for run_id, ts in since.items():
        runs.setdefault(ts, []).append(run_id)
    wanted = Q(pk__in=[])
    for ts, run_ids in runs.items():
        wanted |= Q(run_id__in=run_ids, end_ts__gte=ts)
    return wanted


def runs_patterns(*, since: dict[int, datetime]) -> dict[int, list[PatternRow]]:
    """{run id: its patterns that end at or after since[run id]} (forming ones end at the last
    bar; one query)."""
    wanted = _runs_since(since)
    out: dict[int, list[PatternRow]] = {run_id: [] for run_id in since}
    rows = PatternInstance.objects.filter(wanted).values_list(
        "run_id",
        "pattern_type",
        "status",
        "start_ts",
        "detected_ts",
        "end_ts",
        "target",
        "neckline_price",
        "points",
    )
    for run_id, kind, status, start, detected, end, target, neckline, points in rows:
        out[run_id].append(
            PatternRow(
                type=kind,
                status=status,
                start_ts=start,
                detected_ts=detected,
                end_ts=end,
                target=target,
                neckline_price=neckline,
                point_prices=tuple(float(p["price"]) for p in points.values()),
            )
        )
    return out


def runs_trend_periods(*, since: dict[int, datetime]) -> dict[int, list[TrendRow]]:
    """{run id: its trend periods that end at or after since[run id]} (ongoing ones end at the
    last bar; one query)."""
    wanted = _runs_since(since)
    out: dict[int, list[TrendRow]] = {run_id: [] for run_id in since}
    rows = TrendPeriod.objects.filter(wanted).values_list(
        "run_id", "direction", "start_ts", "end_ts", "ongoing"
    )
    for run_id, *row in rows:
        out[run_id].append(TrendRow(*row))
    return out


RULE_FIELDS = (
    "id",
    "owner_id",
    "name",
    "kind",
    "timeframes",
    "pattern_types",
    "pattern_statuses",
    "pattern_start_ts",
    "level",
    "direction",
    "trend_states",
    "once",
)


@dataclass(frozen=True, slots=True)
class SeriesNews:
    """What the evaluation found new on one series: its events and the range the close moved
    through (KRW; None when no close is new)."""

    stock_id: int
    timeframe: str
    events: list[Event]
    close_range: tuple[float, float] | None


def _concerned(news: SeriesNews) -> tuple:
    """What the series' news may concern, as a key shared by series with the same: (timeframe,
    pattern types, statuses, pinned starts, trend states) masks and sets."""
    patterns = [e for e in news.events if e.kind == RuleKind.PATTERN]
    return (
        news.timeframe,
        PATTERN_TYPE_FLAGS.mask({e.pattern_type for e in patterns}),
        PATTERN_STATUS_FLAGS.mask({e.status for e in patterns}),
        frozenset(e.pattern_start_ts for e in patterns),
        TREND_STATE_FLAGS.mask({e.trend_state for e in news.events if e.kind == RuleKind.TREND}),
    )


def _rules_concerned(timeframe, types, statuses, starts, states) -> Q:
    """Pattern and trend rules (fields of the rule itself) that events of these types,
    statuses, pinned starts and trend states on `timeframe` may concern — a superset of those
    that fire."""
    wanted = Q(pk__in=[])
    if types:
        wanted |= Q(
            Q(pattern_start_ts=None) | Q(pattern_start_ts__in=starts),
            kind=RuleKind.PATTERN,
            pattern_types__has_any=types,
            pattern_statuses__has_any=statuses,
        )
    if states:
        wanted |= Q(kind=RuleKind.TREND, trend_states__has_any=states)
    return wanted & Q(timeframes__has_any=TIMEFRAME_FLAGS.mask([timeframe]))


def series_rules(*, news: list[SeriesNews]) -> list[dict]:
    """Active rules on the series of `news` that one of their events or closes may concern,
    each with `series_stock_id` (the stock it watches here), its owner's delivery switches and
    language; a rule on a watchlist comes once per stock of the list it may concern. One query
    however many series and rules. The database narrows by kind, pattern types, statuses,
    pinned patterns and trend states (one condition per distinct set of those among the
    series, which after a collection are few) and by price level (within the lowest and
    highest close of the batch's new bars: price rules are few, each on one stock) — a superset
    of the rules that fire; the caller matches each rule to its series' events exactly and
    checks the timeframe."""
    stock_ids = {n.stock_id for n in news}
    groups: dict[tuple, list[int]] = {}
    for n in news:
        groups.setdefault(_concerned(n), []).append(n.stock_id)
    on_stock, on_watchlist = Q(pk__in=[]), Q(pk__in=[])
    for key, stocks in groups.items():
        concerned = _rules_concerned(*key)
        on_stock |= Q(stock_id__in=stocks) & concerned
        on_watchlist |= Q(watchlist__items__stock_id__in=stocks) & concerned
    ranges = [n.close_range for n in news if n.close_range is not None]
    if ranges:
        # Price rules are on one stock only (a database constraint): never on a watchlist.
        on_stock |= Q(
            kind=RuleKind.PRICE,
            level__gte=min(low for low, _ in ranges),
            level__lte=max(high for _, high in ranges),
        )
    rules = AlertRule.objects.values(
        *RULE_FIELDS,
        email_enabled=F("owner__notification_settings__email_enabled"),
        webhook_enabled=F("owner__notification_settings__webhook_enabled"),
        language=F("owner__preferences__language"),
    ).watching(
        on_stock=Q(stock_id__in=stock_ids) & on_stock,
        on_watchlist=Q(watchlist__items__stock_id__in=stock_ids) & on_watchlist,
    )
    return list(rules)
