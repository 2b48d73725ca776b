"""Model invariants held by the database, the flag tables, the admin."""

import pytest
from django.db import IntegrityError, transaction

from alerts.models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    TIMEFRAME_FLAGS,
    TREND_STATE_FLAGS,
    AlertPatternStatus,
    AlertRule,
    DetectedPatternType,
    NotificationSettings,
    RuleKind,
    TrendState,
    Watchlist,
)
from alerts.tests.factories import make_rule, make_stock, make_watchlist
from marketdata.models import Timeframe


def test_every_choice_has_its_own_bit_and_the_bits_never_move():
    # Stored masks depend on these numbers: append new values, never renumber.
    assert TIMEFRAME_FLAGS.bits == {"5m": 1, "30m": 2, "1h": 4, "1d": 8, "1w": 16, "1mo": 32}
    assert PATTERN_TYPE_FLAGS.bits == {"DT": 1, "DB": 2, "HS": 4, "IHS": 8}
    assert PATTERN_STATUS_FLAGS.bits == {
        "forming": 1,
        "completed": 2,
        "target_reached": 4,
        "failed": 8,
    }
    assert TREND_STATE_FLAGS.bits == {"up": 1, "down": 2, "sideways": 4}
    for flags, choices in [
        (TIMEFRAME_FLAGS, Timeframe),
        (PATTERN_TYPE_FLAGS, DetectedPatternType),
        (PATTERN_STATUS_FLAGS, AlertPatternStatus),
        (TREND_STATE_FLAGS, TrendState),
    ]:
        assert set(flags.bits) == set(choices.values)
        assert flags.values(flags.mask(choices.values)) == list(choices.values)


@pytest.mark.django_db
def test_has_any_selects_rules_sharing_a_bit(user):
    stock = make_stock()
    daily = make_rule(user, kind=RuleKind.TREND, stock=stock, trend_states=1)
    weekly = make_rule(
        user,
        kind=RuleKind.TREND,
        stock=stock,
        trend_states=1,
        timeframes=TIMEFRAME_FLAGS.mask(["1w", "5m"]),
    )

    def matching(tfs):
        return set(AlertRule.objects.filter(timeframes__has_any=TIMEFRAME_FLAGS.mask(tfs)))

    assert matching(["1d"]) == {daily}
    assert matching(["5m"]) == {weekly}
    assert matching(["1d", "1w"]) == {daily, weekly}
    assert matching(["1mo"]) == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"kind": RuleKind.PATTERN, "pattern_types": 1},  # no statuses
        {"kind": RuleKind.PRICE, "direction": "up"},  # no level
        {"kind": RuleKind.TREND},  # no states
        {"kind": "other", "trend_states": 1},
        {"kind": RuleKind.TREND, "trend_states": 1, "timeframes": 0},
    ],
)
def test_the_database_refuses_incomplete_rules(user, fields):
    stock = make_stock()
    with pytest.raises(IntegrityError):
        make_rule(user, stock=stock, **fields)


@pytest.mark.django_db
def test_a_rule_has_exactly_one_scope_and_price_needs_a_stock(user):
    stock = make_stock()
    watchlist = make_watchlist(user)
    for scope in ({}, {"stock": stock, "watchlist": watchlist}):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_rule(user, kind=RuleKind.TREND, trend_states=1, **scope)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_rule(user, kind=RuleKind.PRICE, level=10, direction="up", watchlist=watchlist)


@pytest.mark.django_db
def test_one_default_watchlist_per_user_and_unique_names(user, other_user):
    make_watchlist(user, "A")
    make_watchlist(other_user, "A")
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.create(owner=user, name="B", is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.create(owner=user, name="A")


@pytest.mark.django_db
def test_rule_descriptions(user):
    stock = make_stock()
    rule = make_rule(
        user,
        kind=RuleKind.PATTERN,
        stock=stock,
        pattern_types=PATTERN_TYPE_FLAGS.mask(["IHS"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["failed"]),
        timeframes=TIMEFRAME_FLAGS.mask(["1h", "1d"]),
    )
    assert str(rule) == "Inverse head and shoulders failed on 005930 삼성전자 (1h, 1d)"
    trend = make_rule(
        user, kind=RuleKind.TREND, watchlist=make_watchlist(user, "Semis"), trend_states=3
    )
    assert str(trend) == "Trend turns uptrend / downtrend on watchlist Semis (1d)"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/alerts/watchlist/",
        "/admin/alerts/alertrule/",
        "/admin/alerts/notification/",
        "/admin/alerts/delivery/",
        "/admin/alerts/notificationsettings/",
        "/admin/alerts/evaluatedseries/",
        "/admin/alerts/pendingseries/",
    ],
)
def test_admin_lists_them(admin_client, url):
    assert admin_client.get(url).status_code == 200


@pytest.mark.django_db
def test_admin_never_shows_the_webhook_secret(admin_client, user):
    prefs = NotificationSettings.objects.create(user=user)
    page = admin_client.get(f"/admin/alerts/notificationsettings/{prefs.pk}/change/")
    assert page.status_code == 200 and prefs.webhook_secret not in page.content.decode()
