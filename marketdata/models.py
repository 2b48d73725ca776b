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
    code = models.CharField(
        max_length=12,
        unique=True,
        help_text=_("KRX short code, e.g. 005930"),
        verbose_name=_("code"),
    )
    name = models.CharField(
        max_length=100, help_text=_("Korean name, e.g. 삼성전자"), verbose_name=_("name")
    )
    # The name's initial consonants (marketdata/hangul.py), kept in step with `name` by save()
    # and stocks_sync: the symbol search finds ㅅㅅㅈㅈ → 삼성전자.
    name_initials = models.CharField(
        max_length=100,
        blank=True,
        editable=False,
        help_text=_("e.g. ㅅㅅㅈㅈ for 삼성전자"),
        verbose_name=_("name initials"),
    )
    market = models.CharField(max_length=10, choices=Market.choices, verbose_name=_("market"))
    industry = models.CharField(max_length=100, blank=True, verbose_name=_("industry"))
    listed_shares = models.BigIntegerField(
        null=True, blank=True, help_text=_("shares"), verbose_name=_("listed shares")
    )
    last_price = models.FloatField(
        null=True,
        blank=True,
        help_text=_("KRW, from the stock master"),
        verbose_name=_("last price"),
    )
    state = models.CharField(
        max_length=200, blank=True, help_text=_("e.g. 증거금20%|담보대출"), verbose_name=_("state")
    )
    audit_info = models.CharField(
        max_length=100, blank=True, help_text=_("e.g. 정상, 관리종목"), verbose_name=_("audit info")
    )
    order_warning = models.CharField(
        max_length=4, blank=True, default="0", verbose_name=_("order warning")
    )
    nxt_enabled = models.BooleanField(
        default=False, help_text=_("Tradable on NXT"), verbose_name=_("nxt enabled")
    )
    listed_on = models.DateField(null=True, blank=True, verbose_name=_("listed on"))
    is_active = models.BooleanField(
        default=True, help_text=_("Listed in the latest master sync"), verbose_name=_("is active")
    )
    is_analysis_target = models.BooleanField(
        default=False,
        help_text=_(
            "Filter zero: no ETF/ETN/SPAC/REIT/inverse/futures names, no 관리종목/거래정지/"
            "증거금100%, order warning 0, market cap ≥ 100 bn KRW"
        ),
        verbose_name=_("is analysis target"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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

    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="candles", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    ts = models.DateTimeField(
        help_text=_("Bar start (see the module docstring)"), verbose_name=_("ts")
    )
    open = models.FloatField(verbose_name=_("open"))
    high = models.FloatField(verbose_name=_("high"))
    low = models.FloatField(verbose_name=_("low"))
    close = models.FloatField(verbose_name=_("close"))
    volume = models.BigIntegerField(help_text=_("shares"), verbose_name=_("volume"))
    traded_value = models.BigIntegerField(
        null=True, blank=True, help_text=_("KRW"), verbose_name=_("traded value")
    )
    is_final = models.BooleanField(
        default=True,
        help_text=_("False while the bar is still forming"),
        verbose_name=_("is final"),
    )
    fetched_at = models.DateTimeField(verbose_name=_("fetched at"))

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

    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="sync_states", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    last_bar_ts = models.DateTimeField(
        null=True, blank=True, help_text=_("Newest stored bar"), verbose_name=_("last bar ts")
    )
    first_bar_ts = models.DateTimeField(
        null=True, blank=True, help_text=_("Oldest stored bar"), verbose_name=_("first bar ts")
    )
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last success at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    last_error_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last error at"))
    rows = models.PositiveIntegerField(
        default=0, help_text=_("Bars stored for this series"), verbose_name=_("rows")
    )
    backfill_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "Start of a backfill that has not completed: bars between it and the oldest stored "
            "bar may be missing (collection and gap repair fetch them)"
        ),
        verbose_name=_("backfill from"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

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

    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=_("kind"))
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, blank=True, verbose_name=_("timeframe")
    )
    codes = models.TextField(
        blank=True, help_text=_("Comma-separated codes; empty = all"), verbose_name=_("codes")
    )
    trigger = models.CharField(
        max_length=20, default="command", help_text=_("command or task"), verbose_name=_("trigger")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RUNNING, verbose_name=_("status")
    )
    started_at = models.DateTimeField(auto_now_add=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    deadline_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Still running after this (no series reported for that long): abandoned"),
        verbose_name=_("deadline at"),
    )
    series_total = models.PositiveIntegerField(default=0, verbose_name=_("series total"))
    series_done = models.PositiveIntegerField(default=0, verbose_name=_("series done"))
    series_failed = models.PositiveIntegerField(default=0, verbose_name=_("series failed"))
    requests = models.PositiveIntegerField(default=0, verbose_name=_("requests"))
    rows_upserted = models.PositiveIntegerField(default=0, verbose_name=_("rows upserted"))
    errors = models.TextField(
        blank=True, help_text=_("One line per failed series"), verbose_name=_("errors")
    )

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

    run = models.ForeignKey(
        IngestionRun, on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("run")
    )
    code = models.CharField(max_length=12, blank=True, verbose_name=_("code"))
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, blank=True, verbose_name=_("timeframe")
    )
    succeeded = models.BooleanField(verbose_name=_("succeeded"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    finished_at = models.DateTimeField(auto_now_add=True, verbose_name=_("finished at"))

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
