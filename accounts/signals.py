"""Copies the user's display preferences into the session at login."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .selectors import SESSION_KEY, preferences_get


@receiver(user_logged_in, dispatch_uid="accounts.preferences_to_session")
def preferences_to_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = preferences_get(user=user).as_session()
