#!/usr/bin/env bash
# `make run`: migrate, demo login, demo market data, then web + Celery worker + beat + Flower
# (and the Kiwoom simulator unless KIWOOM_BASE_URL points elsewhere). Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG=${DEBUG:-true}
# A plain-HTTP local run: no HTTPS redirect or secure-only cookies.
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-false}
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-false}
export CSRF_COOKIE_SECURE=${CSRF_COOKIE_SECURE:-false}
PORT=${PORT:-8000}
FLOWER_PORT=${FLOWER_PORT:-5555}
PY=.venv/bin/python
BIN=.venv/bin
VAR_DIR=${VAR_DIR:-var}
LOG_DIR=$VAR_DIR/log
mkdir -p "$LOG_DIR"

pids=()
stop_all() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo; echo "Stopping web, worker, beat, flower…"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  echo "Stopped."
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start() {  # start <role> <command…>: runs in the background, output in $LOG_DIR/<role>.log
  local role=$1; shift
  # Its own session: Ctrl-C reaches only this script, which then stops every part in order.
  setsid "$@" >>"$LOG_DIR/$role.log" 2>&1 &
  pids+=($!)
}

if ! command -v msgfmt >/dev/null 2>&1; then
  scripts/apt-install.sh gettext "compilemessages builds the Korean catalog with it" \
    || echo "(without gettext the pages show in English)"
fi
scripts/compilemessages.sh
# Hashed, gzip- and brotli-compressed static files with long cache headers, as in production
# (settings STATIC_MANIFEST); collected into $VAR_DIR so the checkout stays clean.
export STATIC_MANIFEST=${STATIC_MANIFEST:-true}
export STATIC_ROOT=${STATIC_ROOT:-$VAR_DIR/staticfiles}
if [ "$STATIC_MANIFEST" = "true" ]; then
  echo "Collecting static files (hashed, gzip + brotli) into $STATIC_ROOT…"
  $PY manage.py collectstatic --noinput -v0
fi
$PY manage.py migrate --noinput -v0
$PY manage.py sync_schedules
$PY manage.py demo_setup

eval "$($PY manage.py run_plan)"   # sets BROKER, FLOWER_SUPPORTED, SIMULATOR_URL, LOAD_DEMO_DATA

if [ -n "${SIMULATOR_PORT:-}" ]; then
  start simulator $PY manage.py kiwoom_simulator --port "$SIMULATOR_PORT"
  echo "Kiwoom simulator  http://127.0.0.1:$SIMULATOR_PORT  (simulated market data)"
fi
if [ -n "${LOAD_DEMO_DATA:-}" ]; then
  $PY manage.py demo_load
fi

start web $BIN/gunicorn chartinsight.wsgi --bind "127.0.0.1:$PORT" --workers 2 --timeout 120 --access-logfile -
start worker $BIN/celery -A chartinsight worker --loglevel INFO --concurrency 2 --hostname "worker@%h"
start beat $BIN/celery -A chartinsight beat --loglevel INFO
# Flower listens on 127.0.0.1 only; FLOWER_BASIC_AUTH=user:password (read by Flower from the
# environment) adds a login. An empty value would lock everyone out, so it is dropped.
[ -n "${FLOWER_BASIC_AUTH:-}" ] || unset FLOWER_BASIC_AUTH
if [ "$FLOWER_SUPPORTED" = "yes" ]; then
  start flower $BIN/celery -A chartinsight flower --address=127.0.0.1 --port="$FLOWER_PORT"
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 60); do listening "$PORT" && break; sleep 0.5; done
listening "$PORT" || { echo "The web server did not start; see $LOG_DIR/web.log." >&2; exit 1; }

echo
echo "ChartInsight Studio is running (Ctrl-C stops everything):"
echo "  Web      http://127.0.0.1:$PORT/   (login: see above, or $VAR_DIR/demo-login.txt)"
echo "  Admin    http://127.0.0.1:$PORT/admin/"
echo "  Health   http://127.0.0.1:$PORT/healthz"
echo "  Worker   celery worker, broker $BROKER"
echo "  Beat     celery beat (schedules in the admin under Periodic tasks)"
if [ "$FLOWER_SUPPORTED" = "yes" ]; then
  echo "  Flower   http://127.0.0.1:$FLOWER_PORT/   ($([ -n "${FLOWER_BASIC_AUTH:-}" ] && echo "login from FLOWER_BASIC_AUTH" || echo "no login: local only; FLOWER_BASIC_AUTH=user:password adds one"))"
else
  echo "  Flower   not started: it needs a Redis or AMQP broker (filesystem fallback in use)"
fi
echo "  Logs     $LOG_DIR/{web,worker,beat,flower,simulator}.log"
echo

# Stop everything as soon as one part exits unexpectedly.
set +e
wait -n "${pids[@]}"
echo "A process exited on its own (status $?); see $LOG_DIR/ for its log."
exit 1
