"""Gunicorn settings of the image and the platforms:
`gunicorn chartinsight.wsgi --config python:chartinsight.gunicorn`.

Listens on all interfaces at $PORT (8000 when unset), as Render, Railway, Heroku and Dokku
expect; WEB_CONCURRENCY worker processes (3 when unset). `make run` binds 127.0.0.1 itself.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 3)
timeout = 120
accesslog = "-"
# Worker heartbeat files in memory: a slow container filesystem never gets workers killed.
# (gunicorn creates them with mkstemp, private to its user.)
SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
