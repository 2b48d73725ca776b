"""Stocks, OHLCV candles and the bookkeeping of their collection from Kiwoom.

`Candle.ts` is the bar's start, stored as aware UTC and shown in Asia/Seoul; the convention per
timeframe (intraday: the KST start instant; 1d/1w/1mo: 00:00 KST of the date, Monday or 1st) is
`marketdata.krx_calendar`'s.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .hangul import initials


class Timeframe(models.TextChoices):
    """The choices for timeframe columns; the codes are `krx_calendar.TIMEFRAMES`."""

    M5 = "5m", _("5 minutes")
    M30 = "30m", _("30 minutes")
    H1 = "1h", _("1 hour")
    D1 = "1d", _("Daily")
    W1 = "1w", _("Weekly")
    MO1 = "1mo", _("Monthly")


class Market(models.TextChoices):
    KOSPI = "KOSPI", "KOSPI"
    KOSDAQ = "KOSDAQ", "KOSDAQ"


class StockQuerySet(models.QuerySet):
    def active(self):
        """Stocks listed in the latest stock-master sync."""
        return self.filter(is_active=True)

    def analysis_targets(self):
        """Active stocks that pass "filter zero" (see `Stock.is_analysis_target`)."""
        return self.filter(is_active=True, is_analysis_target=True)


class Stock(models.Model):
    code = models.CharField(max_length=12, unique=True, help_text="KRX short code, e.g. 005930")
    name = models.CharField(max_length=100, help_text="Korean name, e.g. 삼성전자")
    # The name's initial consonants (marketdata/hangul.py), kept in step with `name` by save()
    # and stocks_sync: the symbol search finds ㅅㅅㅈㅈ → 삼성전자.
    name_initials = models.CharField(
        max_length=100, blank=True, editable=False, help_text="e.g. ㅅㅅㅈㅈ for 삼성전자"
    )
    market = models.CharField(max_length=10, choices=Market.choices)
    industry = models.CharField(max_length=100, blank=True)
    listed_shares = models.BigIntegerField(null=True, blank=True, help_text="shares")
    last_price = models.FloatField(null=True, blank=True, help_text="KRW, from the stock master")
    state = models.CharField(max_length=200, blank=True, help_text="e.g. 증거금20%|담보대출")
    audit_info = models.CharField(max_length=100, blank=True, help_text="e.g. 정상, 관리종목")
    order_warning = models.CharField(max_length=4, blank=True, default="0")
    nxt_enabled = models.BooleanField(default=False, help_text="Tradable on NXT")
    listed_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Listed in the latest master sync")
    is_analysis_target = models.BooleanField(
        default=False,
        help_text=(
            "Filter zero: no ETF/ETN/SPAC/REIT/inverse/futures names, no 관리종목/거래정지/"
            "증거금100%, order warning 0, market cap ≥ 100 bn KRW"
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockQuerySet.as_manager()

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stocks")
        ordering = ["code"]
        indexes = [models.Index(fields=["is_active", "is_analysis_target"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        self.name_initials = initials(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_initials"}
        super().save(*args, **kwargs)


class Candle(models.Model):
    """One OHLCV bar. Prices in KRW (adjusted), volume in shares, traded value in KRW.

    Float and bigint columns load into NumPy arrays without per-row Python conversion.
    """

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="candles")
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    ts = models.DateTimeField(help_text="Bar start (see the module docstring)")
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.BigIntegerField(help_text="shares")
    traded_value = models.BigIntegerField(null=True, blank=True, help_text="KRW")
    is_final = models.BooleanField(default=True, help_text="False while the bar is still forming")
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = _("candle")
        verbose_name_plural = _("candles")
        constraints = [
            # Also the index for "latest N bars of one series" (scanned backwards).
            models.UniqueConstraint(
                fields=["stock", "timeframe", "ts"], name="candle_unique_stock_timeframe_ts"
            ),
            models.CheckConstraint(
                condition=models.Q(high__gte=models.F("low")), name="candle_high_gte_low"
            ),
            models.CheckConstraint(condition=models.Q(volume__gte=0), name="candle_volume_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.timeframe} {self.ts:%Y-%m-%d %H:%M}"


class SyncState(models.Model):
    """Where the collection of one (stock, timeframe) series stands."""

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="sync_states")
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    last_bar_ts = models.DateTimeField(null=True, blank=True, help_text="Newest stored bar")
    first_bar_ts = models.DateTimeField(null=True, blank=True, help_text="Oldest stored bar")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Bars stored for this series")
    backfill_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Start of a backfill that has not completed: bars between it and the oldest stored "
            "bar may be missing (collection and gap repair fetch them)"
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sync state")
        verbose_name_plural = _("sync states")
        constraints = [
            models.UniqueConstraint(fields=["stock", "timeframe"], name="syncstate_unique_series")
        ]
        indexes = [models.Index(fields=["timeframe", "last_success_at"])]

    def __str__(self) -> str:
        return f"{self.stock} {self.timeframe}"


class IngestionRun(models.Model):
    """One run of a collection job (command or Celery task), for the admin and /healthz."""

    class Kind(models.TextChoices):
        SYNC_STOCKS = "sync_stocks", "Stock master sync"
        BACKFILL = "backfill", "Backfill"
        COLLECT = "collect", "Incremental collection"
        REPAIR = "repair", "Gap repair"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned (no report before its deadline)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices, blank=True)
    codes = models.TextField(blank=True, help_text="Comma-separated codes; empty = all")
    trigger = models.CharField(max_length=20, default="command", help_text="command or task")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Still running after this (no series reported for that long): abandoned",
    )
    series_total = models.PositiveIntegerField(default=0)
    series_done = models.PositiveIntegerField(default=0)
    series_failed = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    rows_upserted = models.PositiveIntegerField(default=0)
    errors = models.TextField(blank=True, help_text="One line per failed series")

    class Meta:
        verbose_name = _("ingestion run")
        verbose_name_plural = _("ingestion runs")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["kind", "timeframe", "-started_at"]),
            models.Index(fields=["status", "deadline_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.timeframe} {self.started_at:%Y-%m-%d %H:%M}"


class IngestionRunSeries(models.Model):
    """The outcome of one series of a run, written once: a task delivered twice (after a lost
    worker) cannot count its series twice. The stock master sync is one part without a code."""

    run = models.ForeignKey(IngestionRun, on_delete=models.CASCADE, related_name="outcomes")
    code = models.CharField(max_length=12, blank=True)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices, blank=True)
    succeeded = models.BooleanField()
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ingestion run series")
        verbose_name_plural = _("ingestion run series")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "code", "timeframe"], name="ingestionrunseries_unique_series"
            )
        ]

    def __str__(self) -> str:
        outcome = "succeeded" if self.succeeded else "failed"
        return f"{self.code} {self.timeframe} {outcome}".strip()
