"""`manage.py evaluate_alerts`: the alert evaluation of stored series, from the command line."""

import time

from django.core.management.base import BaseCommand, CommandError

from alerts import services
from analysis.models import AnalysisRun
from marketdata.models import Timeframe


class Command(BaseCommand):
    help = (
        "Evaluates the alert rules on series with a stored default analysis, exactly as the "
        "task that runs after every analysis does (in batches of the same size): only bars "
        "newer than the series' last evaluation count (the first evaluation of a series is a "
        "baseline and notifies nothing), so running it twice notifies nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--codes", default="", help="Comma-separated stock codes (all)")
        parser.add_argument(
            "--timeframes", default="", help=f"Comma-separated, of {', '.join(Timeframe.values)}"
        )

    def handle(self, *args, codes: str, timeframes: str, **options):
        wanted = [t for t in timeframes.split(",") if t]
        unknown = sorted(set(wanted) - set(Timeframe.values))
        if unknown:
            raise CommandError(f"unknown timeframes: {', '.join(unknown)}")
        runs = AnalysisRun.objects.shown().exclude(last_bar_ts=None)
        if codes:
            runs = runs.filter(stock__code__in=[c.strip() for c in codes.split(",") if c])
        if wanted:
            runs = runs.filter(timeframe__in=wanted)
        series = list(
            runs.order_by("timeframe", "stock__code").values_list("stock_id", "timeframe")
        )
        started = time.perf_counter()
        notified = 0
        step = services.EVALUATION_BATCH
        for start in range(0, len(series), step):
            results = services.series_batch_alerts_evaluate(series=series[start : start + step])
            notified += sum(len(result.notifications) for result in results.values())
            done = min(start + step, len(series))
            if done // 500 > start // 500 or done == len(series):
                rate = done / max(time.perf_counter() - started, 1e-9)
                self.stdout.write(f"{done}/{len(series)} series ({rate:,.0f}/s), {notified} sent")
        self.stdout.write(
            self.style.SUCCESS(f"Evaluated {len(series)} series; {notified} notifications.")
        )
