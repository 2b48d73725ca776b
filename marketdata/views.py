import logging

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors

logger = logging.getLogger(__name__)


@require_GET
@never_cache
@login_not_required
def healthz(request):
    """Database and broker reachability (and last collections); 200 when healthy, 503 when not.

    Anyone may ask (load balancers, compose healthchecks), so the public answer names only the
    kind of failure; error texts and the broker URL, which can reveal internal hosts and user
    names, are shown to staff and written to the log."""
    report = selectors.health_report()
    for part in ("database", "broker"):
        if report[part]["error"]:
            logger.warning("healthz: %s unreachable: %s", part, report[part]["error"])
    if not request.user.is_staff:
        for part in ("database", "broker"):
            error = report[part]["error"]
            if error:
                report[part]["error"] = error.split(":", 1)[0] + " (details for staff)"
        report["broker"].pop("url", None)
    return JsonResponse(report, status=200 if report["healthy"] else 503)


# The platform's probes. chartinsight.probes.ProbeMiddleware answers them first, whatever
# the request's Host header (a platform probes with a pod IP or its own host name), so they are
# not in urls.py. Neither needs a login or names internal hosts.


@never_cache
def livez(request):
    """Liveness: 200 while this process serves requests. Touches neither database nor broker,
    so a database or Redis blip never gets a healthy web process restarted."""
    return JsonResponse({"alive": True})


@never_cache
def readyz(request):
    """Readiness: 200 when pages can be served (the database answers), 503 otherwise. The
    broker is left out on purpose: pages work while Redis blips; /healthz reports it."""
    database = selectors.database_status()
    if database["error"]:
        logger.warning("readyz: database unreachable: %s", database["error"])
        database["error"] = database["error"].split(":", 1)[0]
    return JsonResponse(
        {"ready": database["ok"], "database": database}, status=200 if database["ok"] else 503
    )
