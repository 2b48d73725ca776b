"""`make test` never calls sudo: as root it installs what the tests need with apt-get, otherwise it
says what to install (scripts/apt-install.sh) and goes on."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What `make test` runs: the venv bootstrap, the services, the test runner and their helper.
MAKE_TEST_SCRIPTS = [
    "ensure-python.sh",
    "services.sh",
    "test.sh",
    "apt-install.sh",
    "compilemessages.sh",
]
SUDO_COMMAND = re.compile(r"^(?!\s*#).*(?<![\w-])sudo\s", re.MULTILINE)


@pytest.mark.parametrize("script", MAKE_TEST_SCRIPTS)
def test_make_test_scripts_never_run_sudo(script):
    assert SUDO_COMMAND.findall((ROOT / "scripts" / script).read_text()) == []


def test_the_sudo_check_sees_a_sudo_command():
    assert SUDO_COMMAND.findall("x=1\n  sudo apt-get install -y chromium\n# sudo in a comment\n")


def fake_commands(tmp_path: Path, uid: int) -> tuple[dict, Path]:
    """A PATH whose `id` reports `uid` and whose `sudo` and `apt-get` only log their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for name, body in {
        "id": f"echo {uid}",
        "sudo": f'echo "sudo $*" >> {log}',
        "apt-get": f'echo "apt-get $*" >> {log}',
    }.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


def test_as_a_user_it_says_what_to_install_and_calls_nothing(tmp_path):
    env, log = fake_commands(tmp_path, uid=1000)
    result = subprocess.run(
        [ROOT / "scripts" / "apt-install.sh", "chromium", "the browser tests drive it"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "As root, run: apt-get install chromium" in result.stderr
    assert not log.exists()


def test_as_root_it_installs_with_apt_get(tmp_path):
    env, log = fake_commands(tmp_path, uid=0)
    result = subprocess.run(
        [ROOT / "scripts" / "apt-install.sh", "chromium", "the browser tests drive it"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    calls = log.read_text().splitlines()
    assert calls == ["apt-get update -qq", "apt-get install -y -qq chromium"]
