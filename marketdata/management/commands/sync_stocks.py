from django.core.management.base import BaseCommand, CommandError

from marketdata import services
from marketdata.kiwoom import KiwoomError
from marketdata.models import IngestionRun


class Command(BaseCommand):
    help = (
        "Replace the stock master with Kiwoom's KOSPI and KOSDAQ lists (ka10099): new codes "
        "become active, codes no longer listed inactive, and every stock's analysis-target flag "
        "(filter zero: no ETF/ETN/SPAC/REIT/inverse/futures names, no 관리종목/거래정지/"
        "증거금100%, order warning 0, market cap ≥ 100 bn KRW) is recomputed. Nothing is "
        "written unless both lists were read completely. Safe to run any number of times."
    )

    def handle(self, *args, **options):
        run = services.ingestion_run_start(
            kind=IngestionRun.Kind.SYNC_STOCKS, trigger="command", series_total=1
        )
        self.stdout.write("Reading the KOSPI and KOSDAQ stock lists from Kiwoom…")
        try:
            result = services.stocks_sync()
        except Exception as exc:  # recorded whatever it is, so the run never stays running
            known = isinstance(exc, KiwoomError)
            error = str(exc) if known else f"{type(exc).__name__}: {exc}"
            services.ingestion_run_record(run_id=run.pk, error=f"stock master: {error}")
            if known:
                raise CommandError(f"Stock master not synced: {exc}") from None
            raise
        services.ingestion_run_record(run_id=run.pk)
        self.stdout.write(
            f"Stocks: {result.created} new, {result.updated} updated, {result.reactivated} "
            f"re-listed, {result.deactivated} no longer listed; {result.active} active, "
            f"{result.analysis_targets} analysis targets."
        )
