#!/usr/bin/env bash
# `make bench`: every benchmarks/bench_*.py against its own PostgreSQL database and Redis db.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh >/dev/null
export DEBUG=true
export SECRET_KEY=bench-only-secret-key
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/chartinsight_bench}
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14}
export CELERY_BROKER_URL=$REDIS_URL
export KIWOOM_BASE_URL= KIWOOM_APPKEY= KIWOOM_SECRETKEY=
db=${DATABASE_URL##*/}
psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
  || psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE $db"
.venv/bin/python manage.py migrate --noinput -v0
exec .venv/bin/python -m benchmarks "$@"
