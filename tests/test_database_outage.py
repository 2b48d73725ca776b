"""PostgreSQL down: a production-like gunicorn (DEBUG off) whose database refuses connections.

The session and the user are loaded from the database, so before the views run a request with a
session cookie already needs it. Whatever fails, /healthz and /api/ answer 503 JSON and pages a
plain 503 page — never a 500.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import InterfaceError, OperationalError

from chartinsight.middleware import DATABASE_UNAVAILABLE, database_down

ROOT = Path(__file__).resolve().parent.parent
COOKIE = {"sessionid": "a-session-key-the-server-would-look-up"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_without_database(tmp_path_factory):
    """Base URL of gunicorn serving the project with DATABASE_URL at a port nobody listens on
    (static files collected as a deployment does, so pages fail only for want of a database)."""
    port, dead_db_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DEBUG="false",
        SECRET_KEY="outage-test-secret-key-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{dead_db_port}/chartinsight",
        STATIC_ROOT=str(tmp_path_factory.mktemp("static")),
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "chartinsight.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/favicon.ico", timeout=2)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.communicate()[0].decode(errors="replace")
                pytest.fail(f"gunicorn did not start:\n{output}")
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=30)


def _get(base: str, path: str, **kwargs) -> httpx.Response:
    return httpx.get(f"{base}{path}", timeout=30, follow_redirects=False, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("cookies", [{}, COOKIE], ids=["anonymous", "session cookie"])
def test_healthz_answers_503_json_to_everyone(server_without_database, cookies):
    response = _get(server_without_database, "/healthz", cookies=cookies)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["healthy"] is False


@pytest.mark.slow
def test_api_answers_503_json_with_a_session_cookie(server_without_database):
    response = _get(
        server_without_database, "/api/radar", params={"symbol": "005930"}, cookies=COOKIE
    )
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": DATABASE_UNAVAILABLE}
    assert response.headers["Retry-After"].isdigit()


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/radar/", "/labels/", "/accounts/login/", "/admin/"])
def test_pages_answer_a_plain_503_page_with_a_session_cookie(server_without_database, path):
    english = {"Accept-Language": "en"}  # the page speaks the browser's language
    response = _get(server_without_database, path, cookies=COOKIE, headers=english)
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert DATABASE_UNAVAILABLE in response.text
    assert "Traceback" not in response.text and "Server Error (500)" not in response.text


@pytest.mark.slow
def test_login_attempt_answers_503_when_the_database_is_down(server_without_database):
    # No session yet: only checking the password needs the database. (The CSRF secret is made
    # up; Django accepts the unmasked secret in the form when it matches the cookie.)
    csrf_secret = "c" * 32
    response = httpx.post(
        f"{server_without_database}/accounts/login/",
        data={"username": "alice", "password": "whatever", "csrfmiddlewaretoken": csrf_secret},
        cookies={"csrftoken": csrf_secret},
        timeout=30,
    )
    assert response.status_code == 503
    # Without a language of the browser's: the site's default, Korean.
    assert '<html lang="ko">' in response.text
    assert "데이터베이스가 응답하지 않습니다" in response.text


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (OperationalError('connection to server at "127.0.0.1", port 5432 failed'), True),
        (OperationalError("database is locked"), True),
        (InterfaceError("connection already closed"), True),
        # SQLite's word for a bad statement: a bug to see as a 500, not an outage.
        (OperationalError('near "FROM": syntax error'), False),
        (OperationalError("no such column: marketdata_candle.foo"), False),
        (ValueError("database is locked"), False),
    ],
)
def test_only_an_unreachable_database_is_an_outage(error, down):
    assert database_down(error) is down
