"""The notification bell of every page: the signed-in user's unread count."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def unread_notifications(request) -> dict:
    """`unread_notifications`: the user's unread count, read (one COUNT on a partial index) only
    when a template shows it — full pages do, HTMX fragments and JSON views do not."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user=user))}
