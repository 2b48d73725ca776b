"""E-mail and webhook delivery: signing, retries with backoff, failures the user can see.

Webhooks go to a real HTTP server on 127.0.0.1 (`webhook_receiver`); e-mail to Django's
in-memory outbox (pytest-django's test backend)."""

import json
import time

import pytest
import redis
from django.conf import settings
from django.core import mail

from alerts import services, webhooks
from alerts.models import Channel, Delivery, DeliveryStatus, Notification, NotificationSettings
from alerts.tasks import deliver, deliver_batch
from alerts.tests.factories import make_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def notification(user):
    stock = make_stock("005930", "삼성전자")
    row = Notification.objects.create(
        owner=user,
        stock=stock,
        timeframe="1d",
        kind="pattern",
        event_key="005930:1d:pattern:DT:x:completed",
        bar_ts="2026-03-04T00:00:00+09:00",
        focus_start_ts="2026-02-20T00:00:00+09:00",
        title="005930 삼성전자 1d: Double top completed (confirmed)",
        body="Bar 2026-03-04 (Wed) (KST). Neckline 70,000 KRW, target 65,000 KRW.",
        payload={"symbol": "005930", "status": "completed", "target": 65000.0},
    )
    row.refresh_from_db()
    return row


def webhook_on(user, url) -> NotificationSettings:
    return NotificationSettings.objects.create(user=user, webhook_enabled=True, webhook_url=url)


def test_the_webhook_is_signed_and_carries_the_notification(notification, user, webhook_receiver):
    prefs = webhook_on(user, webhook_receiver.url)
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    assert deliver.apply(kwargs={"delivery_id": delivery.pk}).get() == DeliveryStatus.SENT
    (request,) = webhook_receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = int(headers["x-chartinsight-timestamp"])
    assert abs(timestamp - time.time()) < 60
    assert webhooks.signature_valid(
        secret=prefs.webhook_secret,
        timestamp=timestamp,
        body=request.body,
        header=headers["x-chartinsight-signature"],
    )
    # The receiver's check fails for any other secret, timestamp or body.
    assert not webhooks.signature_valid(
        secret="another secret",
        timestamp=timestamp,
        body=request.body,
        header=headers["x-chartinsight-signature"],
    )
    assert not webhooks.signature_valid(
        secret=prefs.webhook_secret,
        timestamp=timestamp,
        body=request.body + b" ",
        header=headers["x-chartinsight-signature"],
    )
    assert headers["x-chartinsight-delivery"] == str(delivery.pk)
    assert headers["content-type"] == "application/json"
    body = request.json()
    assert body["title"] == notification.title and body["symbol"] == "005930"
    assert body["name"] == "삼성전자" and body["event"]["status"] == "completed"
    assert body["url"].startswith("http://") and "/radar/?symbol=005930" in body["url"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    assert delivery.attempt_log.get().status_code == 200


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Hand-checked with: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assert webhooks.signature(secret="s3cret", timestamp=1700000000, body=b'{"a":1}') == (
        "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
    )


def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(
    notification, user, webhook_receiver
):
    webhook_on(user, webhook_receiver.url)
    webhook_receiver.statuses = [500, 503]
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    # apply() runs the retries eagerly (Celery ignores the countdown there); the schedule the
    # service asked for is recorded on the delivery and its attempts.
    assert deliver.apply(kwargs={"delivery_id": delivery.pk}).get() == DeliveryStatus.SENT
    assert len(webhook_receiver.requests) == 3
    ids = {r.headers["X-ChartInsight-Delivery"] for r in webhook_receiver.requests}
    assert ids == {str(delivery.pk)}  # the same delivery id on every retry
    attempts = list(delivery.attempt_log.values_list("number", "ok", "status_code", "error"))
    assert attempts == [
        (1, False, 500, webhooks.HTTP_STATUS.format(status=500)),
        (2, False, 503, webhooks.HTTP_STATUS.format(status=503)),
        (3, True, 200, ""),
    ]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.last_error == ""


def test_backoff_schedule():
    assert [services.retry_delay(n) for n in (1, 2, 3, 4)] == [30, 120, 480, 1920]


def test_retry_is_scheduled_after_the_backoff_delay(notification, user, webhook_receiver):
    webhook_on(user, webhook_receiver.url)
    webhook_receiver.statuses = [502]
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    outcome = services.delivery_attempt(delivery_id=delivery.pk)
    assert outcome == services.AttemptOutcome(DeliveryStatus.PENDING, retry_in=30)
    delivery.refresh_from_db()
    waited = (delivery.next_attempt_at - delivery.attempt_log.get().started_at).total_seconds()
    assert 30 <= waited < 40
    assert delivery.last_error == "webhook answered HTTP 502"


def test_a_webhook_that_never_answers_fails_visibly(notification, user, webhook_receiver, client):
    webhook_on(user, webhook_receiver.url)
    webhook_receiver.statuses = [500] * services.DELIVERY_MAX_ATTEMPTS
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    assert deliver.apply(kwargs={"delivery_id": delivery.pk}).get() == DeliveryStatus.FAILED
    assert len(webhook_receiver.requests) == services.DELIVERY_MAX_ATTEMPTS
    delivery.refresh_from_db()
    assert delivery.attempts == services.DELIVERY_MAX_ATTEMPTS
    # Redelivering the finished task sends nothing more.
    assert deliver.apply(kwargs={"delivery_id": delivery.pk}).get() == DeliveryStatus.FAILED
    assert len(webhook_receiver.requests) == services.DELIVERY_MAX_ATTEMPTS
    client.force_login(user)
    settings_page = client.get("/alerts/settings/").content.decode()
    assert "webhook answered HTTP 500" in settings_page and notification.title in settings_page
    listing = client.get("/notifications/").content.decode()
    assert "Webhook: failed" in listing


def test_a_refused_connection_is_retried_then_failed(notification, user, webhook_receiver):
    # Port 9 (discard): nothing listens there on a development or CI machine.
    webhook_on(user, "http://127.0.0.1:9/hook")
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    outcome = services.delivery_attempt(delivery_id=delivery.pk)
    assert outcome.status == DeliveryStatus.PENDING and outcome.retry_in == 30
    assert delivery.attempt_log.get().error.startswith("webhook request failed: ConnectError")


def test_private_hosts_are_refused_unless_allowed(notification, user, webhook_receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    webhook_on(user, webhook_receiver.url)
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    outcome = services.delivery_attempt(delivery_id=delivery.pk)
    assert outcome == services.AttemptOutcome(DeliveryStatus.FAILED)  # no retry: never works
    assert webhook_receiver.requests == []
    assert "private or reserved address (127.0.0.1)" in Delivery.objects.get().last_error


def test_email_goes_through_django_mail(notification, user, settings):
    settings.SITE_URL = "https://charts.example.com"
    NotificationSettings.objects.create(user=user, email_enabled=True, email="me@example.com")
    delivery = Delivery.objects.create(notification=notification, channel=Channel.EMAIL)
    assert deliver.apply(kwargs={"delivery_id": delivery.pk}).get() == DeliveryStatus.SENT
    (message,) = mail.outbox
    assert message.to == ["me@example.com"] and message.subject == notification.title
    assert "https://charts.example.com/radar/?symbol=005930&tf=1d&focus_start=" in message.body
    assert notification.body in message.body


def test_a_channel_switched_off_before_sending_is_cancelled(notification, user, webhook_receiver):
    prefs = webhook_on(user, webhook_receiver.url)
    delivery = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    prefs.webhook_enabled = False
    prefs.save()
    assert deliver.apply(kwargs={"delivery_id": delivery.pk}).get() == DeliveryStatus.CANCELLED
    assert webhook_receiver.requests == []


def test_webhook_body_is_json_with_sorted_keys(notification):
    body = services.webhook_body(notification)
    assert json.loads(body)["id"] == notification.pk
    assert body == json.dumps(json.loads(body), ensure_ascii=False, sort_keys=True).encode()


def test_a_batch_sends_each_delivery_once_and_leaves_retries_to_their_own_task(
    notification, user, webhook_receiver, eager_celery
):
    """An evaluation's deliveries go out from one `alerts.deliver_batch` task; a webhook that
    fails continues with `alerts.deliver` (eager here, so at once) until it is sent."""
    NotificationSettings.objects.create(
        user=user,
        email_enabled=True,
        email="me@example.com",
        webhook_enabled=True,
        webhook_url=webhook_receiver.url,
    )
    webhook_receiver.statuses = [503]
    email = Delivery.objects.create(notification=notification, channel=Channel.EMAIL)
    webhook = Delivery.objects.create(notification=notification, channel=Channel.WEBHOOK)
    counts = deliver_batch.apply(kwargs={"delivery_ids": [email.pk, webhook.pk]}).get()
    assert counts == {DeliveryStatus.SENT: 1, DeliveryStatus.PENDING: 1}
    assert [m.to for m in mail.outbox] == [["me@example.com"]]
    webhook.refresh_from_db()
    assert webhook.status == DeliveryStatus.SENT and webhook.attempts == 2
    assert len(webhook_receiver.requests) == 2
    # Redelivered, the batch sends nothing twice.
    deliver_batch.apply(kwargs={"delivery_ids": [email.pk, webhook.pk]}).get()
    assert len(mail.outbox) == 1 and len(webhook_receiver.requests) == 2


def test_deliveries_are_queued_as_batches_not_one_message_each(broker_queue_purged):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")
    ids = list(range(1, services.DELIVERY_BATCH * 2 + 6))
    services.deliveries_enqueue(delivery_ids=ids)
    messages = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    assert {m["headers"]["task"] for m in messages} == {services.DELIVERY_BATCH_TASK}
    batches = [m["headers"]["kwargsrepr"] for m in reversed(messages)]
    assert len(batches) == 3 and str(ids[-5:]) in batches[-1]
