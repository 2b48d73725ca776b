"""A real Celery worker process for tests (solo pool, no mingle/gossip, output captured)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")


def start_worker(env: dict, *, name: str) -> subprocess.Popen:
    """Starts `celery -A chartinsight worker` with `env`; its node name is `<name>-<pid>@host`."""
    return subprocess.Popen(
        [
            CELERY,
            "-A",
            "chartinsight",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(worker: subprocess.Popen) -> str:
    """Warm shutdown (SIGTERM; killed after 30 s); returns everything the worker printed."""
    worker.send_signal(signal.SIGTERM)
    try:
        out, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
    return out
