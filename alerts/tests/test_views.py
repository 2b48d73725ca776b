"""Watchlist, alert and notification pages: login, isolation, forms, HTMX fragments."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from alerts.models import (
    PATTERN_STATUS_FLAGS,
    PATTERN_TYPE_FLAGS,
    AlertRule,
    Notification,
    NotificationSettings,
    RuleKind,
    Watchlist,
    WatchlistItem,
)
from alerts.services import DEFAULT_NOT_DELETABLE, DUPLICATE_WATCHLIST
from alerts.tests.factories import (
    SeriesBuilder,
    make_notification,
    make_rule,
    make_stock,
    make_watchlist,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def samsung():
    return make_stock("005930", "삼성전자")


PAGES = ["/watchlists/", "/alerts/", "/alerts/settings/", "/notifications/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_pages_render(user_client, url):
    assert user_client.get(url).status_code == 200


def test_posts_need_csrf(user, samsung):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/watchlists/star", {"symbol": "005930"}).status_code == 403
    assert not WatchlistItem.objects.exists()


# --- Watchlists -----------------------------------------------------------------------------


def test_watchlists_page_shows_close_change_trend_and_pattern(user_client, user, samsung):
    series = SeriesBuilder(samsung)
    series.add_bars([70_000.0] * 5 + [71_400.0])
    series.pattern(type="DB", start=1, detected=4)
    series.trend(direction="up", start=3)
    series.store()
    make_watchlist(user, "Watchlist", [samsung])
    page = user_client.get("/watchlists/").content.decode()
    assert "삼성전자" in page and "71,400" in page
    assert 'class="num up">▲ 1,400 (2.00%)' in page
    assert 'title="1d: up"' in page and 'title="1w: not analysed"' in page
    assert "<b>DB</b> forming" in page


def test_a_fall_is_blue(user_client, user, samsung):
    series = SeriesBuilder(samsung)
    series.add_bars([70_000.0, 69_300.0])
    make_watchlist(user, "Watchlist", [samsung])
    page = user_client.get("/watchlists/").content.decode()
    assert 'class="num down">▼ -700 (-1.00%)' in page


def test_the_lists_refresh_themselves_from_a_fragment(user_client, user, samsung):
    """The page polls its own URL every minute; an HTMX request gets the lists alone, with the
    newest close (a bar stored meanwhile shows on the next refresh)."""
    series = SeriesBuilder(samsung)
    series.add_bars([70_000.0, 71_400.0])
    make_watchlist(user, "Watchlist", [samsung])
    page = user_client.get("/watchlists/").content.decode()
    assert 'hx-get="/watchlists/"' in page and 'hx-trigger="every 60s' in page
    series.add_bars([69_972.0])
    body = user_client.get("/watchlists/", **HTMX).content.decode()
    assert body.lstrip().startswith('<div id="watchlists"') and "<html" not in body
    assert "69,972" in body and 'class="num down">▼ -1,428 (-2.00%)' in body


def test_the_default_watchlist_is_created_on_first_visit(user_client, user):
    user_client.get("/watchlists/")
    assert list(Watchlist.objects.filter(owner=user).values_list("name", "is_default")) == [
        ("Watchlist", True)
    ]


def test_create_rename_move_delete_watchlists(user_client, user):
    user_client.get("/watchlists/")
    assert user_client.post("/watchlists/new", {"name": "Semis"}).status_code == 302
    response = user_client.post("/watchlists/new", {"name": "Semis"}, follow=True)
    assert escape(DUPLICATE_WATCHLIST.format(name="Semis")) in response.content.decode()
    semis = Watchlist.objects.get(owner=user, name="Semis")
    user_client.post(f"/watchlists/{semis.pk}/move", {"direction": "up"})
    assert [w.name for w in Watchlist.objects.owned_by(user)] == ["Semis", "Watchlist"]
    user_client.post(f"/watchlists/{semis.pk}/rename", {"name": "Chips"})
    semis.refresh_from_db()
    assert semis.name == "Chips"
    default = Watchlist.objects.get(owner=user, is_default=True)
    response = user_client.post(f"/watchlists/{default.pk}/delete", follow=True)
    assert str(DEFAULT_NOT_DELETABLE) in response.content.decode()
    user_client.post(f"/watchlists/{semis.pk}/delete")
    assert list(Watchlist.objects.filter(owner=user).values_list("name", flat=True)) == [
        "Watchlist"
    ]


def test_add_and_remove_symbols_with_htmx(user_client, user, samsung):
    user_client.get("/watchlists/")
    watchlist = Watchlist.objects.get(owner=user)
    response = user_client.post(f"/watchlists/{watchlist.pk}/add", {"symbol": "005930"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="watchlists"')
    assert "삼성전자" in body and "<html" not in body
    response = user_client.post(f"/watchlists/{watchlist.pk}/add", {"symbol": "999999"}, **HTMX)
    assert "Unknown symbol" in response.content.decode()
    user_client.post(f"/watchlists/{watchlist.pk}/remove", {"symbol": "005930"}, **HTMX)
    assert not WatchlistItem.objects.exists()


def test_the_star_toggles_the_default_watchlist(user_client, user, samsung):
    response = user_client.post("/watchlists/star", {"symbol": "005930"}, **HTMX)
    assert "★" in response.content.decode() and 'aria-pressed="true"' in response.content.decode()
    assert WatchlistItem.objects.get().watchlist.is_default
    response = user_client.post("/watchlists/star", {"symbol": "005930"}, **HTMX)
    assert "☆" in response.content.decode()
    assert not WatchlistItem.objects.exists()
    assert user_client.post("/watchlists/star", {"symbol": "nope"}, **HTMX).status_code == 400


def test_another_users_watchlist_is_a_404(user_client, other_user, samsung):
    theirs = make_watchlist(other_user, "Theirs", [samsung], default=False)
    for action, data in [
        ("add", {"symbol": "005930"}),
        ("remove", {"symbol": "005930"}),
        ("rename", {"name": "Mine"}),
        ("move", {"direction": "up"}),
        ("delete", {}),
    ]:
        assert user_client.post(f"/watchlists/{theirs.pk}/{action}", data).status_code == 404
    assert WatchlistItem.objects.filter(watchlist=theirs).count() == 1
    assert "Theirs" not in user_client.get("/watchlists/").content.decode()


def test_watchlists_page_query_count_is_fixed(user_client, user, django_assert_max_num_queries):
    stocks = [make_stock(f"{i:06d}", f"Stock {i}") for i in range(1, 31)]
    for stock in stocks:
        series = SeriesBuilder(stock)
        series.add_bars([100.0, 101.0])
        series.pattern(start=0, detected=1)
        series.store()
    make_watchlist(user, "Watchlist", stocks[:15])
    make_watchlist(user, "More", stocks[15:], default=False)
    # session, user, default list, lists, rows, trends, patterns, messages … — not per row.
    with django_assert_max_num_queries(9):
        page = user_client.get("/watchlists/")
    assert page.content.decode().count('class="watchlist-row"') == 30


# --- Alert rules ----------------------------------------------------------------------------


def test_create_each_kind_of_rule_from_alerts(user_client, user, samsung):
    user_client.get("/watchlists/")
    watchlist = Watchlist.objects.get(owner=user)
    pattern = {
        "kind": "pattern",
        "watchlist": watchlist.pk,
        "timeframes": ["1d", "1w"],
        "pattern_types": ["DT", "HS"],
        "pattern_statuses": ["completed", "target_reached"],
    }
    price = {
        "kind": "price",
        "symbol": "005930",
        "timeframes": ["1d"],
        "level": "75000",
        "direction": "up",
    }
    trend = {"kind": "trend", "symbol": "005930", "timeframes": ["5m"], "trend_states": ["down"]}
    for data in (pattern, price, trend):
        assert user_client.post("/alerts/", data).status_code == 302
    rules = {r.kind: r for r in AlertRule.objects.filter(owner=user)}
    assert rules["pattern"].timeframe_list == ["1d", "1w"]
    assert rules["pattern"].pattern_type_list == ["DT", "HS"]
    assert rules["pattern"].pattern_status_list == ["completed", "target_reached"]
    assert rules["pattern"].watchlist == watchlist and rules["pattern"].stock is None
    assert (rules["price"].level, rules["price"].direction) == (75_000.0, "up")
    assert rules["trend"].trend_state_list == ["down"]
    page = user_client.get("/alerts/").content.decode()
    assert "Close crosses up 75,000 KRW on 005930 삼성전자 (1d)" in page
    assert "Double top / Head and shoulders completed (confirmed) / target reached" in page


@pytest.mark.parametrize(
    "data, error",
    [
        ({"kind": "pattern", "symbol": "005930", "timeframes": ["1d"]}, "Required for this"),
        ({"kind": "price", "timeframes": ["1d"], "level": "1"}, "Choose a watchlist or a symbol."),
        ({"kind": "trend", "symbol": "ABCDEF", "timeframes": ["1d"]}, "Unknown symbol"),
        (
            {"kind": "price", "symbol": "005930", "timeframes": ["1d"], "level": "nan"},
            "Enter a number",
        ),
        (
            {"kind": "price", "symbol": "005930", "timeframes": ["1d"], "level": "-5"},
            "greater than or equal to 0.01",
        ),
        ({"kind": "pattern", "symbol": "005930"}, "This field is required"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(user_client, samsung, data, error):
    response = user_client.post("/alerts/", data)
    assert response.status_code == 400 and error in response.content.decode()
    assert not AlertRule.objects.exists()


def test_a_price_rule_cannot_watch_a_watchlist(user_client, user, samsung):
    user_client.get("/watchlists/")
    watchlist = Watchlist.objects.get(owner=user)
    data = {
        "kind": "price",
        "watchlist": watchlist.pk,
        "timeframes": ["1d"],
        "level": "100",
        "direction": "up",
    }
    response = user_client.post("/alerts/", data)
    assert response.status_code == 400 and "belongs to one symbol" in response.content.decode()


def test_another_users_watchlist_cannot_be_a_rule_scope(user_client, other_user, samsung):
    theirs = make_watchlist(other_user, "Theirs", [samsung])
    data = {
        "kind": "trend",
        "watchlist": theirs.pk,
        "timeframes": ["1d"],
        "trend_states": ["up"],
    }
    response = user_client.post("/alerts/", data)
    assert response.status_code == 400 and not AlertRule.objects.exists()


def test_edit_toggle_delete_a_rule(user_client, user, samsung):
    rule = make_rule(
        user,
        kind=RuleKind.PATTERN,
        stock=samsung,
        pattern_types=PATTERN_TYPE_FLAGS.mask(["DT"]),
        pattern_statuses=PATTERN_STATUS_FLAGS.mask(["forming"]),
    )
    page = user_client.get(f"/alerts/{rule.pk}/").content.decode()
    assert 'value="005930"' in page and 'value="DT" id="id_pattern_types_0" checked' in page
    data = {
        "kind": "pattern",
        "symbol": "005930",
        "timeframes": ["1h"],
        "pattern_types": ["IHS"],
        "pattern_statuses": ["failed"],
        "name": "IHS failures",
    }
    assert user_client.post(f"/alerts/{rule.pk}/", data).status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.timeframe_list, rule.pattern_type_list) == (
        "IHS failures",
        ["1h"],
        ["IHS"],
    )
    response = user_client.post(f"/alerts/{rule.pk}/toggle", **HTMX)
    assert "Switch on" in response.content.decode()
    rule.refresh_from_db()
    assert not rule.is_active
    user_client.post(f"/alerts/{rule.pk}/delete")
    assert not AlertRule.objects.exists()


def test_another_users_rule_is_a_404(user_client, other_user, samsung):
    rule = make_rule(
        other_user,
        kind=RuleKind.PRICE,
        stock=samsung,
        level=100,
        direction="up",
    )
    assert user_client.get(f"/alerts/{rule.pk}/").status_code == 404
    for action in ("", "toggle", "delete"):
        assert user_client.post(f"/alerts/{rule.pk}/{action}").status_code == 404
    rule.refresh_from_db()
    assert rule.is_active
    assert "100 KRW" not in user_client.get("/alerts/").content.decode()


def test_neckline_alert_from_the_radar(user_client, user, samsung):
    data = {
        "symbol": "005930",
        "tf": "1d",
        "pattern_type": "DT",
        "start_ts": "2026-02-02T00:00:00+09:00",
    }
    response = user_client.post(reverse("alerts:neckline_alert"), data, **HTMX)
    assert response.status_code == 200 and "Alert set" in response.content.decode()
    rule = AlertRule.objects.get(owner=user)
    assert rule.pattern_status_list == ["completed"] and rule.once
    assert rule.pattern_start_ts.isoformat() == "2026-02-01T15:00:00+00:00"
    user_client.post(reverse("alerts:neckline_alert"), data, **HTMX)
    assert AlertRule.objects.count() == 1
    bad = user_client.post(reverse("alerts:neckline_alert"), {**data, "tf": "2d"}, **HTMX)
    assert bad.status_code == 400


# --- Settings -------------------------------------------------------------------------------


def test_settings_save_and_rotate_the_secret(user_client, user):
    user_client.get("/alerts/settings/")
    secret = NotificationSettings.objects.get(user=user).webhook_secret
    assert len(secret) >= 40
    data = {
        "email_enabled": "on",
        "email": "me@example.com",
        "webhook_enabled": "on",
        "webhook_url": "https://hooks.example.com/ci",
    }
    assert user_client.post("/alerts/settings/", data).status_code == 302
    prefs = NotificationSettings.objects.get(user=user)
    assert prefs.email_enabled and prefs.webhook_url == "https://hooks.example.com/ci"
    user_client.post("/alerts/settings/secret")
    prefs.refresh_from_db()
    assert prefs.webhook_secret != secret


@pytest.mark.parametrize(
    "data, error",
    [
        ({"email_enabled": "on"}, "Required when this channel is on"),
        ({"webhook_enabled": "on", "webhook_url": "ftp://example.com/x"}, "Enter a valid URL"),
        ({"webhook_url": "javascript:alert(1)"}, "Enter a valid URL"),
    ],
)
def test_bad_settings_are_refused(user_client, user, data, error):
    response = user_client.post("/alerts/settings/", data)
    assert response.status_code == 400 and error in response.content.decode()


def test_one_users_secret_is_not_shown_to_another(user_client, other_user):
    theirs = NotificationSettings.objects.create(user=other_user)
    assert theirs.webhook_secret not in user_client.get("/alerts/settings/").content.decode()


# --- Notifications --------------------------------------------------------------------------


def test_notifications_list_open_and_mark_read(user_client, user, samsung):
    first = make_notification(user, samsung)
    second = make_notification(user, samsung)
    page = user_client.get("/notifications/").content.decode()
    assert "2 unread" in page and page.count('class="notification unread"') == 2
    response = user_client.get(f"/notifications/{first.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/radar/?symbol=005930&tf=1d&focus_start=2026-03-04")
    first.refresh_from_db()
    assert first.is_read
    response = user_client.post(f"/notifications/{second.pk}/read", **HTMX)
    assert 'class="notification"' in response.content.decode()
    assert "1 unread" not in user_client.get("/notifications/?unread=1").content.decode()
    make_notification(user, samsung)
    user_client.post("/notifications/read-all")
    assert not Notification.objects.filter(owner=user).unread().exists()


def test_another_users_notification_is_a_404(user_client, user, other_user, samsung):
    theirs = make_notification(other_user, samsung, title="their secret alert")
    assert user_client.get(f"/notifications/{theirs.pk}/").status_code == 404
    assert user_client.post(f"/notifications/{theirs.pk}/read").status_code == 404
    user_client.post("/notifications/read-all")
    theirs.refresh_from_db()
    assert not theirs.is_read
    assert "their secret alert" not in user_client.get("/notifications/").content.decode()


def test_notification_titles_are_escaped(user_client, user):
    stock = make_stock("900001", "<script>alert(1)</script>")
    make_notification(user, stock)
    page = user_client.get("/notifications/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_bad_notification_filters_fall_back(user_client):
    assert user_client.get("/notifications/?page=-3&unread=zz").status_code == 200
