#!/usr/bin/env bash
# `make test`: services up, Chromium present, ruff, then the whole pytest suite on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh

sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
if ! [ -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests…"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
# Korean names in the browser tests' screenshots need a CJK font; the tests pass without it.
if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  echo "Installing fonts-noto-cjk for readable Korean in screenshots…"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq fonts-noto-cjk >/dev/null \
    || echo "(fonts-noto-cjk not installed; screenshots will show boxes for Korean text)"
fi

# The compose file must stay valid for Debian's docker-compose 1.29 (a test parses it with it).
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "Installing Debian's docker-compose for the compose-file test…"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq docker-compose >/dev/null \
    || echo "(docker-compose not installed; that test is skipped)"
fi

export DEBUG=true
export SECRET_KEY=test-only-secret-key-not-for-production
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chartinsight}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export CELERY_BROKER_URL=${TEST_CELERY_BROKER_URL:-$REDIS_URL}
export KIWOOM_BASE_URL= KIWOOM_APPKEY= KIWOOM_SECRETKEY=

if [ -z "${SKIP_LINT:-}" ]; then
  echo "ruff:"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check . >/dev/null || { echo "ruff format: files need formatting (run .venv/bin/ruff format .)"; exit 1; }
  echo "actionlint:"
  .venv/bin/actionlint .github/workflows/*.yml && echo "workflows OK"
fi
echo "pytest (PostgreSQL ${DATABASE_URL%%@*}@…, Redis $REDIS_URL):"
exec .venv/bin/pytest "$@"
