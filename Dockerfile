# One image for every role: web (gunicorn on $PORT), worker, beat, Flower, the Kiwoom simulator
# and the release step (`python manage.py release`). `make image-check` builds it and proves
# each role runs. The build reads dependencies only from the hash-pinned requirements.lock.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000 \
    VAR_DIR=/var/lib/chartinsight

# gettext: compilemessages builds the translations (.mo) from the committed .po catalogs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

# The runtime user owns only its home and the state folder: the code and the virtualenv stay
# root's, so a compromised process cannot rewrite what the next start runs.
RUN groupadd --system app \
    && useradd --system --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/chartinsight && chown app:app /var/lib/chartinsight

WORKDIR /app
COPY requirements.lock ./
# Behind a TLS-inspecting proxy, pass its CA bundle as a build secret; it is mounted for this
# step only and never stored in a layer:
#   docker build --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=pip_cert \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && python -m venv /opt/venv \
    && pip install --require-hashes --no-deps -r requirements.lock

COPY . .
# collectstatic needs settings to load; this build-time key is never used at run time.
RUN DEBUG=false SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && DEBUG=false SECRET_KEY=collectstatic-only python manage.py compilemessages -v0 \
    && python -m compileall -q -j 0 /app/chartinsight /app/accounts /app/marketdata /app/analysis /app/labeling

USER app
EXPOSE 8000
# Liveness of whatever role this container runs (web: /livez on $PORT; worker: a Celery ping).
HEALTHCHECK --interval=30s --timeout=15s --start-period=40s --retries=3 \
    CMD ["python", "-m", "chartinsight.container_health"]
CMD ["gunicorn", "chartinsight.wsgi", "--config", "python:chartinsight.gunicorn"]
