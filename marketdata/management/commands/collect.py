from django.core.management.base import BaseCommand

from marketdata import services
from marketdata.models import IngestionRun

from ._series import SeriesRunner, parse_list, parse_timeframes, target_codes


class Command(BaseCommand):
    help = (
        "Bring series up to date: re-read from shortly before the oldest still-forming (or the "
        "newest) stored bar up to now and upsert, so the formerly forming bar is corrected and "
        "an outage is filled; an empty series gets a default-depth backfill. Covers --codes or, "
        "by default, every analysis target. Safe to run any number of times; a failed series "
        "is reported, the others complete, and the exit status is non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeframe", required=True, help="One of 5m, 30m, 1h, 1d, 1w, 1mo")
        parser.add_argument("--codes", help="Comma-separated codes (default: analysis targets)")

    def handle(self, *args, **options):
        timeframes = parse_timeframes(options["timeframe"], default=[])
        codes = target_codes(codes=parse_list(options["codes"]), all_targets=False)
        runner = SeriesRunner(
            self, kind=IngestionRun.Kind.COLLECT, codes=codes, timeframes=timeframes
        )
        runner.write(f"Collect {timeframes[0]}: {len(codes)} series")

        def collect(*, stock, timeframe, client, progress):
            return services.series_collect(
                stock=stock, timeframe=timeframe, progress=progress, client=client
            )

        runner.run(collect)
        runner.finish()
