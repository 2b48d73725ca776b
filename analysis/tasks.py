"""Celery tasks for analysis: thin wrappers over `analysis.services`.

`analysis.analyze_series` is enqueued by ingestion (on commit) after every collection that changed
bars and stores one run per swing detector (`analysis.engine.DETECTORS`: atr and structural), so the
Radar, the Scanner and the review can show either; `analysis.analyze_all` fans the same work out
over every analysis target x timeframe that holds candles (for a full refresh after an engine
upgrade, or from `make bench`) as `analysis.analyze_chunk` tasks of `CHUNK_SERIES` series each:
one message, one stock query, one store (`services.series_analyze_many`) and one result per
chunk instead of per series (README, "Performance").
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from marketdata.models import Stock

from . import services
from .models import default_detector
from .selectors import runs

logger = logging.getLogger(__name__)

RETRY_SECONDS = 30
MAX_RETRIES = 3
UNKNOWN_STOCK = "unknown stock code {code!r}"
CHUNK_SERIES = 25


@shared_task(
    name="analysis.analyze_series",
    autoretry_for=(DatabaseError,),
    retry_backoff=RETRY_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    # Acknowledged when it ends, re-queued when its worker dies: analysis is safe to run twice.
    acks_late=True,
    reject_on_worker_lost=True,
)
def analyze_series(
    code: str, timeframe: str, force: bool = False, detectors: list[str] | None = None
) -> dict:
    """Re-analyses one series with each of `detectors` (default: every detector) when its bars
    changed; retries on database errors.

    Returns {"code", "timeframe", "status": "analysed" (any detector recomputed) | "unchanged"
    | "skipped", "bars", "patterns" (of the default detector's run, or of the first one when
    it is not among `detectors`), "detectors": {name: {"status", "patterns"}}} ("skipped" with
    "reason" for an unknown code, an unknown detector or a series without candles — retrying
    would not help).
    """
    return _analyse(Stock.objects.filter(code=code).first(), code, timeframe, force, detectors)


def _analyse(
    stock: Stock | None, code: str, timeframe: str, force: bool, detectors: list[str] | None
) -> dict:
    if stock is None:
        return _skipped(code, timeframe, UNKNOWN_STOCK.format(code=code))
    try:
        (outcome,) = services.series_analyze_many(
            series=[(stock, timeframe)], detectors=detectors, force=force
        )
    except ValueError as exc:
        logger.warning("analysis.analyze_series %s %s: %s", code, timeframe, exc)
        return _skipped(code, timeframe, str(exc))
    return _summary(stock, timeframe, outcome)


def _skipped(code: str, timeframe: str, reason: str) -> dict:
    return {"code": code, "timeframe": timeframe, "status": "skipped", "reason": reason}


def _status(outcome: list | services.AnalysisError) -> str:
    if isinstance(outcome, services.AnalysisError):
        return "skipped"
    return "analysed" if any(r.recomputed for r in outcome) else "unchanged"


def _summary(stock: Stock, timeframe: str, outcome: list | services.AnalysisError) -> dict:
    """The task result of one series from its `series_analyze_many` outcome."""
    if isinstance(outcome, services.AnalysisError):
        logger.warning("analysis.analyze_series %s %s: %s", stock.code, timeframe, outcome)
        return _skipped(stock.code, timeframe, str(outcome))
    shown = next((r for r in outcome if r.detector == default_detector()), outcome[0])
    return {
        "code": stock.code,
        "timeframe": timeframe,
        "status": _status(outcome),
        "bars": shown.bars,
        "patterns": len(shown.result["patterns"]),
        "detectors": {
            r.detector: {
                "status": "analysed" if r.recomputed else "unchanged",
                "patterns": len(r.result["patterns"]),
            }
            for r in outcome
        },
    }


@shared_task(
    name="analysis.analyze_chunk",
    autoretry_for=(DatabaseError,),
    retry_backoff=RETRY_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    acks_late=True,
    reject_on_worker_lost=True,
)
def analyze_chunk(
    series: list[list[str]], force: bool = False, detectors: list[str] | None = None
) -> dict:
    """`analyze_series` for each [code, timeframe] of `series`, stored together in one
    transaction (`services.series_analyze_many`: a fixed number of statements per chunk; a
    retry after a database error analyses the whole chunk again). Returns the {"analysed",
    "unchanged", "skipped"} counts."""
    stocks = {s.code: s for s in Stock.objects.filter(code__in={code for code, _ in series})}
    counts = {"analysed": 0, "unchanged": 0, "skipped": 0}
    known = [(stocks[code], timeframe) for code, timeframe in series if code in stocks]
    counts["skipped"] = len(series) - len(known)
    try:
        outcomes = services.series_analyze_many(series=known, detectors=detectors, force=force)
    except ValueError as exc:  # an unknown detector: nothing to retry
        logger.warning("analysis.analyze_chunk: %s", exc)
        return {**counts, "skipped": len(series)}
    for (stock, timeframe), outcome in zip(known, outcomes, strict=True):
        if isinstance(outcome, services.AnalysisError):
            logger.warning("analysis.analyze_chunk %s %s: %s", stock.code, timeframe, outcome)
        counts[_status(outcome)] += 1
    return counts


@shared_task(name="analysis.analyze_all", acks_late=True, reject_on_worker_lost=True)
def analyze_all(
    timeframes: list[str] | None = None, force: bool = False, detectors: list[str] | None = None
) -> str:
    """Queues every analysis target x timeframe with candles for analysis (every detector
    unless `detectors` names some), `CHUNK_SERIES` series per `analysis.analyze_chunk` task."""
    series = runs.analysis_series(timeframes=timeframes)
    for start in range(0, len(series), CHUNK_SERIES):
        chunk = [[code, timeframe] for code, timeframe in series[start : start + CHUNK_SERIES]]
        analyze_chunk.delay(series=chunk, force=force, detectors=detectors)
    return f"{len(series)} series queued for analysis"
