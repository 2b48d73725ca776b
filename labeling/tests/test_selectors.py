from datetime import date

import pytest
from django.core.exceptions import ValidationError

from labeling import services
from labeling.models import Source
from labeling.selectors import charts, ranges
from labeling.tests.factories import make_label, price_frame
from marketdata.krx_calendar import bar_starts
from marketdata.tests.factories import kst, make_candles, make_stock


def test_instants_snap_to_the_krx_bar_grid():
    instant = kst(2024, 3, 6, 10, 47)  # a Wednesday session
    for timeframe, start in [
        ("5m", kst(2024, 3, 6, 10, 45)),
        ("30m", kst(2024, 3, 6, 10, 30)),
        ("1h", kst(2024, 3, 6, 10, 0)),
        ("1d", kst(2024, 3, 6)),
        ("1w", kst(2024, 3, 4)),
        ("1mo", kst(2024, 3, 1)),
    ]:
        assert ranges.bar_at_or_after(timeframe, instant) == start
        assert ranges.bar_at_or_before(timeframe, instant) == start
    # 설날 closed KRX from Friday 9 to Monday 12 February 2024.
    assert ranges.bar_at_or_after("5m", kst(2024, 2, 8, 15, 40)) == kst(2024, 2, 13, 9, 0)
    assert ranges.bar_at_or_before("5m", kst(2024, 2, 12, 10, 0)) == kst(2024, 2, 8, 15, 25)
    assert ranges.bar_at_or_after("5m", kst(2024, 2, 13, 8, 0)) == kst(2024, 2, 13, 9, 0)
    assert ranges.bar_at_or_after("1d", kst(2024, 2, 9)) == kst(2024, 2, 13)
    assert ranges.bar_at_or_before("1d", kst(2024, 2, 12, 12, 0)) == kst(2024, 2, 8)


@pytest.fixture
def holiday_5m_stock(db):
    """5-minute bars Wednesday 7 – Tuesday 13 February 2024 (설날: no session Friday–Monday)."""
    stock = make_stock("035420", "NAVER")
    make_candles(stock, "5m", price_frame(bar_starts("5m", date(2024, 2, 7), date(2024, 2, 13))))
    return stock


def test_5m_label_across_the_session_boundary_and_a_holiday(holiday_5m_stock):
    def resolve(start, end):
        return ranges.label_range_resolve(
            stock=holiday_5m_stock, timeframe="5m", start=start, end=end
        )

    # Thursday 15:20 to Tuesday 09:10: Thursday's last two bars and Tuesday's first three.
    resolved = resolve(kst(2024, 2, 8, 15, 20), kst(2024, 2, 13, 9, 12))
    assert (resolved["start_ts"], resolved["end_ts"]) == (
        kst(2024, 2, 8, 15, 20),
        kst(2024, 2, 13, 9, 10),
    )
    # Ends after the close, in the night or on the holiday snap to the session bars next to them.
    resolved = resolve(kst(2024, 2, 8, 15, 0), kst(2024, 2, 12, 11, 0))
    assert (resolved["start_ts"], resolved["end_ts"]) == (
        kst(2024, 2, 8, 15, 0),
        kst(2024, 2, 8, 15, 25),
    )
    # Before 09:00 of the first stored day and after 15:30 of the last one is still inside the
    # stored bars: no session lies between those instants and the series.
    resolved = resolve(kst(2024, 2, 7, 8, 30), kst(2024, 2, 13, 18, 0))
    assert (resolved["start_ts"], resolved["end_ts"]) == (
        kst(2024, 2, 7, 9, 0),
        kst(2024, 2, 13, 15, 25),
    )
    # From Thursday's close to the holiday: no bar.
    with pytest.raises(ValidationError) as exc:
        resolve(kst(2024, 2, 8, 15, 45), kst(2024, 2, 12, 14, 0))
    assert exc.value.message_dict["start"] == [
        ranges.NO_BARS_IN_RANGE.format(symbol="035420", timeframe="5m")
    ]
    # A session bar missing before the series is outside it.
    with pytest.raises(ValidationError) as exc:
        resolve(kst(2024, 2, 6, 15, 0), kst(2024, 2, 8, 10, 0))
    assert "outside the stored bars" in exc.value.message_dict["start"][0]


def test_range_snaps_to_stored_bars(stock):
    # Saturday 2024-01-06 → first bar on/after it is Monday the 8th; Sunday the 14th → Friday 12th.
    resolved = ranges.label_range_resolve(
        stock=stock, timeframe="1d", start=kst(2024, 1, 6), end=kst(2024, 1, 14, 15, 0)
    )
    assert resolved["start_ts"] == kst(2024, 1, 8)
    assert resolved["end_ts"] == kst(2024, 1, 12)


def test_range_outside_stored_bars_is_rejected(stock):
    with pytest.raises(ValidationError) as exc:
        ranges.label_range_resolve(
            stock=stock, timeframe="1d", start=kst(2023, 12, 1), end=kst(2024, 1, 10)
        )
    assert "outside the stored bars" in exc.value.message_dict["start"][0]
    with pytest.raises(ValidationError) as exc:
        ranges.label_range_resolve(
            stock=stock, timeframe="1d", start=kst(2024, 1, 3), end=kst(2025, 1, 10)
        )
    assert "outside the stored bars" in exc.value.message_dict["end"][0]


def test_weekend_only_range_has_no_bars(stock):
    with pytest.raises(ValidationError) as exc:
        ranges.label_range_resolve(
            stock=stock, timeframe="1d", start=kst(2024, 1, 6), end=kst(2024, 1, 7)
        )
    assert exc.value.message_dict["start"] == [
        ranges.NO_BARS_IN_RANGE.format(symbol="005930", timeframe="1d")
    ]


def test_key_point_outside_range_is_rejected(stock):
    with pytest.raises(ValidationError) as exc:
        ranges.label_range_resolve(
            stock=stock,
            timeframe="1d",
            start=kst(2024, 1, 8),
            end=kst(2024, 1, 12),
            key_points=[{"role": "P1", "ts": kst(2024, 1, 15), "price": 70000}],
        )
    assert "Key point P1" in exc.value.message_dict["key_points"][0]


def test_label_overlays_only_own_live_labels_in_window(stock, other_stock, user, other_user):
    mine = make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 12), pattern_type="DB")
    make_label(
        user, stock, kst(2024, 2, 5), kst(2024, 2, 9), pattern_type="DB"
    )  # outside the window
    gone = make_label(user, stock, kst(2024, 1, 9), kst(2024, 1, 10), pattern_type="DB")
    services.label_delete(label=gone, actor=user)
    make_label(other_user, stock, kst(2024, 1, 8), kst(2024, 1, 12), pattern_type="DB")
    make_label(user, other_stock, kst(2024, 1, 8), kst(2024, 1, 12), pattern_type="DB")

    overlays = charts.label_overlays(
        user=user, stock=stock, timeframe="1d", start=kst(2024, 1, 10), end=kst(2024, 1, 31)
    )
    assert overlays == [
        {
            "id": mine.pk,
            "pattern_type": "DB",
            "start_ts": "2024-01-08T00:00:00+09:00",
            "end_ts": "2024-01-12T00:00:00+09:00",
            "direction": "bullish",
            "source": Source.MANUAL,
            "url": f"/labels/{mine.pk}/",
            "layer": "labels",
            "key_points": [],
        }
    ]
    assert charts.label_overlays(user=user, stock=stock, timeframe="1w") == []
