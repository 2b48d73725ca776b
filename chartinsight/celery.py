"""The Celery app: JSON only, explicit time limits, Asia/Seoul, schedules in django-celery-beat.

Periodic schedules are declared once, in `PERIODIC_TASKS` below, and synced into
django-celery-beat by `manage.py sync_schedules` (run by `make run` and after every migrate),
so they appear, editable, in the admin.
"""

import logging
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import celeryd_after_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chartinsight.settings")

logger = logging.getLogger(__name__)

app = Celery("chartinsight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    timezone="Asia/Seoul",
    enable_utc=True,
    task_time_limit=30 * 60,
    task_soft_time_limit=25 * 60,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    result_expires=24 * 3600,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    worker_send_task_events=True,
    task_send_sent_event=True,
)
app.autodiscover_tasks()


# name -> (task, schedule, kwargs, description). Times are Asia/Seoul; every collection task
# checks the KRX trading calendar itself, so holidays are skipped even on a weekday crontab.
PERIODIC_TASKS: dict[str, tuple[str, crontab, dict, str]] = {
    "Heartbeat (worker liveness, every minute)": (
        "chartinsight.heartbeat",
        crontab(minute="*"),
        {},
        "Proves beat and a worker are alive; the result shows in Flower.",
    ),
}


@app.task(name="chartinsight.heartbeat")
def heartbeat() -> str:
    """A trivial task used for liveness and round-trip tests."""
    return "ok"


@app.task(name="chartinsight.add")
def add(x: int, y: int) -> int:
    """Adds two numbers; the Celery round-trip tests use it."""
    return x + y


@celeryd_after_setup.connect
def _log_broker(sender, instance, **kwargs):
    from django.conf import settings

    logger.info("Celery worker %s uses broker %s", sender, settings.CELERY_BROKER_DISPLAY)
