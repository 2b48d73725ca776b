"""Celery tasks for alerts: thin wrappers over `alerts.services`.

Every recomputed default-parameter analysis run of the default detector
(`analysis.models.default_detector()`) marks its series pending, through the
`analysis.signals.series_analysed` receiver below, and queues `alerts.evaluate_pending` a moment
later — unless such a task is already queued and has not started (a Redis key says so), so the
series analysed meanwhile are evaluated together, as one batch of up to
`services.EVALUATION_BATCH`; a task that claims a full batch queues the next one, which
another worker may take. The schedule also runs it every minute (`chartinsight/celery.py`), a
safety net for a broker or Redis outage. An evaluation queues its e-mail/webhook deliveries as
`alerts.deliver_batch` tasks, which make each first attempt; `alerts.deliver` makes one attempt
at one delivery and owns the retry schedule (`services.retry_delay`).
"""

from __future__ import annotations

import functools
import logging

import redis
from celery import current_app, shared_task
from django.conf import settings
from django.db import DatabaseError

from analysis.models import default_detector

from . import services

logger = logging.getLogger(__name__)

EVALUATE_TASK = "alerts.evaluate_series"
EVALUATE_PENDING_TASK = "alerts.evaluate_pending"
# An analysed series waits this long for its evaluation, so that the series analysed meanwhile
# (a collection analyses hundreds a minute) join the same batch.
EVALUATE_DELAY_SECONDS = 2
# Set while an `alerts.evaluate_pending` task is queued and has not started. It expires on its
# own should that task be lost; the schedule's run every minute then evaluates what waits.
QUEUED_KEY = "alerts:evaluate-pending:queued"
QUEUED_KEY_SECONDS = 60
RETRY_SECONDS = 30
MAX_RETRIES = 3
# Both evaluation tasks: retried with backoff on database errors, acknowledged when they end.
EVALUATION_TASK_OPTIONS = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": RETRY_SECONDS,
    "retry_jitter": True,
    "max_retries": MAX_RETRIES,
    "acks_late": True,
}


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def series_analysed_receiver(
    sender, *, stock_id, timeframe, detector, is_default, **kwargs
) -> None:
    """Marks a freshly analysed series pending and queues its evaluation (the default
    detector's default-parameter run only: rules watch what the Radar and the Scanner show by
    default, and the other detector's run of the same bars must not notify twice). A database
    or broker outage is logged, not raised."""
    if not is_default or detector != default_detector():
        return
    try:
        services.series_pending_add(stock_id=stock_id, timeframe=timeframe)
    except DatabaseError:
        logger.exception("Could not mark %s %s for alert evaluation", stock_id, timeframe)
        return
    evaluation_enqueue()


def evaluation_enqueue(*, countdown: int = EVALUATE_DELAY_SECONDS) -> None:
    """Queues `alerts.evaluate_pending` to run in `countdown` seconds, unless one is queued
    and has not started: that one will claim what is pending now. Without Redis it queues
    anyway (a task that finds nothing costs one query); a broker outage is logged."""
    if not current_app.conf.task_always_eager:  # eager: the task runs now, nothing to share
        try:
            if not _redis().set(QUEUED_KEY, "1", nx=True, ex=QUEUED_KEY_SECONDS):
                return
        except redis.RedisError as exc:
            logger.warning("Alert evaluation queued without the Redis key: %s", exc)
    try:
        evaluate_pending.apply_async(countdown=countdown)
    except Exception:
        logger.exception("Could not enqueue %s", EVALUATE_PENDING_TASK)
        _forget_queued()


def _forget_queued() -> None:
    try:
        _redis().delete(QUEUED_KEY)
    except redis.RedisError as exc:  # the key expires on its own
        logger.warning("Could not clear %s: %s", QUEUED_KEY, exc)


@shared_task(name=EVALUATE_PENDING_TASK, **EVALUATION_TASK_OPTIONS)
def evaluate_pending() -> dict:
    """Evaluates one batch of pending series (see `services.pending_alerts_evaluate`; safe to
    run twice: a redelivered task claims what is still pending, if anything)."""
    # From here on a newly analysed series queues a task of its own: this one may have claimed
    # its batch before that series was marked.
    _forget_queued()
    batch = services.pending_alerts_evaluate(limit=services.EVALUATION_BATCH)
    if batch.claimed == services.EVALUATION_BATCH:  # more may wait: another worker may take them
        evaluation_enqueue(countdown=0)
    statuses: dict[str, int] = {}
    for result in batch.results.values():
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return {
        "series": batch.claimed,
        "statuses": statuses,
        "notifications": batch.notifications,
        "failed": len(batch.failed),
    }


@shared_task(name=EVALUATE_TASK, **EVALUATION_TASK_OPTIONS)
def evaluate_series(stock_id: int, timeframe: str) -> dict:
    """Evaluates the alert rules on one series now (what the receiver queued before series were
    evaluated in batches; safe to run twice, see the service)."""
    result = services.series_alerts_evaluate(stock_id=stock_id, timeframe=timeframe)
    return {
        "stock_id": stock_id,
        "timeframe": timeframe,
        "status": result.status,
        "new_bars": result.new_bars,
        "events": result.events,
        "notifications": len(result.notifications),
    }


@shared_task(name=services.DELIVERY_TASK, bind=True, acks_late=True, max_retries=None)
def deliver(self, delivery_id: int) -> str:
    """One attempt at an e-mail/webhook delivery; schedules the next one with backoff while the
    service says so (it counts attempts in the database, so the retry budget survives
    redelivery)."""
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name=services.DELIVERY_BATCH_TASK, acks_late=True)
def deliver_batch(delivery_ids: list[int]) -> dict:
    """The first attempt at each of an evaluation's deliveries, one after another; each that
    asks for a retry continues as its own `alerts.deliver` task after the backoff. Safe to run
    twice: a delivery no longer pending is left alone. Returns {status: count} ("error": a
    database error left the delivery pending)."""
    counts: dict[str, int] = {}
    for delivery_id in delivery_ids:
        try:
            outcome = services.delivery_attempt(delivery_id=delivery_id)
        except DatabaseError:
            # The others still go out; this one stays pending for `manage.py deliver_pending`.
            logger.exception("Delivery %s: attempt not recorded", delivery_id)
            counts["error"] = counts.get("error", 0) + 1
            continue
        if outcome.retry_in is not None:
            deliver.apply_async(kwargs={"delivery_id": delivery_id}, countdown=outcome.retry_in)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts
