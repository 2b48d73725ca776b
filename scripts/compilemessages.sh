#!/usr/bin/env bash
# Builds the .mo catalogs from locale/*/LC_MESSAGES/*.po (never committed; `make run`, `make test`
# and the Docker image run this). Without gettext's msgfmt it says so and the pages stay English.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
if ! command -v msgfmt >/dev/null 2>&1; then
  echo "gettext (msgfmt) is missing: the Korean catalog is not built (apt-get install gettext)." >&2
  exit 0
fi
DEBUG=${DEBUG:-true} "$PY" manage.py compilemessages --ignore=.venv --ignore=var \
  --ignore=staticfiles --ignore=node_modules -v0
