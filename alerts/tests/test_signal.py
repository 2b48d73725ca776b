"""End to end with the real engine: analysis → `series_analysed` → the evaluation task."""

import pytest

from alerts.models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    TREND_STATE_FLAGS,
    EvaluatedSeries,
    Notification,
    RuleKind,
)
from alerts.tests.factories import make_rule, make_stock, random_walk
from analysis.models import PatternInstance, TrendPeriod
from analysis.services import series_analyze, series_analyze_detectors
from marketdata.tests.factories import make_candles

pytestmark = pytest.mark.django_db

HISTORY, STEPS = 250, 60


@pytest.mark.parametrize("default", ["atr", "structural"])
def test_every_event_after_the_baseline_is_notified_once_bar_by_bar(
    user, eager_celery, django_capture_on_commit_callbacks, settings, default
):
    """A collection adds one bar at a time; each analysis (both detectors, as the background
    analysis does) sends the signal, whose receiver runs the evaluation. The notifications are
    then exactly the events the default detector's stored analysis shows after the baseline
    bar: the engine and the evaluation agree, and the other detector's run adds nothing."""
    settings.ANALYSIS_DEFAULT_DETECTOR = default
    stock = make_stock()
    bars = random_walk(HISTORY + STEPS)
    make_candles(stock, "1d", bars.iloc[:HISTORY])
    make_rule(
        user,
        kind=RuleKind.PATTERN,
        stock=stock,
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DT", "DB", "HS", "IHS"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming", "completed"]),
    )
    make_rule(
        user,
        kind=RuleKind.TREND,
        stock=stock,
        trend_states=TREND_STATE_FLAGS.mask(["up", "down", "sideways"]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        series_analyze_detectors(stock=stock, timeframe="1d")
    baseline = EvaluatedSeries.objects.get(stock=stock).last_bar_ts
    assert baseline == bars.index[HISTORY - 1]
    for i in range(HISTORY, HISTORY + STEPS):
        make_candles(stock, "1d", bars.iloc[i : i + 1])
        with django_capture_on_commit_callbacks(execute=True):
            series_analyze_detectors(stock=stock, timeframe="1d")
    assert EvaluatedSeries.objects.get(stock=stock).last_bar_ts == bars.index[-1]

    patterns = PatternInstance.objects.filter(stock=stock, detector=default)
    expected = {
        ("pattern", p.pattern_type, "forming", p.detected_ts)
        for p in patterns
        if p.detected_ts > baseline
    } | {
        ("pattern", p.pattern_type, "completed", p.end_ts)
        for p in patterns.filter(status="completed")
        if p.end_ts > baseline
    }
    for period in TrendPeriod.objects.filter(stock=stock, detector=default):
        if period.start_ts > baseline:
            expected.add(("trend", period.direction, "", period.start_ts))
        if not period.ongoing and period.end_ts > baseline:
            expected.add(("trend", "sideways", "", period.end_ts))
    found = [
        (
            n.kind,
            n.payload.get("pattern_type") or n.payload.get("trend_state"),
            n.payload.get("status", ""),
            n.bar_ts,
        )
        for n in Notification.objects.filter(owner=user)
    ]
    assert len(found) == len(set(found))  # once each
    assert set(found) == expected
    assert len(expected) >= 3, "the walk should hold a few events in 60 bars"


def test_runs_with_other_parameters_are_not_evaluated(
    user, eager_celery, django_capture_on_commit_callbacks
):
    stock = make_stock()
    make_candles(stock, "1d", random_walk(120))
    with django_capture_on_commit_callbacks(execute=True):
        series_analyze(stock=stock, timeframe="1d", sensitivity=2.0)
    assert not EvaluatedSeries.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        series_analyze(stock=stock, timeframe="1d", detector="structural")
    assert not EvaluatedSeries.objects.exists()  # not the default detector
    with django_capture_on_commit_callbacks(execute=True):
        series_analyze(stock=stock, timeframe="1d")
    assert EvaluatedSeries.objects.count() == 1
