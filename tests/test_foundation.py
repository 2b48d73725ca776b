"""The product shell: login everywhere, admin for staff, /healthz, settings guards."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["analysis:radar", "analysis:scanner", "labeling:list", "password_change"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_pages_require_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_logged_in_user(user_client, name):
    response = user_client.get(reverse(name))
    assert response.status_code == 200
    assert b"Log out" in response.content


@pytest.mark.django_db
def test_login_and_logout(client, user):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    bad = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200 and b"didn't match" in bad.content
    good = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert good.status_code == 302 and good["Location"] == reverse("analysis:radar")
    assert client.get(reverse("analysis:radar")).status_code == 200
    out = client.post(reverse("logout"))
    assert out.status_code == 302
    assert client.get(reverse("analysis:radar")).status_code == 302


@pytest.mark.django_db
def test_logout_needs_post_with_csrf(user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("logout")).status_code == 403
    assert strict.get(reverse("analysis:radar")).status_code == 200


@pytest.mark.django_db
def test_admin_for_staff_only(client, user, staff_user):
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
    client.force_login(staff_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"Site administration" in response.content


@pytest.mark.django_db
def test_admin_lists_every_model_for_superuser(client, django_user_model):
    from django.apps import apps
    from django.contrib import admin

    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client.force_login(root)
    for app_label in ("marketdata", "analysis", "labeling"):
        for model in apps.get_app_config(app_label).get_models():
            assert admin.site.is_registered(model), f"{model.__name__} is not in the admin"
            changelist = reverse(f"admin:{app_label}_{model._meta.model_name}_changelist")
            assert client.get(changelist).status_code == 200


@pytest.mark.django_db
def test_healthz_ok_with_services_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["healthy"] is True
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_503_when_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["healthy"] is False
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"].endswith("(details for staff)")
    assert "url" not in body["broker"] and "127.0.0.1:1" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_gives_staff_the_full_reason(staff_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    broker = response.json()["broker"]
    assert broker["url"] == settings.CELERY_BROKER_DISPLAY
    assert "details for staff" not in broker["error"] and len(broker["error"]) > 20


def _settings_probe(env: dict) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "chartinsight.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _clean_env() -> dict:
    keep = {"PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    return {k: v for k, v in os.environ.items() if k in keep}


def test_settings_refuse_to_start_without_secret_key_when_debug_off():
    result = _settings_probe({**_clean_env(), "DEBUG": "false", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_env():
    env = {
        **_clean_env(),
        "DEBUG": "false",
        "SECRET_KEY": "a-production-like-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "chartinsight.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
