"""Reads for market data and operations."""

from django.conf import settings
from django.db import connection
from kombu import Connection

BROKER_TIMEOUT_SECONDS = 2.0


def database_status() -> dict:
    """{"ok": bool, "error": str | None} after a `SELECT 1` on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "unreachable"; the reason is reported
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "error": None}


def broker_status() -> dict:
    """{"ok", "error", "url"} after connecting to the Celery broker (URL password masked)."""
    result = {"ok": True, "error": None, "url": settings.CELERY_BROKER_DISPLAY}
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu raises transport-specific errors; report the reason
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    return result


def health_report() -> dict:
    """The /healthz body: database, broker, and overall `healthy`."""
    database = database_status()
    broker = broker_status()
    return {
        "healthy": database["ok"] and broker["ok"],
        "database": database,
        "broker": broker,
    }
