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
    # Time limits and the broker's visibility timeout come from settings
    # (CELERY_TASK_TIME_LIMIT, CELERY_VISIBILITY_TIMEOUT). A task is acknowledged when it ends,
    # and one whose worker process died goes back to the queue, so a lost worker loses no task.
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


# name -> (task, schedule, kwargs, description). Times are Asia/Seoul. The crontabs cover every
# tick a session might need (weekdays; 09:00 to 16:55 for the 10:00–16:30 수능 session); each
# collection task checks the KRX calendar (marketdata/krx_calendar.py) and skips the ticks
# outside that day's session, so holidays, late opens and late closes need no schedule of their own.
PERIODIC_TASKS: dict[str, tuple[str, crontab, dict, str]] = {
    "Heartbeat (worker liveness, every minute)": (
        "chartinsight.heartbeat",
        crontab(minute="*"),
        {},
        "Proves beat and a worker are alive; the result shows in Flower.",
    ),
    # Market data (marketdata/tasks.py).
    # 5m bars: every 5 minutes while the session runs (the bar that closed is stored final and
    # the forming one is refreshed). Analysis targets only.
    "Collect 5m bars (every 5 minutes, session)": (
        "marketdata.collect_timeframe",
        crontab(minute="*/5", hour="9-16", day_of_week="mon-fri"),
        {"timeframe": "5m"},
        "Every 5 minutes from the open to the close (09:00-15:30 KST on most days) on trading "
        "days; analysis targets.",
    ),
    # 30m bars close at :00 and :30.
    "Collect 30m bars (at each 30m close)": (
        "marketdata.collect_timeframe",
        crontab(minute="0,30", hour="9-16", day_of_week="mon-fri"),
        {"timeframe": "30m"},
        "At :00 and :30 from the open to the close on trading days; analysis targets.",
    ),
    # 1h bars close on the hour; the last, half-hour bar is closed by the sweep.
    "Collect 1h bars (at each hourly close)": (
        "marketdata.collect_timeframe",
        crontab(minute="0", hour="10-16", day_of_week="mon-fri"),
        {"timeframe": "1h"},
        "On the hour from the open to the close on trading days; analysis targets.",
    ),
    # 15:40 after a 15:30 close, 16:40 after a 16:30 수능 close (the task runs at the first of
    # the two after the day's close): the session's last minute bars become final.
    "Sweep minute bars after the close (15:40 / 16:40)": (
        "marketdata.sweep_after_close",
        crontab(minute="40", hour="15-16", day_of_week="mon-fri"),
        {},
        "10 minutes after the day's close (15:40 KST, 16:40 on a 수능 day): re-collects "
        "5m/30m/1h so the last bars are final.",
    ),
    # 18:10, after after-hours trading (until 18:00) so daily volumes are complete.
    "Collect daily, weekly, monthly bars (18:10)": (
        "marketdata.collect_after_close",
        crontab(minute="10", hour="18", day_of_week="mon-fri"),
        {},
        "18:10 KST on trading days, after after-hours trading: 1d, 1w, 1mo.",
    ),
    # 19:00: compare every series with the KRX calendar and re-fetch missing bars.
    "Repair gaps in stored series (19:00)": (
        "marketdata.repair_gaps",
        crontab(minute="0", hour="19", day_of_week="mon-fri"),
        {},
        "19:00 KST on trading days: re-fetches bars missing against the KRX calendar.",
    ),
    # Every 10 minutes, every day: a run no series has reported to for
    # MARKETDATA_RUN_DEADLINE_SECONDS (its tasks lost) is closed as abandoned, not left running.
    "Close abandoned ingestion runs (every 10 minutes)": (
        "marketdata.close_abandoned_runs",
        crontab(minute="*/10"),
        {},
        "Every 10 minutes: runs past their deadline are marked abandoned.",
    ),
    # Every minute: analysed series still waiting for their alert evaluation (the task each
    # analysis queues was lost to a broker or Redis outage); one query when none waits.
    "Evaluate alerts left pending (every minute)": (
        "alerts.evaluate_pending",
        crontab(minute="*"),
        {},
        "Every minute: evaluates the alert rules on analysed series still waiting (a safety net).",
    ),
    # Monday 08:00, before the open: listings, delistings, states and the analysis targets.
    "Sync the stock master (Monday 08:00)": (
        "marketdata.sync_stocks",
        crontab(minute="0", hour="8", day_of_week="mon"),
        {},
        "Monday 08:00 KST: ka10099 for KOSPI and KOSDAQ; new, delisted, filter zero.",
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
