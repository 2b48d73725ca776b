"""The Scanner's read: one filtered, sorted, paginated query over the stored patterns of
default-parameter runs across all stocks."""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.paginator import Page, Paginator
from django.db.models import ExpressionWrapper, F, FloatField
from django.db.models.functions import Abs, NullIf
from django.utils import timezone

from marketdata.krx_calendar import KST, is_trading_day, previous_trading_day

from ..models import PatternInstance
from .stats import success_rates


def trading_days_cutoff(days: int, *, today: date | None = None) -> datetime:
    """00:00 KST of the trading day `days - 1` sessions before `today` (today counts if it
    is a trading day): `days=5` on a Friday gives Monday 00:00 KST of that week."""
    day = today or timezone.localdate(timezone=KST)
    if not is_trading_day(day):
        day = previous_trading_day(day)
    for _ in range(max(days, 1) - 1):
        day = previous_trading_day(day)
    return datetime.combine(day, time(0, 0), tzinfo=KST)


SCANNER_PAGE_SIZE = 50
SCANNER_ORDER = {
    "recent": ("-end_ts", "stock__code", "pk"),
    "score": ("-score", "-end_ts", "pk"),
    "target": (F("to_target_abs").asc(nulls_last=True), "-end_ts", "pk"),
    "neckline": (F("to_neckline_abs").asc(nulls_last=True), "-end_ts", "pk"),
    "symbol": ("stock__code", "-end_ts", "pk"),
}


def order_reversed(field):
    """The same `order_by` term the other way round ("-f" ↔ "f"; an expression's rows without
    a value stay last). The label list's sorts use it too."""
    if isinstance(field, str):
        return field[1:] if field.startswith("-") else f"-{field}"
    if field.descending:
        return field.expression.asc(nulls_last=True)
    return field.expression.desc(nulls_last=True)


# "-<sort>": the column's sort the other way round (a second click on its header); the
# tie-breakers keep their direction.
SCANNER_ORDER |= {
    f"-{key}": (order_reversed(order[0]), *order[1:]) for key, order in list(SCANNER_ORDER.items())
}


def scanner_page(
    *,
    timeframe: str,
    market: str = "",
    pattern_type: str = "",
    status: str = "",
    days_back: int | None = None,
    min_score: float | None = None,
    sort: str = "recent",
    page: int = 1,
    per_page: int = SCANNER_PAGE_SIZE,
    stock_ids=None,
    detector: str | None = None,
) -> Page:
    """One page of stored patterns (`detector`'s default-parameter runs; None =
    `ANALYSIS_DEFAULT_DETECTOR`) across all stocks.

    Filters as `PatternInstance.objects.scan` (`days_back` in trading days). Each object has the
    stock and run joined plus `to_target_pct` / `to_neckline_pct`: percent from the run's last
    close (KRW) to the target / neckline, positive = above the price. Sorting and distances are
    computed by the database. Each object also carries `success`: {"rate", "resolved"}, the
    historical share of completed patterns of its type, timeframe and market (found by the same
    detector) that reached their target (`analysis.selectors.stats.success_rates`). A page
    costs three queries (count, rows, rates). A page past the end gives the last page.
    `stock_ids` (ids, or a subquery of them: a symbol set such as a watchlist) keeps the
    patterns of those stocks only.
    """
    since = trading_days_cutoff(days_back) if days_back else None
    # A zero close gives no distance (NULL) instead of a database division-by-zero error.
    last_close = NullIf(F("run__last_close"), 0.0)
    qs = (
        PatternInstance.objects.scan(
            timeframe=timeframe,
            pattern_type=pattern_type or None,
            status=status or None,
            since=since,
            min_score=min_score,
            market=market or None,
            detector=detector,
        )
        .filter(**({} if stock_ids is None else {"stock_id__in": stock_ids}))
        .defer("run__result", "run__params", "points", "neckline")
        .annotate(
            to_target_pct=ExpressionWrapper(
                (F("target") - last_close) * 100.0 / last_close, output_field=FloatField()
            ),
            to_neckline_pct=ExpressionWrapper(
                (F("neckline_price") - last_close) * 100.0 / last_close, output_field=FloatField()
            ),
        )
        .annotate(to_target_abs=Abs("to_target_pct"), to_neckline_abs=Abs("to_neckline_pct"))
        .order_by(*SCANNER_ORDER[sort])
    )
    result = Paginator(qs, per_page).get_page(page)
    result.object_list = list(result.object_list)
    rates = success_rates(
        keys={(p.pattern_type, p.timeframe, p.stock.market) for p in result.object_list},
        detector=detector,
    )
    for p in result.object_list:
        p.success = rates[(p.pattern_type, p.timeframe, p.stock.market)]
    return result
