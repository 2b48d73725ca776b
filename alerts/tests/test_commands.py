"""The management commands over the evaluation and delivery services."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerts.models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationSettings,
    RuleKind,
)
from alerts.tests.factories import SeriesBuilder, make_rule, make_stock

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_evaluate_alerts_baseline_then_new_bars_once(user):
    series = SeriesBuilder(make_stock())
    series.add_bars([10_000.0] * 30)
    series.store()
    make_rule(
        user,
        kind=RuleKind.PATTERN,
        stock=series.stock,
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
    )
    assert "Evaluated 1 series; 0 notifications." in run("evaluate_alerts")
    series.pattern(start=20, detected=30)
    series.add_bars([10_000.0])
    series.store()
    assert "1 notifications" in run("evaluate_alerts", "--codes", "005930", "--timeframes", "1d")
    assert "0 notifications" in run("evaluate_alerts")
    assert Notification.objects.count() == 1
    with pytest.raises(CommandError, match="unknown timeframes: 2d"):
        run("evaluate_alerts", "--timeframes", "2d")


def test_deliver_pending_sends_what_was_never_queued(user, webhook_receiver):
    NotificationSettings.objects.create(
        user=user, webhook_enabled=True, webhook_url=webhook_receiver.url
    )
    notification = Notification.objects.create(
        owner=user,
        stock=make_stock(),
        timeframe="1d",
        kind=RuleKind.TREND,
        event_key="k",
        bar_ts="2026-03-04T00:00:00+09:00",
        title="t",
    )
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    assert "1 sent" in run("deliver_pending")
    assert len(webhook_receiver.requests) == 1
    assert "none due" in run("deliver_pending")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
