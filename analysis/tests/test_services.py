"""series_analyze, the stored rows, the scanner query and the Radar selector on PostgreSQL."""

import re
from datetime import date

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.calibration import score_pattern_dicts
from analysis.engine import analyze
from analysis.models import AnalysisRun, PatternInstance, SwingPoint, TrendPeriod
from analysis.selectors.runs import radar_analysis
from analysis.selectors.scanner import trading_days_cutoff
from analysis.services import NO_CANDLES, UNKNOWN_TIMEFRAME, AnalysisError, series_analyze
from analysis.tests.factories import walk
from marketdata.krx_calendar import KST
from marketdata.models import Candle
from marketdata.selectors import candles_frame
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def walk_stock():
    stock = make_stock("005930", "삼성전자")
    make_candles(stock, "1d", walk(700))
    return stock


def test_series_analyze_stores_the_run_and_its_rows(walk_stock):
    run = series_analyze(stock=walk_stock, timeframe="1d")
    assert run.recomputed is True
    expected = analyze(candles_frame(stock=walk_stock, timeframe="1d")).to_dict()
    run.refresh_from_db()
    assert run.bars == 700 and run.is_default
    assert run.result["extremes"] == expected["extremes"]
    assert run.last_bar_ts == candles_frame(stock=walk_stock, timeframe="1d").index[-1]
    assert run.trend_state == expected["trend_state"]["state"]
    assert SwingPoint.objects.filter(run=run).count() == len(expected["extremes"])
    assert TrendPeriod.objects.filter(run=run).count() == len(expected["trend_periods"])
    stored = PatternInstance.objects.filter(run=run).order_by("detected_ts", "pattern_type")
    assert {p.pattern_type for p in stored} == {"DT", "DB", "HS", "IHS"}
    first = expected["patterns"][0]
    row = stored.filter(pattern_type=first["type"], start_ts=first["start_ts"]).get()
    assert row.points == {
        role: {"ts": pt["ts"], "price": pt["price"]} for role, pt in first["points"].items()
    }
    assert row.target == first["target"] and row.features == first["features"]
    # No calibration fitted yet: every score is the uninformed prior, stored and in the result.
    assert row.score == 0.5 and {p["score"] for p in run.result["patterns"]} == {0.5}


def test_every_stored_row_holds_the_values_of_the_result(walk_stock):
    """The rows are written by COPY straight from `to_dict()`: each swing point, trend period
    and pattern row carries the result's instants, prices, JSON and outcome columns."""
    run = series_analyze(stock=walk_stock, timeframe="1d")
    data = run.result
    instant = pd.Timestamp
    swings = SwingPoint.objects.filter(run=run).order_by("confirmed_ts", "ts", "kind", "level")
    assert sorted(
        (instant(e["confirmed_ts"]), instant(e["ts"]), e["kind"], e["level"], e["price"])
        for e in data["extremes"]
    ) == [(s.confirmed_ts, s.ts, s.kind, s.level, s.price) for s in swings]
    assert {s.strength for s in swings} == {e["strength"] for e in data["extremes"]}
    assert {(s.stock_id, s.timeframe) for s in swings} == {(walk_stock.pk, "1d")}
    periods = TrendPeriod.objects.filter(run=run).order_by("start_ts")
    assert [
        (instant(p["start_ts"]), instant(p["end_ts"]), p["direction"], p["ongoing"])
        for p in data["trend_periods"]
    ] == [(p.start_ts, p.end_ts, p.direction, p.ongoing) for p in periods]
    rows = {
        (row.pattern_type, row.start_ts, row.detected_ts): row
        for row in PatternInstance.objects.filter(run=run)
    }
    assert len(rows) == len(data["patterns"])
    for p in data["patterns"]:
        row = rows[(p["type"], instant(p["start_ts"]), instant(p["detected_ts"]))]
        assert (row.status, row.end_ts, row.score) == (
            p["status"],
            instant(p["end_ts"]),
            p["score"],
        )
        assert row.neckline == p["neckline"] and row.features == p["features"]
        assert set(row.points) == set(p["points"])
        outcome = p["outcome"] or {}
        assert row.outcome == (outcome.get("result") or "")
        assert row.outcome_ts == (instant(outcome["ts"]) if outcome.get("result") else None)
        assert row.bars_to_target == outcome.get("bars_to_target")
        assert (row.entry_price, row.mfe_pct, row.mae_pct) == (
            outcome.get("entry"),
            outcome.get("mfe_pct"),
            outcome.get("mae_pct"),
        )
    assert any(row.outcome for row in rows.values())


def test_outcomes_are_stored_with_their_bar_and_excursions(walk_stock):
    run = series_analyze(stock=walk_stock, timeframe="1d")
    completed = [p for p in run.result["patterns"] if p["status"] == "completed"]
    resolved = [p for p in completed if p["outcome"]["result"]]
    assert resolved
    for p in completed:
        row = PatternInstance.objects.get(run=run, pattern_type=p["type"], start_ts=p["start_ts"])
        outcome = p["outcome"]
        assert row.outcome == (outcome["result"] or "")
        assert row.outcome_ts == (pd.Timestamp(outcome["ts"]) if outcome["result"] else None)
        assert (row.bars_to_target, row.mfe_pct, row.mae_pct, row.entry_price) == (
            outcome["bars_to_target"],
            outcome["mfe_pct"],
            outcome["mae_pct"],
            outcome["entry"],
        )
    assert (
        not PatternInstance.objects.filter(run=run)
        .exclude(status="completed")
        .exclude(outcome="")
        .exists()
    )


def test_an_outcome_once_stored_never_changes(walk_stock):
    run = series_analyze(stock=walk_stock, timeframe="1d")
    p = next(
        p
        for p in run.result["patterns"]
        if p["outcome"] and p["outcome"]["result"] in ("target", "failed")
    )
    before = PatternInstance.objects.get(run=run, pattern_type=p["type"], start_ts=p["start_ts"])
    # A correction of the bar that set the outcome (flattened to the completion close) would
    # give another outcome now; the stored one stands, in the row and in the run's result.
    bar = Candle.objects.get(stock=walk_stock, timeframe="1d", ts=p["outcome"]["ts"])
    entry = p["outcome"]["entry"]
    bar.open = bar.high = bar.low = bar.close = entry
    bar.save()
    again = series_analyze(stock=walk_stock, timeframe="1d")
    assert again.recomputed
    fresh = analyze(candles_frame(stock=walk_stock, timeframe="1d")).to_dict()
    recomputed = next(
        q for q in fresh["patterns"] if (q["type"], q["start_ts"]) == (p["type"], p["start_ts"])
    )
    assert recomputed["outcome"]["ts"] != p["outcome"]["ts"]  # the engine alone would move it
    after = PatternInstance.objects.get(run=again, pattern_type=p["type"], start_ts=p["start_ts"])
    assert (after.outcome, after.outcome_ts, after.bars_to_target) == (
        before.outcome,
        before.outcome_ts,
        before.bars_to_target,
    )
    stored = next(
        q
        for q in again.result["patterns"]
        if (q["type"], q["start_ts"]) == (p["type"], p["start_ts"])
    )
    assert (stored["outcome"]["result"], stored["outcome"]["ts"]) == (
        p["outcome"]["result"],
        p["outcome"]["ts"],
    )


def test_unchanged_bars_are_not_reanalysed_but_changed_bars_are(walk_stock):
    first = series_analyze(stock=walk_stock, timeframe="1d")
    again = series_analyze(stock=walk_stock, timeframe="1d")
    assert again.recomputed is False and again.analysed_at == first.analysed_at
    last = Candle.objects.filter(stock=walk_stock, timeframe="1d").latest("ts")
    last.close = last.low
    last.save()
    changed = series_analyze(stock=walk_stock, timeframe="1d")
    assert changed.recomputed is True and changed.pk == first.pk
    assert changed.last_close == last.low
    forced = series_analyze(stock=walk_stock, timeframe="1d", force=True)
    assert forced.recomputed is True
    assert AnalysisRun.objects.count() == 1


def test_a_sensitivity_gets_its_own_run(walk_stock):
    default = series_analyze(stock=walk_stock, timeframe="1d")
    fine = series_analyze(stock=walk_stock, timeframe="1d", sensitivity=2.0)
    assert fine.pk != default.pk and not fine.is_default
    assert (
        SwingPoint.objects.filter(run=fine).count() > SwingPoint.objects.filter(run=default).count()
    )
    same = series_analyze(stock=walk_stock, timeframe="1d", sensitivity=1.0)
    assert same.pk == default.pk and same.recomputed is False


def test_errors_for_missing_candles_and_bad_timeframes(walk_stock):
    with pytest.raises(AnalysisError) as caught:
        series_analyze(stock=walk_stock, timeframe="1w")
    assert str(caught.value) == NO_CANDLES.format(code="005930", timeframe="1w")
    with pytest.raises(AnalysisError) as caught:
        series_analyze(stock=walk_stock, timeframe="2d")
    assert str(caught.value).startswith(UNKNOWN_TIMEFRAME.split("{")[0])


def test_trading_days_cutoff_skips_weekends_and_holidays():
    # Friday 2024-10-04: sessions 10-04, 10-02, 09-30, 09-27, 09-26 (10-01 Armed Forces Day
    # and 10-03 National Foundation Day were holidays).
    cutoff = trading_days_cutoff(5, today=date(2024, 10, 4))
    assert cutoff.isoformat() == "2024-09-26T00:00:00+09:00"
    assert trading_days_cutoff(1, today=date(2024, 10, 5)).date() == date(2024, 10, 4)


def test_scan_query_uses_the_pattern_index():
    stock = make_stock()
    make_candles(stock, "1d", walk(700))
    series_analyze(stock=stock, timeframe="1d")
    qs = PatternInstance.objects.scan(
        timeframe="1d",
        pattern_type="DB",
        status="completed",
        since=pd.Timestamp("2024-01-01", tz=KST),
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = qs.explain()
        cursor.execute("RESET enable_seqscan")
    # Either pattern index answers (type, timeframe, status); which one the planner picks
    # depends on the statistics the earlier tests left.
    assert re.search(
        r"Index (Only )?Scan (Backward )?using analysis_pa_\w+ on analysis_patterninstance", plan
    ), plan


def test_radar_analysis_serves_the_stored_window_or_computes(walk_stock):
    frame = candles_frame(stock=walk_stock, timeframe="1d", limit=500)
    computed = radar_analysis(
        stock=walk_stock, timeframe="1d", candles=frame, window_start=200, use_stored=True
    )
    assert computed["source"] == "computed" and computed["bars"] == 300
    expected = analyze(frame).window(200, 500)
    score_pattern_dicts(expected["patterns"], None, "1d")  # no calibration yet: the prior
    assert computed == {**expected, "source": "computed"}
    run = series_analyze(stock=walk_stock, timeframe="1d")
    with CaptureQueriesContext(connection) as queries:
        stored = radar_analysis(stock=walk_stock, timeframe="1d", candles=frame, window_start=200)
    assert len(queries) == 1
    assert stored["source"] == "stored" and stored["bars"] == 300
    full = analyze(candles_frame(stock=walk_stock, timeframe="1d")).window(400, 700)
    score_pattern_dicts(full["patterns"], None, "1d")
    assert {k: v for k, v in stored.items() if k != "source"} == full
    assert stored["offset"] == run.bars - 300
    not_stored = radar_analysis(
        stock=walk_stock, timeframe="1d", candles=frame, window_start=200, use_stored=False
    )
    assert not_stored["source"] == "computed"
    newer = Candle.objects.filter(stock=walk_stock, timeframe="1d").latest("ts")
    newer.close = newer.high
    newer.save()
    frame = candles_frame(stock=walk_stock, timeframe="1d", limit=500)
    stale = radar_analysis(stock=walk_stock, timeframe="1d", candles=frame, window_start=200)
    assert stale["source"] == "computed"


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("analysisrun", "?timeframe=1d&trend_state__exact=up"),
        ("patterninstance", "?pattern_type=DB&status=completed"),
        ("swingpoint", "?level=major"),
        ("trendperiod", "?direction=up"),
    ],
)
def test_admin_lists_stored_results_read_only(walk_stock, admin_client, model, query):
    run = series_analyze(stock=walk_stock, timeframe="1d")
    base = f"/admin/analysis/{model}/"
    listing = admin_client.get(base + "?q=005930")
    assert listing.status_code == 200
    assert "005930" in listing.content.decode()
    assert admin_client.get(base + query).status_code == 200
    assert admin_client.get(base + "add/").status_code == 403
    if model == "analysisrun":
        detail = admin_client.get(f"{base}{run.pk}/change/")
        assert detail.status_code == 200
        assert b'name="_save"' not in detail.content
        assert admin_client.post(f"{base}{run.pk}/delete/").status_code == 403
        assert AnalysisRun.objects.filter(pk=run.pk).exists()


def test_bars_still_forming_are_left_out_of_the_stored_analysis(walk_stock):
    last = Candle.objects.filter(stock=walk_stock, timeframe="1d").latest("ts")
    last.is_final = False
    last.save()
    run = series_analyze(stock=walk_stock, timeframe="1d")
    assert run.bars == 699
    assert run.last_bar_ts < last.ts
    last.close = last.high  # the live bar moves: nothing stored depends on it
    last.save()
    assert series_analyze(stock=walk_stock, timeframe="1d").recomputed is False
    frame = candles_frame(stock=walk_stock, timeframe="1d", limit=500)
    live = radar_analysis(stock=walk_stock, timeframe="1d", candles=frame, window_start=200)
    assert live["source"] == "computed" and live["bars"] == 300
    last.is_final = True
    last.save()
    assert series_analyze(stock=walk_stock, timeframe="1d").bars == 700


def test_runs_of_an_older_engine_version_are_replaced(walk_stock):
    old = series_analyze(stock=walk_stock, timeframe="1d")
    AnalysisRun.objects.filter(pk=old.pk).update(engine_version="0", params_hash="old")
    assert PatternInstance.objects.filter(run=old).exists()
    new = series_analyze(stock=walk_stock, timeframe="1d")
    assert new.pk != old.pk
    assert list(AnalysisRun.objects.values_list("pk", flat=True)) == [new.pk]
    assert not PatternInstance.objects.filter(run_id=old.pk).exists()
