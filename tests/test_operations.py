"""Operations: liveness/readiness probes, the broker the settings choose, TLS to Redis, a
platform's host names, and the release step."""

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from chartinsight.celery import PERIODIC_TASKS

ROOT = Path(__file__).resolve().parent.parent


# --- probes -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_livez_answers_without_database_or_login(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"alive": True}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_200_while_the_database_answers_even_with_the_broker_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # a Redis blip
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": {"ok": True, "error": None}}
    assert client.get("/healthz").status_code == 503  # the full report still says so


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down(client, monkeypatch):
    from marketdata import selectors

    def refused():
        return {"ok": False, "error": "OperationalError: connection to 10.9.8.7 refused"}

    monkeypatch.setattr(selectors, "database_status", refused)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "database": {"ok": False, "error": "OperationalError"},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_probes_answer_a_platform_host_and_plain_http(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path, HTTP_HOST="10.244.1.17:8000")  # a pod IP, not in ALLOWED_HOSTS
    assert response.status_code == 200


@pytest.mark.django_db
def test_other_paths_still_refuse_an_unknown_host(client):
    assert client.get("/healthz", HTTP_HOST="evil.example.com").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="evil.example.com").status_code == 400


# --- settings under a platform's environment --------------------------------------------------


def _settings(env: dict, *names: str) -> dict:
    """The named settings, loaded in a fresh interpreter with exactly `env` (plus PATH/HOME)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: str(getattr(settings, n, None)) for n in {list(names)!r}}}))"
    )
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "chartinsight.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _production(**env) -> dict:
    return {"DEBUG": "false", "SECRET_KEY": "s" * 50, **env}


def test_configured_redis_url_is_the_broker_even_when_it_does_not_answer(tmp_path):
    """The container case: Redis not up yet at start must not turn into a filesystem queue."""
    for debug in ("true", "false"):
        env = {"DEBUG": debug, "SECRET_KEY": "s" * 50, "VAR_DIR": str(tmp_path)}
        got = _settings({**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, "CELERY_BROKER_URL")
        assert got["CELERY_BROKER_URL"] == "redis://127.0.0.1:1/0", debug


def test_configured_broker_url_wins(tmp_path):
    env = _production(
        VAR_DIR=str(tmp_path), CELERY_BROKER_URL="redis://127.0.0.1:1/3", REDIS_URL=""
    )
    assert _settings(env, "CELERY_BROKER_URL")["CELERY_BROKER_URL"] == "redis://127.0.0.1:1/3"


def test_production_without_broker_settings_never_falls_back(tmp_path):
    got = _settings(_production(VAR_DIR=str(tmp_path)), "CELERY_BROKER_IS_FILESYSTEM")
    assert got["CELERY_BROKER_IS_FILESYSTEM"] == "False"


def test_rediss_urls_get_certificate_verification_options(tmp_path):
    env = _production(
        VAR_DIR=str(tmp_path),
        REDIS_URL="rediss://default:pw@kv.example.com:6380/0",
        CELERY_RESULT_BACKEND="rediss://default:pw@kv.example.com:6380/1",
    )
    got = _settings(
        env,
        "CELERY_BROKER_URL",
        "CELERY_BROKER_USE_SSL",
        "CELERY_REDIS_BACKEND_USE_SSL",
        "REDIS_URL",
    )
    assert got["CELERY_BROKER_URL"] == "rediss://default:pw@kv.example.com:6380/0"
    assert "VerifyMode.CERT_REQUIRED" in got["CELERY_BROKER_USE_SSL"]
    assert "VerifyMode.CERT_REQUIRED" in got["CELERY_REDIS_BACKEND_USE_SSL"]
    assert got["REDIS_URL"].endswith("/0?ssl_cert_reqs=required")

    relaxed = _settings(
        {**env, "REDIS_SSL_CERT_REQS": "none"}, "CELERY_BROKER_USE_SSL", "REDIS_URL"
    )
    assert "VerifyMode.CERT_NONE" in relaxed["CELERY_BROKER_USE_SSL"]
    assert relaxed["REDIS_URL"].endswith("?ssl_cert_reqs=none")


def test_celery_builds_its_rediss_result_backend(tmp_path):
    """Without TLS options Celery refuses a rediss:// backend (ValueError) at the first task."""
    code = (
        "import django; django.setup(); from chartinsight.celery import app; "
        "backend = app.backend; "
        "print(type(backend).__name__, int(backend.connparams['ssl_cert_reqs']))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        **_production(VAR_DIR=str(tmp_path), REDIS_URL="rediss://kv.example.com:6380/0"),
        "DJANGO_SETTINGS_MODULE": "chartinsight.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["RedisBackend", str(int(ssl.CERT_REQUIRED))]


def test_unknown_redis_ssl_cert_reqs_is_refused(tmp_path):
    code = "import django; django.setup()"
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        **_production(VAR_DIR=str(tmp_path), REDIS_SSL_CERT_REQS="maybe"),
        "DJANGO_SETTINGS_MODULE": "chartinsight.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "REDIS_SSL_CERT_REQS must be one of" in result.stderr


def test_render_host_is_admitted(tmp_path):
    env = _production(VAR_DIR=str(tmp_path), RENDER_EXTERNAL_HOSTNAME="chartinsight.onrender.com")
    got = _settings(env, "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")
    assert "'chartinsight.onrender.com'" in got["ALLOWED_HOSTS"]
    assert "'https://chartinsight.onrender.com'" in got["CSRF_TRUSTED_ORIGINS"]


# --- release step ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_release_migrates_and_syncs_schedules_and_is_idempotent(capsys):
    PeriodicTask.objects.filter(name__in=PERIODIC_TASKS).delete()
    call_command("release", verbosity=0)
    first = capsys.readouterr().out
    assert f"Schedules: {len(PERIODIC_TASKS)} created" in first and "Release done." in first
    assert PeriodicTask.objects.filter(name__in=PERIODIC_TASKS).count() == len(PERIODIC_TASKS)
    call_command("release", verbosity=0)
    second = capsys.readouterr().out
    assert f"0 created, 0 reset, {len(PERIODIC_TASKS)} kept" in second
