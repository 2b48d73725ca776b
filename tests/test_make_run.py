"""`make run` end to end on a terminal: demo login, demo data through the simulator, web,
worker, beat and Flower up, then Ctrl-C stops every part."""

import contextlib
import os
import pty
import re
import select
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BANNER = b"Ctrl-C stops everything"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until(fd: int, marker: bytes, timeout: float, out: bytearray) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in out:
            return True
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return marker in out
            if not chunk:
                return marker in out
            out.extend(chunk)
    return marker in out


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_make_run_serves_everything_and_ctrl_c_stops_it(tmp_path):
    ports = {name: _free_port() for name in ("PORT", "FLOWER_PORT", "KIWOOM_SIMULATOR_PORT")}
    redis_url = "redis://127.0.0.1:6379/7"  # its own broker queue and token cache
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    env.update(
        {name: str(port) for name, port in ports.items()},
        VAR_DIR=str(tmp_path / "var"),  # SQLite database, logs and demo login live here
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        KIWOOM_BASE_URL="",
        KIWOOM_MAX_RPS="4",
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: `make run` on a terminal, as a user starts it
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "run"], env)  # noqa: S606
    out = bytearray()
    try:
        assert _read_until(fd, BANNER, 300, out), out.decode(errors="replace")[-3000:]
        text = out.decode(errors="replace")
        password = re.search(r"password: (\S+)", text).group(1)
        assert "Demo login created" in text
        assert re.search(r"Done: \d+/\d+ series", text), text[-2000:]

        web = f"http://127.0.0.1:{ports['PORT']}"
        # Generous: a worker's first request imports the views (pandas, plotly, scipy) on a
        # loaded machine.
        with httpx.Client(base_url=web, timeout=60, headers={"Accept-Language": "en"}) as client:
            login = client.get("/accounts/login/")
            assert login.status_code == 200 and "simulated market data" in login.text
            health = client.get("/healthz").json()
            assert health["healthy"] is True
            assert health["last_collection"]["1d"]
            csrf = client.cookies["csrftoken"]
            done = client.post(
                "/accounts/login/",
                data={"username": "demo", "password": password, "csrfmiddlewaretoken": csrf},
            )
            assert done.status_code == 302
            radar = client.get("/radar/", params={"symbol": "005930", "tf": "1d"})
            assert radar.status_code == 200 and "radar-figure" in radar.text
            # Static files: hashed names, compressed, cached for good (settings STATIC_MANIFEST).
            plotly = re.search(r'src="(/static/js/plotly-finance-[^"]+)"', radar.text).group(1)
            assert re.search(r"\.[0-9a-f]{12}\.js$", plotly), plotly
            for encoding in ("br", "gzip"):
                asset = client.get(plotly, headers={"Accept-Encoding": encoding})
                assert asset.status_code == 200
                assert asset.headers["Content-Encoding"] == encoding
                assert int(asset.headers["Content-Length"]) < 500_000
                assert "immutable" in asset.headers["Cache-Control"]
        assert _listening(ports["FLOWER_PORT"])
        logs = tmp_path / "var" / "log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            worker_log = (logs / "worker.log").read_text()
            if "ready." in worker_log and "beat: Starting" in (logs / "beat.log").read_text():
                break
            time.sleep(1)
        assert "ready." in worker_log

        os.write(fd, b"\x03")  # Ctrl-C
        assert _read_until(fd, b"Stopped.", 60, out), out.decode(errors="replace")[-2000:]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_listening(p) for p in ports.values()):
            time.sleep(0.5)
        assert not any(_listening(port) for port in ports.values())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
