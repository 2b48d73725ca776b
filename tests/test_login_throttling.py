"""Login throttling (django-axes): repeated wrong passwords for one user from one address lock that
pair out for a while, on the login page and on the admin login alike, with a message that says so.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"

pytestmark = pytest.mark.django_db


def _client(address: str = ATTACKER) -> Client:
    return Client(REMOTE_ADDR=address)


def _fail(client: Client, username: str, times: int, url: str = LOGIN) -> None:
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong password"})
        assert response.status_code in (200, 429)


def _logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def test_right_password_after_thirty_wrong_ones_is_refused_with_a_clear_message(user):
    client = _client()
    _fail(client, "alice", 30)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text
    assert f"{settings.LOGIN_LOCKOUT_MINUTES} minutes" in text
    assert not _logged_in(client)


def test_lockout_starts_at_the_failure_limit(user):
    client = _client()
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT - 1)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and _logged_in(client)

    other = _client()
    _fail(other, "alice", settings.AXES_FAILURE_LIMIT)
    assert other.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429


def test_lockout_holds_only_that_user_from_that_address(user, other_user):
    _fail(_client(), "alice", settings.AXES_FAILURE_LIMIT)

    same_user_elsewhere = _client(ELSEWHERE)
    response = same_user_elsewhere.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and _logged_in(same_user_elsewhere)

    other_user_same_address = _client()
    response = other_user_same_address.post(LOGIN, {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302 and _logged_in(other_user_same_address)


def test_lockout_ends_after_the_cool_off(user):
    from axes.models import AccessAttempt

    client = _client()
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429
    # Let the cool-off pass: the failures are now older than the lockout period.
    past = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    AccessAttempt.objects.update(attempt_time=past)
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and _logged_in(client)


def test_admin_login_is_throttled_too(staff_user):
    client = _client()
    _fail(client, "staffer", settings.AXES_FAILURE_LIMIT, url=ADMIN_LOGIN)
    response = client.post(ADMIN_LOGIN, {"username": "staffer", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _logged_in(client)
    assert client.get("/admin/").status_code == 302


def test_failures_through_either_login_page_count_together(staff_user):
    client = _client()
    _fail(client, "staffer", settings.AXES_FAILURE_LIMIT - 1, url=ADMIN_LOGIN)
    _fail(client, "staffer", 1, url=LOGIN)
    assert client.post(LOGIN, {"username": "staffer", "password": PASSWORD}).status_code == 429


def test_client_address_behind_a_trusted_proxy(settings, user):
    # One proxy in front: the address it appends to X-Forwarded-For is the client's; anything
    # left of it was sent by the client itself and cannot be trusted.
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def via_proxy(forwarded_for: str) -> Client:
        return Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded_for)

    _fail(via_proxy(f"1.2.3.4, {ATTACKER}"), "alice", settings.AXES_FAILURE_LIMIT)
    # The attacker forging another leftmost address is still locked out ...
    forged = via_proxy(f"9.9.9.9, {ATTACKER}")
    assert forged.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429
    # ... while another client behind the same proxy logs in.
    honest = via_proxy(ELSEWHERE)
    response = honest.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and _logged_in(honest)
