"""The image's HEALTHCHECK: `python -m chartinsight.container_health`, exit 0 healthy, 1 not.

One image runs every role, so the check looks at what this container runs: a web server
(gunicorn) must answer /livez on $PORT; a Celery worker must answer a ping through the broker
addressed to its own node name (`worker@<hostname>`, as every start command names it). Other
roles (beat, Flower, the simulator, a one-off command) are healthy while their process runs,
which Docker already watches.
"""

import os
import socket
import sys
import urllib.request
from pathlib import Path

TIMEOUT_SECONDS = 5


def running_commands() -> list[str]:
    """The command lines of the processes this container can see."""
    commands = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            commands.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # the process ended while we looked
            continue
    return commands


def web_alive() -> bool:
    url = f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}/livez"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.status == 200
    except OSError:
        return False


def worker_alive() -> bool:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chartinsight.settings")
    from chartinsight.celery import app

    node = f"worker@{socket.gethostname()}"
    replies = app.control.ping(destination=[node], timeout=TIMEOUT_SECONDS)
    return any(node in reply for reply in replies)


def main() -> int:
    commands = running_commands()
    if any("gunicorn" in command for command in commands):
        return 0 if web_alive() else 1
    if any("celery" in command and " worker" in command for command in commands):
        return 0 if worker_alive() else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
