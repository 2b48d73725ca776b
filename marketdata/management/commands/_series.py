"""What the series commands (backfill, collect, repair_gaps, demo_load) share: parsing codes and
timeframes, running one service per series with progress output, and the run record."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from django.core.management.base import CommandError

from marketdata import services
from marketdata.kiwoom import KiwoomClient, KiwoomError
from marketdata.krx_calendar import TIMEFRAMES
from marketdata.models import Stock

logger = logging.getLogger(__name__)

ERROR_NO_SERIES = "No series to process: give --codes or run sync_stocks first"
ERROR_FAILED_SERIES = (
    "{failed} of {total} series failed ({succeeded} succeeded); failed: {names}. Errors: {errors}"
)
ERROR_BAD_DATE = "{option} must be a date like 2020-10-12, not {value!r}"
PROGRESS_EVERY_SECONDS = 1.0


def parse_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def parse_timeframes(value: str | None, *, default: list[str]) -> list[str]:
    timeframes = parse_list(value) or default
    for timeframe in timeframes:
        if timeframe not in TIMEFRAMES:
            raise CommandError(services.ERROR_UNKNOWN_TIMEFRAME.format(timeframe=timeframe))
    return timeframes


def parse_date(value: str | None, *, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(ERROR_BAD_DATE.format(option=option, value=value)) from None


def target_codes(*, codes: list[str], all_targets: bool) -> list[str]:
    if all_targets or not codes:
        found = list(Stock.objects.analysis_targets().values_list("code", flat=True))
        return sorted(set(found) | set(codes))
    return codes


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class SeriesRunner:
    """Runs `operation(stock, timeframe, client, progress)` over codes × timeframes, printing
    progress (series, pages, rows, rate, ETA) and a summary; a failed series is reported and
    the others continue. `finish()` raises CommandError when any series failed."""

    def __init__(self, command, *, kind: str, codes: list[str], timeframes: list[str]):
        self.command = command
        self.kind = kind
        self.codes = codes
        self.timeframes = timeframes
        self.series = [(code, tf) for tf in timeframes for code in codes]
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.rows = 0
        self.changed = 0
        self.pages = 0
        self.client = KiwoomClient.from_settings()
        self.started = time.monotonic()
        self._last_print = 0.0
        self._index = 0

    def write(self, line: str) -> None:
        self.command.stdout.write(line)
        self.command.stdout.flush()

    def _status(self, fraction_of_series: float) -> str:
        elapsed = time.monotonic() - self.started
        total = len(self.series)
        done = (self._index + fraction_of_series) / total if total else 1.0
        eta = elapsed * (1 - done) / done if done > 0 else 0
        rate = self.rows / elapsed if elapsed > 0 else 0
        requests = self.client.requests / elapsed if elapsed > 0 else 0
        return (
            f"{done:4.0%} · {self.pages} pages · {self.rows:,} rows · {rate:,.0f} rows/s · "
            f"{requests:.1f} req/s · elapsed {_clock(elapsed)} · ETA {_clock(eta)}"
        )

    def run(
        self,
        operation: Callable[..., services.SeriesResult],
    ) -> None:
        if not self.series:
            raise CommandError(ERROR_NO_SERIES)
        run = services.ingestion_run_start(
            kind=self.kind,
            timeframe=self.timeframes[0] if len(self.timeframes) == 1 else "",
            codes=self.codes,
            trigger="command",
            series_total=len(self.series),
        )
        try:
            for index, (code, timeframe) in enumerate(self.series):
                self._index = index
                self._run_one(run.pk, code, timeframe, operation)
        finally:
            self.client.close()

    def _run_one(self, run_id: int, code: str, timeframe: str, operation) -> None:
        label = f"[{self._index + 1}/{len(self.series)}] {code} {timeframe}"
        base_rows, base_pages = self.rows, self.pages

        def progress(result: services.SeriesResult, fraction: float) -> None:
            self.rows = base_rows + result.fetched
            self.pages = base_pages + result.pages
            now = time.monotonic()
            if now - self._last_print >= PROGRESS_EVERY_SECONDS:
                self._last_print = now
                self.write(f"  {label}: page {result.pages} · {self._status(fraction)}")

        try:
            stock = services.stock_get(code=code)
            result = operation(
                stock=stock, timeframe=timeframe, client=self.client, progress=progress
            )
        except Exception as exc:  # one series never sinks the run: record it, go on
            if isinstance(exc, KiwoomError | services.IngestionError):
                reason = str(exc)
            else:
                logger.exception("%s %s failed", code, timeframe)
                reason = f"{type(exc).__name__}: {exc}"
            message = f"{code} {timeframe}: {reason}"
            self.failed.append(f"{code} {timeframe}")
            self.errors.append(message)
            services.ingestion_run_record(
                run_id=run_id, code=code, timeframe=timeframe, error=message
            )
            self.command.stderr.write(f"{label}: FAILED {reason}")
            return
        self.rows = base_rows + result.fetched
        self.pages = base_pages + result.pages
        self.changed += result.changed
        services.ingestion_run_record(run_id=run_id, code=code, timeframe=timeframe, result=result)
        self.write(
            f"{label}: {result.pages} pages, {result.fetched:,} bars read, "
            f"{result.changed:,} new or changed · {self._status(1.0)}"
        )

    def finish(self) -> None:
        """Prints the summary (succeeded/failed of the series); CommandError naming the failed
        series when any failed."""
        elapsed = time.monotonic() - self.started
        done = len(self.series) - len(self.failed)
        self.write(
            f"Done: {done}/{len(self.series)} series succeeded, {len(self.failed)} failed; "
            f"{self.pages} pages, {self.rows:,} bars read, {self.changed:,} new or changed, "
            f"{self.client.requests} requests in {_clock(elapsed)}."
        )
        if self.failed:
            raise CommandError(
                ERROR_FAILED_SERIES.format(
                    failed=len(self.failed),
                    total=len(self.series),
                    succeeded=done,
                    names=", ".join(self.failed),
                    errors="; ".join(self.errors),
                )
            )
