"""The Kiwoom simulator over real HTTP: protocol, paging, errors, fault switches, and a market
whose bars are consistent across timeframes, on KRX ticks, inside KRX sessions."""

import json
import subprocess
import sys
import time
from datetime import date, datetime, timedelta

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from marketdata import krx_calendar as cal
from marketdata.krx_calendar import KST
from marketdata.simulator.market import SimulatedMarket, is_valid_tick, tick_size
from marketdata.simulator.universe import UNIVERSE
from marketdata.tests.factories import SIMULATOR_NOW, SIMULATOR_PAGE_SIZE

CHART = "/api/dostk/chart"
STKINFO = "/api/dostk/stkinfo"
LIST_KEYS = {
    "ka10080": "stk_min_pole_chart_qry",
    "ka10081": "stk_dt_pole_chart_qry",
    "ka10082": "stk_stk_pole_chart_qry",
    "ka10083": "stk_mth_pole_chart_qry",
}
TODAY = SIMULATOR_NOW.strftime("%Y%m%d")


# --- a minimal client, written from the protocol (the project's own client lives elsewhere) ----


@pytest.fixture
def http(kiwoom_simulator):
    with httpx.Client(base_url=kiwoom_simulator.url, timeout=10) as client:
        yield client


def issue_token(http, appkey="test-appkey") -> str:
    body = {"grant_type": "client_credentials", "appkey": appkey, "secretkey": "test-secret"}
    response = http.post("/oauth2/token", json=body)
    assert response.status_code == 200
    return response.json()["token"]


@pytest.fixture
def token(http):
    return issue_token(http)


def call(http, token, api_id, body, *, path=CHART, next_key=None, raw=False):
    headers = {
        "api-id": api_id,
        "authorization": f"Bearer {token}",
        "cont-yn": "Y" if next_key else "N",
        "next-key": next_key or "",
    }
    response = http.post(path, json=body, headers=headers)
    return response if raw else (response.status_code, response.json(), response.headers)


def fetch_pages(http, token, api_id, body, *, path=CHART, max_pages=500):
    """Every page of one query: a list of (rows, response headers)."""
    pages, next_key = [], None
    list_key = LIST_KEYS.get(api_id, "list")
    for _ in range(max_pages):
        status, payload, headers = call(http, token, api_id, body, path=path, next_key=next_key)
        assert status == 200 and payload["return_code"] == 0, payload
        pages.append((payload[list_key], headers))
        if headers["cont-yn"] != "Y":
            return pages
        next_key = headers["next-key"]
    raise AssertionError("paging did not end")


def rows_of(pages):
    return [row for rows, _ in pages for row in rows]


def chart_body(code="005930", base_dt=TODAY, **extra):
    return {"stk_cd": code, "base_dt": base_dt, "upd_stkpc_tp": "1", **extra}


def minute_body(code="005930", scope="5"):
    return {"stk_cd": code, "tic_scope": scope, "upd_stkpc_tp": "1"}


def price(text: str) -> int:
    return abs(int(text))


def daily_frame(rows, unit) -> pd.DataFrame:
    """Kiwoom daily-type rows → frame keyed by the period start, like the ground truth."""
    frame = pd.DataFrame(
        {
            "day": [datetime.strptime(r["dt"], "%Y%m%d").date() for r in rows],
            "open": [price(r["open_pric"]) for r in rows],
            "high": [price(r["high_pric"]) for r in rows],
            "low": [price(r["low_pric"]) for r in rows],
            "close": [price(r["cur_prc"]) for r in rows],
            "volume": [int(r["trde_qty"]) for r in rows],
            "traded_value": [int(r["trde_prica"]) * unit for r in rows],
        }
    )
    return frame


def minute_frame(rows) -> pd.DataFrame:
    index = pd.DatetimeIndex(
        [datetime.strptime(r["cntr_tm"], "%Y%m%d%H%M%S").replace(tzinfo=KST) for r in rows]
    )
    return pd.DataFrame(
        {
            "open": [price(r["open_pric"]) for r in rows],
            "high": [price(r["high_pric"]) for r in rows],
            "low": [price(r["low_pric"]) for r in rows],
            "close": [price(r["cur_prc"]) for r in rows],
            "volume": [int(r["trde_qty"]) for r in rows],
        },
        index=index,
    )


# --- token ------------------------------------------------------------------------------------


def test_token_issue(http):
    body = {"grant_type": "client_credentials", "appkey": "k", "secretkey": "s"}
    payload = http.post("/oauth2/token", json=body).json()
    assert payload["return_code"] == 0 and payload["return_msg"]
    assert payload["token_type"] == "bearer" and payload["token"]
    expires = datetime.strptime(payload["expires_dt"], "%Y%m%d%H%M%S").replace(tzinfo=KST)
    assert abs((expires - datetime.now(KST)).total_seconds() - 86_400) < 60


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"appkey": "k", "secretkey": "s"}, 8011),
        ({"grant_type": "password", "appkey": "k", "secretkey": "s"}, 8012),
        ({"grant_type": "client_credentials", "secretkey": "s"}, 8020),
        ({"grant_type": "client_credentials", "appkey": "k", "secretkey": ""}, 8020),
    ],
)
def test_token_request_errors(http, body, code):
    payload = http.post("/oauth2/token", json=body).json()
    assert payload["return_code"] == code and "token" not in payload


def test_revoked_token_is_rejected(http, token):
    body = {"appkey": "test-appkey", "secretkey": "test-secret", "token": token}
    assert http.post("/oauth2/revoke", json=body).json()["return_code"] == 0
    status, payload, _ = call(http, token, "ka10081", chart_body())
    assert (status, payload["return_code"]) == (401, 8005)


# --- ka10099 ------------------------------------------------------------------------------------


def test_stock_list_per_market(http, token, kiwoom_simulator):
    kospi = rows_of(fetch_pages(http, token, "ka10099", {"mrkt_tp": "0"}, path=STKINFO))
    kosdaq = rows_of(fetch_pages(http, token, "ka10099", {"mrkt_tp": "10"}, path=STKINFO))
    assert 20 <= len(kospi) + len(kosdaq) <= 34
    assert {r["marketCode"] for r in kospi} == {"0"} and {r["marketName"] for r in kospi} == {
        "거래소"
    }
    assert {r["marketCode"] for r in kosdaq} == {"10"}
    samsung = next(r for r in kospi if r["code"] == "005930")
    assert samsung["name"] == "삼성전자" and samsung["regDay"] == "19750611"
    assert samsung["listCount"] == "0000005919637922"
    assert len(samsung["lastPrice"]) == 8 and samsung["lastPrice"].startswith("00")
    previous_session = cal.previous_trading_day(SIMULATOR_NOW.date())
    truth = kiwoom_simulator.market.bars("005930", "1d", previous_session, previous_session)
    assert int(samsung["lastPrice"]) == truth.close.iloc[0]
    names = " ".join(r["name"] for r in kospi + kosdaq)
    states = " ".join(r["state"] for r in kospi + kosdaq)
    assert "KODEX" in names and "스팩" in names and "관리종목" in states and "증거금100%" in states
    assert http.post(STKINFO, json={"mrkt_tp": "8"}, headers={}).status_code == 401
    other = rows_of(fetch_pages(http, token, "ka10099", {"mrkt_tp": "8"}, path=STKINFO))
    assert other == []


def test_stock_list_pages_and_legacy_fields(http, token, kiwoom_simulator):
    whole = rows_of(fetch_pages(http, token, "ka10099", {"mrkt_tp": "0"}, path=STKINFO))
    kiwoom_simulator.configure(page_size=4, fields="legacy")
    pages = fetch_pages(http, token, "ka10099", {"mrkt_tp": "0"}, path=STKINFO)
    assert len(pages) == -(-len(whole) // 4) and all(h["cont-yn"] == "Y" for _, h in pages[:-1])
    legacy = rows_of(pages)
    assert [r["code"] for r in legacy] == [r["code"] for r in whole]
    assert "listCount" not in legacy[0] and "lastPrice" not in legacy[0]
    assert set(legacy[0]) == {
        "code",
        "name",
        "auditInfo",
        "regDay",
        "state",
        "marketCode",
        "upName",
        "upSizeName",
        "orderWarning",
        "nxtEnable",
    }


# --- charts against the ground truth ------------------------------------------------------------


def test_daily_chart_pages_back_to_the_first_day_newest_first(http, token, kiwoom_simulator):
    pages = fetch_pages(http, token, "ka10081", chart_body("373220"))
    assert all(len(rows) == SIMULATOR_PAGE_SIZE for rows, _ in pages[:-1])
    assert pages[-1][1]["next-key"] == "" and pages[0][1]["api-id"] == "ka10081"
    got = daily_frame(rows_of(pages), 1_000_000)
    assert got.day.is_monotonic_decreasing and got.day.is_unique
    truth = kiwoom_simulator.market.bars("373220", "1d")
    assert got.day.iloc[0] == SIMULATOR_NOW.date() and got.day.iloc[-1] == date(2022, 1, 27)
    got = got.iloc[::-1].reset_index(drop=True)
    assert len(got) == len(truth)
    for column in ("open", "high", "low", "close", "volume"):
        assert (got[column].to_numpy() == truth[column].to_numpy()).all(), column
    final = truth.is_final.to_numpy()
    assert (got.traded_value.to_numpy()[final] == truth.traded_value.to_numpy()[final]).all()
    assert not final[-1] and final[:-1].all()


def test_daily_chart_from_a_past_base_date(http, token):
    rows = fetch_pages(http, token, "ka10081", chart_body("005930", base_dt="20240105"))[0][0]
    assert rows[0]["dt"] == "20240105" and rows[1]["dt"] == "20240104"
    # A holiday as base date starts at the session before it (2024-02-12: 설날 substitute).
    rows = fetch_pages(http, token, "ka10081", chart_body("005930", base_dt="20240212"))[0][0]
    assert rows[0]["dt"] == "20240208"


def test_daily_rows_carry_current_generation_fields(http, token):
    rows = fetch_pages(http, token, "ka10081", chart_body("005930", base_dt="20240105"))[0][0]
    row, previous = rows[0], rows[1]
    assert set(row) == {
        "cur_prc",
        "trde_qty",
        "trde_prica",
        "dt",
        "open_pric",
        "high_pric",
        "low_pric",
        "pred_pre",
        "pred_pre_sig",
        "trde_tern_rt",
    }
    change = int(row["cur_prc"]) - int(previous["cur_prc"])
    assert int(row["pred_pre"]) == change
    assert row["pred_pre_sig"] == ("2" if change > 0 else "5" if change < 0 else "3")
    assert not row["cur_prc"].startswith(("+", "-"))
    value_per_share = int(row["trde_prica"]) * 1_000_000 / int(row["trde_qty"])
    assert int(row["low_pric"]) * 0.99 <= value_per_share <= int(row["high_pric"]) * 1.01


def test_legacy_generation_rows(http, token, kiwoom_simulator):
    kiwoom_simulator.configure(fields="legacy")
    daily = fetch_pages(http, token, "ka10081", chart_body(base_dt="20240105"))[0][0][0]
    assert daily["upd_stkpc_tp"] == "" and daily["pred_close_pric"] == ""
    assert "pred_pre" not in daily
    minute = fetch_pages(http, token, "ka10080", minute_body())[0][0][0]
    assert minute["upd_rt"] == "" and "acc_trde_qty" not in minute


@pytest.mark.parametrize(("api_id", "timeframe"), [("ka10082", "1w"), ("ka10083", "1mo")])
def test_weekly_and_monthly_charts(http, token, kiwoom_simulator, api_id, timeframe):
    rows = rows_of(fetch_pages(http, token, api_id, chart_body("000660")))
    got = daily_frame(rows, 1).iloc[::-1].reset_index(drop=True)
    truth = kiwoom_simulator.market.bars("000660", timeframe)
    keys = [cal.period_start(timeframe, d) for d in got.day]
    assert keys == [ts.date() for ts in truth.index]
    # `dt` is the period's first trading day, e.g. Tuesday 2026-03-03 after 삼일절's substitute.
    assert all(cal.is_trading_day(d) for d in got.day)
    if timeframe == "1w":
        assert got.day.iloc[-1] == date(2026, 3, 3)
    for column in ("open", "high", "low", "close", "volume", "traded_value"):
        assert (got[column].to_numpy() == truth[column].to_numpy()).all(), column


@pytest.mark.parametrize(("scope", "timeframe"), [("5", "5m"), ("30", "30m"), ("60", "1h")])
def test_minute_charts(http, token, kiwoom_simulator, scope, timeframe):
    rows = rows_of(fetch_pages(http, token, "ka10080", minute_body("035720", scope)))
    got = minute_frame(rows)
    assert got.index.is_monotonic_decreasing and got.index.is_unique
    got = got.iloc[::-1]
    truth = kiwoom_simulator.market.bars("035720", timeframe)
    assert (got.index == truth.index).all()
    for column in ("open", "high", "low", "close", "volume"):
        assert (got[column].to_numpy() == truth[column].to_numpy()).all(), column
    # A year of history at least (a 1-year 1h and a 6-month 30m backfill need it).
    assert got.index[0].date() <= (SIMULATOR_NOW - timedelta(days=366)).date()


def test_minute_rows_signs_and_cumulative_volume(http, token, kiwoom_simulator):
    rows = fetch_pages(http, token, "ka10080", minute_body("000660", "5"))[0][0]
    market = kiwoom_simulator.market
    previous_close = market.previous_close("000660", SIMULATOR_NOW.date())
    today = [r for r in rows if r["cntr_tm"].startswith(TODAY)]
    assert today[0]["cntr_tm"] == TODAY + "110500" and today[-1]["cntr_tm"] == TODAY + "090000"
    for row in today:
        for name in ("cur_prc", "open_pric", "high_pric", "low_pric"):
            value = row[name]
            expected = "+" if abs(int(value)) > previous_close else "-"
            if abs(int(value)) == previous_close:
                assert value[0].isdigit()
            else:
                assert value[0] == expected, (name, value, previous_close)
        assert int(row["pred_pre"]) == abs(int(row["cur_prc"])) - previous_close
    volumes = [int(r["trde_qty"]) for r in reversed(today)]
    cumulative = [int(r["acc_trde_qty"]) for r in reversed(today)]
    assert cumulative == list(np.cumsum(volumes))


def test_pages_are_contiguous_across_continuations(http, token):
    pages = fetch_pages(http, token, "ka10080", minute_body("005930", "30"))
    stamps = [r["cntr_tm"] for rows, _ in pages for r in rows]
    assert len(stamps) == len(set(stamps)) and stamps == sorted(stamps, reverse=True)
    for (rows, _), (next_rows, _) in zip(pages, pages[1:], strict=False):
        last = datetime.strptime(rows[-1]["cntr_tm"], "%Y%m%d%H%M%S")
        first = datetime.strptime(next_rows[0]["cntr_tm"], "%Y%m%d%H%M%S")
        assert first < last


def test_unknown_tic_scope_below_five_minutes_is_rejected(http, token):
    status, payload, _ = call(http, token, "ka10080", minute_body(scope="3"))
    assert (status, payload["return_code"]) == (200, 1517)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_id", "body", "code"),
    [
        ("ka10081", {"base_dt": TODAY, "upd_stkpc_tp": "1"}, 1511),
        ("ka10081", {"stk_cd": "005930", "upd_stkpc_tp": "1"}, 1511),
        ("ka10081", {"stk_cd": "005930", "base_dt": TODAY}, 1511),
        ("ka10080", {"stk_cd": "005930", "upd_stkpc_tp": "1"}, 1511),
        ("ka10099", {}, 1511),
        ("ka10081", {"stk_cd": "005930", "base_dt": "2026-03-04", "upd_stkpc_tp": "1"}, 1517),
        ("ka10081", {"stk_cd": "005930", "base_dt": "20260231", "upd_stkpc_tp": "1"}, 1517),
        ("ka10081", {"stk_cd": "5930", "base_dt": TODAY, "upd_stkpc_tp": "1"}, 1517),
        ("ka10081", {"stk_cd": "005930", "base_dt": TODAY, "upd_stkpc_tp": "2"}, 1517),
        ("ka10080", {"stk_cd": "005930", "tic_scope": "7", "upd_stkpc_tp": "1"}, 1517),
        ("ka10099", {"mrkt_tp": "77"}, 1517),
        ("ka10081", {"stk_cd": "999999", "base_dt": TODAY, "upd_stkpc_tp": "1"}, 1902),
        ("ka10080", {"stk_cd": "00000J", "tic_scope": "5", "upd_stkpc_tp": "1"}, 1902),
    ],
)
def test_input_errors(http, token, api_id, body, code):
    path = STKINFO if api_id == "ka10099" else CHART
    status, payload, _ = call(http, token, api_id, body, path=path)
    assert status == 200 and payload["return_code"] == code and payload["return_msg"]
    assert LIST_KEYS.get(api_id, "list") not in payload


def test_header_and_body_errors(http, token):
    headers = {"authorization": f"Bearer {token}"}
    assert http.post(CHART, json=chart_body(), headers=headers).json()["return_code"] == 1501
    unknown = {**headers, "api-id": "ka99999"}
    assert http.post(CHART, json=chart_body(), headers=unknown).json()["return_code"] == 1505
    wrong_path = {**headers, "api-id": "ka10099"}
    assert http.post(CHART, json=chart_body(), headers=wrong_path).json()["return_code"] == 1504
    bad_json = {**headers, "api-id": "ka10081"}
    response = http.post(CHART, content=b"{not json", headers=bad_json)
    assert response.json()["return_code"] == 1517
    status, payload, _ = call(http, token, "ka10081", chart_body(), next_key="garbage")
    assert payload["return_code"] == 1517


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, 1513), ("Token abc", 1514), ("Bearer", 1514), ("Bearer not-a-token", 8005)],
)
def test_authorization_errors(http, authorization, code):
    headers = {"api-id": "ka10081"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = http.post(CHART, json=chart_body(), headers=headers)
    assert response.status_code == 401 and response.json()["return_code"] == code


def test_rate_limit_per_app_key(http, kiwoom_simulator):
    kiwoom_simulator.configure(max_rps=5)
    first, second = issue_token(http, "key-one"), issue_token(http, "key-two")
    codes = [call(http, first, "ka10081", chart_body())[1]["return_code"] for _ in range(12)]
    assert 5 <= codes.count(0) <= 7 and set(codes) == {0, 1700}
    response = call(http, first, "ka10081", chart_body(), raw=True)
    assert response.status_code == 429 and response.json()["return_code"] == 1700
    # Another app key has its own allowance; the first recovers after a pause.
    assert call(http, second, "ka10081", chart_body())[1]["return_code"] == 0
    time.sleep(1.1)
    assert call(http, first, "ka10081", chart_body())[1]["return_code"] == 0


# --- fault switches -------------------------------------------------------------------------------


def test_latency(http, token, kiwoom_simulator):
    kiwoom_simulator.configure(latency_ms=250)
    started = time.monotonic()
    assert call(http, token, "ka10081", chart_body())[0] == 200
    assert time.monotonic() - started >= 0.25


def test_fail_next_then_recover(http, token, kiwoom_simulator):
    kiwoom_simulator.configure(fail_next=2)
    assert [call(http, token, "ka10081", chart_body(), raw=True).status_code for _ in range(3)] == [
        500,
        500,
        200,
    ]
    kiwoom_simulator.configure(fail_next=1, fail_status=503)
    response = call(http, token, "ka10081", chart_body(), raw=True)
    assert response.status_code == 503 and "text/html" in response.headers["content-type"]


def test_fail_rate_is_deterministic_given_the_seed(http, token, kiwoom_simulator):
    def statuses():
        kiwoom_simulator.configure(fail_rate=0.4, fail_seed=7)
        return [call(http, token, "ka10081", chart_body(), raw=True).status_code for _ in range(20)]

    first = statuses()
    assert 3 <= first.count(500) <= 14 and first.count(200) + first.count(500) == 20
    assert statuses() == first


def test_rate_limit_burst(http, token, kiwoom_simulator):
    kiwoom_simulator.configure(rate_limit_next=2)
    codes = [call(http, token, "ka10081", chart_body())[1]["return_code"] for _ in range(3)]
    assert codes == [1700, 1700, 0]


def test_expire_all_tokens_now(http, token, kiwoom_simulator):
    kiwoom_simulator.configure(expire_tokens=True)
    status, payload, _ = call(http, token, "ka10081", chart_body())
    assert (status, payload["return_code"]) == (401, 8005)
    assert call(http, issue_token(http), "ka10081", chart_body())[1]["return_code"] == 0


def test_short_token_lifetime_over_http(http):
    http.post("/_simulator/faults", json={"token_lifetime_s": 1}).raise_for_status()
    body = {"grant_type": "client_credentials", "appkey": "k", "secretkey": "s"}
    payload = http.post("/oauth2/token", json=body).json()
    expires = datetime.strptime(payload["expires_dt"], "%Y%m%d%H%M%S").replace(tzinfo=KST)
    assert (expires - datetime.now(KST)).total_seconds() <= 2
    assert call(http, payload["token"], "ka10081", chart_body())[1]["return_code"] == 0
    time.sleep(1.6)
    assert call(http, payload["token"], "ka10081", chart_body())[1]["return_code"] == 8005


def test_malformed_json(http, token, kiwoom_simulator):
    kiwoom_simulator.configure(malformed_next=1)
    response = call(http, token, "ka10081", chart_body(), raw=True)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert call(http, token, "ka10081", chart_body())[1]["return_code"] == 0


def test_duplicate_rows_across_pages(http, token, kiwoom_simulator):
    clean = rows_of(fetch_pages(http, token, "ka10081", chart_body("207940")))
    kiwoom_simulator.configure(duplicate_rows=True)
    pages = fetch_pages(http, token, "ka10081", chart_body("207940"))
    assert len(pages) > 2
    for (rows, _), (next_rows, _) in zip(pages, pages[1:], strict=False):
        assert next_rows[0] == rows[-1]
    deduplicated = list({r["dt"]: r for r in rows_of(pages)}.values())
    assert deduplicated == clean


def test_hostile_answers_over_http(http, token, kiwoom_simulator):
    clean = call(http, token, "ka10081", chart_body())[1]["stk_dt_pole_chart_qry"]
    kiwoom_simulator.configure(page_size=10)
    first_page = call(http, token, "ka10081", chart_body())
    response = http.post(
        "/_simulator/faults",
        json={"corrupt_code": "005930", "corrupt_row": 12, "corrupt_fields": {"dt": "99991231"}},
    )
    assert response.json()["faults"]["corrupt_fields"] == {"dt": "99991231"}
    key = first_page[2]["next-key"]
    second = call(http, token, "ka10081", chart_body(), next_key=key)[1]["stk_dt_pole_chart_qry"]
    assert second[2] == dict(clean[12], dt="99991231") and second[3] == clean[13]
    other = call(http, token, "ka10081", chart_body("000660"), next_key="000660" + key[6:])
    assert "99991231" not in other[2]["next-key"] + json.dumps(other[1])

    kiwoom_simulator.configure(stuck_next_key=True)
    status, _, headers = call(http, token, "ka10081", chart_body(), next_key=key)
    assert (status, headers["cont-yn"], headers["next-key"]) == (200, "Y", key)
    kiwoom_simulator.configure(stuck_next_key=False, repeat_pages=True)
    _, again, headers = call(http, token, "ka10081", chart_body(), next_key=key)
    assert again["stk_dt_pole_chart_qry"][0] == first_page[1]["stk_dt_pole_chart_qry"][0]
    assert headers["cont-yn"] == "Y" and headers["next-key"] not in ("", key)


def test_faults_and_clock_over_http_and_the_request_log(http, token, kiwoom_simulator):
    state = http.post("/_simulator/faults", json={"fail_next": 1, "latency_ms": 0}).json()
    assert state["faults"]["fail_next"] == 1
    assert http.post("/_simulator/faults", json={"no_such_switch": 1}).status_code == 400
    before = http.get("/_simulator/state").json()["requests"]["last_seq"]
    call(http, token, "ka10081", chart_body())
    call(http, token, "ka10082", chart_body())
    log = http.get("/_simulator/requests", params={"since": before}).json()["requests"]
    assert [(e["api_id"], e["status"], e["stk_cd"]) for e in log] == [
        ("ka10081", 500, None),
        ("ka10082", 200, "005930"),
    ]
    counts = http.get("/_simulator/state").json()["requests"]
    assert counts["by_api_id"]["ka10082"] >= 1 and counts["by_status"]["500"] >= 1
    moved = http.post("/_simulator/clock", json={"now": "2026-03-04T15:40:00+09:00"}).json()
    assert moved["now"].startswith("2026-03-04T15:40")
    rows = fetch_pages(http, token, "ka10081", chart_body())[0][0]
    truth = kiwoom_simulator.market.bars("005930", "1d").iloc[-1]
    assert truth.is_final and int(rows[0]["trde_prica"]) * 1_000_000 == truth.traded_value
    http.post("/_simulator/clock", json={"advance_seconds": 86_400}).raise_for_status()
    assert kiwoom_simulator.market.now().date() == date(2026, 3, 5)
    http.post("/_simulator/reset", json={}).raise_for_status()
    assert http.get("/_simulator/state").json()["requests"]["total"] == 0


# --- the market ------------------------------------------------------------------------------


def _aggregate(frame: pd.DataFrame, keys) -> pd.DataFrame:
    grouped = frame.groupby(keys)
    return pd.DataFrame(
        {
            "open": grouped.open.first(),
            "high": grouped.high.max(),
            "low": grouped.low.min(),
            "close": grouped.close.last(),
            "volume": grouped.volume.sum(),
            "traded_value": grouped.traded_value.sum(),
        }
    )


COLUMNS = ["open", "high", "low", "close", "volume", "traded_value"]


@pytest.mark.parametrize("code", ["005930", "247540", "340360", "900110"])
def test_timeframes_aggregate_exactly(kiwoom_simulator, code):
    market = kiwoom_simulator.market
    five, daily = market.bars(code, "5m"), market.bars(code, "1d")
    by_day = _aggregate(five, five.index.normalize())
    assert (by_day[COLUMNS].to_numpy() == daily.loc[by_day.index, COLUMNS].to_numpy()).all()
    minutes = (five.index - five.index.normalize()).total_seconds() // 60 - 9 * 60
    for timeframe, width in (("30m", 30), ("1h", 60)):
        keys = five.index.normalize() + pd.to_timedelta(minutes // width * width + 540, "min")
        expected = _aggregate(five, keys)
        got = market.bars(code, timeframe)
        assert (got.index == expected.index).all()
        assert (got[COLUMNS].to_numpy() == expected[COLUMNS].to_numpy()).all(), timeframe
    week_keys = daily.index - pd.to_timedelta(daily.index.day_of_week, "D")
    assert (
        _aggregate(daily, week_keys).to_numpy() == market.bars(code, "1w")[COLUMNS].to_numpy()
    ).all()
    month_keys = daily.index.tz_localize(None).to_period("M").to_timestamp().tz_localize(KST)
    monthly = _aggregate(daily, month_keys)
    assert (monthly.to_numpy() == market.bars(code, "1mo")[COLUMNS].to_numpy()).all()


def test_prices_on_ticks_and_bars_consistent_for_every_stock(kiwoom_simulator):
    for spec in UNIVERSE:
        for timeframe in ("1d", "5m"):
            bars = kiwoom_simulator.market.bars(spec.code, timeframe)
            prices = bars[["open", "high", "low", "close"]].to_numpy()
            assert is_valid_tick(prices).all(), (spec.code, timeframe)
            assert (bars.high >= bars[["open", "close"]].max(axis=1)).all()
            assert (bars.low <= bars[["open", "close"]].min(axis=1)).all()
            assert (bars.low > 0).all() and (bars.volume >= 0).all()
        daily = kiwoom_simulator.market.bars(spec.code, "1d")
        previous = daily.close.shift(1).dropna()
        assert (daily.high.iloc[1:] <= previous * 1.3 + 1).all()
        assert (daily.low.iloc[1:] >= previous * 0.7 - 1).all()


def test_tick_sizes():
    prices = [1_999, 2_000, 4_995, 5_000, 19_990, 20_000, 49_950, 50_000, 199_900, 200_000]
    prices += [499_500, 500_000, 1_234_000]
    assert tick_size(np.array(prices)).tolist() == [
        1, 5, 5, 10, 10, 50, 50, 100, 100, 500, 500, 1_000, 1_000
    ]  # fmt: skip
    assert not is_valid_tick(np.array([2_001, 50_050, 500_500])).any()


def test_no_bars_on_weekends_holidays_or_outside_the_session(kiwoom_simulator):
    daily = kiwoom_simulator.market.bars("000270", "1d")
    assert all(cal.is_trading_day(ts.date()) for ts in daily.index)
    assert len(daily) == len(cal.trading_days(daily.index[0].date(), SIMULATOR_NOW.date()))
    five = kiwoom_simulator.market.bars("000270", "5m")
    days = cal.trading_days(five.index[0].date(), SIMULATOR_NOW.date() - timedelta(days=1))
    # Every past session's grid exactly (the window holds the 2025-11-13 수능 session and the
    # 2026-01-02 late open).
    expected = [ts for day in days for ts in cal.session_bar_starts("5m", day)]
    past = five[five.index.date < SIMULATOR_NOW.date()]
    assert list(past.index) == expected


@pytest.mark.parametrize(
    ("now", "days"),
    [
        # 2015: 15:00 closes; the 수능 session 10:00–16:00, the year's first session 10:00–15:00.
        (datetime(2016, 1, 5, 12, tzinfo=KST), [date(2015, 11, 12), date(2016, 1, 4)]),
        # 수능 10:00–16:30 (an override of the library), first session 10:00–15:30.
        (datetime(2025, 1, 3, 12, tzinfo=KST), [date(2024, 11, 14), date(2025, 1, 2)]),
    ],
)
def test_special_sessions_have_their_own_bars(now, days):
    market = SimulatedMarket(now=now)
    for timeframe in cal.INTRADAY_TIMEFRAMES:
        bars = market.bars("005930", timeframe, start=days[0] - timedelta(days=7))
        for day in [*days, days[0] - timedelta(days=1)]:
            on_day = bars[bars.index.date == day]
            assert list(on_day.index) == cal.session_bar_starts(timeframe, day), (timeframe, day)
            assert on_day.is_final.all()
    five, daily = market.bars("005930", "5m"), market.bars("005930", "1d")
    by_day = _aggregate(five, five.index.normalize())
    for day in days:
        key = pd.Timestamp(day, tz=KST)
        assert by_day.loc[key, COLUMNS].to_dict() == daily.loc[key, COLUMNS].to_dict()


def test_the_exam_day_bar_forms_until_16_30():
    exam = date(2024, 11, 14)
    market = SimulatedMarket(now=datetime(2024, 11, 14, 16, 7, tzinfo=KST))
    assert not market.bars("005930", "1d").is_final.iloc[-1]
    five = market.bars("005930", "5m")
    assert five.index[-1] == datetime(2024, 11, 14, 16, 5, tzinfo=KST)
    assert not five.is_final.iloc[-1] and five.is_final.iloc[:-1].all()
    closed = SimulatedMarket(now=datetime(2024, 11, 14, 16, 30, tzinfo=KST))
    assert closed.bars("005930", "1d").is_final.iloc[-1]
    assert closed.bars("005930", "1h").index[-1] == datetime(2024, 11, 14, 16, tzinfo=KST)
    assert closed.bars("005930", "1h").is_final.iloc[-1]
    # At 09:30 on a 10:00 late open nothing of the day exists yet.
    before_open = SimulatedMarket(now=datetime(2025, 1, 2, 9, 30, tzinfo=KST))
    assert before_open.bars("005930", "1d").index[-1].date() == date(2024, 12, 30)
    assert before_open.bars("005930", "5m").index[-1] == datetime(2024, 12, 30, 15, 25, tzinfo=KST)
    assert exam in set(before_open.bars("005930", "5m").index.date)


def test_the_bar_containing_now_is_forming_and_nothing_comes_after(kiwoom_simulator):
    market = kiwoom_simulator.market
    expected_starts = {
        "5m": datetime(2026, 3, 4, 11, 5, tzinfo=KST),
        "30m": datetime(2026, 3, 4, 11, 0, tzinfo=KST),
        "1h": datetime(2026, 3, 4, 11, 0, tzinfo=KST),
        "1d": datetime(2026, 3, 4, tzinfo=KST),
        "1w": datetime(2026, 3, 2, tzinfo=KST),
        "1mo": datetime(2026, 3, 1, tzinfo=KST),
    }
    for timeframe, start in expected_starts.items():
        bars = market.bars("005930", timeframe)
        assert bars.index[-1] == start, timeframe
        assert not bars.is_final.iloc[-1] and bars.is_final.iloc[:-1].all(), timeframe


def test_forming_bars_extend_their_earlier_states(kiwoom_simulator):
    market = kiwoom_simulator.market
    start = datetime(2026, 3, 4, 13, 0, tzinfo=KST)
    states = [
        market.bars("051910", "30m", now=start + timedelta(seconds=s)).iloc[-1]
        for s in range(7, 1800, 97)
    ]
    final = market.bars("051910", "30m", now=start + timedelta(minutes=30)).iloc[-1]
    assert final.is_final and not any(s.is_final for s in states)
    for earlier, later in zip([*states], [*states[1:], final], strict=True):
        assert later.open == earlier.open
        assert later.high >= earlier.high and later.low <= earlier.low
        assert later.volume >= earlier.volume
    # Before 09:00 today has no bar; after 15:30 it is final.
    early = market.bars("051910", "1d", now=datetime(2026, 3, 4, 8, 59, tzinfo=KST))
    assert early.index[-1].date() == date(2026, 3, 3) and early.is_final.iloc[-1]
    closed = market.bars("051910", "1d", now=datetime(2026, 3, 4, 15, 30, tzinfo=KST))
    assert closed.index[-1].date() == date(2026, 3, 4) and closed.is_final.iloc[-1]


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=0, max_value=390 * 60 - 2), st.sampled_from(["035420", "196170"]))
@example(0, "035420")  # one second into the session
@example(11_699, "035420")  # exactly 12:15:00: the 12:10 bar has just completed
@example(390 * 60 - 2, "196170")  # 15:29:59, the last second of the session
def test_forming_day_equals_the_intraday_bars_so_far(second, code):
    now = datetime(2026, 2, 11, 9, 0, tzinfo=KST) + timedelta(seconds=second + 1)
    market = SimulatedMarket(now=now)
    five = market.bars(code, "5m", start=now.date())
    day = market.bars(code, "1d").iloc[-1]
    assert not day.is_final and day.name.date() == now.date()
    aggregate = _aggregate(five, five.index.normalize()).iloc[0]
    assert aggregate.to_dict() == day[COLUMNS].to_dict()
    assert five.index[-1] < now <= five.index[-1] + timedelta(minutes=5)


def test_same_bars_every_run():
    script = (
        "from marketdata.simulator.market import SimulatedMarket;"
        "from datetime import datetime; from marketdata.krx_calendar import KST;"
        "m = SimulatedMarket(now=datetime(2026, 3, 4, 11, 7, tzinfo=KST));"
        "print(int(m.bars('005930', '1d').close.sum()), int(m.bars('005930', '5m').volume.sum()))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    market = SimulatedMarket(now=SIMULATOR_NOW)
    assert output == [
        str(int(market.bars("005930", "1d").close.sum())),
        str(int(market.bars("005930", "5m").volume.sum())),
    ]
    again = SimulatedMarket(now=SIMULATOR_NOW + timedelta(days=30))
    older = again.bars("005930", "1d", end=date(2026, 3, 3))
    assert older.equals(market.bars("005930", "1d", end=date(2026, 3, 3)))


def test_the_market_looks_like_a_market(kiwoom_simulator):
    daily = kiwoom_simulator.market.bars("005930", "1d")
    returns = np.diff(np.log(daily.close.to_numpy(dtype=float)))
    assert 0.010 < returns.std() < 0.025
    assert pd.Series(returns).kurt() > 0.5  # fat tails
    absolute = np.abs(returns)
    assert np.corrcoef(absolute[1:], absolute[:-1])[0, 1] > 0.02  # volatility clusters
    gaps = daily.open.to_numpy()[1:] != daily.close.to_numpy()[:-1]
    assert gaps.mean() > 0.7
    five = kiwoom_simulator.market.bars("005930", "5m")
    profile = five.groupby(five.index.time).volume.mean()
    assert profile.iloc[0] > 2 * profile.iloc[30] and profile.iloc[-1] > 2 * profile.iloc[30]
