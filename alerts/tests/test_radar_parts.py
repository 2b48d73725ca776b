"""What alerts adds to other pages through `analysis.radar_extensions` and the context
processor: the Radar's watchlist star and "alert me on its neckline break" cell, the bell on
every page, the Scanner's watchlist filter. Each for its owner only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertRule, Notification, WatchlistItem
from alerts.services import neckline_alert_create
from alerts.tests.factories import (
    NECKLINE_BROKEN,
    NECKLINE_COMPLETION_BAR,
    NECKLINE_FORMING,
    NECKLINE_SEED,
    make_notification,
    make_stock,
    make_watchlist,
    random_walk,
)
from analysis.models import PatternInstance
from analysis.services import series_analyze
from analysis.tests.factories import make_pattern, make_run
from marketdata.tests.factories import make_candles

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
NECKLINE_BUTTON = "Alert me on its neckline break"


@pytest.fixture
def samsung():
    return make_stock("005930", "삼성전자")


@pytest.fixture
def forming_db(samsung, eager_celery, django_capture_on_commit_callbacks):
    """005930 with the bars up to NECKLINE_FORMING analysed (and evaluated: the baseline): a
    double bottom is forming at the end."""
    frame = random_walk(NECKLINE_BROKEN, seed=NECKLINE_SEED)
    make_candles(samsung, "1d", frame.iloc[:NECKLINE_FORMING])
    with django_capture_on_commit_callbacks(execute=True):
        series_analyze(stock=samsung, timeframe="1d")
    forming = PatternInstance.objects.get(stock=samsung, pattern_type="DB", status="forming")
    return {"stock": samsung, "frame": frame, "pattern": forming}


def radar(client, **query):
    return client.get("/radar/", {"symbol": "005930", **query}).content.decode()


# --- The star -------------------------------------------------------------------------------


def test_the_radar_star_adds_and_removes_without_javascript(user_client, user, samsung):
    make_candles(samsung, "1d", random_walk(60))
    page = radar(user_client)
    assert 'class="star"' in page and 'aria-pressed="false"' in page and "☆" in page
    back = "/radar/?symbol=005930&tf=1d"
    response = user_client.post("/watchlists/star", {"symbol": "005930", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert WatchlistItem.objects.get(watchlist__owner=user, watchlist__is_default=True)
    page = radar(user_client)
    assert 'class="star starred"' in page and 'aria-pressed="true"' in page
    user_client.post("/watchlists/star", {"symbol": "005930", "next": back})
    assert not WatchlistItem.objects.exists()


def test_the_htmx_star_returns_the_star_that_keeps_the_radar_as_its_target(user_client, user):
    make_stock("005930", "삼성전자")
    back = "/radar/?symbol=005930&tf=1d"
    response = user_client.post("/watchlists/star", {"symbol": "005930", "next": back}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<form method="post" action="/watchlists/star"')
    assert "★" in body and f'name="next" value="{back.replace("&", "&amp;")}"' in body
    assert "<html" not in body


def test_a_star_is_per_user(user_client, other_user, samsung):
    make_candles(samsung, "1d", random_walk(60))
    make_watchlist(other_user, "Theirs", [samsung])
    assert 'aria-pressed="false"' in radar(user_client)


def test_the_star_refuses_an_unknown_symbol_and_a_get(user_client):
    assert user_client.post("/watchlists/star", {"symbol": "999999"}, **HTMX).status_code == 400
    assert user_client.get("/watchlists/star").status_code == 405


# --- The Radar's neckline alert -------------------------------------------------------------


def test_a_forming_pattern_offers_its_neckline_alert_and_shows_it_once_set(
    user_client, user, forming_db
):
    pattern = forming_db["pattern"]
    page = radar(user_client)
    assert (
        page.count(NECKLINE_BUTTON)
        == PatternInstance.objects.filter(
            stock=forming_db["stock"], status="forming", run__is_default=True
        ).count()
    )
    start = timezone.localtime(pattern.start_ts).isoformat()  # KST, as the Radar shows it
    assert f'name="start_ts" value="{start}"' in page
    response = user_client.post(
        "/alerts/neckline",
        {
            "symbol": "005930",
            "tf": "1d",
            "pattern_type": "DB",
            "start_ts": start,
            "next": "/radar/?symbol=005930",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/radar/?symbol=005930"
    rule = AlertRule.objects.get(owner=user)
    assert rule.pattern_start_ts == pattern.start_ts
    page = radar(user_client)
    assert f'href="/alerts/{rule.pk}/"' in page and "Alert set" in page
    forming = PatternInstance.objects.filter(
        stock=forming_db["stock"], status="forming", run__is_default=True
    ).count()
    assert page.count(NECKLINE_BUTTON) == forming - 1  # the other forming patterns keep theirs


def test_another_users_neckline_alert_is_not_shown(user_client, other_user, forming_db):
    pattern = forming_db["pattern"]
    neckline_alert_create(
        user=other_user,
        stock=forming_db["stock"],
        timeframe="1d",
        pattern_type="DB",
        pattern_start_ts=pattern.start_ts,
    )
    page = radar(user_client)
    assert "Alert set" not in page and NECKLINE_BUTTON in page


def test_the_neckline_break_notifies_after_the_next_collection(
    user_client, user, forming_db, django_capture_on_commit_callbacks
):
    """The Radar's alert, then the bars that break the neckline stored and analysed as the
    pipeline does: one notification at the completion bar, linking to the Radar there."""
    pattern, frame = forming_db["pattern"], forming_db["frame"]
    user_client.post(
        "/alerts/neckline",
        {"symbol": "005930", "tf": "1d", "pattern_type": "DB", "start_ts": pattern.start_ts},
    )
    assert 'id="bell-count">0<' in user_client.get("/watchlists/").content.decode()
    make_candles(forming_db["stock"], "1d", frame.iloc[NECKLINE_FORMING:])
    with django_capture_on_commit_callbacks(execute=True):
        series_analyze(stock=forming_db["stock"], timeframe="1d")
    notification = Notification.objects.get(owner=user)
    assert notification.bar_ts == frame.index[NECKLINE_COMPLETION_BAR]
    assert "Double bottom completed" in notification.title
    assert 'id="bell-count">1<' in user_client.get("/watchlists/").content.decode()
    location = user_client.get(notification.get_absolute_url())["Location"]
    assert location.startswith("/radar/?symbol=005930&tf=1d&focus_start=")
    assert frame.index[NECKLINE_COMPLETION_BAR].date().isoformat() in location
    assert 'id="bell-count">0<' in user_client.get(location).content.decode()


# --- The bell -------------------------------------------------------------------------------


def test_the_bell_counts_the_users_own_unread_notifications(user_client, user, other_user, samsung):
    for _ in range(3):
        make_notification(user, samsung)
    make_notification(user, samsung, read_at="2026-03-05T00:00:00+09:00")
    for _ in range(5):
        make_notification(other_user, samsung)
    for url in ("/watchlists/", "/scanner/", "/alerts/", "/labels/"):
        page = user_client.get(url).content.decode()
        assert 'id="bell-count">3<' in page and 'href="/notifications/"' in page, url


def test_no_bell_before_login(client):
    assert "bell-count" not in client.get("/accounts/login/").content.decode()


def test_htmx_fragments_do_not_count(user_client, user, django_assert_max_num_queries):
    """The count is read only when a page shows it (a lazy context value)."""
    user_client.get("/watchlists/")
    with django_assert_max_num_queries(8):
        body = user_client.get("/watchlists/", **HTMX).content.decode()
    assert "bell-count" not in body


# --- The Scanner's watchlist filter ---------------------------------------------------------


@pytest.fixture
def two_patterns(samsung):
    hynix = make_stock("000660", "SK하이닉스")
    for stock in (samsung, hynix):
        run = make_run(stock)
        make_pattern(run, "DB", start=run.last_bar_ts - timedelta(days=30), end=run.last_bar_ts)
    return samsung, hynix


def scanner_codes(response) -> list[str]:
    return [p.stock.code for p in response.context["page"].object_list]


def test_the_scanner_filters_by_one_of_the_users_watchlists(user_client, user, two_patterns):
    samsung, hynix = two_patterns
    semis = make_watchlist(user, "Semis", [hynix], default=False)
    make_watchlist(user, "Watchlist", [])
    assert sorted(scanner_codes(user_client.get("/scanner/"))) == ["000660", "005930"]
    response = user_client.get("/scanner/", {"watchlist": semis.pk})
    assert scanner_codes(response) == ["000660"]
    page = response.content.decode()
    assert f'<option value="{semis.pk}" selected>Semis</option>' in page
    fragment = user_client.get("/scanner/", {"watchlist": semis.pk}, **HTMX)
    body = fragment.content.decode()
    assert "000660" in body and "005930" not in body and "<html" not in body


def test_another_users_watchlist_is_no_scanner_filter(user_client, user, other_user, two_patterns):
    theirs = make_watchlist(other_user, "Their secret list", [two_patterns[0]])
    assert user_client.get("/scanner/", {"watchlist": theirs.pk}).status_code == 404
    assert user_client.get("/scanner/", {"watchlist": "semis"}).status_code == 404
    assert "Their secret list" not in user_client.get("/scanner/").content.decode()
