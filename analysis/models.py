"""Stored analysis results, keyed by timestamps (bar indexes are slice-relative).

One `AnalysisRun` per (stock, timeframe, parameters) holds the full `AnalysisResult.to_dict()`
(so the Radar can serve it without recomputing) and is the parent of the rows the scanner
queries: `SwingPoint`, `TrendPeriod` and `PatternInstance`. A re-analysis replaces the run's
children atomically. Instants are aware UTC in the database (Asia/Seoul on screen).
"""

import orjson
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from psycopg.types.json import Json

from marketdata.models import Stock, Timeframe


class Detector(models.TextChoices):
    """The swing detectors a run is made with (`analysis.engine.DETECTORS`, same names):
    docs/analysis-rules.md, "Structural detector"."""

    ATR = "atr", _("ATR")
    STRUCTURAL = "structural", _("Structural (original)")


def default_detector() -> str:
    """The detector shown wherever a user did not pick one: `settings.ANALYSIS_DEFAULT_DETECTOR`
    (checked against `DETECTORS` when Django starts, `analysis.apps`)."""
    return settings.ANALYSIS_DEFAULT_DETECTOR


def _detector_field():
    return models.CharField(
        max_length=20,
        choices=Detector.choices,
        default=Detector.ATR,
        help_text=_("Swing detector of the run (rows made before detectors were stored: atr)"),
    )


class DetectedPatternType(models.TextChoices):
    DT = "DT", _("Double top")
    DB = "DB", _("Double bottom")
    HS = "HS", _("Head and shoulders")
    IHS = "IHS", _("Inverse head and shoulders")


class PatternStatus(models.TextChoices):
    FORMING = "forming", _("Forming")
    COMPLETED = "completed", _("Completed")
    INVALIDATED = "invalidated", _("Invalidated")


class PatternOutcome(models.TextChoices):
    """What happened after a pattern completed (docs/analysis-rules.md#outcomes)."""

    TARGET = "target", _("Target reached")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class TrendState(models.TextChoices):
    UP = "up", _("Uptrend")
    DOWN = "down", _("Downtrend")
    SIDEWAYS = "sideways", _("Sideways")


class TrendDirection(models.TextChoices):
    UP = "up", _("Uptrend")
    DOWN = "down", _("Downtrend")


class SwingKind(models.TextChoices):
    PEAK = "peak", _("Peak")
    VALLEY = "valley", _("Valley")


class SwingLevel(models.TextChoices):
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")


JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_bytes(value) -> bytes:
    """`value` as JSON text (UTF-8), by orjson: ten times as fast as the json module on a run's
    result (README, "Performance"). NaN and infinities become null (PostgreSQL's json accepts
    no other spelling); numpy numbers are written as numbers."""
    return orjson.dumps(value, option=JSON_OPTIONS)


class WholeJSONField(models.JSONField):
    """A JSONField kept as PostgreSQL `json` (its text, validated) instead of `jsonb`, for
    documents only ever written and read whole: parsing a run's ~100 KB result into jsonb cost a
    third of PostgreSQL's time to store it, for operators and indexes this column never uses
    (README, "Performance"). Other databases store it as JSONField does."""

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        return Json(value, dumps=json_bytes)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value  # psycopg decodes `json` itself
        return super().from_db_value(value, expression, connection)


def _run_stock_field() -> models.ForeignKey:
    """The stock of one of a run's rows (swing point, trend period, pattern), a copy of its
    run's, for reads by stock through the row's (stock, timeframe, instant) index. No database
    constraint or index of its own: the run's foreign key already vouches for it, and checking
    it for each of the ~1,300 rows a series stores cost PostgreSQL as much as the rest of the
    write (README, "Performance"). Deleting a stock still deletes the rows (Django's cascade)."""
    return models.ForeignKey(
        Stock,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("stock"),
        db_constraint=False,
        db_index=False,
    )


class AnalysisRunQuerySet(models.QuerySet):
    def default_params(self):
        """Runs made with their detector's default parameters, of every detector."""
        return self.filter(is_default=True)

    def shown(self, detector: str | None = None):
        """Default-parameter runs of `detector` (`default_detector()` when None): what the
        Radar, the Scanner and the alerts read."""
        return self.filter(is_default=True, detector=detector or default_detector())


class AnalysisRun(models.Model):
    """The latest analysis of one series with one detector and parameter set."""

    stock = models.ForeignKey(
        Stock, on_delete=models.CASCADE, related_name="analysis_runs", verbose_name=_("stock")
    )
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    detector = _detector_field()
    params_hash = models.CharField(
        max_length=64,
        help_text=_("SHA-256 of the key-sorted params"),
        verbose_name=_("params hash"),
    )
    params = models.JSONField(
        help_text=_("Detector parameters, e.g. sensitivity, ATR multiple"), verbose_name=_("params")
    )
    is_default = models.BooleanField(
        default=True,
        help_text=_("Made with its detector's default parameters"),
        verbose_name=_("is default"),
    )
    engine_version = models.CharField(max_length=20, verbose_name=_("engine version"))
    bars = models.PositiveIntegerField(help_text=_("Bars analysed"), verbose_name=_("bars"))
    first_bar_ts = models.DateTimeField(null=True, blank=True, verbose_name=_("first bar ts"))
    last_bar_ts = models.DateTimeField(
        null=True, blank=True, help_text=_("Newest analysed bar"), verbose_name=_("last bar ts")
    )
    bars_fingerprint = models.CharField(
        max_length=64,
        help_text=_("SHA-256 of the analysed bars; unchanged bars skip re-analysis"),
        verbose_name=_("bars fingerprint"),
    )
    last_close = models.FloatField(
        null=True, blank=True, help_text=_("KRW, newest analysed bar"), verbose_name=_("last close")
    )
    trend_state = models.CharField(
        max_length=10, choices=TrendState.choices, verbose_name=_("trend state")
    )
    trend_since_ts = models.DateTimeField(null=True, blank=True, verbose_name=_("trend since ts"))
    result = WholeJSONField(
        help_text=_("AnalysisResult.to_dict() of the analysed bars"), verbose_name=_("result")
    )
    analysed_at = models.DateTimeField(verbose_name=_("analysed at"))
    duration_ms = models.FloatField(
        help_text=_("analyze() time in milliseconds"), verbose_name=_("duration ms")
    )

    objects = AnalysisRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("analysis run")
        verbose_name_plural = _("analysis runs")
        constraints = [
            models.UniqueConstraint(
                fields=["stock", "timeframe", "detector", "params_hash"],
                name="analysisrun_unique_params",
            )
        ]
        indexes = [models.Index(fields=["timeframe", "detector", "is_default", "trend_state"])]

    def __str__(self) -> str:
        return f"{self.stock_id} {self.timeframe} {self.detector} {self.params_hash[:8]}"


class SwingPoint(models.Model):
    # No database constraint: swing points are nine rows in ten that a run stores, written only
    # by `analysis.services.runs_store` in the transaction that writes their run, and deleted with
    # it by Django's cascade; checking the key for each row cost PostgreSQL a quarter of its time
    # per series (README, "Performance").
    run = models.ForeignKey(
        AnalysisRun,
        on_delete=models.CASCADE,
        related_name="swing_points",
        verbose_name=_("run"),
        db_constraint=False,
    )
    stock = _run_stock_field()
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    detector = _detector_field()
    kind = models.CharField(max_length=6, choices=SwingKind.choices, verbose_name=_("kind"))
    level = models.CharField(max_length=5, choices=SwingLevel.choices, verbose_name=_("level"))
    ts = models.DateTimeField(help_text=_("Bar of the point"), verbose_name=_("ts"))
    price = models.FloatField(
        help_text=_("KRW: the High of a peak, the Low of a valley"), verbose_name=_("price")
    )
    confirmed_ts = models.DateTimeField(
        help_text=_("First bar at which the point was known"), verbose_name=_("confirmed ts")
    )
    strength = models.FloatField(
        help_text=_("Swing size in ATR units at confirmation"), verbose_name=_("strength")
    )

    class Meta:
        verbose_name = _("swing point")
        verbose_name_plural = _("swing points")
        indexes = [models.Index(fields=["stock", "timeframe", "ts"])]

    def __str__(self) -> str:
        return f"{self.level} {self.kind} {self.ts:%Y-%m-%d %H:%M}"


class TrendPeriod(models.Model):
    run = models.ForeignKey(
        AnalysisRun, on_delete=models.CASCADE, related_name="trend_periods", verbose_name=_("run")
    )
    stock = _run_stock_field()
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    detector = _detector_field()
    direction = models.CharField(
        max_length=4, choices=TrendDirection.choices, verbose_name=_("direction")
    )
    start_ts = models.DateTimeField(verbose_name=_("start ts"))
    end_ts = models.DateTimeField(verbose_name=_("end ts"))
    ongoing = models.BooleanField(
        default=False, help_text=_("Still running at the last bar"), verbose_name=_("ongoing")
    )

    class Meta:
        verbose_name = _("trend period")
        verbose_name_plural = _("trend periods")
        indexes = [models.Index(fields=["stock", "timeframe", "start_ts"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_ts__gte=models.F("start_ts")),
                name="trendperiod_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.start_ts:%Y-%m-%d}..{self.end_ts:%Y-%m-%d}"


class PatternInstanceQuerySet(models.QuerySet):
    def shown(self, detector: str | None = None):
        """Patterns of `detector`'s default-parameter runs (`default_detector()` when None)."""
        return self.filter(run__is_default=True, detector=detector or default_detector())

    def scan(
        self,
        *,
        timeframe: str,
        pattern_type: str | None = None,
        status: str | None = None,
        since=None,
        min_score: float | None = None,
        market: str | None = None,
        detector: str | None = None,
    ):
        """Patterns of `detector`'s default-parameter runs (`default_detector()` when None) on
        `timeframe`, newest end first.

        `since` bounds `end_ts` (the completion/invalidation bar, or the last analysed bar
        while forming), e.g. "completed double bottoms on 1d in the last 5 trading days":
        `scan(timeframe="1d", pattern_type="DB", status="completed", since=cutoff)`. Served by
        the (timeframe, detector, pattern_type, status, end_ts) index; stock and run come joined.
        """
        qs = self.shown(detector).filter(timeframe=timeframe)
        if pattern_type:
            qs = qs.filter(pattern_type=pattern_type)
        if status:
            qs = qs.filter(status=status)
        if since is not None:
            qs = qs.filter(end_ts__gte=since)
        if min_score is not None:
            qs = qs.filter(score__gte=min_score)
        if market:
            qs = qs.filter(stock__market=market)
        return (
            qs.select_related("stock", "run")
            .defer("run__result", "run__params")
            .order_by("-end_ts", "stock__code", "pk")
        )


class PatternInstance(models.Model):
    run = models.ForeignKey(
        AnalysisRun, on_delete=models.CASCADE, related_name="patterns", verbose_name=_("run")
    )
    stock = _run_stock_field()
    timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, verbose_name=_("timeframe")
    )
    detector = _detector_field()
    pattern_type = models.CharField(
        max_length=3, choices=DetectedPatternType.choices, verbose_name=_("pattern type")
    )
    status = models.CharField(
        max_length=11, choices=PatternStatus.choices, verbose_name=_("status")
    )
    start_ts = models.DateTimeField(verbose_name=_("start ts"))
    end_ts = models.DateTimeField(
        help_text=_("Completion/invalidation bar; last bar if forming"), verbose_name=_("end ts")
    )
    detected_ts = models.DateTimeField(
        help_text=_("Bar at which the pattern became known"), verbose_name=_("detected ts")
    )
    points = models.JSONField(
        help_text=_("{role: {ts, price}}, e.g. P1, V1, P2"), verbose_name=_("points")
    )
    neckline = models.JSONField(
        help_text=_("{level} or {start: {ts, price}, end: {ts, price}}"), verbose_name=_("neckline")
    )
    neckline_price = models.FloatField(
        help_text=_("KRW: the neckline at end_ts"), verbose_name=_("neckline price")
    )
    target = models.FloatField(
        help_text=_("KRW: measured move from the neckline"), verbose_name=_("target")
    )
    score = models.FloatField(
        help_text=_("0..1: estimated probability of reaching the target"), verbose_name=_("score")
    )
    features = models.JSONField(
        default=dict,
        help_text=_("Geometry the score is computed from (height_atr, quality, …)"),
        verbose_name=_("features"),
    )
    outcome = models.CharField(
        max_length=7,
        choices=PatternOutcome.choices,
        blank=True,
        default="",
        help_text=_(
            "After completion: target, failed or expired; empty while pending or "
            "not completed. Never changes once set."
        ),
        verbose_name=_("outcome"),
    )
    outcome_ts = models.DateTimeField(
        null=True, blank=True, help_text=_("Bar that set the outcome"), verbose_name=_("outcome ts")
    )
    bars_to_target = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("bars to target")
    )
    entry_price = models.FloatField(
        null=True, blank=True, help_text=_("KRW: completion close"), verbose_name=_("entry price")
    )
    mfe_pct = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Max favourable excursion after completion, percent of entry"),
        verbose_name=_("mfe pct"),
    )
    mae_pct = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Max adverse excursion after completion, percent of entry"),
        verbose_name=_("mae pct"),
    )

    objects = PatternInstanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("pattern instance")
        verbose_name_plural = _("pattern instances")
        indexes = [
            models.Index(fields=["timeframe", "detector", "pattern_type", "status", "end_ts"]),
            models.Index(fields=["stock", "timeframe", "start_ts"]),
            # The statistics page and the Scanner's success rates group by these.
            models.Index(fields=["pattern_type", "timeframe", "detector", "status", "outcome"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0) & models.Q(score__lte=1),
                name="patterninstance_score_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome="", outcome_ts__isnull=True)
                | (~models.Q(outcome="") & models.Q(outcome_ts__isnull=False, status="completed")),
                name="patterninstance_outcome_has_its_bar",
            ),
            models.CheckConstraint(
                condition=models.Q(bars_to_target__isnull=True) | models.Q(outcome="target"),
                name="patterninstance_bars_to_target_only_on_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pattern_type} {self.status} {self.end_ts:%Y-%m-%d %H:%M}"


class PatternCalibration(models.Model):
    """A versioned parameter set of the calibrated score (`analysis.calibration`), fitted by
    `manage.py calibrate_patterns` from stored outcomes. The newest version is the one in use;
    older ones stay for comparison."""

    version = models.PositiveIntegerField(unique=True, verbose_name=_("version"))
    fitted_at = models.DateTimeField(verbose_name=_("fitted at"))
    engine_version = models.CharField(
        max_length=20,
        help_text=_("Engine of the patterns fitted"),
        verbose_name=_("engine version"),
    )
    samples = models.PositiveIntegerField(
        help_text=_("Resolved outcomes the fit used"), verbose_name=_("samples")
    )
    params = models.JSONField(help_text=_("calibration_fit() output"), verbose_name=_("params"))

    class Meta:
        verbose_name = _("pattern calibration")
        verbose_name_plural = _("pattern calibrations")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"calibration v{self.version} ({self.samples} outcomes)"
