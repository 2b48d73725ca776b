from django.core.management.base import BaseCommand

from marketdata import services
from marketdata.krx_calendar import TIMEFRAMES
from marketdata.models import IngestionRun

from ._series import SeriesRunner, parse_date, parse_list, parse_timeframes, target_codes


class Command(BaseCommand):
    help = (
        "Compare stored series with the KRX trading calendar (each day's real session: "
        "09:00-15:30 KST on most days, late opens and 수능 closes included; weekends and KRX "
        "holidays excluded) and re-fetch the ranges holding missing bars, from "
        "--since (default: each series' oldest stored bar) to now. Reports the bars Kiwoom could "
        "not supply either (e.g. trading halts). Safe to run any number of times."
    )

    def add_arguments(self, parser):
        parser.add_argument("--codes", help="Comma-separated codes (default: analysis targets)")
        parser.add_argument("--timeframes", help="Comma-separated timeframes (default: all six)")
        parser.add_argument("--since", help="First KST date to check, e.g. 2024-01-02")

    def handle(self, *args, **options):
        timeframes = parse_timeframes(options["timeframes"], default=list(TIMEFRAMES))
        codes = target_codes(codes=parse_list(options["codes"]), all_targets=False)
        since = parse_date(options["since"], option="--since")
        runner = SeriesRunner(
            self, kind=IngestionRun.Kind.REPAIR, codes=codes, timeframes=timeframes
        )
        runner.write(f"Repair gaps: {len(runner.series)} series")

        def repair(*, stock, timeframe, client, progress):
            result = services.series_repair_gaps(
                stock=stock, timeframe=timeframe, since=since, client=client
            )
            if result.gaps:
                missing = sum(1 for _ in result.gaps)
                runner.write(
                    f"  {stock.code} {timeframe}: {missing} gap(s) found, "
                    f"{result.changed} bars stored, {result.missing_after} still missing"
                )
            return result

        runner.run(repair)
        runner.finish()
