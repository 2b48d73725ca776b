from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors


@require_GET
@never_cache
@login_not_required
def healthz(request):
    """Database and broker reachability (and last collections); 200 when healthy, 503 when not."""
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["healthy"] else 503)
