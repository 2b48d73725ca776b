import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from chartinsight.celery import PERIODIC_TASKS
from marketdata.krx_calendar import KST


class Command(BaseCommand):
    help = (
        "Sync the periodic schedules declared in chartinsight/celery.py into django-celery-beat. "
        "Missing schedules are created; schedules already in the database keep the edits made in "
        "the admin unless --reset is given. Safe to run any number of times."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Overwrite admin edits with the declared schedule."
        )

    @transaction.atomic
    def handle(self, *args, reset: bool = False, **options):
        created = updated = kept = 0
        for name, (task, schedule, kwargs, description) in PERIODIC_TASKS.items():
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=schedule._orig_minute,
                hour=schedule._orig_hour,
                day_of_week=schedule._orig_day_of_week,
                day_of_month=schedule._orig_day_of_month,
                month_of_year=schedule._orig_month_of_year,
                timezone=KST.key,
            )
            values = {
                "task": task,
                "crontab": crontab,
                "kwargs": json.dumps(kwargs),
                "description": description,
            }
            existing = PeriodicTask.objects.filter(name=name).first()
            if existing is None:
                PeriodicTask.objects.create(name=name, **values)
                created += 1
            elif reset:
                for field, value in values.items():
                    setattr(existing, field, value)
                existing.enabled = True
                existing.save()
                updated += 1
            else:
                kept += 1
        self.stdout.write(
            f"Schedules: {created} created, {updated} reset, {kept} kept as edited in the admin."
        )
