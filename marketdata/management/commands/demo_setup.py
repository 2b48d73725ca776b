import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_CREDENTIALS_FILE = settings.VAR_DIR / "demo-login.txt"


class Command(BaseCommand):
    help = (
        "Demo mode only (used by `make run`): create the staff login `demo` with a random "
        "password, "
        "print it once and keep it in var/demo-login.txt (readable by you only). "
        "Does nothing when the user already exists. Refuses to run with DEBUG off."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup only runs in demo mode (DEBUG=true).")
        User = get_user_model()
        if User.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write(
                f"Demo login `{DEMO_USERNAME}` exists; its password is in {DEMO_CREDENTIALS_FILE}."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(DEMO_USERNAME, email="", password=password)
        DEMO_CREDENTIALS_FILE.write_text(f"username: {DEMO_USERNAME}\npassword: {password}\n")
        DEMO_CREDENTIALS_FILE.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("Demo login created (shown once):"))
        self.stdout.write(f"    username: {DEMO_USERNAME}\n    password: {password}")
        self.stdout.write(f"    (also kept in {DEMO_CREDENTIALS_FILE})")
