import shlex
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Prints, as shell assignments, what `make run` should start: the broker in use, whether "
        "Flower can run on it, and the simulator port when the Kiwoom simulator is the data source."
    )

    def handle(self, *args, **options):
        plan = {
            "BROKER": settings.CELERY_BROKER_DISPLAY,
            "FLOWER_SUPPORTED": "no" if settings.CELERY_BROKER_IS_FILESYSTEM else "yes",
            "SIMULATOR_PORT": "",
            "LOAD_DEMO_DATA": "",
        }
        base = urlparse(settings.KIWOOM_BASE_URL)
        commands = get_commands()
        local = base.hostname in ("127.0.0.1", "localhost")
        if settings.KIWOOM_IS_SIMULATOR and local and "kiwoom_simulator" in commands:
            plan["SIMULATOR_PORT"] = str(base.port or settings.KIWOOM_SIMULATOR_PORT)
        if "demo_load" in commands:
            plan["LOAD_DEMO_DATA"] = "yes"
        for key, value in plan.items():
            self.stdout.write(f"{key}={shlex.quote(value)}")
