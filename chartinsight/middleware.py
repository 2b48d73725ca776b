"""Outages answer in the API's language: while the database cannot be reached, JSON endpoints
answer 503 JSON and pages a plain 503 page (`templates/503.html`), instead of a 500.

A request with a session cookie needs the database before any view runs: the login check loads
the session and the user. Django turns an exception into a 500 response at every middleware
layer, so a try/except around `get_response` would never see it; the failure is caught where it
surfaces instead — in `process_view`, which loads the user before `LoginRequiredMiddleware` does
(the middleware sits just before it), and in `process_exception` for the views themselves
(template rendering included).
"""

import logging
import re

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_noop

logger = logging.getLogger(__name__)

# English in the JSON answers (the API's language); the page shows it in the request's language.
DATABASE_UNAVAILABLE = gettext_noop(
    "The database is not answering right now. Please try again in a minute."
)
RETRY_AFTER_SECONDS = 30
# Paths whose clients read JSON: health probes, the API and the Radar's figure endpoint.
JSON_PATH_PREFIXES = ("/healthz", "/api/", "/radar/figure")
# Connection refused, reset or closed; not a programming error (those stay 500s).
DATABASE_DOWN = (OperationalError, InterfaceError)
# SQLite (`make run`) raises OperationalError for a bad statement too: that is a bug (a 500),
# not an outage.
_STATEMENT_ERROR = re.compile(r"syntax error|no such (table|column|function)")


def database_down(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached (or is locked), not that a
    statement was wrong."""
    return isinstance(exc, DATABASE_DOWN) and not _STATEMENT_ERROR.search(str(exc))


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with a Retry-After header: `{"error": …}` JSON (plus `"healthy": false` for
    /healthz) on JSON paths, the plain 503 page elsewhere."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        body = {"error": DATABASE_UNAVAILABLE}
        if request.path.startswith("/healthz"):
            body = {"healthy": False, **body}
        response = JsonResponse(body, status=503)
    else:
        # Rendered without the request: the context processors would need the user, that is,
        # the database.
        content = render_to_string("503.html", {"message": gettext(DATABASE_UNAVAILABLE)})
        response = HttpResponse(content, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # LoginRequiredMiddleware asks for the user on every view, public ones included, so
        # asking first costs no query.
        try:
            request.user.is_authenticated  # noqa: B018 -- loads the session and the user
        except DATABASE_DOWN as exc:
            if not database_down(exc):
                raise
            return self._unavailable(request, exc)
        return None

    def process_exception(self, request, exception):
        if database_down(exception):
            return self._unavailable(request, exception)
        return None

    @staticmethod
    def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.error("database unavailable for %s %s: %s", request.method, request.path, exc)
        return database_unavailable_response(request)
