"""Pattern statistics from the stored outcomes (docs/analysis-rules.md#outcomes): the
`/patterns/stats/` table and calibration curve, and the Scanner's historical success rates.

Only completed patterns of one swing detector's default-parameter runs count (the Scanner's
population; `detector=None` is `ANALYSIS_DEFAULT_DETECTOR`, as `PatternInstance.objects.shown`).
"Resolved" means the outcome is set (target, failed or expired); rates are shares of the
resolved ones.
"""

from __future__ import annotations

from django.db.models import Aggregate, Avg, Count, F, FloatField, Q, Value
from django.db.models.functions import Floor, Least

from ..models import PatternInstance, PatternOutcome, PatternStatus
from ..stats_figures import calibration_curve_figure, outcome_histogram_figure
from .calibration import active_calibration

CALIBRATION_BINS = 10
RESOLVED = ~Q(outcome="")


class Median(Aggregate):
    """PostgreSQL's continuous median (`percentile_cont(0.5)`); NULLs are ignored."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _completed(
    *, pattern_type: str = "", timeframe: str = "", market: str = "", detector: str | None = None
):
    qs = PatternInstance.objects.shown(detector).filter(status=PatternStatus.COMPLETED)
    if pattern_type:
        qs = qs.filter(pattern_type=pattern_type)
    if timeframe:
        qs = qs.filter(timeframe=timeframe)
    if market:
        qs = qs.filter(stock__market=market)
    return qs


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def pattern_stats(
    *, pattern_type: str = "", timeframe: str = "", market: str = "", detector: str | None = None
) -> list[dict]:
    """One row per pattern type x timeframe x market holding completed patterns, in that order:
    {pattern_type, timeframe, market, completed, target, failed, expired, pending, resolved,
    target_rate, failed_rate, expired_rate (0..1 of resolved, None when none is resolved),
    median_bars_to_target (bars), median_mfe_pct, median_mae_pct (% of the completion close,
    over resolved patterns)}. One query."""
    rows = (
        _completed(pattern_type=pattern_type, timeframe=timeframe, market=market, detector=detector)
        .values("pattern_type", "timeframe", "stock__market")
        .annotate(
            completed=Count("pk"),
            target=Count("pk", filter=Q(outcome=PatternOutcome.TARGET)),
            failed=Count("pk", filter=Q(outcome=PatternOutcome.FAILED)),
            expired=Count("pk", filter=Q(outcome=PatternOutcome.EXPIRED)),
            median_bars_to_target=Median("bars_to_target"),
            median_mfe_pct=Median("mfe_pct", filter=RESOLVED),
            median_mae_pct=Median("mae_pct", filter=RESOLVED),
        )
        .order_by("pattern_type", "timeframe", "stock__market")
    )
    out = []
    for row in rows:
        resolved = row["target"] + row["failed"] + row["expired"]
        out.append(
            {
                "pattern_type": row["pattern_type"],
                "timeframe": row["timeframe"],
                "market": row["stock__market"],
                "completed": row["completed"],
                "target": row["target"],
                "failed": row["failed"],
                "expired": row["expired"],
                "pending": row["completed"] - resolved,
                "resolved": resolved,
                "target_rate": _rate(row["target"], resolved),
                "failed_rate": _rate(row["failed"], resolved),
                "expired_rate": _rate(row["expired"], resolved),
                "median_bars_to_target": row["median_bars_to_target"],
                "median_mfe_pct": row["median_mfe_pct"],
                "median_mae_pct": row["median_mae_pct"],
            }
        )
    return out


def calibration_curve(
    *, pattern_type: str = "", timeframe: str = "", market: str = "", detector: str | None = None
) -> list[dict]:
    """Resolved patterns in score bins of width 1/CALIBRATION_BINS: [{bin, patterns,
    mean_score, target_rate}] for the bins that hold any (a calibrated score lies on the
    diagonal: mean score = observed rate). One query."""
    rows = (
        _completed(pattern_type=pattern_type, timeframe=timeframe, market=market, detector=detector)
        .filter(RESOLVED)
        .annotate(
            bin=Least(
                Floor(F("score") * float(CALIBRATION_BINS)),
                Value(float(CALIBRATION_BINS - 1)),
                output_field=FloatField(),
            )
        )
        .values("bin")
        .annotate(
            patterns=Count("pk"),
            hits=Count("pk", filter=Q(outcome=PatternOutcome.TARGET)),
            mean_score=Avg("score"),
        )
        .order_by("bin")
    )
    return [
        {
            "bin": int(row["bin"]),
            "patterns": row["patterns"],
            "mean_score": row["mean_score"],
            "target_rate": row["hits"] / row["patterns"],
        }
        for row in rows
    ]


def success_rates(
    *, keys: set[tuple[str, str, str]], detector: str | None = None
) -> dict[tuple[str, str, str], dict]:
    """{(pattern type, timeframe, market): {"rate": target share of resolved or None,
    "resolved": n}} for the given keys (those the Scanner's page shows). One query (none for
    no keys)."""
    if not keys:
        return {}
    types = {k[0] for k in keys}
    timeframes = {k[1] for k in keys}
    markets = {k[2] for k in keys}
    rows = (
        PatternInstance.objects.shown(detector)
        .filter(
            status=PatternStatus.COMPLETED,
            pattern_type__in=types,
            timeframe__in=timeframes,
            stock__market__in=markets,
        )
        .filter(RESOLVED)
        .values("pattern_type", "timeframe", "stock__market")
        .annotate(resolved=Count("pk"), hits=Count("pk", filter=Q(outcome=PatternOutcome.TARGET)))
    )
    found = {
        (r["pattern_type"], r["timeframe"], r["stock__market"]): {
            "rate": _rate(r["hits"], r["resolved"]),
            "resolved": r["resolved"],
        }
        for r in rows
    }
    return {key: found.get(key, {"rate": None, "resolved": 0}) for key in keys}


def totals(rows: list[dict]) -> dict:
    """The `pattern_stats` rows summed (rates recomputed; medians are not additive: None)."""
    out = {key: sum(r[key] for r in rows) for key in COUNT_KEYS}
    for key in ("target", "failed", "expired"):
        out[f"{key}_rate"] = _rate(out[key], out["resolved"])
    return out


COUNT_KEYS = ("completed", "target", "failed", "expired", "pending", "resolved")


def stats_page(
    *, pattern_type: str = "", timeframe: str = "", market: str = "", detector: str | None = None
) -> dict:
    """Everything `/patterns/stats/` shows: {"rows", "totals", "bins", "histogram" and
    "calibration" (Plotly figure dicts), "calibration_version" (None before any fit)}.
    Three queries."""
    filters = {
        "pattern_type": pattern_type,
        "timeframe": timeframe,
        "market": market,
        "detector": detector,
    }
    rows = pattern_stats(**filters)
    bins = calibration_curve(**filters)
    calibration = active_calibration()
    return {
        "rows": rows,
        "totals": totals(rows),
        "bins": bins,
        "histogram": outcome_histogram_figure(rows),
        "calibration": calibration_curve_figure(bins),
        "calibration_version": calibration.version if calibration else None,
    }
