"""docker-compose.yml, the Dockerfile, `make run` and .env.example describe the same system."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES = {
    "web": "gunicorn chartinsight.wsgi",
    "worker": "celery -A chartinsight worker",
    "beat": "celery -A chartinsight beat",
    "flower": "celery -A chartinsight flower",
}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env_example_keys() -> set[str]:
    keys = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            keys.add(match.group(1))
    return keys


def test_compose_has_every_role_and_service():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "flower"} <= set(services)
    assert "pgdata" in _compose()["volumes"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert "healthcheck" in services["web"]


def test_compose_and_make_run_start_the_same_commands():
    services = _compose()["services"]
    run_script = (ROOT / "scripts" / "run.sh").read_text()
    for role, command in ROLES.items():
        compose_command = " ".join(services[role]["command"])
        assert compose_command.startswith(command), (role, compose_command)
        run_line = " ".join(
            line.replace("$BIN/", "")
            for line in run_script.splitlines()
            if f"start {role} " in line
        )
        assert command in run_line, (role, run_line)
    dockerfile_cmd = re.search(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert " ".join(yaml.safe_load(dockerfile_cmd)).startswith(ROLES["web"])


def test_compose_passes_the_env_variables_of_env_example():
    app_env = set(_compose()["x-app"]["environment"])
    port_vars = {"PORT", "FLOWER_PORT"}  # used by compose for published ports, not by the app
    assert app_env == _env_example_keys() - port_vars
    compose_text = (ROOT / "docker-compose.yml").read_text()
    for var in port_vars:
        assert "${" + var in compose_text


def test_dockerfile_runs_as_non_root_from_slim_base_with_static_collected():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER app$", text, re.M)
    assert "collectstatic" in text
