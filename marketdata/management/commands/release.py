from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "The release step of a deploy, run once per release before the new web, worker and beat "
        "start (Render's pre-deploy command, the Procfile's `release`, compose's `migrate`): "
        "applies migrations, then syncs the periodic schedules declared in chartinsight/celery.py "
        "(schedules edited in the admin keep their edits). Safe to run any number of times."
    )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        self.stdout.write("Release 1/2: applying migrations…")
        call_command("migrate", interactive=False, verbosity=verbosity, stdout=self.stdout)
        self.stdout.write("Release 2/2: syncing periodic schedules…")
        call_command("sync_schedules", verbosity=verbosity, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Release done."))
