from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from labeling import selectors, services
from labeling.models import Label, Source

KST = ZoneInfo("Asia/Seoul")


def kst(*args) -> datetime:
    return datetime(*args, tzinfo=KST)


def make_label(user, stock, start, end, **kw) -> Label:
    return services.label_create(
        owner=user,
        stock=stock,
        timeframe="1d",
        pattern_type=kw.pop("pattern_type", "DB"),
        start=start,
        end=end,
        **kw,
    )


def test_period_floor_per_timeframe():
    instant = kst(2024, 3, 6, 10, 47)  # a Wednesday
    assert selectors.period_floor(instant, "5m") == kst(2024, 3, 6, 10, 45)
    assert selectors.period_floor(instant, "30m") == kst(2024, 3, 6, 10, 30)
    assert selectors.period_floor(instant, "1h") == kst(2024, 3, 6, 10, 0)
    assert selectors.period_floor(instant, "1d") == kst(2024, 3, 6)
    assert selectors.period_floor(instant, "1w") == kst(2024, 3, 4)
    assert selectors.period_floor(instant, "1mo") == kst(2024, 3, 1)


def test_range_snaps_to_stored_bars(stock):
    # Saturday 2024-01-06 → first bar on/after it is Monday the 8th; Sunday the 14th → Friday 12th.
    resolved = selectors.label_range_resolve(
        stock=stock, timeframe="1d", start=kst(2024, 1, 6), end=kst(2024, 1, 14, 15, 0)
    )
    assert resolved["start_ts"] == kst(2024, 1, 8)
    assert resolved["end_ts"] == kst(2024, 1, 12)


def test_range_outside_stored_bars_is_rejected(stock):
    with pytest.raises(ValidationError) as exc:
        selectors.label_range_resolve(
            stock=stock, timeframe="1d", start=kst(2023, 12, 1), end=kst(2024, 1, 10)
        )
    assert "outside the stored bars" in exc.value.message_dict["start"][0]
    with pytest.raises(ValidationError) as exc:
        selectors.label_range_resolve(
            stock=stock, timeframe="1d", start=kst(2024, 1, 3), end=kst(2025, 1, 10)
        )
    assert "outside the stored bars" in exc.value.message_dict["end"][0]


def test_weekend_only_range_has_no_bars(stock):
    with pytest.raises(ValidationError) as exc:
        selectors.label_range_resolve(
            stock=stock, timeframe="1d", start=kst(2024, 1, 6), end=kst(2024, 1, 7)
        )
    assert exc.value.message_dict["start"] == [
        selectors.NO_BARS_IN_RANGE.format(symbol="005930", timeframe="1d")
    ]


def test_key_point_outside_range_is_rejected(stock):
    with pytest.raises(ValidationError) as exc:
        selectors.label_range_resolve(
            stock=stock,
            timeframe="1d",
            start=kst(2024, 1, 8),
            end=kst(2024, 1, 12),
            key_points=[{"role": "P1", "ts": kst(2024, 1, 15), "price": 70000}],
        )
    assert "Key point P1" in exc.value.message_dict["key_points"][0]


def test_label_overlays_only_own_live_labels_in_window(stock, other_stock, user, other_user):
    mine = make_label(user, stock, kst(2024, 1, 8), kst(2024, 1, 12))
    make_label(user, stock, kst(2024, 2, 5), kst(2024, 2, 9))  # outside the window
    gone = make_label(user, stock, kst(2024, 1, 9), kst(2024, 1, 10))
    services.label_delete(label=gone, actor=user)
    make_label(other_user, stock, kst(2024, 1, 8), kst(2024, 1, 12))
    make_label(user, other_stock, kst(2024, 1, 8), kst(2024, 1, 12))

    overlays = selectors.label_overlays(
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
        }
    ]
    assert selectors.label_overlays(user=user, stock=stock, timeframe="1w") == []
