from datetime import date

from django.core.management.base import BaseCommand, CommandError

from marketdata import krx_calendar as cal

ERROR_YEAR = "--year must be between {first} and {last}, not {year}"


class Command(BaseCommand):
    help = (
        "Print one year of the KRX trading calendar: the weekdays without a session and the "
        "sessions with other hours (late opens, 수능 days, early closes), each with its source "
        "(the exchange-calendars XKRX calendar, or an override in marketdata/krx_calendar.py). "
        "Check them against the exchange's announcement each December; the README says how to "
        "add an override. Read-only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="e.g. 2026")

    def handle(self, *args, year: int, **options):
        if not cal.FIRST_YEAR <= year <= cal.LAST_YEAR:
            raise CommandError(
                ERROR_YEAR.format(first=cal.FIRST_YEAR, last=cal.LAST_YEAR, year=year)
            )
        days = cal.trading_days(date(year, 1, 1), date(year, 12, 31))
        regular_open, regular_close = cal.regular_hours(date(year, 12, 31))
        self.stdout.write(
            f"KRX {year}: {len(days)} sessions, regular hours "
            f"{regular_open:%H:%M}–{regular_close:%H:%M} KST (exchange-calendars "
            f"{cal.library_version()} XKRX with {len(cal.OVERRIDES)} overrides)"
        )
        closures = cal.closures(year)
        self.stdout.write(f"\nClosed weekdays ({len(closures)}):")
        for closure in closures:
            self.stdout.write(f"  {closure.day:%Y-%m-%d %a}  {closure.name}  [{closure.source}]")
        special = cal.special_sessions(year)
        self.stdout.write(f"\nSpecial sessions ({len(special)}):")
        for session in special:
            self.stdout.write(
                f"  {session.day:%Y-%m-%d %a}  {session.open:%H:%M}–{session.close:%H:%M}  "
                f"{session.name}  [{session.source}]"
            )
