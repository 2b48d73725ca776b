"""The analysis Celery tasks, run in-process (apply) and by a real worker on Redis."""

import os
import time

import pytest
from celery import Celery
from django.db import connection

from analysis.engine import UNKNOWN_DETECTOR
from analysis.models import AnalysisRun, PatternInstance
from analysis.selectors.runs import analysis_series
from analysis.services import NO_CANDLES
from analysis.tasks import CHUNK_SERIES, UNKNOWN_STOCK, analyze_chunk, analyze_series
from analysis.tests.factories import walk
from marketdata.tests.factories import make_candles, make_stock
from tests.celery_worker import start_worker, stop_worker


@pytest.mark.django_db
def test_analyze_series_analyses_then_reports_unchanged():
    stock = make_stock()
    make_candles(stock, "1d", walk(300))
    first = analyze_series.apply(kwargs={"code": "005930", "timeframe": "1d"}).get()
    assert first["status"] == "analysed" and first["bars"] == 300
    assert first["patterns"] == PatternInstance.objects.filter(detector="atr").count()
    assert first["detectors"] == {
        name: {
            "status": "analysed",
            "patterns": PatternInstance.objects.filter(detector=name).count(),
        }
        for name in ("atr", "structural")
    }
    again = analyze_series.apply(kwargs={"code": "005930", "timeframe": "1d"}).get()
    assert again["status"] == "unchanged"
    assert {d["status"] for d in again["detectors"].values()} == {"unchanged"}
    # The background analysis stores one default run per detector.
    assert sorted(AnalysisRun.objects.values_list("detector", "is_default")) == [
        ("atr", True),
        ("structural", True),
    ]


@pytest.mark.django_db
def test_analyze_series_with_one_detector_and_an_unknown_one():
    stock = make_stock()
    make_candles(stock, "1d", walk(300))
    only = analyze_series.apply(
        kwargs={"code": "005930", "timeframe": "1d", "detectors": ["structural"]}
    ).get()
    assert list(only["detectors"]) == ["structural"]
    assert only["patterns"] == PatternInstance.objects.filter(detector="structural").count()
    assert list(AnalysisRun.objects.values_list("detector", flat=True)) == ["structural"]
    bad = analyze_series.apply(
        kwargs={"code": "005930", "timeframe": "1d", "detectors": ["atr", "zigzag"]}
    ).get()
    assert bad["status"] == "skipped"
    assert bad["reason"] == UNKNOWN_DETECTOR.format(name="zigzag", names="atr, structural")
    assert AnalysisRun.objects.count() == 1


@pytest.mark.django_db
def test_analyze_series_skips_unknown_codes_and_empty_series():
    make_stock()
    unknown = analyze_series.apply(kwargs={"code": "999999", "timeframe": "1d"}).get()
    assert unknown["status"] == "skipped"
    assert unknown["reason"] == UNKNOWN_STOCK.format(code="999999")
    empty = analyze_series.apply(kwargs={"code": "005930", "timeframe": "5m"}).get()
    assert empty["reason"] == NO_CANDLES.format(code="005930", timeframe="5m")
    assert AnalysisRun.objects.count() == 0


@pytest.mark.django_db
def test_a_chunk_analyses_each_of_its_series_once():
    for code in ("000660", "005930"):
        make_candles(make_stock(code, code), "1d", walk(200))
    chunk = [["000660", "1d"], ["005930", "1d"], ["005930", "5m"], ["999999", "1d"]]
    counts = analyze_chunk.apply(kwargs={"series": chunk}).get()
    assert counts == {"analysed": 2, "unchanged": 0, "skipped": 2}
    assert sorted(set(AnalysisRun.objects.values_list("stock__code", "bars"))) == [
        ("000660", 200),
        ("005930", 200),
    ]
    again = analyze_chunk.apply(kwargs={"series": chunk[:2]}).get()
    assert again == {"analysed": 0, "unchanged": 2, "skipped": 0}
    forced = analyze_chunk.apply(kwargs={"series": chunk[:1], "force": True}).get()
    assert forced["analysed"] == 1 and CHUNK_SERIES > 1


@pytest.mark.django_db
def test_fan_out_covers_targets_with_candles_only():
    hynix = make_stock("000660", "SK하이닉스")
    samsung = make_stock("005930")
    outsider = make_stock("123456", "ETF", is_analysis_target=False)
    for stock in (hynix, samsung, outsider):
        make_candles(stock, "1d", walk(60))
    make_candles(samsung, "1w", walk(60, start="2020-01-06").asfreq("W-MON").dropna())
    assert analysis_series() == [("000660", "1d"), ("005930", "1d"), ("005930", "1w")]
    assert analysis_series(timeframes=["1w"]) == [("005930", "1w")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_fan_out_on_redis():
    for code in ("000660", "005930"):
        make_candles(make_stock(code, code), "1d", walk(250))
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    settings_db = connection.settings_dict
    database_url = (
        f"postgres://{settings_db['USER']}@{settings_db['HOST']}:{settings_db['PORT']}/"
        f"{settings_db['NAME']}"
    )
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "DATABASE_URL": database_url,
    }
    client = Celery(broker=broker, backend=broker, set_as_current=False)
    worker = start_worker(env, name="analysis")
    try:
        queued = client.send_task("analysis.analyze_all").get(timeout=60)
        assert queued == "2 series queued for analysis"
        direct = client.send_task(
            "analysis.analyze_series", kwargs={"code": "005930", "timeframe": "1d"}
        ).get(timeout=60)
        assert direct["status"] in {"analysed", "unchanged"}
        deadline = time.monotonic() + 60
        # One run per stock and detector.
        while AnalysisRun.objects.count() < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert AnalysisRun.objects.count() == 4
    finally:
        stop_worker(worker)
