"""series_analyze_many: several series analysed and stored together, with a fixed number of
statements, exactly as analysing them one by one would store them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.engine import DETECTORS
from analysis.models import AnalysisRun, PatternInstance, SwingPoint, TrendPeriod
from analysis.services import (
    NO_CANDLES,
    AnalysisError,
    series_analyze_detectors,
    series_analyze_many,
)
from analysis.tests.factories import walk
from labeling.models import Label
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db


def stocks_with_bars(count: int, *, first_code: int = 100000) -> list:
    stocks = []
    for k in range(count):
        stock = make_stock(f"{first_code + k:06d}", f"종목 {k}")
        make_candles(stock, "1d", walk(400, seed=20 + k))
        stocks.append(stock)
    return stocks


def stored_rows(stock) -> dict:
    """What is stored for a stock, without the ids and times that differ between two runs."""
    runs = {
        run.detector: (run.bars, run.bars_fingerprint, run.trend_state, run.result)
        for run in AnalysisRun.objects.filter(stock=stock)
    }
    swings = sorted(
        SwingPoint.objects.filter(stock=stock).values_list(
            "detector", "kind", "level", "ts", "price", "confirmed_ts", "strength"
        )
    )
    periods = sorted(
        TrendPeriod.objects.filter(stock=stock).values_list(
            "detector", "direction", "start_ts", "end_ts", "ongoing"
        )
    )
    patterns = sorted(
        PatternInstance.objects.filter(stock=stock).values_list(
            "detector", "pattern_type", "status", "start_ts", "detected_ts", "target", "outcome"
        )
    )
    return {"runs": runs, "swings": swings, "periods": periods, "patterns": patterns}


def test_a_batch_stores_what_one_by_one_stores():
    stocks = stocks_with_bars(3)
    for stock in stocks:
        series_analyze_detectors(stock=stock, timeframe="1d")
    one_by_one = {stock.code: stored_rows(stock) for stock in stocks}
    AnalysisRun.objects.all().delete()

    outcomes = series_analyze_many(series=[(stock, "1d") for stock in stocks])

    assert [[run.detector for run in runs] for runs in outcomes] == [list(DETECTORS)] * 3
    assert all(run.recomputed for runs in outcomes for run in runs)
    assert {stock.code: stored_rows(stock) for stock in stocks} == one_by_one
    assert PatternInstance.objects.count() > 0


def test_statements_do_not_grow_with_the_series_of_a_batch():
    stocks = stocks_with_bars(6)
    series_analyze_many(series=[(stock, "1d") for stock in stocks])  # each has stored patterns

    def statements(batch) -> int:
        with CaptureQueriesContext(connection) as queries:
            series_analyze_many(series=[(stock, "1d") for stock in batch], force=True)
        return len(queries)

    # Bars are read once per series (a binary COPY, not among these); everything else is
    # per batch: stored runs, calibration, other engine versions, the upsert, kept outcomes,
    # and one delete and one insert per kind of row.
    assert statements(stocks[:2]) == statements(stocks) <= 14


def test_a_series_without_bars_does_not_stop_the_others():
    stocks = stocks_with_bars(2)
    empty = make_stock("000001", "빈 종목")

    outcomes = series_analyze_many(series=[(stocks[0], "1d"), (empty, "1d"), (stocks[1], "5m")])

    assert len(outcomes[0]) == len(DETECTORS)
    assert isinstance(outcomes[1], AnalysisError)
    assert str(outcomes[1]) == NO_CANDLES.format(code="000001", timeframe="1d")
    assert isinstance(outcomes[2], AnalysisError)
    assert AnalysisRun.objects.filter(stock=stocks[0]).count() == len(DETECTORS)
    assert not AnalysisRun.objects.exclude(stock=stocks[0]).exists()


def test_unchanged_series_are_not_rewritten_and_a_series_named_twice_is_analysed_once():
    stocks = stocks_with_bars(2)
    first = series_analyze_many(series=[(stocks[0], "1d"), (stocks[0], "1d")])
    assert [run.pk for run in first[0]] == [run.pk for run in first[1]]
    assert AnalysisRun.objects.count() == len(DETECTORS)

    again = series_analyze_many(series=[(stocks[0], "1d"), (stocks[1], "1d")])

    assert not any(run.recomputed for run in again[0])
    assert [run.pk for run in again[0]] == [run.pk for run in first[0]]
    assert all(run.recomputed for run in again[1])
    assert len(again[0][0].result["patterns"]) == len(first[0][0].result["patterns"])


def test_an_unknown_detector_fails_before_any_work():
    stocks = stocks_with_bars(1)
    with pytest.raises(ValueError):
        series_analyze_many(series=[(stocks[0], "1d")], detectors=["atr", "nope"])
    assert not AnalysisRun.objects.exists()


def test_re_analysis_keeps_run_ids_and_clears_label_links_to_replaced_patterns(user):
    stocks = stocks_with_bars(2)
    runs = series_analyze_many(series=[(stock, "1d") for stock in stocks])
    pattern = PatternInstance.objects.filter(run=runs[0][0]).first()
    label = Label.objects.create(
        owner=user,
        stock=stocks[0],
        timeframe="1d",
        pattern_type=pattern.pattern_type,
        start_ts=pattern.start_ts,
        end_ts=pattern.end_ts,
        direction="bearish",
        detected_pattern=pattern,
        detection_ref={"id": pattern.pk},
    )

    again = series_analyze_many(series=[(stock, "1d") for stock in stocks], force=True)

    assert [[r.pk for r in rs] for rs in again] == [[r.pk for r in rs] for rs in runs]
    label.refresh_from_db()
    assert label.detected_pattern is None and label.detection_ref == {"id": pattern.pk}
    assert not PatternInstance.objects.filter(pk=pattern.pk).exists()
    assert SwingPoint.objects.filter(run=runs[0][0]).count() == len(
        AnalysisRun.objects.get(pk=runs[0][0].pk).result["extremes"]
    )


def test_rows_without_database_constraints_still_go_with_their_run_and_stock():
    """Swing points (no key constraint on their run) and every row's stock copy (no constraint
    of its own) are deleted with their run, and with their stock, by Django's cascade."""
    stocks = stocks_with_bars(2)
    runs = series_analyze_many(series=[(stock, "1d") for stock in stocks])
    atr_run = runs[0][0]
    assert SwingPoint.objects.filter(run=atr_run).exists()

    atr_run.delete()

    assert not SwingPoint.objects.filter(run_id=atr_run.pk).exists()
    assert SwingPoint.objects.filter(stock=stocks[0]).exists()  # the other detector's
    stocks[0].delete()
    for model in (AnalysisRun, SwingPoint, TrendPeriod, PatternInstance):
        assert not model.objects.filter(stock_id=stocks[0].pk).exists()
        assert model.objects.filter(stock=stocks[1]).exists()
