"""Celery tasks for alerts: thin wrappers over `alerts.services`.

`alerts.evaluate_series` is queued (on commit) for every recomputed default-parameter analysis run
of the default detector (`analysis.models.default_detector()`), through the
`analysis.signals.series_analysed` receiver below. An evaluation queues its e-mail/webhook
deliveries as `alerts.deliver_batch` tasks, which make each first attempt; `alerts.deliver` makes
one attempt at one delivery and owns the retry schedule (`services.retry_delay`).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from analysis.models import default_detector

from . import services

logger = logging.getLogger(__name__)

EVALUATE_TASK = "alerts.evaluate_series"
RETRY_SECONDS = 30
MAX_RETRIES = 3


def series_analysed_receiver(
    sender, *, stock_id, timeframe, detector, is_default, **kwargs
) -> None:
    """Queues the evaluation of a freshly analysed series (the default detector's
    default-parameter run only: rules watch what the Radar and the Scanner show by default, and
    the other detector's run of the same bars must not notify twice). A broker outage is
    logged, not raised."""
    if not is_default or detector != default_detector():
        return
    try:
        evaluate_series.delay(stock_id=stock_id, timeframe=timeframe)
    except Exception:
        logger.exception("Could not enqueue %s for %s %s", EVALUATE_TASK, stock_id, timeframe)


@shared_task(
    name=EVALUATE_TASK,
    autoretry_for=(DatabaseError,),
    retry_backoff=RETRY_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    acks_late=True,
)
def evaluate_series(stock_id: int, timeframe: str) -> dict:
    """Evaluates the alert rules on one series; safe to run twice (see the service)."""
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
