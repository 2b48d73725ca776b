"""The deployment files (Dockerfile, .dockerignore, compose, Procfile, render.yaml, CI, the
dependency locks) describe the same system as `make run`; the settings they rely on hold.

`make image-check` builds the image and runs it; these tests read the files and run what can run
without an engine (gunicorn with the image's config, the settings under a platform's env)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES = {
    "web": "gunicorn chartinsight.wsgi",
    "worker": "celery -A chartinsight worker",
    "beat": "celery -A chartinsight beat",
    "flower": "celery -A chartinsight flower",
}
WEB_COMMAND = "gunicorn chartinsight.wsgi --config python:chartinsight.gunicorn"
RELEASE_COMMAND = "python manage.py release"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def _env_example_keys() -> set[str]:
    keys = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            keys.add(match.group(1))
    return keys


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _render() -> dict:
    return yaml.safe_load((ROOT / "render.yaml").read_text())


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


# --- compose --------------------------------------------------------------------------------


def test_compose_has_every_role_and_service():
    services = _compose()["services"]
    assert {"postgres", "redis", "release", "web", "worker", "beat", "flower", "simulator"} <= set(
        services
    )
    assert "pgdata" in _compose()["volumes"]
    for name in ("postgres", "redis", "web", "worker", "simulator"):
        assert "healthcheck" in services[name], name


def test_compose_profiles_app_and_pipeline():
    services = _compose()["services"]

    def started_by(*profiles: str) -> set[str]:
        return {name for name, s in services.items() if set(s.get("profiles", [])) & set(profiles)}

    assert started_by("app") == {"postgres", "redis", "release", "web"}
    assert started_by("pipeline") == {
        "postgres",
        "redis",
        "release",
        "worker",
        "beat",
        "flower",
        "simulator",
    }
    # A profile's services depend only on services of that profile (Compose refuses otherwise).
    for profile in ("app", "pipeline"):
        enabled = started_by(profile)
        for name in enabled:
            assert set(services[name].get("depends_on", {})) <= enabled, (profile, name)


def test_compose_and_make_run_start_the_same_commands():
    services = _compose()["services"]
    run_script = (ROOT / "scripts" / "run.sh").read_text()
    for role, command in ROLES.items():
        assert command in _command(services[role]), (role, _command(services[role]))
        run_line = " ".join(
            line.replace("$BIN/", "")
            for line in run_script.splitlines()
            if f"start {role} " in line
        )
        assert command in run_line, (role, run_line)
    assert _command(services["web"]) == WEB_COMMAND
    assert _command(services["release"]) == RELEASE_COMMAND


def test_compose_worker_healthcheck_expands_hostname_in_a_shell():
    test = _compose()["services"]["worker"]["healthcheck"]["test"]
    # The exec form (CMD) passes "$HOSTNAME" literally, so the ping could never match.
    assert test[0] == "CMD-SHELL"
    assert "--destination worker@$$HOSTNAME" in test[1]
    assert "--hostname worker@%h" in _command(_compose()["services"]["worker"])


def test_compose_web_waits_for_the_release_step():
    services = _compose()["services"]
    for role in ("web", "worker", "beat"):
        depends = services[role]["depends_on"]
        assert depends["release"] == {"condition": "service_completed_successfully"}, role
    assert services["release"]["restart"] == "no"


def test_compose_keeps_dotenv_out_of_the_containers_and_serves_plain_http():
    """`.env` is shared with `make run` (DEBUG=true, HTTPS on in .env.example): compose reads it
    only for ${…}, so a plain-HTTP compose run neither shows debug pages nor redirects."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert "env_file" not in text  # also what keeps the file valid for docker-compose 1.29
    env = _compose()["x-app"]["environment"]
    flower_env = _compose()["services"]["flower"]["environment"]
    assert env["DEBUG"] == "false"
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        assert env[name] == "${BEHIND_HTTPS:-false}", name
    # Every other setting of .env.example reaches the containers; VAR_DIR is the image's.
    fixed = {"DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"}
    published = {"PORT", "FLOWER_PORT"}  # compose publishes on these; the containers use 8000
    assert set(env) | set(flower_env) | {"VAR_DIR"} | published == _env_example_keys() | fixed
    for var in published:
        assert "${" + var in text


def test_compose_flower_is_private_and_needs_a_login():
    flower = _compose()["services"]["flower"]
    assert flower["ports"] == ["127.0.0.1:${FLOWER_PORT:-5555}:5555"]
    command = _command(flower)
    assert 'test -n "$$FLOWER_BASIC_AUTH" ||' in command and command.endswith("--port=5555")
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"


def _compose_env() -> dict:
    return {**os.environ, "SECRET_KEY": "compose-config-check"}


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
@pytest.mark.parametrize("profiles", [["app"], ["pipeline"], ["app", "pipeline"]])
def test_debian_docker_compose_1_29_accepts_the_file(profiles):
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", *args, "config", "-q"],
        cwd=ROOT,
        env=_compose_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _compose_v2_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_v2_available(), reason="Compose v2 plugin not installed")
def test_compose_v2_accepts_the_file():
    result = subprocess.run(
        ["docker", "compose", "--profile", "app", "--profile", "pipeline", "config", "-q"],
        cwd=ROOT,
        env=_compose_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- Dockerfile, .dockerignore --------------------------------------------------------------


def test_dockerfile_runs_as_non_root_from_slim_base_with_static_collected():
    text = _dockerfile()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER app$", text, re.M)
    assert "collectstatic" in text
    cmd = re.search(r"^CMD (.+)$", text, re.M).group(1)
    assert " ".join(yaml.safe_load(cmd)) == WEB_COMMAND
    assert "--bind" not in text  # the port comes from $PORT (chartinsight/gunicorn.py)


def test_dockerfile_keeps_code_read_only_and_has_a_healthcheck():
    text = _dockerfile()
    assert "--chown" not in text  # code and virtualenv stay root's
    assert "--home-dir /home/app --create-home" in text  # gunicorn's control socket lives there
    assert "chown app:app /var/lib/chartinsight" in text and "VAR_DIR=/var/lib/chartinsight" in text
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD .*chartinsight\.container_health", text, re.M)


def test_dockerfile_installs_only_the_hash_locked_dependencies():
    text = _dockerfile()
    assert "COPY requirements.lock" in text
    assert "pip install --require-hashes --no-deps -r requirements.lock" in text
    assert "requirements.txt" not in text
    # The CA bundle for a TLS-inspecting proxy is a build secret, never a layer.
    assert "--mount=type=secret,id=pip_cert" in text and "COPY /etc/ssl" not in text


def test_dockerignore_keeps_secrets_and_developer_files_out_of_the_build():
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv", "var", "staticfiles", "**/tests", "tests"} <= patterns
    assert ".env.*" in patterns and "!.env.example" in patterns


# --- gunicorn on $PORT -------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_with_the_image_config_listens_on_port(tmp_path):
    """The image's web command serves on $PORT (not 8000) and answers the liveness probe."""
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "VAR_DIR": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": "gunicorn-port-test-" + "x" * 40,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *WEB_COMMAND.split()[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        response = None
        for _ in range(120):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    break
                import time

                time.sleep(0.25)
        assert response is not None, process.stderr.read().decode() if process.stderr else ""
        assert response.status_code == 200 and response.json() == {"alive": True}
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- Procfile, render.yaml ----------------------------------------------------------------


def test_procfile_has_web_worker_beat_and_release():
    procfile = _procfile()
    assert set(procfile) == {"web", "worker", "beat", "release"}
    assert procfile["web"] == WEB_COMMAND
    assert procfile["release"] == RELEASE_COMMAND
    compose = _compose()["services"]
    for role in ("worker", "beat"):
        assert procfile[role] == _command(compose[role]), role


def test_render_blueprint_web_worker_beat_database_key_value():
    blueprint = _render()
    services = {s["name"]: s for s in blueprint["services"]}
    web = services["chartinsight-web"]
    assert web["type"] == "web" and web["runtime"] == "docker"
    assert web["dockerfilePath"] == "./Dockerfile"
    assert web["healthCheckPath"] == "/readyz"
    assert web["preDeployCommand"] == RELEASE_COMMAND
    procfile = _procfile()
    worker, beat = services["chartinsight-worker"], services["chartinsight-beat"]
    assert worker["type"] == beat["type"] == "worker"
    assert worker["dockerCommand"] == procfile["worker"]
    assert beat["dockerCommand"] == procfile["beat"] and beat["numInstances"] == 1
    keyvalue = [s for s in blueprint["services"] if s["type"] == "keyvalue"]
    assert len(keyvalue) == 1 and keyvalue[0]["maxmemoryPolicy"] == "noeviction"
    assert [db["name"] for db in blueprint["databases"]] == ["chartinsight-db"]
    for service in (web, worker, beat):
        env = {var.get("key") or "group": var for var in service["envVars"]}
        assert env["DATABASE_URL"]["fromDatabase"]["name"] == "chartinsight-db"
        for key in ("REDIS_URL", "CELERY_BROKER_URL"):
            assert env[key]["fromService"]["name"] == keyvalue[0]["name"], key
        assert env["group"]["fromGroup"] == "chartinsight-settings"
    group = blueprint["envVarGroups"][0]["envVars"]
    secret = next(var for var in group if var["key"] == "SECRET_KEY")
    assert secret == {"key": "SECRET_KEY", "generateValue": True}
    assert {"key": "DEBUG", "value": "false"} in group


# --- CI ---------------------------------------------------------------------------------------


def _workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())


def test_ci_tests_every_push_and_pull_request_with_postgres_and_redis():
    workflow = _workflow()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"pull_request", "push"}
    test = workflow["jobs"]["test"]
    assert {"postgres", "redis"} <= set(test["services"])
    assert any(step.get("run") == "make test" for step in test["steps"])


def test_ci_on_main_smoke_tests_pushes_and_deploys_the_image():
    job = _workflow()["jobs"]["image"]
    assert job["needs"] == "test"
    assert "refs/heads/main" in job["if"] and "push" in job["if"]
    runs = [step.get("run", "") for step in job["steps"]]
    check = runs.index("make image-check")
    push = next(i for i, run in enumerate(runs) if "docker push" in run)
    deploy = next(i for i, run in enumerate(runs) if "DEPLOY_HOOK_URL" in run)
    assert check < push < deploy
    assert "ghcr.io/" in runs[push]
    assert job["permissions"]["packages"] == "write"
    assert job["steps"][deploy]["env"]["DEPLOY_HOOK_URL"] == "${{ secrets.DEPLOY_HOOK_URL }}"


def test_actionlint_accepts_the_workflow():
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run(
        [str(actionlint), "-no-color", ".github/workflows/ci.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- dependency locks ---------------------------------------------------------------------------

RELOCK = "make lock"


def _pins(path: Path) -> dict[str, str]:
    text = path.read_text()
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in re.findall(
            r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?==(\S+)", text, re.M
        )
    }


def _direct(path: Path) -> dict[str, str]:
    """The pins of a human list (requirements*.txt), `-r` includes left out."""
    return _pins(path)


@pytest.mark.parametrize(
    "human, lock",
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_lock_matches_the_human_requirements(human, lock):
    """Whoever adds, removes or bumps a package in requirements*.txt must re-lock (`make lock`)."""
    wanted = _direct(ROOT / human)
    if human == "requirements-dev.txt":
        wanted |= _direct(ROOT / "requirements.txt")
    locked = _pins(ROOT / lock)
    stale = {
        name: (version, locked.get(name))
        for name, version in wanted.items()
        if locked.get(name) != version
    }
    assert not stale, f"{lock} is out of date ({stale}); run `{RELOCK}`."
    # Every package the lock pins directly (`via -r requirements…`) is still wanted.
    text = (ROOT / lock).read_text()
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)==", block)
        if match and re.search(r"via\s+(#\s+)?-r requirements", block):
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            assert name in wanted, f"{lock} still pins {name}; run `{RELOCK}`."


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_lock_pins_every_package_with_hashes(lock):
    text = (ROOT / lock).read_text()
    blocks = [b for b in re.split(r"\n(?=\S)", text) if re.match(r"[A-Za-z0-9]", b)]
    assert len(blocks) > 20
    for block in blocks:
        assert "==" in block.splitlines()[0] and "--hash=sha256:" in block, block.splitlines()[0]


def test_runtime_and_dev_locks_agree():
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_image_and_make_run_install_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "install --quiet --require-hashes -r requirements.lock" in makefile
    assert "install --quiet --require-hashes -r requirements-dev.lock" in makefile
    assert "pip-compile" in makefile and "--generate-hashes" in makefile
