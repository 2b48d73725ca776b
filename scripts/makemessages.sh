#!/usr/bin/env bash
# `make messages`: refreshes the Korean catalogs from the code (templates and Python: django.po;
# static/js: djangojs.po), dropping strings no longer used. Fill every empty msgstr afterwards
# (tests/test_i18n.py fails on an untranslated or fuzzy entry).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
IGNORE=(--ignore=.venv --ignore=var --ignore=staticfiles --ignore=test-artifacts --ignore=node_modules)
DEBUG=${DEBUG:-true} "$PY" manage.py makemessages -l ko --no-obsolete --no-location --no-wrap "${IGNORE[@]}" -v0
DEBUG=${DEBUG:-true} "$PY" manage.py makemessages -l ko --no-obsolete --no-location --no-wrap -d djangojs \
  "${IGNORE[@]}" --ignore='*.min.js' -v0
# No creation date in the header: it would change on every run and conflict between branches.
sed -i '/^"POT-Creation-Date: /d' locale/ko/LC_MESSAGES/*.po
