#!/usr/bin/env bash
# `make test`: services up, Chromium present, ruff, then the whole pytest suite on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh

# Debian packages the tests use. Installed when running as root; otherwise `make test` says what to
# install and goes on (scripts/apt-install.sh never calls sudo).
if ! [ -x /usr/bin/chromium ]; then
  scripts/apt-install.sh chromium "the browser tests drive it" \
    || echo "(without /usr/bin/chromium the browser tests fail, saying so)"
fi
# Korean names in the browser tests' screenshots need a CJK font; the tests pass without it.
if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  scripts/apt-install.sh fonts-noto-cjk "readable Korean in screenshots" \
    || echo "(screenshots will show boxes for Korean text)"
fi
# The translations (.mo) are built from locale/*/LC_MESSAGES/*.po by gettext's msgfmt.
if ! command -v msgfmt >/dev/null 2>&1; then
  scripts/apt-install.sh gettext "compilemessages builds the Korean catalog with it" \
    || echo "(without gettext the pages stay English and the i18n tests fail)"
fi
# The compose file must stay valid for Debian's docker-compose 1.29 (a test parses it with it).
if ! command -v docker-compose >/dev/null 2>&1; then
  scripts/apt-install.sh docker-compose "the compose-file test parses with it" \
    || echo "(that test is skipped)"
fi

export DEBUG=true
export SECRET_KEY=test-only-secret-key-not-for-production
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chartinsight}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export CELERY_BROKER_URL=${TEST_CELERY_BROKER_URL:-$REDIS_URL}
export KIWOOM_BASE_URL= KIWOOM_APPKEY= KIWOOM_SECRETKEY=

scripts/compilemessages.sh

if [ -z "${SKIP_LINT:-}" ]; then
  echo "ruff:"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check . >/dev/null || { echo "ruff format: files need formatting (run .venv/bin/ruff format .)"; exit 1; }
  echo "actionlint:"
  .venv/bin/actionlint .github/workflows/*.yml && echo "workflows OK"
fi
echo "pytest (PostgreSQL ${DATABASE_URL%%@*}@…, Redis $REDIS_URL):"
exec .venv/bin/pytest "$@"
