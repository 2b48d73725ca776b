from django.core.management.base import BaseCommand, CommandError

from marketdata import services
from marketdata.models import IngestionRun

from ._series import SeriesRunner, parse_date, parse_list, parse_timeframes, target_codes


class Command(BaseCommand):
    help = (
        "Load the history of (stock, timeframe) series from Kiwoom into the database. "
        "Pages run newest-first from --until (default: now) back to --since; each page is "
        "upserted in its own transaction, so an interrupted backfill is resumed by running it "
        "again (no holes, no duplicates) and running it twice changes nothing. Default depths "
        "when --since is omitted: 5m 3 months, 30m 6 months, 1h 1 year, 1d 5 years, 1w and 1mo "
        "10 years. A bad code or a dead API is reported, the other series still complete, and "
        "the exit status is non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("--codes", help="Comma-separated stock codes, e.g. 005930,000660")
        parser.add_argument(
            "--all-targets", action="store_true", help="Every analysis target (filter zero)"
        )
        parser.add_argument(
            "--timeframes",
            default="1d",
            help="Comma-separated timeframes among 5m,30m,1h,1d,1w,1mo (default 1d)",
        )
        parser.add_argument("--since", help="First KST date to load, e.g. 2020-10-12")
        parser.add_argument("--until", help="Last KST date to load (default: up to now)")

    def handle(self, *args, **options):
        codes = parse_list(options["codes"])
        if not codes and not options["all_targets"]:
            raise CommandError("Give --codes 005930,000660 or --all-targets")
        timeframes = parse_timeframes(options["timeframes"], default=["1d"])
        since = parse_date(options["since"], option="--since")
        until = parse_date(options["until"], option="--until")
        if since and until and since > until:
            raise CommandError(services.ERROR_SINCE_AFTER_UNTIL.format(since=since, until=until))
        codes = target_codes(codes=codes, all_targets=options["all_targets"])
        runner = SeriesRunner(
            self, kind=IngestionRun.Kind.BACKFILL, codes=codes, timeframes=timeframes
        )
        runner.write(
            f"Backfill: {len(codes)} codes × {', '.join(timeframes)} = {len(runner.series)} series"
        )

        def backfill(*, stock, timeframe, client, progress):
            return services.series_backfill(
                stock=stock,
                timeframe=timeframe,
                since=since or services.default_since(timeframe=timeframe),
                until=until,
                progress=progress,
                client=client,
            )

        runner.run(backfill)
        runner.finish()
