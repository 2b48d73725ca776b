"""The Kiwoom client: row parsing (both field generations, signs, padding, empty strings, units,
bar keys), then over HTTP against the simulator: paging, tokens, rate limit, faults, secrets.

The rows below have the shape of real ka10081/ka10080/ka10099 responses
(docs/architecture.md#market-data-conventions); the values are hand-checked.
"""

import datetime as dt
import hashlib
import logging
import math

import pytest
import redis
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from marketdata.kiwoom import (
    ERROR_UNKNOWN_STOCK,
    FIRST_BAR_DATE,
    MAX_PRICE_KRW,
    MAX_TRADED_VALUE_KRW,
    MAX_VOLUME_SHARES,
    KiwoomApiError,
    KiwoomClient,
    KiwoomMalformedResponse,
    KiwoomUnavailable,
    KiwoomUnknownStock,
    current_trading_day,
    parse_bar,
    parse_number,
    parse_stock_info,
)
from marketdata.tests.factories import SIMULATOR_NOW, django_python, kst, make_kiwoom_client

# Older field generation (daily): upd_stkpc_tp / upd_rt / pred_close_pric …, no signs,
# traded value in million KRW.
DAILY_OLD = {
    "cur_prc": "60900",
    "trde_qty": "19247631",
    "trde_prica": "1171363",
    "dt": "20201013",
    "open_pric": "61000",
    "high_pric": "61400",
    "low_pric": "60400",
    "upd_stkpc_tp": "",
    "upd_rt": "",
    "bic_inds_tp": "",
    "sm_inds_tp": "",
    "stk_infr": "",
    "upd_stkpc_event": "",
    "pred_close_pric": "",
}
# Newer generation: pred_pre / pred_pre_sig / trde_tern_rt, signed prices.
DAILY_NEW = {
    "cur_prc": "-70100",
    "trde_qty": "0012345678",
    "trde_prica": "866000",
    "dt": "20250808",
    "open_pric": "+70500",
    "high_pric": "+71000",
    "low_pric": "-69800",
    "pred_pre": "-600",
    "pred_pre_sig": "5",
    "trde_tern_rt": "+0.21",
}
MINUTE_NEW = {
    "cur_prc": "-78800",
    "trde_qty": "7993",
    "cntr_tm": "20250917132000",
    "open_pric": "-78800",
    "high_pric": "+78900",
    "low_pric": "-78700",
    "acc_trde_qty": "10458340",
    "pred_pre": "-200",
    "pred_pre_sig": "5",
}
MINUTE_OLD = {
    "cur_prc": "78800",
    "trde_qty": "7993",
    "cntr_tm": "20250917132000",
    "open_pric": "78800",
    "high_pric": "78900",
    "low_pric": "78700",
    "upd_stkpc_tp": "",
    "upd_rt": "",
    "bic_inds_tp": "",
    "sm_inds_tp": "",
    "stk_infr": "",
    "pred_close_pric": "",
}


def test_daily_old_generation_traded_value_in_krw():
    bar = parse_bar(DAILY_OLD, timeframe="1d")
    assert bar.ts == kst(2020, 10, 13)
    assert (bar.open, bar.high, bar.low, bar.close) == (61000, 61400, 60400, 60900)
    assert bar.volume == 19247631
    assert bar.traded_value == 1_171_363_000_000
    # million KRW × 10⁶ / shares is a price inside the day's range
    assert bar.low <= bar.traded_value / bar.volume <= bar.high


def test_daily_new_generation_signs_are_direction_not_value():
    bar = parse_bar(DAILY_NEW, timeframe="1d")
    assert (bar.open, bar.high, bar.low, bar.close) == (70500, 71000, 69800, 70100)
    assert bar.volume == 12345678


def test_minute_rows_of_both_generations_agree_and_key_the_bar_start():
    new = parse_bar(MINUTE_NEW, timeframe="5m")
    old = parse_bar(MINUTE_OLD, timeframe="5m")
    assert new == old
    assert new.ts == kst(2025, 9, 17, 13, 20)
    assert new.traded_value is None  # ka10080 sends no traded value


@pytest.mark.parametrize(
    ("timeframe", "stamp", "start"),
    [
        ("5m", "20250917090500", (9, 0)),
        ("1h", "20250917153000", (15, 0)),
        ("30m", "20250917100000", (9, 30)),
    ],
)
def test_end_labelled_minute_stamps_map_to_the_bar_start(monkeypatch, timeframe, stamp, start):
    monkeypatch.setattr("marketdata.kiwoom.MINUTE_STAMP_IS_BAR_START", False)
    bar = parse_bar(dict(MINUTE_OLD, cntr_tm=stamp), timeframe=timeframe)
    assert bar.ts == kst(2025, 9, 17, *start)


def test_weekly_and_monthly_bars_are_keyed_by_monday_and_first():
    row = dict(DAILY_OLD, dt="20250904")  # a Thursday
    assert parse_bar(row, timeframe="1w").ts == kst(2025, 9, 1)
    assert parse_bar(row, timeframe="1mo").ts == kst(2025, 9, 1)
    # weekly/monthly traded value is already KRW
    assert parse_bar(row, timeframe="1w").traded_value == 1_171_363


@pytest.mark.parametrize(
    ("text", "value"),
    [("00000197", 197), ("+61000", 61000), ("-78800", 78800), ("1,234", 1234), ("", None)],
)
def test_numbers(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "change",
    [
        {"cur_prc": ""},
        {"dt": ""},
        {"dt": "2025-08-08"},
        {"high_pric": "abc"},
        {"high_pric": "60000"},  # below the open and close
        {"trde_qty": ""},
    ],
)
def test_malformed_rows_are_rejected(change):
    with pytest.raises(ValueError):
        parse_bar(dict(DAILY_OLD, **change), timeframe="1d")


# The day DAILY_OLD's row was the newest one (a Tuesday).
LATEST = dt.date(2020, 10, 13)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"cur_prc": "inf", "high_pric": "inf"}, "cur_prc='inf'"),
        ({"cur_prc": "NaN"}, "cur_prc='NaN'"),
        (dict.fromkeys(("open_pric", "high_pric", "low_pric", "cur_prc"), "1e308"), "1e308"),
        ({"high_pric": "1e309"}, "high_pric='1e309'"),
        ({"cur_prc": "100000001"}, "cur_prc='100000001'"),  # above MAX_PRICE_KRW
        (
            dict.fromkeys(("open_pric", "high_pric", "low_pric", "cur_prc", "trde_qty"), "0"),
            "cur_prc",
        ),
        ({"open_pric": "0"}, "inconsistent OHLC"),  # one zero price is not a halt
        ({"low_pric": "61500"}, "inconsistent OHLC"),  # High 61400 < Low 61500
        ({"dt": "99991231"}, "dt='99991231'"),
        ({"dt": "20991231"}, "dt='20991231'"),
        ({"dt": "00010101"}, "dt='00010101'"),
        ({"dt": "19791231"}, "dt='19791231'"),
        ({"dt": "20201014"}, "dt='20201014'"),  # the day after the current trading day
        ({"trde_qty": "9223372036854775808"}, "trde_qty="),  # int64 max + 1
        ({"trde_qty": "inf"}, "trde_qty='inf'"),
        ({"trde_qty": "-5"}, "trde_qty='-5' is negative"),
        ({"trde_prica": "1e20"}, "trde_prica='1e20'"),
        ({"trde_prica": "nan"}, "trde_prica='nan'"),
    ],
)
def test_rows_that_cannot_be_a_bar_are_refused_naming_the_field(change, named):
    with pytest.raises(ValueError) as refused:
        parse_bar(dict(DAILY_OLD, **change), timeframe="1d", latest=LATEST)
    assert named in str(refused.value)


@pytest.mark.parametrize("stamp", ["99991231235959", "00010101090000", "20250918090000"])
def test_minute_rows_outside_the_dates_are_refused(stamp):
    with pytest.raises(ValueError, match="cntr_tm="):
        parse_bar(dict(MINUTE_OLD, cntr_tm=stamp), timeframe="5m", latest=dt.date(2025, 9, 17))


def test_weekly_and_monthly_rows_may_be_dated_inside_the_current_period_only():
    row = dict(DAILY_OLD, dt="20201015")  # Thursday of LATEST's week
    assert parse_bar(row, timeframe="1w", latest=LATEST).ts == kst(2020, 10, 12)
    assert parse_bar(row, timeframe="1mo", latest=LATEST).ts == kst(2020, 10, 1)
    with pytest.raises(ValueError, match="current trading day"):
        parse_bar(row, timeframe="1d", latest=LATEST)
    with pytest.raises(ValueError, match="dt='20201019'"):  # next week's Monday
        parse_bar(dict(row, dt="20201019"), timeframe="1w", latest=LATEST)


def test_the_oldest_and_newest_possible_dates_are_accepted():
    first = FIRST_BAR_DATE.strftime("%Y%m%d")
    assert parse_bar(dict(DAILY_OLD, dt=first), timeframe="1d", latest=LATEST).ts == kst(1980, 1, 1)
    assert parse_bar(DAILY_OLD, timeframe="1d", latest=LATEST).ts == kst(2020, 10, 13)


def test_a_halted_day_is_a_flat_bar_at_the_standing_price_without_volume():
    halted = dict(
        DAILY_OLD,
        open_pric="0",
        high_pric="0",
        low_pric="0",
        trde_qty="0",
        trde_prica="0",
    )
    bar = parse_bar(halted, timeframe="1d", latest=LATEST)
    assert (bar.open, bar.high, bar.low, bar.close) == (60900, 60900, 60900, 60900)
    assert (bar.volume, bar.traded_value) == (0, 0)
    with pytest.raises(ValueError, match="open, high and low are 0 but trde_qty='12'"):
        parse_bar(dict(halted, trde_qty="12"), timeframe="1d", latest=LATEST)


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (kst(2026, 3, 4, 11, 7), dt.date(2026, 3, 4)),  # a Wednesday session
        (kst(2026, 3, 4, 0, 1), dt.date(2026, 3, 4)),  # before the open: still that date
        (kst(2026, 3, 7, 12, 0), dt.date(2026, 3, 6)),  # Saturday → Friday
        (kst(2026, 3, 2, 12, 0), dt.date(2026, 2, 27)),  # 대체공휴일 Monday → Friday
        (dt.datetime(2026, 3, 3, 15, 30, tzinfo=dt.UTC), dt.date(2026, 3, 4)),  # 00:30 KST
    ],
)
def test_current_trading_day(now, day):
    assert current_trading_day(now) == day


HOSTILE_NUMBERS = st.sampled_from(
    ["", "0", "-0", "+1", "-1", "nan", "-inf", "inf", "1e308", "1e309", "9" * 25, "1.5", "abc"]
)
NUMBERS = st.one_of(HOSTILE_NUMBERS, st.integers(0, 10**20).map(str))
DATES = st.one_of(
    st.sampled_from(["00010101", "99991231", "19800101", "20201013", "20201014", "2020101"]),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
)


@given(
    row=st.fixed_dictionaries(
        {
            "dt": DATES,
            "open_pric": NUMBERS,
            "high_pric": NUMBERS,
            "low_pric": NUMBERS,
            "cur_prc": NUMBERS,
            "trde_qty": NUMBERS,
            "trde_prica": NUMBERS,
        }
    ),
    timeframe=st.sampled_from(["1d", "1w", "1mo"]),
)
def test_any_row_is_a_plausible_bar_or_a_value_error(row, timeframe):
    try:
        bar = parse_bar(row, timeframe=timeframe, latest=LATEST)
    except ValueError:
        return
    prices = (bar.open, bar.high, bar.low, bar.close)
    assert all(math.isfinite(p) and 0 < p <= MAX_PRICE_KRW for p in prices)
    assert bar.low <= min(bar.open, bar.close) and max(bar.open, bar.close) <= bar.high
    assert 0 <= bar.volume <= MAX_VOLUME_SHARES
    assert bar.traded_value is None or 0 <= bar.traded_value <= MAX_TRADED_VALUE_KRW
    # 1980-01-01 was a Tuesday: its weekly bar starts on Monday 1979-12-31.
    assert kst(1979, 12, 31) <= bar.ts <= kst(2020, 10, 13)


def test_stock_master_item_zero_padding_and_flags():
    info = parse_stock_info(
        {
            "code": "005930",
            "name": "삼성전자",
            "listCount": "0000005969782550",
            "auditInfo": "정상",
            "regDay": "19750611",
            "lastPrice": "00071900",
            "state": "증거금20%|담보대출|신용가능",
            "marketCode": "0",
            "marketName": "거래소",
            "upName": "전기/전자",
            "orderWarning": "0",
            "nxtEnable": "Y",
        },
        market="KOSPI",
    )
    assert info.listed_shares == 5_969_782_550
    assert info.last_price == 71900
    assert info.listed_on == dt.date(1975, 6, 11)
    assert info.nxt_enabled is True
    assert info.industry == "전기/전자"


# --- Over HTTP against the simulator ------------------------------------------------------

CODE = "005930"


@pytest.fixture
def sim(kiwoom_settings, kiwoom_state_cleared):
    kiwoom_settings.reset(tokens=True)
    return kiwoom_settings


def fetch(client, timeframe, since, code=CODE, base_date=None):
    bars = []
    for page in client.chart_pages(
        code=code, timeframe=timeframe, since=since, base_date=base_date
    ):
        bars.extend(page)
    return sorted((b for b in bars if b.ts >= since), key=lambda b: b.ts)


def truth(sim, timeframe, since, code=CODE):
    frame = sim.market.bars(code, timeframe, since.date() if timeframe != "5m" else since)
    return frame[frame.index >= since]


def as_tuples(bars):
    return [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def truth_tuples(frame):
    return [
        (
            ts.to_pydatetime(),
            float(r.open),
            float(r.high),
            float(r.low),
            float(r.close),
            int(r.volume),
        )
        for ts, r in frame.iterrows()
    ]


def test_pagination_reads_back_to_the_start_date_across_many_pages(sim):
    sim.configure(page_size=25)
    since = kst(2025, 3, 4)
    with make_kiwoom_client(sim) as client:
        bars = fetch(client, "1d", since, base_date=SIMULATOR_NOW.date())
    expected = truth(sim, "1d", since)
    assert len(expected) > 200
    assert as_tuples(bars) == truth_tuples(expected)
    chart_requests = [r for r in sim.requests() if r["api_id"] == "ka10081"]
    assert len(chart_requests) >= len(expected) // 25
    assert [r["cont_yn"] for r in chart_requests][:2] == ["N", "Y"]


@pytest.mark.parametrize("timeframe", ["5m", "1d", "1w"])
def test_both_field_generations_give_the_true_bars(sim, timeframe):
    since = kst(2026, 2, 20) if timeframe == "5m" else kst(2025, 6, 2)
    results = {}
    for generation in ("current", "legacy"):
        sim.configure(fields=generation)
        with make_kiwoom_client(sim) as client:
            results[generation] = fetch(client, timeframe, since, base_date=SIMULATOR_NOW.date())
    assert results["current"] == results["legacy"]
    assert as_tuples(results["current"]) == truth_tuples(truth(sim, timeframe, since))


def test_units_traded_value_in_krw_for_daily_and_weekly(sim):
    since = kst(2026, 1, 5)
    with make_kiwoom_client(sim) as client:
        daily = fetch(client, "1d", since, base_date=SIMULATOR_NOW.date())
        weekly = fetch(client, "1w", since, base_date=SIMULATOR_NOW.date())
    for bars, timeframe in ((daily, "1d"), (weekly, "1w")):
        expected = truth(sim, timeframe, since)
        # Daily rows carry million KRW (rounded), so a bar's KRW value is exact to ±0.5 million.
        tolerance = 500_000 if timeframe == "1d" else 0
        assert len(bars) == len(expected)
        for bar, value in zip(bars, expected["traded_value"], strict=True):
            assert abs(bar.traded_value - int(value)) <= tolerance
        # KRW: value / volume is a price inside the bar
        assert all(b.low <= b.traded_value / b.volume <= b.high for b in bars if b.volume)


def test_minute_prices_signed_by_kiwoom_are_stored_as_magnitudes(sim):
    since = kst(2026, 3, 3, 9, 0)
    with make_kiwoom_client(sim) as client:
        data, _ = client.call(
            "ka10080",
            "/api/dostk/chart",
            {"stk_cd": CODE, "tic_scope": "5", "upd_stkpc_tp": "1"},
        )
        bars = fetch(client, "5m", since)
    raw = data["stk_min_pole_chart_qry"]
    assert any(row["cur_prc"].startswith(("+", "-")) for row in raw)
    assert all(b.close > 0 for b in bars)
    assert as_tuples(bars) == truth_tuples(truth(sim, "5m", since))


def test_token_is_shared_by_two_processes_and_issued_once(sim):
    issued_before = sim.state()["tokens"]["issued"]
    code = (
        "import hashlib; from marketdata.kiwoom import KiwoomClient\n"
        "c = KiwoomClient.from_settings()\n"
        "print(hashlib.sha256(c.token().encode()).hexdigest())\n"
    )
    processes = [django_python(code, KIWOOM_BASE_URL=sim.url) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    hashes = {out.strip() for out, _ in outputs}
    assert len(hashes) == 1
    assert sim.state()["tokens"]["issued"] == issued_before + 1
    with make_kiwoom_client(sim) as client:
        assert hashlib.sha256(client.token().encode()).hexdigest() in hashes
    assert sim.state()["tokens"]["issued"] == issued_before + 1


def test_rejected_token_is_refreshed_and_the_call_succeeds(sim):
    with make_kiwoom_client(sim) as client:
        first = client.token()
        sim.configure(expire_tokens=True)
        bars = fetch(client, "1d", kst(2026, 2, 2), base_date=SIMULATOR_NOW.date())
        assert client.token() != first
    assert bars
    statuses = [r["status"] for r in sim.requests() if r["path"] == "/api/dostk/chart"]
    assert statuses[0] == 401 and statuses[-1] == 200
    # another process's client picks up the refreshed token from Redis
    with make_kiwoom_client(sim) as other:
        assert other.token() == client.token()


def test_token_is_refreshed_before_its_expiry(sim):
    sim.configure(token_lifetime_s=120)  # inside the 5-minute refresh margin
    with make_kiwoom_client(sim) as client:
        assert client.token() != client.token()
    sim.configure(token_lifetime_s=3600)
    with make_kiwoom_client(sim) as client:
        token = client.token()
        assert client.token() == token


def test_rate_limit_is_shared_by_two_processes(sim):
    rps = 4
    sim.configure(max_rps=rps)
    code = (
        "from marketdata.kiwoom import KiwoomClient\n"
        f"c = KiwoomClient.from_settings(max_rps={rps})\n"
        "c.token()\n"
        "for _ in range(6):\n"
        "    c.call('ka10081', '/api/dostk/chart', "
        "{'stk_cd': '005930', 'base_dt': '20260303', 'upd_stkpc_tp': '1'})\n"
    )
    processes = [django_python(code, KIWOOM_BASE_URL=sim.url) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    log = [r for r in sim.requests() if r["api_id"] == "ka10081"]
    assert len(log) == 12
    assert all(r["status"] == 200 for r in log)  # not one 1700 from the simulator's limiter
    instants = sorted(r["at"] for r in log)
    busiest = max(sum(1 for t in instants if start <= t < start + 1.0) for start in instants)
    assert busiest <= rps + 1  # one limiter: 2 processes × 4 req/s would reach 8


@pytest.mark.parametrize(
    "fault",
    [
        {"fail_next": 3},
        {"fail_next": 2, "fail_status": 503},
        {"fail_rate": 0.3, "fail_seed": 7},
        {"rate_limit_next": 3},
        {"malformed_next": 2},
        {"duplicate_rows": True},
        {"latency_ms": 30},
        {"expire_tokens": True},
    ],
    ids=lambda f: next(iter(f)),
)
def test_every_fault_switch_recovers_with_the_true_bars(sim, fault):
    sim.configure(page_size=40)
    with make_kiwoom_client(sim) as client:
        client.token()
        sim.configure(**fault)
        since = kst(2025, 10, 1)
        bars = fetch(client, "1d", since, base_date=SIMULATOR_NOW.date())
    assert as_tuples(bars) == truth_tuples(truth(sim, "1d", since))


def test_a_bad_row_stops_the_series_naming_it_and_nothing_of_its_page_is_returned(sim):
    sim.configure(
        page_size=20,
        corrupt_code=CODE,
        corrupt_row=27,  # the 8th row of the second page
        corrupt_fields={"cur_prc": "1e308", "high_pric": "1e308"},
    )
    served = truth(sim, "1d", kst(2025, 1, 2))
    stamp = served.index[-28].strftime("%Y%m%d")
    pages = []
    with make_kiwoom_client(sim) as client, pytest.raises(KiwoomMalformedResponse) as refused:
        for page in client.chart_pages(
            code=CODE, timeframe="1d", since=kst(2025, 1, 2), base_date=SIMULATOR_NOW.date()
        ):
            pages.append(page)
    assert str(refused.value) == (
        f"Malformed Kiwoom ka10081 response: {CODE} page 2 row 8 (dt={stamp!r}): "
        f"cur_prc='1e308' is not a price (0 < price ≤ {MAX_PRICE_KRW:,})"
    )
    assert [len(page) for page in pages] == [20]  # page 1 only


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"stuck_next_key": True}, "page 2: next-key '005930" + "1d"),
        ({"repeat_pages": True}, "page 2 added no new bars but cont-yn says more follow"),
    ],
    ids=["repeated next-key", "page without new bars"],
)
def test_a_cont_yn_loop_ends_the_series_at_once(sim, fault, message):
    sim.configure(page_size=20, **fault)
    with make_kiwoom_client(sim) as client, pytest.raises(KiwoomMalformedResponse, match=message):
        fetch(client, "1d", kst(2020, 1, 2), base_date=SIMULATOR_NOW.date())
    assert len([r for r in sim.requests() if r["api_id"] == "ka10081"]) == 2


def test_a_stuck_stock_list_ends_at_once(sim):
    sim.configure(page_size=4, stuck_next_key=True)
    stuck = "KOSPI page 2: next-key '0:4'"
    with make_kiwoom_client(sim) as client, pytest.raises(KiwoomMalformedResponse, match=stuck):
        client.stock_list(market="KOSPI")
    assert len([r for r in sim.requests() if r["api_id"] == "ka10099"]) == 2


def test_timeouts_exhaust_the_retries_with_a_clear_error(sim):
    with make_kiwoom_client(sim, timeout=0.2, max_attempts=2) as client:
        client.token()
        sim.configure(latency_ms=600)
        with pytest.raises(KiwoomUnavailable, match="timeout after 0.2 s"):
            fetch(client, "1d", kst(2026, 2, 2), base_date=SIMULATOR_NOW.date())


def test_unknown_code_and_bad_input_are_errors_not_empty_data(sim):
    with make_kiwoom_client(sim) as client:
        with pytest.raises(KiwoomUnknownStock) as unknown:
            fetch(client, "1d", kst(2026, 2, 2), code="999999", base_date=SIMULATOR_NOW.date())
        assert str(unknown.value) == ERROR_UNKNOWN_STOCK.format(code="999999", return_code=1902)
        with pytest.raises(KiwoomApiError, match="return_code 1517"):
            fetch(client, "1d", kst(2026, 2, 2), code="5930", base_date=SIMULATOR_NOW.date())


def test_persistently_malformed_json_is_reported(sim):
    with make_kiwoom_client(sim, max_attempts=3) as client:
        client.token()
        sim.configure(malformed_next=10)
        with pytest.raises(KiwoomUnavailable, match="malformed JSON"):
            fetch(client, "1d", kst(2026, 2, 2), base_date=SIMULATOR_NOW.date())


def test_keys_and_tokens_never_reach_logs_errors_or_reprs(sim, caplog):
    appkey, secretkey = "APPKEY-7f3a9c-TOPSECRET", "SECRETKEY-b81d2e-TOPSECRET"
    caplog.set_level(logging.DEBUG)
    client = KiwoomClient(
        base_url=sim.url,
        appkey=appkey,
        secretkey=secretkey,
        max_rps=1000,
        timeout=5,
        redis_url=settings.REDIS_URL,
        backoff_base=0.01,
    )
    with client:
        token = client.token()
        sim.configure(fail_next=2, malformed_next=1)
        fetch(client, "1d", kst(2026, 2, 2), base_date=SIMULATOR_NOW.date())
        sim.configure(fail_next=100)
        with pytest.raises(KiwoomUnavailable) as failure:
            fetch(client, "1d", kst(2026, 1, 2), base_date=SIMULATOR_NOW.date())
    shown = caplog.text + str(failure.value) + repr(failure.value) + repr(client)
    for secret in (appkey, secretkey, token):
        assert secret not in shown


def test_rate_limiter_spaces_requests_from_redis_time():
    from marketdata.kiwoom import RateLimiter

    client = redis.Redis.from_url(settings.REDIS_URL)
    limiter = RateLimiter(client, "kiwoom:rate:test-spacing", max_rps=50)
    client.delete(limiter.key)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits[0] == 0
    assert all(w > 0 for w in waits[1:])  # each later caller waited for its own slot


def test_without_redis_no_request_is_sent_and_the_error_says_why(sim):
    with make_kiwoom_client(sim, redis_url="redis://127.0.0.1:1/0") as client:
        with pytest.raises(KiwoomUnavailable, match=r"Redis \(REDIS_URL\) is unreachable"):
            client.token()
        with pytest.raises(KiwoomUnavailable, match="unreachable"):
            fetch(client, "1d", kst(2026, 2, 2), base_date=SIMULATOR_NOW.date())
    assert sim.requests() == []
