#!/usr/bin/env bash
# `make image-check`: builds the image and proves every role runs from it, then removes what it
# made. Steps (timed): engine up, base image, build, release step twice (migrate + schedules;
# the second run must change nothing), web on $PORT (/livez, /readyz, /healthz 200, the login
# page with its CSS and JS), a worker running a task sent through the web container's broker,
# beat starting, non-root and read-only code, no secrets or developer files in the image.
#
# PostgreSQL and Redis: the host's (127.0.0.1:5432 and :6379, started by scripts/services.sh
# when installed), reached with `--network host`; the check uses its own database and Redis db
# and drops them at the end. Override with IMAGE_CHECK_PG (a server URL without database,
# e.g. postgres://postgres:postgres@127.0.0.1:5432) and IMAGE_CHECK_REDIS_URL.
#
# Engine: the running Docker engine; on a machine without one, Debian's docker.io is installed
# and `dockerd --storage-driver=vfs` started (and stopped again at the end). When the base
# image cannot be pulled (no registry), scripts/local-base-image.sh makes it with debootstrap;
# it is kept afterwards, as a pulled base image would be.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE_CHECK_IMAGE:-chartinsight-studio:image-check-$$}
PG=${IMAGE_CHECK_PG:-postgres://postgres@127.0.0.1:5432}
DB_NAME=chartinsight_image_check_$$
REDIS_URL_CHECK=${IMAGE_CHECK_REDIS_URL:-redis://127.0.0.1:6379/12}
WEB_PORT=${IMAGE_CHECK_PORT:-18731}   # deliberately not 8000: the image must honour $PORT
NAME=chartinsight-image-check-$$
BASE_IMAGE=$(sed -n 's/^FROM[[:space:]]\+\([^[:space:]]\+\).*/\1/p' Dockerfile | head -n1)
sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

timings=()
step_started=$SECONDS
all_started=$SECONDS
step() { echo; echo "== $1"; step_started=$SECONDS; }
done_step() { timings+=("$(printf '%-34s %4d s' "$1" $((SECONDS - step_started)))"); }
fail() { echo "image-check FAILED: $*" >&2; exit 1; }

started_dockerd=""
made_image=""
cleanup() {
  set +e
  [ -n "${image_check_failed:-}" ] && { echo; echo "== Cleaning up"; }
  local forget="import os, psycopg, redis
psycopg.connect(os.environ['PG'] + '/postgres', autocommit=True).execute('DROP DATABASE IF EXISTS ' + os.environ['DB'] + ' WITH (FORCE)')
redis.Redis.from_url(os.environ['URL']).flushdb()"
  local forget_env=(-e PG="$PG" -e DB="$DB_NAME" -e URL="$REDIS_URL_CHECK")
  local forgotten=""
  if [ "$(docker inspect --format '{{.State.Running}}' "$NAME-web" 2>/dev/null)" = true ]; then
    docker exec "${forget_env[@]}" "$NAME-web" python -c "$forget" && forgotten=yes
  fi
  for role in checks web worker beat; do
    if docker inspect "$NAME-$role" >/dev/null 2>&1; then
      [ -n "${image_check_failed:-}" ] && { echo "--- $role log (last 30 lines)"; docker logs --tail 30 "$NAME-$role" 2>&1; }
      docker rm -f "$NAME-$role" >/dev/null
    fi
  done
  if [ -n "$made_image" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    if [ -z "$forgotten" ]; then
      docker run --rm --network host "${forget_env[@]}" "$IMAGE" python -c "$forget" \
        || echo "(could not drop database $DB_NAME or empty $REDIS_URL_CHECK)"
    fi
    if [ -n "${IMAGE_CHECK_KEEP:-}" ]; then
      echo "Kept image $IMAGE (IMAGE_CHECK_KEEP); removed its containers and database."
    else
      docker rmi -f "$IMAGE" >/dev/null && echo "Removed image $IMAGE, its containers and database."
    fi
  fi
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null && wait "$started_dockerd" 2>/dev/null
    echo "Stopped the dockerd this check started."
  fi
}
trap 'image_check_failed=1; cleanup' EXIT

# --- Engine -----------------------------------------------------------------------------
step "Docker engine"
if ! docker info >/dev/null 2>&1 && { ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; }; then
  echo "Installing Debian's docker.io…"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "Starting dockerd --storage-driver=vfs (log: /var/tmp/image-check-dockerd.log)…"
  $sudo_cmd dockerd --storage-driver=vfs >/var/tmp/image-check-dockerd.log 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start; see /var/tmp/image-check-dockerd.log"
fi
# BuildKit is needed (the pip CA bundle is a build secret). Docker ≥ 23 builds with the buildx
# plugin; Debian's docker.io 20.10 client has BuildKit built in behind DOCKER_BUILDKIT=1.
build_cli=(docker build)
if ! docker buildx version >/dev/null 2>&1; then
  if [ -x /usr/bin/docker ] && [ "$(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)" -lt 23 ] 2>/dev/null; then
    build_cli=(env DOCKER_BUILDKIT=1 /usr/bin/docker build)
  else
    export DOCKER_BUILDKIT=1
  fi
fi
echo "Engine $(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}'); building with: ${build_cli[*]}"
done_step "engine"

# --- Base image ---------------------------------------------------------------------------
step "Base image $BASE_IMAGE"
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "Present."
elif timeout 120 docker pull -q "$BASE_IMAGE"; then
  echo "Pulled."
else
  echo "No registry answered: making $BASE_IMAGE locally."
  if ! command -v debootstrap >/dev/null; then
    echo "Installing Debian's debootstrap…"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq debootstrap >/dev/null
  fi
  $sudo_cmd scripts/local-base-image.sh "$BASE_IMAGE"
fi
done_step "base image"

# --- Services -----------------------------------------------------------------------------
step "PostgreSQL and Redis on the host"
if [ -z "${IMAGE_CHECK_PG:-}" ]; then scripts/services.sh; fi
done_step "services"

# --- Build --------------------------------------------------------------------------------
step "Build $IMAGE"
build_args=(--network host -t "$IMAGE")
pip_cert=${PIP_CERT:-}
if [ -n "$pip_cert" ] && [ -s "$pip_cert" ]; then
  build_args+=(--secret "id=pip_cert,src=$pip_cert")
  echo "pip inside the build trusts $pip_cert (a build secret, not stored in the image)."
fi
made_image=yes
"${build_cli[@]}" "${build_args[@]}" . 2>&1 | grep --line-buffered -E '^(#[0-9]+ \[|#[0-9]+ DONE|#[0-9]+ ERROR|ERROR|Step )' || true
docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "the build did not produce $IMAGE"
image_size=$(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')
echo "Image size: $image_size"
done_step "build"

app_env=(
  -e DEBUG=false -e SECRET_KEY=image-check-only-secret-key-"$$"-not-for-production
  -e ALLOWED_HOSTS=127.0.0.1,localhost
  -e DATABASE_URL="$PG/$DB_NAME" -e REDIS_URL="$REDIS_URL_CHECK"
  -e CELERY_BROKER_URL="$REDIS_URL_CHECK" -e CELERY_RESULT_BACKEND="$REDIS_URL_CHECK"
  -e PORT="$WEB_PORT"
)
# --- Contents and release step ---------------------------------------------------------
# One container for both: on a vfs engine each new container copies the whole image.
step "Image contents, then the release step (manage.py release) twice"
docker run --name "$NAME-checks" --network host "${app_env[@]}" -e DB_NAME="$DB_NAME" "$IMAGE" sh -c '
  set -e
  [ "$(id -un)" = app ] || { echo "runs as $(id -un), not app"; exit 1; }
  for path in /app/.env /app/.git /app/.venv /app/var /app/tests /app/requirements-dev.txt; do
    [ ! -e "$path" ] || { echo "$path is in the image"; exit 1; }
  done
  [ ! -w /app ] && [ ! -w /app/manage.py ] && [ ! -w /opt/venv/bin ] || { echo "code writable by app"; exit 1; }
  [ -w "$VAR_DIR" ] && [ -w "$HOME" ] || { echo "VAR_DIR or HOME not writable"; exit 1; }
  echo "Runs as app; /app and /opt/venv read-only for it; $VAR_DIR and $HOME writable; no .env, .git, .venv, var/, tests."
  python -c "import os, psycopg; psycopg.connect(os.environ[\"DATABASE_URL\"].rsplit(\"/\", 1)[0] + \"/postgres\", autocommit=True).execute(\"CREATE DATABASE \" + os.environ[\"DB_NAME\"])"
  python manage.py release -v0 | tail -n 3
  second=$(python manage.py release -v0)
  echo "$second" | grep -q "Schedules: 0 created, 0 reset, [0-9]* kept" || { echo "a second release changed schedules: $second"; exit 1; }
  echo "Second run: nothing to do (idempotent)."
' || fail "image contents or release step"
done_step "contents + release x2"

# --- Web ----------------------------------------------------------------------------------
step "Web (the image's default command) on PORT=$WEB_PORT"
docker run -d --name "$NAME-web" --network host "${app_env[@]}" "$IMAGE" >/dev/null
base=http://127.0.0.1:$WEB_PORT
for _ in $(seq 1 90); do curl -fsS -o /dev/null "$base/livez" 2>/dev/null && break; sleep 1; done
curl -fsS "$base/livez" >/dev/null || fail "web did not answer /livez on port $WEB_PORT"
curl -fsS -H "Host: 10.1.2.3:$WEB_PORT" "$base/readyz" | grep -q '"ready": true' \
  || fail "/readyz from a platform probe (unknown Host) is not 200 ready"
health=$(curl -sS -w '\n%{http_code}' "$base/healthz")
[ "$(tail -n1 <<<"$health")" = 200 ] || fail "/healthz: $health"
echo "/livez 200, /readyz 200 (Host 10.1.2.3), /healthz 200: $(head -n1 <<<"$health" | cut -c1-120)…"
# As behind a platform's TLS proxy (DEBUG off, so HTTPS redirect and secure cookies are on).
login=$(curl -fsS -H 'X-Forwarded-Proto: https' "$base/accounts/login/") || fail "login page"
assets=$(grep -oE '(href|src)="/static/[^"]+\.(css|js)"' <<<"$login" | cut -d'"' -f2 | sort -u)
grep -q '\.css$' <<<"$assets" && grep -q '\.js$' <<<"$assets" || fail "login page links no CSS or no JS: $assets"
for asset in $assets; do
  bytes=$(curl -fsS -H 'X-Forwarded-Proto: https' "$base$asset" | wc -c) || fail "$asset not served"
  [ "$bytes" -gt 0 ] || fail "$asset is empty"
  echo "  $asset  $bytes bytes"
done
docker exec "$NAME-web" python -m chartinsight.container_health || fail "HEALTHCHECK fails in web"
echo "Login page and its $(wc -w <<<"$assets") static files served; the image's HEALTHCHECK passes."
done_step "web ready + pages"

# --- Worker -------------------------------------------------------------------------------
step "Worker runs a task sent through the web container's broker"
docker run -d --name "$NAME-worker" --network host "${app_env[@]}" "$IMAGE" \
  celery -A chartinsight worker --loglevel INFO --concurrency 1 --hostname "worker@%h" >/dev/null
result=$(docker exec -e DJANGO_SETTINGS_MODULE=chartinsight.settings "$NAME-web" python -c "
import django; django.setup()
from chartinsight.celery import add
print(add.delay(2, 40).get(timeout=120))
" 2>&1) || fail "task round trip: $result"
[ "$(tail -n1 <<<"$result")" = 42 ] || fail "task result: $result"
echo "add(2, 40) sent by web, run by the worker: 42"
docker exec "$NAME-worker" python -m chartinsight.container_health || fail "HEALTHCHECK fails in worker"
echo "The worker's HEALTHCHECK (Celery ping to itself) passes."
done_step "worker task"

# --- Beat ---------------------------------------------------------------------------------
step "Beat starts with the database scheduler"
docker run -d --name "$NAME-beat" --network host "${app_env[@]}" "$IMAGE" \
  celery -A chartinsight beat --loglevel INFO >/dev/null
for _ in $(seq 1 60); do docker logs "$NAME-beat" 2>&1 | grep -q "beat: Starting" && break; sleep 1; done
docker logs "$NAME-beat" 2>&1 | grep -q "beat: Starting" || fail "beat did not start"
sleep 5
[ "$(docker inspect --format '{{.State.Running}}' "$NAME-beat")" = true ] || fail "beat exited"
docker logs "$NAME-beat" 2>&1 | grep -E "Scheduler|DatabaseScheduler" | head -n 2
echo "Beat is running."
done_step "beat"

image_check_failed=""
trap - EXIT
step "Clean up"
cleanup
done_step "clean up"
echo
echo "image-check passed. Image $image_size. Timings:"
printf '  %s\n' "${timings[@]}"
printf '  %-34s %4d s\n' "total" $((SECONDS - all_started))
