"""Answers the platform's liveness and readiness probes before any other middleware.

A platform probes a container by its IP or by a host name of its own (Kubernetes uses the pod
IP, Railway `healthcheck.railway.app`), which ALLOWED_HOSTS rightly refuses, and over plain HTTP,
which SECURE_SSL_REDIRECT would redirect. These two paths carry no user data, so they are
answered here, first; everything else, /healthz included, goes through the full stack.
"""

from marketdata import views

PROBES = {"/livez": views.livez, "/readyz": views.readyz}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
