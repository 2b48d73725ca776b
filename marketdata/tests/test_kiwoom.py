"""Parsing Kiwoom rows: both field generations, signs, padding, empty strings, units, bar keys.

The rows below have the shape of real ka10081/ka10080/ka10099 responses (reference §2.9–§2.11);
the values are hand-checked.
"""

import datetime as dt

import pytest

from marketdata.kiwoom import KST, parse_bar, parse_number, parse_stock_info

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


def kst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=KST)


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
