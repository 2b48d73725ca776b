"""Login throttling glue for django-axes: the client address it counts failures by, and the
page a locked-out login gets."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOGIN_LOCKED_OUT = (
    "Too many failed logins for this user from your address. "
    "Try again in {minutes} minutes, or ask an administrator to unlock the account."
)


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client: REMOTE_ADDR, or with `TRUSTED_PROXY_COUNT` = n reverse proxies
    in front, the n-th address from the right of X-Forwarded-For (each proxy appends the
    address it received the request from; anything further left was written by the client
    and can be forged)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """429 with the login page's look and a message that says how long the lockout lasts."""
    message = LOGIN_LOCKED_OUT.format(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)
