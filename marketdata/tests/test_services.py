"""Ingestion services against the real PostgreSQL (and the Kiwoom simulator over HTTP)."""

import datetime as dt

import pytest

from marketdata import services
from marketdata.kiwoom import KST, Bar, StockInfo
from marketdata.models import Candle
from marketdata.tests.factories import make_stock

pytestmark = pytest.mark.django_db(transaction=True)


def kst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=KST)


def bar(ts, close=100.0, volume=10) -> Bar:
    return Bar(
        ts=ts,
        open=close,
        high=close + 1,
        low=close - 1,
        close=close,
        volume=volume,
        traded_value=int(close * volume),
    )


def test_upsert_inserts_updates_only_changes_and_decides_finality():
    stock = make_stock()
    now = kst(2025, 9, 17, 10, 7)
    bars = [
        bar(kst(2025, 9, 17, 9, 55)),
        bar(kst(2025, 9, 17, 10, 0)),
        bar(kst(2025, 9, 17, 10, 5)),
    ]
    assert services.candles_upsert(stock=stock, timeframe="5m", bars=bars, now=now) == 3
    stored = dict(Candle.objects.filter(stock=stock).values_list("ts", "is_final"))
    assert stored == {bars[0].ts: True, bars[1].ts: True, bars[2].ts: False}

    # Same values again: nothing is rewritten.
    fetched_at = list(Candle.objects.order_by("ts").values_list("fetched_at", flat=True))
    assert services.candles_upsert(stock=stock, timeframe="5m", bars=bars, now=now) == 0
    assert list(Candle.objects.order_by("ts").values_list("fetched_at", flat=True)) == fetched_at

    # The forming bar moved on and the clock passed its end: one row changes, now final.
    later = kst(2025, 9, 17, 10, 11)
    grown = [bars[1], bar(bars[2].ts, close=103.0, volume=25)]
    assert services.candles_upsert(stock=stock, timeframe="5m", bars=grown, now=later) == 1
    row = Candle.objects.get(stock=stock, ts=bars[2].ts)
    assert (row.close, row.volume, row.is_final) == (103.0, 25, True)
    assert Candle.objects.filter(stock=stock).count() == 3


def test_upsert_drops_duplicate_instants_in_one_batch():
    stock = make_stock()
    ts = kst(2025, 9, 15)
    written = services.candles_upsert(
        stock=stock, timeframe="1d", bars=[bar(ts, close=100), bar(ts, close=999)]
    )
    assert written == 1
    assert Candle.objects.get(stock=stock).close == 100


def test_gaps_against_the_krx_calendar():
    stock = make_stock()
    # 2025-10-01..2025-10-14 has the 추석 closure 10-03 and 10-06..10-09.
    days = [dt.date(2025, 10, 1), dt.date(2025, 10, 2), dt.date(2025, 10, 13)]
    services.candles_upsert(
        stock=stock, timeframe="1d", bars=[bar(kst(d.year, d.month, d.day)) for d in days]
    )
    gaps = services.series_gaps(
        stock=stock,
        timeframe="1d",
        start=dt.date(2025, 10, 1),
        end=dt.date(2025, 10, 14),
        now=kst(2025, 10, 20),
    )
    assert gaps == [(kst(2025, 10, 10), kst(2025, 10, 10)), (kst(2025, 10, 14), kst(2025, 10, 14))]


def _info(**fields) -> StockInfo:
    values = {
        "code": "005930",
        "name": "삼성전자",
        "market": "KOSPI",
        "industry": "전기/전자",
        "listed_shares": 5_969_782_550,
        "last_price": 71_900.0,
        "state": "증거금20%|담보대출|신용가능",
        "audit_info": "정상",
        "order_warning": "0",
        "nxt_enabled": True,
        "listed_on": None,
        "market_name": "거래소",
    }
    values.update(fields)
    return StockInfo(**values)


@pytest.mark.parametrize(
    ("fields", "passes"),
    [
        ({}, True),
        ({"name": "KODEX 200"}, False),
        ({"name": "미래에셋스팩1호"}, False),
        ({"name": "신한알파리츠"}, False),
        ({"state": "관리종목"}, False),
        ({"state": "증거금100%"}, False),
        ({"audit_info": "거래정지"}, False),
        ({"order_warning": "3"}, False),
        ({"listed_shares": 1_000_000, "last_price": 99_999.0}, False),  # 99.999 bn KRW
        ({"listed_shares": 1_000_000, "last_price": 100_000.0}, True),  # exactly 100 bn KRW
        ({"last_price": None}, False),
    ],
)
def test_filter_zero(fields, passes):
    assert services.passes_filter_zero(_info(**fields)) is passes
