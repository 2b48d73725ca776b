"""A real Celery worker process runs a task on Redis, and on the filesystem fallback broker."""

import os

import pytest
from celery import Celery

from tests.celery_worker import start_worker, stop_worker


@pytest.mark.slow
def test_roundtrip_on_redis():
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker}
    client = Celery(broker=broker, backend=broker, set_as_current=False)
    worker = start_worker(env, name="roundtrip")
    try:
        result = client.send_task("chartinsight.add", args=(20, 22))
        assert result.get(timeout=60) == 42
    finally:
        log = stop_worker(worker)
    assert "redis://" in log


@pytest.mark.slow
def test_roundtrip_on_filesystem_fallback(tmp_path, monkeypatch):
    # A Celery app prefers CELERY_BROKER_URL from the environment over its broker argument.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    folder = tmp_path / "celery"
    env = {**os.environ, "CELERY_BROKER_URL": "filesystem://", "CELERY_FILESYSTEM_DIR": str(folder)}
    env.pop("CELERY_RESULT_BACKEND", None)
    worker = start_worker(env, name="roundtrip")
    try:
        # The worker creates the folders on start; the client uses the same ones.
        for sub in ("queue", "processed", "results", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        client = Celery(
            broker="filesystem://", backend=f"file://{folder / 'results'}", set_as_current=False
        )
        client.conf.broker_transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
        }
        result = client.send_task("chartinsight.add", args=(1, 2))
        value = result.get(timeout=60, propagate=False)
    finally:
        log = stop_worker(worker)
    assert value == 3, log
    assert "filesystem://" in log
