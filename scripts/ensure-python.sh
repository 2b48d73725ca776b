#!/usr/bin/env bash
# Creates the virtual environment, installing Debian's python3-venv first when it is missing
# (as root; otherwise it says what to install and stops).
set -euo pipefail
python=$1; venv=$2
if [ -x "$venv/bin/python" ]; then exit 0; fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "ChartInsight Studio needs Python 3.11 or newer as '$python' (set PYTHON=...)." >&2; exit 1
fi
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' 2>/dev/null; then
  "$(dirname "$0")/apt-install.sh" python3-venv "Python's venv module, for $venv" || exit 1
fi
echo "Creating $venv …"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
