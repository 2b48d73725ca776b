"""Celery tasks for analysis: thin wrappers over `analysis.services`.

`analysis.analyze_series` is enqueued by ingestion (on commit) after every collection that
changed bars; `analysis.analyze_all` fans it out over every analysis target x timeframe that
holds candles (for a full refresh after an engine upgrade, or from `make bench`).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from marketdata.models import Stock

from . import services
from .selectors import runs

logger = logging.getLogger(__name__)

RETRY_SECONDS = 30
MAX_RETRIES = 3
UNKNOWN_STOCK = "unknown stock code {code!r}"


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
def analyze_series(code: str, timeframe: str, force: bool = False) -> dict:
    """Re-analyses one series when its bars changed; retries on database errors.

    Returns {"code", "timeframe", "status": "analysed" | "unchanged" | "skipped",
    "bars", "patterns"} ("skipped" with "reason" for an unknown code or a series without
    candles — retrying would not help).
    """
    stock = Stock.objects.filter(code=code).first()
    if stock is None:
        return {
            "code": code,
            "timeframe": timeframe,
            "status": "skipped",
            "reason": UNKNOWN_STOCK.format(code=code),
        }
    try:
        run = services.series_analyze(stock=stock, timeframe=timeframe, force=force)
    except services.AnalysisError as exc:
        logger.warning("analysis.analyze_series %s %s: %s", code, timeframe, exc)
        return {"code": code, "timeframe": timeframe, "status": "skipped", "reason": str(exc)}
    return {
        "code": code,
        "timeframe": timeframe,
        "status": "analysed" if run.recomputed else "unchanged",
        "bars": run.bars,
        "patterns": len(run.result["patterns"]),
    }


@shared_task(name="analysis.analyze_all", acks_late=True, reject_on_worker_lost=True)
def analyze_all(timeframes: list[str] | None = None, force: bool = False) -> str:
    """Queues `analysis.analyze_series` for every analysis target x timeframe with candles."""
    series = runs.analysis_series(timeframes=timeframes)
    for code, timeframe in series:
        analyze_series.delay(code=code, timeframe=timeframe, force=force)
    return f"{len(series)} series queued for analysis"
