import datetime as dt
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from marketdata import services
from marketdata.kiwoom import KiwoomClient, KiwoomError
from marketdata.krx_calendar import KST
from marketdata.models import Candle, IngestionRun, Stock

from ._series import SeriesRunner

# How much history `make run` loads per timeframe: several years of 1d/1w/1mo, recent weeks
# of minutes.
DEMO_DEPTH = {
    "1d": dt.timedelta(days=3 * 365),
    "1w": dt.timedelta(days=5 * 365),
    "1mo": dt.timedelta(days=10 * 365),
    "1h": dt.timedelta(days=42),
    "30m": dt.timedelta(days=28),
    "5m": dt.timedelta(days=14),
}
WAIT_SECONDS = 60
ERROR_NO_API = "The Kiwoom API at {url} did not answer within {seconds} s: {error}"


class Command(BaseCommand):
    help = (
        "Load demo market data for `make run`: when the database holds no candles yet, wait for "
        "the Kiwoom API (the local simulator by default) to answer, sync the stock master, then "
        "backfill every analysis target: 3 years of 1d, 5 of 1w, 10 of 1mo, 6 weeks of 1h, 4 of "
        "30m and 2 of 5m, with progress. When candles exist already it does nothing (the Celery "
        "beat schedules keep them current); --force loads anyway (a resumed load skips nothing "
        "and duplicates nothing). Against the real Kiwoom API it does nothing unless --force: "
        "a full load there takes hours; use sync_stocks and backfill."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even if candles exist")
        parser.add_argument("--wait", type=int, default=WAIT_SECONDS, help="Seconds to wait")

    def handle(self, *args, **options):
        if not settings.KIWOOM_IS_SIMULATOR and not options["force"]:
            self.stdout.write(
                f"KIWOOM_BASE_URL is the real Kiwoom API ({settings.KIWOOM_BASE_URL}): no demo "
                "load. Run sync_stocks, then backfill --all-targets."
            )
            return
        if Candle.objects.exists() and not options["force"]:
            newest = Candle.objects.order_by("-ts").values_list("ts", flat=True).first()
            self.stdout.write(
                f"Demo data already loaded (newest bar {newest.astimezone(KST):%Y-%m-%d %H:%M} "
                "KST); beat keeps it current. Nothing to do."
            )
            return
        self._wait_for_api(options["wait"])
        self.stdout.write("Syncing the stock master…")
        try:
            result = services.stocks_sync()
        except KiwoomError as exc:
            raise CommandError(f"Stock master not synced: {exc}") from None
        self.stdout.write(
            f"Stocks: {result.active} active, {result.analysis_targets} analysis targets."
        )
        codes = list(Stock.objects.analysis_targets().values_list("code", flat=True))
        now = timezone.now()
        timeframes = list(DEMO_DEPTH)
        runner = SeriesRunner(
            self, kind=IngestionRun.Kind.BACKFILL, codes=codes, timeframes=timeframes
        )
        runner.write(
            f"Loading demo history from {settings.KIWOOM_BASE_URL}: {len(codes)} stocks × "
            f"{', '.join(timeframes)} = {len(runner.series)} series"
        )

        def backfill(*, stock, timeframe, client, progress):
            since = (now.astimezone(KST) - DEMO_DEPTH[timeframe]).date()
            return services.series_backfill(
                stock=stock, timeframe=timeframe, since=since, progress=progress, client=client
            )

        runner.run(backfill)
        runner.finish()

    def _wait_for_api(self, seconds: int) -> None:
        url = settings.KIWOOM_BASE_URL
        self.stdout.write(f"Waiting for the Kiwoom API at {url}…")
        deadline = time.monotonic() + seconds
        with KiwoomClient.from_settings(max_attempts=1) as client:
            while True:
                try:
                    client.token()
                    return
                except KiwoomError as exc:
                    if time.monotonic() >= deadline:
                        raise CommandError(
                            ERROR_NO_API.format(url=url, seconds=seconds, error=exc)
                        ) from None
                    time.sleep(0.5)
