"""Series evaluated in batches: the pending queue, its claims, the query count, equivalence with
evaluating each series alone, and the receiver that queues one task for many analyses."""

import threading

import pytest
import redis
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from alerts import services, tasks
from alerts.models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    TIMEFRAME_FLAGS,
    TREND_STATE_FLAGS,
    AlertRule,
    Delivery,
    EvaluatedSeries,
    Notification,
    NotificationSettings,
    PendingSeries,
    RuleKind,
)
from alerts.tests.factories import SeriesBuilder, make_rule, make_stock, make_watchlist
from analysis.models import PatternInstance, default_detector

pytestmark = pytest.mark.django_db


def universe(n: int, prefix: str = "1") -> list[SeriesBuilder]:
    """`n` daily series of 30 flat bars, analysed and evaluated once (the baseline)."""
    builders = []
    for i in range(n):
        builder = SeriesBuilder(make_stock(f"{prefix}{i:05d}", f"stock {prefix}{i}"))
        builder.add_bars([10_000.0] * 30)
        builder.store()
        builders.append(builder)
    assert services.series_batch_alerts_evaluate(series=keys(builders))
    return builders


def keys(builders: list[SeriesBuilder]) -> list[tuple[int, str]]:
    return [(b.stock.pk, b.timeframe) for b in builders]


def collect(builders: list[SeriesBuilder], close: float = 10_600.0) -> None:
    """A collection: one new bar on every series, with a pattern detected and an uptrend
    starting at it, re-analysed and marked pending as the receiver does."""
    for b in builders:
        b.pattern(start=b.bars - 10, detected=b.bars)
        b.trend(direction="up", start=b.bars)
        b.add_bars([close])
        b.store()
        services.series_pending_add(stock_id=b.stock.pk, timeframe=b.timeframe)


def owners_with_rules(django_user_model, builders, prefix: str, n: int, per_kind: int) -> None:
    """`n` users with e-mail on, each with a watchlist of every series and `per_kind` rules of
    each kind: pattern and trend rules on the list, price rules on each stock."""
    for i in range(n):
        owner = django_user_model.objects.create_user(f"{prefix}{i}")
        NotificationSettings.objects.create(
            user=owner, email_enabled=True, email=f"{owner.username}@example.com"
        )
        watchlist = make_watchlist(owner, "List", [b.stock for b in builders])
        for k in range(per_kind):
            make_rule(
                owner,
                kind=RuleKind.PATTERN,
                watchlist=watchlist,
                pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
                pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
                name=f"p{k}",
            )
            make_rule(
                owner,
                kind=RuleKind.TREND,
                watchlist=watchlist,
                trend_states=TREND_STATE_FLAGS.mask(["up"]),
            )
            for b in builders:
                make_rule(
                    owner, kind=RuleKind.PRICE, stock=b.stock, level=10_300 + k, direction="up"
                )


def queries_of_one_batch(builders) -> tuple[int, services.PendingEvaluation]:
    with CaptureQueriesContext(connection) as queries:
        batch = services.pending_alerts_evaluate(limit=100)
    assert batch.claimed == len(builders)
    return len(queries), batch


def test_a_batch_costs_the_same_queries_for_one_series_or_eight_and_any_rules(
    django_user_model,
):
    """Claim (2), the evaluation's savepoint (2), cursors, runs, bars, patterns, trend periods,
    rules, notifications already written, new notifications, their deliveries, cursors moved —
    with the test's own savepoint (2): 16, for one series and one rule of each kind as for
    eight series watched by five users with four rules of each kind."""
    one = universe(1, prefix="1")
    owners_with_rules(django_user_model, one, "a", 1, 1)
    collect(one)
    few, batch = queries_of_one_batch(one)
    assert batch.notifications == 3

    AlertRule.objects.all().delete()
    many = universe(8, prefix="2")
    owners_with_rules(django_user_model, many, "b", 5, 4)
    collect(many)
    lots, batch = queries_of_one_batch(many)
    assert batch.notifications == 8 * 5 * 4 * 3
    assert Delivery.objects.count() == 3 + 8 * 5 * 4 * 3  # e-mail on for everyone
    assert few == lots == 16


def snapshot() -> set[tuple]:
    return {
        (
            n.owner_id,
            n.rule_id,
            n.stock_id,
            n.timeframe,
            n.event_key,
            n.bar_ts,
            n.title,
            n.body,
            tuple(sorted(n.payload.items())),
            tuple(sorted(n.deliveries.values_list("channel", flat=True))),
        )
        for n in Notification.objects.prefetch_related("deliveries")
    }


def test_a_batch_notifies_exactly_what_evaluating_each_series_alone_does(
    django_user_model, user, other_user
):
    builders = universe(4)
    owners_with_rules(django_user_model, builders[:3], "w", 2, 2)
    first = builders[0]
    make_rule(  # weekly only: silent
        user,
        kind=RuleKind.PATTERN,
        stock=first.stock,
        timeframes=TIMEFRAME_FLAGS.mask(["1w"]),
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
    )
    make_rule(
        other_user,
        kind=RuleKind.PRICE,
        stock=builders[3].stock,
        level=10_500,
        direction="any",
        once=True,
    )
    make_rule(
        other_user,
        kind=RuleKind.PATTERN,
        stock=builders[3].stock,
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DB"]),  # another type: silent
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
    )
    NotificationSettings.objects.create(
        user=other_user, webhook_enabled=True, webhook_url="http://127.0.0.1:9/hook"
    )
    cursors = dict(EvaluatedSeries.objects.values_list("pk", "last_bar_ts"))
    collect(builders)

    batch = services.pending_alerts_evaluate(limit=10)
    together = snapshot()
    assert batch.claimed == 4 and len(together) == 3 * 2 * 2 * 3 + 1
    assert {r.status for r in batch.results.values()} == {services.EVALUATED}

    Notification.objects.all().delete()
    AlertRule.objects.update(is_active=True)
    for pk, last_bar_ts in cursors.items():
        EvaluatedSeries.objects.filter(pk=pk).update(last_bar_ts=last_bar_ts)
    for b in builders:
        services.series_alerts_evaluate(stock_id=b.stock.pk, timeframe=b.timeframe)
    assert snapshot() == together


def test_a_one_shot_rule_on_a_watchlist_fires_once_in_a_batch(user):
    builders = universe(3)
    watchlist = make_watchlist(user, "Semis", [b.stock for b in builders])
    rule = make_rule(
        user,
        kind=RuleKind.PATTERN,
        watchlist=watchlist,
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
        once=True,
    )
    collect(builders)
    assert services.pending_alerts_evaluate(limit=10).notifications == 1
    rule.refresh_from_db()
    assert not rule.is_active
    assert Notification.objects.get().rule == rule


def test_the_first_evaluation_of_a_series_in_a_batch_is_a_baseline(user):
    evaluated = universe(1)
    fresh = SeriesBuilder(make_stock("000660", "SK하이닉스"))
    fresh.add_bars([10_000.0, 10_100.0] * 100)
    for bar in range(10, 200, 20):
        fresh.pattern(start=bar - 5, detected=bar, status="completed", end=bar + 3)
    fresh.store()
    services.series_pending_add(stock_id=fresh.stock.pk, timeframe="1d")
    for b in (*evaluated, fresh):
        make_rule(
            user,
            kind=RuleKind.PATTERN,
            stock=b.stock,
            pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
            pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming", "completed"]),
        )
    collect(evaluated)
    batch = services.pending_alerts_evaluate(limit=10)
    assert batch.results[fresh.stock.pk, "1d"].status == services.BASELINE
    assert batch.results[evaluated[0].stock.pk, "1d"].status == services.EVALUATED
    assert set(Notification.objects.values_list("stock", flat=True)) == {evaluated[0].stock.pk}
    assert EvaluatedSeries.objects.get(stock=fresh.stock).last_bar_ts == fresh.ts(-1)


def test_a_redelivered_task_evaluates_nothing_twice(user, eager_celery):
    builders = universe(2)
    owners_with_rules_simple = make_watchlist(user, "List", [b.stock for b in builders])
    make_rule(
        user,
        kind=RuleKind.TREND,
        watchlist=owners_with_rules_simple,
        trend_states=TREND_STATE_FLAGS.mask(["up"]),
    )
    collect(builders)
    first = tasks.evaluate_pending.apply().get()
    again = tasks.evaluate_pending.apply().get()  # the same message delivered twice
    assert first["series"] == 2 and first["notifications"] == 2
    assert again["series"] == 0
    for b in builders:  # the same runs marked again (a re-analysis that changed nothing)
        services.series_pending_add(stock_id=b.stock.pk, timeframe="1d")
    batch = services.pending_alerts_evaluate(limit=10)
    assert {r.status for r in batch.results.values()} == {services.NOTHING_NEW}
    assert Notification.objects.count() == 2


def test_a_claim_rolled_back_leaves_its_series_pending():
    """A worker that dies mid-batch: its transaction rolls back, the series wait for the next
    claim."""
    builders = universe(3)
    collect(builders)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert len(services.pending_series_claim(limit=10)) == 3
        assert not PendingSeries.objects.exists()
        raise RuntimeError("worker lost")
    assert PendingSeries.objects.count() == 3
    assert services.pending_alerts_evaluate(limit=10).claimed == 3
    assert not PendingSeries.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_never_share_a_series():
    builders = universe(6)
    collect(builders)
    claimed, started, finish = [], threading.Event(), threading.Event()

    def first_worker():
        try:
            with transaction.atomic():
                claimed.append(services.pending_series_claim(limit=4))
                started.set()
                finish.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert started.wait(10)
    with transaction.atomic():
        second = services.pending_series_claim(limit=10)  # skips the rows the first holds
    finish.set()
    worker.join(10)
    assert len(claimed[0]) == 4 and len(second) == 2
    assert set(claimed[0]) | set(second) == set(keys(builders))
    assert not PendingSeries.objects.exists()


def test_one_series_failing_does_not_hold_back_the_others(user):
    builders = universe(3)
    for b in builders:
        make_rule(
            user, kind=RuleKind.TREND, stock=b.stock, trend_states=TREND_STATE_FLAGS.mask(["up"])
        )
    collect(builders)
    broken = builders[1]
    PatternInstance.objects.filter(stock=broken.stock).update(points={"P1": {}})  # no price
    batch = services.pending_alerts_evaluate(limit=10)
    assert batch.failed == [(broken.stock.pk, "1d")]
    assert set(Notification.objects.values_list("stock", flat=True)) == {
        builders[0].stock.pk,
        builders[2].stock.pk,
    }
    assert not PendingSeries.objects.exists()


def test_a_full_batch_queues_the_next_until_none_is_left(user, eager_celery, monkeypatch):
    monkeypatch.setattr(services, "EVALUATION_BATCH", 2)
    builders = universe(5)
    collect(builders)
    assert tasks.evaluate_pending.apply().get()["series"] == 2
    assert not PendingSeries.objects.exists()
    assert EvaluatedSeries.objects.filter(last_bar_ts=builders[0].ts(-1)).count() == 5


@pytest.fixture
def queued_key_cleared(settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(tasks.QUEUED_KEY)
    yield client
    client.delete(tasks.QUEUED_KEY)


def test_many_analyses_queue_one_task_until_it_starts(
    queued_key_cleared, broker_queue_purged, settings
):
    """The receiver marks each series pending; only the first of analyses in a row queues a
    task (in `EVALUATE_DELAY_SECONDS`), which evaluates them all; once it has started, the next
    analysis queues another."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    builders = universe(3)
    for b in builders:
        b.add_bars([10_000.0])
        b.store()
        tasks.series_analysed_receiver(
            None, stock_id=b.stock.pk, timeframe="1d", detector=default_detector(), is_default=True
        )
    tasks.series_analysed_receiver(  # not the default detector: not marked
        None, stock_id=b.stock.pk, timeframe="1d", detector="other", is_default=True
    )
    assert PendingSeries.objects.count() == 3
    assert broker.llen("celery") == 1
    assert tasks.evaluate_pending.apply().get()["series"] == 3  # the queued task, run here
    assert not queued_key_cleared.exists(tasks.QUEUED_KEY)
    tasks.series_analysed_receiver(
        None, stock_id=b.stock.pk, timeframe="1d", detector=default_detector(), is_default=True
    )
    assert broker.llen("celery") == 2
