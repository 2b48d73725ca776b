"""The evaluation: each rule kind, causality, deduplication, scopes, isolation, query count."""

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from alerts import services
from alerts.events import FRESH_BARS
from alerts.models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    TIMEFRAME_FLAGS,
    TREND_STATE_FLAGS,
    AlertRule,
    Channel,
    Delivery,
    EvaluatedSeries,
    Notification,
    NotificationSettings,
    RuleKind,
)
from alerts.tasks import evaluate_series
from alerts.tests.factories import SeriesBuilder, make_rule, make_stock, make_watchlist

pytestmark = pytest.mark.django_db


def evaluate(series: SeriesBuilder) -> services.Evaluation:
    return services.series_alerts_evaluate(stock_id=series.stock.pk, timeframe=series.timeframe)


def step(series: SeriesBuilder, *closes, **bars) -> services.Evaluation:
    """New bars, the re-analysed run, then the evaluation (as after a collection)."""
    series.add_bars(list(closes), **bars)
    series.store()
    return evaluate(series)


@pytest.fixture
def series():
    """30 flat daily bars of 005930, analysed and evaluated once (the baseline)."""
    builder = SeriesBuilder(make_stock("005930", "삼성전자"))
    builder.add_bars([10_000.0] * 30)
    builder.store()
    assert evaluate(builder).status == services.BASELINE
    return builder


def pattern_rule(user, stock, statuses, types=("DT",), **fields):
    return make_rule(
        user,
        kind=RuleKind.PATTERN,
        stock=stock,
        pattern_types=PATTERN_TYPE_FLAGS.mask(types),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(statuses),
        **fields,
    )


def titles(user=None) -> list[str]:
    qs = Notification.objects.order_by("bar_ts", "id")
    if user is not None:
        qs = qs.filter(owner=user)
    return list(qs.values_list("title", flat=True))


# --- Pattern rules --------------------------------------------------------------------------


def test_pattern_forming_notifies_at_the_detection_bar(series, user):
    rule = pattern_rule(user, series.stock, ["forming"])
    pattern_rule(user, series.stock, ["forming"], types=("DB",))  # another type: silent
    series.pattern(type="DT", start=20, detected=30)
    result = step(series, 10_000.0)
    assert result.status == services.EVALUATED and len(result.notifications) == 1
    n = Notification.objects.get()
    assert n.rule == rule and n.owner == user and n.kind == RuleKind.PATTERN
    assert n.bar_ts == series.ts(30) and n.focus_start_ts == series.ts(20)
    assert n.title == "005930 삼성전자 1d: Double top forming"
    assert n.payload["status"] == "forming" and n.payload["target"] == 9000.0
    assert "focus_start=" in n.radar_url() and "symbol=005930" in n.radar_url()


def test_pattern_completed_notifies_once_at_the_completion_bar(series, user):
    pattern_rule(user, series.stock, ["completed"])
    forming = pattern_rule(user, series.stock, ["forming"])
    series.pattern(type="DT", status="completed", start=20, detected=30, end=32)
    step(series, 10_000.0)  # detected at 30: only the forming rule
    assert titles() == ["005930 삼성전자 1d: Double top forming"]
    step(series, 9_900.0)  # still forming at 31: nothing new
    step(series, 9_400.0)  # completes at 32
    assert titles()[-1] == "005930 삼성전자 1d: Double top completed (confirmed)"
    assert Notification.objects.filter(rule=forming).count() == 1
    assert Notification.objects.count() == 2


def test_target_reached_is_the_first_bar_at_the_target_after_completion(series, user):
    rule = pattern_rule(user, series.stock, ["target_reached"])
    failed = pattern_rule(user, series.stock, ["failed"])
    series.pattern(type="DT", status="completed", start=20, detected=30, end=30, target=9_000)
    step(series, 9_400.0)  # completes at 30
    step(series, 9_300.0, lows=[9_100.0])  # low 9,100 > target
    assert not Notification.objects.filter(rule=rule).exists()
    step(series, 9_050.0, lows=[8_990.0])  # low reaches 9,000
    n = Notification.objects.get(rule=rule)
    assert n.bar_ts == series.ts(32) and n.payload["close"] == 9_050.0
    step(series, 8_800.0, lows=[8_700.0])  # reached again: not a new event
    assert Notification.objects.filter(rule=rule).count() == 1
    assert not Notification.objects.filter(rule=failed).exists()


def test_bullish_target_is_reached_by_the_high(series, user):
    rule = pattern_rule(user, series.stock, ["target_reached"], types=("DB",))
    series.pattern(
        type="DB",
        status="completed",
        start=20,
        detected=30,
        end=30,
        target=11_000,
        neckline=10_500,
        prices=(9_000.0, 10_500.0, 9_100.0),
    )
    step(series, 10_600.0)
    step(series, 10_900.0, highs=[11_050.0])
    assert Notification.objects.get(rule=rule).bar_ts == series.ts(31)


def test_failed_covers_invalidation_and_a_close_beyond_the_extreme(series, user):
    rule = pattern_rule(user, series.stock, ["failed"], types=("DT", "HS"))
    series.pattern(type="HS", status="invalidated", start=5, detected=30, end=31)
    series.pattern(type="DT", status="completed", start=10, detected=30, end=30)
    step(series, 10_000.0)  # bar 30: DT completes, HS forming
    step(series, 10_500.0)  # bar 31: HS invalidated
    assert titles() == ["005930 삼성전자 1d: Head and shoulders failed"]
    step(series, 11_200.0)  # bar 32: DT closes above its highest top (11,000)
    assert titles()[-1] == "005930 삼성전자 1d: Double top failed"
    assert Notification.objects.filter(rule=rule).count() == 2


def test_a_failure_after_the_target_is_not_reported(series, user):
    rule = pattern_rule(user, series.stock, ["failed", "target_reached"])
    series.pattern(type="DT", status="completed", start=20, detected=30, end=30)
    step(series, 9_400.0)
    step(series, 9_000.0, lows=[8_900.0])  # target
    step(series, 11_500.0)  # above the tops, but the outcome was the target
    assert [n.payload["status"] for n in Notification.objects.filter(rule=rule)] == [
        "target_reached"
    ]


def test_a_pinned_rule_follows_one_pattern_only(series, user):
    first = series.pattern(type="DT", status="completed", start=20, detected=25, end=31)
    series.pattern(type="DT", status="completed", start=22, detected=26, end=30)
    series.store()
    rule, created = services.neckline_alert_create(
        user=user,
        stock=series.stock,
        timeframe="1d",
        pattern_type="DT",
        pattern_start_ts=series.ts(first["start"]),
    )
    assert created and rule.once
    again, created = services.neckline_alert_create(
        user=user,
        stock=series.stock,
        timeframe="1d",
        pattern_type="DT",
        pattern_start_ts=series.ts(first["start"]),
    )
    assert again == rule and not created
    step(series, 9_500.0)  # bar 30: the other DT completes
    assert not Notification.objects.exists()
    step(series, 9_400.0)  # bar 31: the pinned one completes
    n = Notification.objects.get()
    assert n.rule == rule and n.bar_ts == series.ts(31)
    rule.refresh_from_db()
    assert not rule.is_active  # once: switched off


# --- Price and trend rules ------------------------------------------------------------------


def price_rule(user, stock, level, direction, **fields):
    return make_rule(
        user, kind=RuleKind.PRICE, stock=stock, level=level, direction=direction, **fields
    )


def test_price_level_crossings_by_close(series, user):
    up = price_rule(user, series.stock, 10_500, "up")
    down = price_rule(user, series.stock, 10_500, "down")
    either = price_rule(user, series.stock, 10_500, "any")
    far = price_rule(user, series.stock, 20_000, "any")
    step(series, 10_400.0)  # below the level: nothing
    assert not Notification.objects.exists()
    step(series, 10_500.0)  # 10,400 -> 10,500: up (at the level counts)
    step(series, 10_600.0)  # stays above: nothing
    step(series, 10_100.0)  # down
    assert [n.title for n in Notification.objects.filter(rule=up)] == [
        "005930 삼성전자 1d: close crosses up 10,500 KRW"
    ]
    assert Notification.objects.filter(rule=down).get().bar_ts == series.ts(33)
    assert Notification.objects.filter(rule=either).count() == 2
    assert not Notification.objects.filter(rule=far).exists()
    assert Notification.objects.filter(rule=up).get().payload["previous_close"] == 10_400.0


def test_a_once_rule_fires_its_first_crossing_then_switches_off(series, user):
    rule = price_rule(user, series.stock, 10_500, "any", once=True)
    step(series, 10_600.0, 10_400.0)  # two crossings in one collection
    assert Notification.objects.get(rule=rule).payload["direction"] == "up"
    rule.refresh_from_db()
    assert not rule.is_active
    step(series, 10_700.0)
    assert Notification.objects.count() == 1


def test_trend_changes(series, user):
    to_up = make_rule(
        user,
        kind=RuleKind.TREND,
        stock=series.stock,
        trend_states=TREND_STATE_FLAGS.mask(["up"]),
    )
    to_sideways = make_rule(
        user,
        kind=RuleKind.TREND,
        stock=series.stock,
        trend_states=TREND_STATE_FLAGS.mask(["sideways", "down"]),
    )
    series.trend(direction="up", start=31, end=33)
    step(series, 10_000.0)  # bar 30
    step(series, 10_300.0)  # bar 31: uptrend starts
    assert Notification.objects.get(rule=to_up).bar_ts == series.ts(31)
    step(series, 10_400.0)  # ongoing
    step(series, 9_800.0)  # bar 33: ends -> sideways
    n = Notification.objects.get(rule=to_sideways)
    assert n.bar_ts == series.ts(33)
    assert n.title == "005930 삼성전자 1d: trend turned sideways"
    assert n.body.endswith("Previously uptrend.")
    assert Notification.objects.count() == 2


# --- Scope, timeframes, isolation -----------------------------------------------------------


def test_watchlist_rules_follow_the_list_and_the_timeframes(series, user):
    other = make_stock("000660", "SK하이닉스")
    watchlist = make_watchlist(user, "Semis", [series.stock, other], default=False)
    on_list = pattern_rule(user, None, ["forming"], watchlist=watchlist)
    weekly = pattern_rule(
        user, series.stock, ["forming"], timeframes=TIMEFRAME_FLAGS.mask(["1w", "1mo"])
    )
    switched_off = pattern_rule(user, series.stock, ["forming"], is_active=False)
    series.pattern(start=20, detected=30)
    series.pattern(start=21, detected=31)
    step(series, 10_000.0)
    assert list(Notification.objects.values_list("rule", flat=True)) == [on_list.pk]
    watchlist.items.filter(stock=series.stock).delete()
    step(series, 10_000.0)
    assert Notification.objects.count() == 1
    assert not Notification.objects.filter(rule__in=[weekly, switched_off]).exists()


def test_each_user_gets_their_own_notification(series, user, other_user):
    mine = pattern_rule(user, series.stock, ["forming"])
    theirs = pattern_rule(other_user, series.stock, ["forming"])
    series.pattern(start=20, detected=30)
    step(series, 10_000.0)
    assert Notification.objects.get(owner=user).rule == mine
    assert Notification.objects.get(owner=other_user).rule == theirs


def test_deliveries_follow_each_owners_switches(series, user, other_user):
    NotificationSettings.objects.create(user=user, email_enabled=True, email="a@example.com")
    NotificationSettings.objects.create(
        user=other_user, webhook_enabled=True, webhook_url="http://127.0.0.1:9/hook"
    )
    pattern_rule(user, series.stock, ["forming"])
    pattern_rule(other_user, series.stock, ["forming"])
    series.pattern(start=20, detected=30)
    result = step(series, 10_000.0)
    assert sorted(Delivery.objects.values_list("notification__owner", "channel")) == sorted(
        [(user.pk, Channel.EMAIL), (other_user.pk, Channel.WEBHOOK)]
    )
    assert sorted(result.deliveries) == sorted(Delivery.objects.values_list("pk", flat=True))


# --- Causality and deduplication ------------------------------------------------------------


def test_the_first_evaluation_of_a_series_is_a_baseline(user):
    builder = SeriesBuilder(make_stock())
    pattern_rule(user, builder.stock, ["forming", "completed"])
    price_rule(user, builder.stock, 10_050, "any")
    builder.add_bars([10_000.0, 10_100.0] * 300)
    for bar in range(10, 600, 20):
        builder.pattern(start=bar - 5, detected=bar, status="completed", end=bar + 3)
    builder.store()
    assert evaluate(builder).status == services.BASELINE
    assert not Notification.objects.exists()
    assert EvaluatedSeries.objects.get().last_bar_ts == builder.ts(-1)


def test_a_backfill_of_years_fires_only_the_newest_bars(series, user):
    pattern_rule(user, series.stock, ["forming"])
    closes = [10_000.0] * 1000
    for bar in range(40, 1030, 10):  # a detection every 10 bars over four years
        series.pattern(start=bar - 5, detected=bar)
    series.pattern(start=1020, detected=1029)  # at the last bar
    result = step(series, *closes)
    assert result.new_bars == FRESH_BARS
    fired = list(Notification.objects.values_list("bar_ts", flat=True))
    assert fired == [series.ts(1029)]
    assert all(ts >= series.ts(-FRESH_BARS) for ts in fired)


def test_a_reanalysis_that_finds_old_patterns_fires_nothing(series, user):
    pattern_rule(user, series.stock, ["forming", "completed", "failed"])
    step(series, 10_000.0)
    series.pattern(start=2, detected=8, status="completed", end=12)  # new engine, old bars
    series.pattern(start=10, detected=29, status="invalidated", end=30)
    series.store()
    assert evaluate(series).status == services.NOTHING_NEW
    step(series, 10_000.0)
    assert not Notification.objects.exists()


def test_evaluating_twice_writes_nothing_twice(series, user):
    pattern_rule(user, series.stock, ["forming"])
    series.pattern(start=20, detected=30)
    series.add_bars([10_000.0])
    series.store()
    kwargs = {"stock_id": series.stock.pk, "timeframe": "1d"}
    first = evaluate_series.apply(kwargs=kwargs).get()
    again = evaluate_series.apply(kwargs=kwargs).get()  # a redelivered task
    assert first["notifications"] == 1 and again["status"] == services.NOTHING_NEW
    # Even with the cursor put back (as if the evaluation ran again from scratch), the event
    # is not notified twice.
    EvaluatedSeries.objects.update(last_bar_ts=series.ts(29))
    assert evaluate(series).notifications == []
    assert Notification.objects.count() == 1


def test_the_database_refuses_a_second_notification_for_a_rule_and_event(series, user):
    rule = pattern_rule(user, series.stock, ["forming"])
    series.pattern(start=20, detected=30)
    step(series, 10_000.0)
    n = Notification.objects.get()
    with pytest.raises(IntegrityError):
        Notification.objects.create(
            owner=user,
            rule=rule,
            stock=n.stock,
            timeframe="1d",
            kind=n.kind,
            event_key=n.event_key,
            bar_ts=n.bar_ts,
            title="duplicate",
        )


def test_no_run_and_nothing_new(series):
    assert evaluate(series).status == services.NOTHING_NEW
    other = make_stock("000660", "SK하이닉스")
    assert (
        services.series_alerts_evaluate(stock_id=other.pk, timeframe="1d").status == services.NO_RUN
    )


# --- Scale ----------------------------------------------------------------------------------


def _queries_for_one_collection(series, users, close: float) -> int:
    series.add_bars([close])
    series.store()
    with CaptureQueriesContext(connection) as queries:
        result = evaluate(series)
    assert len(result.notifications) == len(users) * 3
    return len(queries)


def test_the_query_count_does_not_grow_with_rules_or_users(series, django_user_model):
    series.pattern(start=20, detected=30)
    series.pattern(start=21, detected=31)
    series.trend(direction="up", start=30)
    series.trend(direction="up", start=31)  # a second start: one more trend event

    def users(prefix, n):
        out = []
        for i in range(n):
            owner = django_user_model.objects.create_user(f"{prefix}{i}")
            watchlist = make_watchlist(owner, "List", [series.stock])
            pattern_rule(owner, None, ["forming"], watchlist=watchlist)
            price_rule(owner, series.stock, 10_300, "any")
            make_rule(
                owner,
                kind=RuleKind.TREND,
                watchlist=watchlist,
                trend_states=TREND_STATE_FLAGS.mask(["up"]),
            )
            out.append(owner)
        return out

    few = _queries_for_one_collection(series, users("a", 1), 10_600.0)
    AlertRule.objects.all().delete()
    many = _queries_for_one_collection(series, users("b", 40), 10_000.0)
    assert few == many


def _rules_of_every_kind(series, owners, per_owner: int) -> None:
    """`per_owner` rules for each owner, cycling through the kinds and both scopes (the
    series' stock and a watchlist holding it); all of them fire on the next collection."""
    for owner in owners:
        watchlist = make_watchlist(owner, "List", [series.stock])
        for k in range(per_owner):
            scope = {"watchlist": watchlist} if k % 2 else {"stock": series.stock}
            if k % 3 == 0:
                pattern_rule(owner, scope.pop("stock", None), ["forming"], **scope)
            elif k % 3 == 1:
                price_rule(owner, series.stock, 10_300 + k, "any")
            else:
                make_rule(
                    owner,
                    kind=RuleKind.TREND,
                    trend_states=TREND_STATE_FLAGS.mask(["up"]),
                    **scope,
                )


def test_one_rule_and_fifty_rules_of_five_users_cost_the_same_queries(
    series, django_user_model, django_assert_num_queries
):
    """The evaluation of one series (a batch of one) locks its cursor, reads its run, the bars,
    patterns and trend periods, the rules concerned (one query for both scopes, with the
    owners' delivery switches); then reads the notifications already written, inserts the new
    ones and their deliveries and moves the cursor: 12 queries with the savepoint's start and
    end, whether one rule fires or fifty rules of five users with e-mail and webhooks do.
    Without a notification to write: 9."""
    series.pattern(start=20, detected=30)
    series.trend(direction="up", start=30)

    def owners(prefix: str, n: int) -> list:
        out = [django_user_model.objects.create_user(f"{prefix}{i}") for i in range(n)]
        for i, owner in enumerate(out):
            NotificationSettings.objects.create(
                user=owner,
                email_enabled=True,
                email=f"{owner.username}@example.com",
                webhook_enabled=i % 2 == 0,
                webhook_url="http://127.0.0.1:9/hook",
            )
        return out

    _rules_of_every_kind(series, owners("one", 1), per_owner=1)
    series.add_bars([10_600.0])
    series.store()
    with django_assert_num_queries(12):
        assert len(evaluate(series).notifications) == 1

    AlertRule.objects.all().delete()
    _rules_of_every_kind(series, owners("many", 5), per_owner=10)
    series.pattern(start=21, detected=31)
    series.trend(direction="up", start=31)
    series.add_bars([10_000.0])
    series.store()
    with django_assert_num_queries(12):
        result = evaluate(series)
    assert len(result.notifications) == 50
    assert len(result.deliveries) == 50 + 30  # e-mail for all, webhooks for 3 of 5 owners

    series.add_bars([10_000.0])  # no event, no crossing
    series.store()
    with django_assert_num_queries(9):
        result = evaluate(series)
    assert result.status == services.EVALUATED and result.new_bars == 1
    assert result.notifications == []


def test_a_redelivered_evaluation_reads_only_the_cursor_and_the_run(
    series, user, django_assert_num_queries
):
    pattern_rule(user, series.stock, ["forming"])
    series.pattern(start=20, detected=30)
    assert len(step(series, 10_000.0).notifications) == 1
    with django_assert_num_queries(4):  # with the savepoint's start and end
        assert evaluate(series).status == services.NOTHING_NEW
