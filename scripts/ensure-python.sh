#!/usr/bin/env bash
# Creates the virtual environment, installing Debian's python3-venv first when it is missing.
set -euo pipefail
python=$1; venv=$2
if [ -x "$venv/bin/python" ]; then exit 0; fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "ChartInsight Studio needs Python 3.11 or newer as '$python' (set PYTHON=...)." >&2; exit 1
fi
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
  echo "Installing python3-venv (Debian/Ubuntu)…"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq python3-venv
fi
echo "Creating $venv …"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
