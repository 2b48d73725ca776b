"""Shared fixtures: users and logged-in clients. App-specific fixtures live in each app's
`tests/fixtures.py` and are registered here as plugins so every test can use them."""

import pytest

from tests.factories import PASSWORD

pytest_plugins = ["marketdata.tests.fixtures", "tests.browser.chromium"]


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
