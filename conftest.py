"""Shared fixtures: users and logged-in clients. App-specific fixtures live in each app's
`tests/fixtures.py` and are registered here as plugins so every test can use them."""

import pytest
from django.utils import translation

from tests.factories import PASSWORD

pytest_plugins = ["marketdata.tests.fixtures", "tests.browser.chromium"]


@pytest.fixture(autouse=True)
def english_by_default(settings):
    """The suite reads the pages in English (the site's default is Korean): assertions on
    English text and on lazily translated message constants agree. Korean is tested on purpose
    through the `korean` fixture (tests/test_i18n.py, the browser tests' `browser_locale`)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def korean(settings):
    """The site's real default: Korean for every request without another preference."""
    settings.LANGUAGE_CODE = "ko"
    with translation.override("ko"):
        yield


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", password=PASSWORD)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staffer", password=PASSWORD, is_staff=True)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def other_client(client, other_user):
    client.force_login(other_user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
