"""The interface language and candle colours of each request.

Language, first match wins: the user's saved preference (settings page), the language cookie
that `set_language` sets (the login page's switch), the browser's Accept-Language, and
settings.LANGUAGE_CODE (Korean). Django's LocaleMiddleware resolves the last three; this
middleware, after authentication, applies the first.
"""

from django.utils import translation

from chartinsight.middleware import DATABASE_DOWN, database_down

from .selectors import DisplayPreferences, session_preferences


class UserPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            prefs = session_preferences(request=request)
        except DATABASE_DOWN as exc:
            if not database_down(exc):
                raise
            # The database is down: the defaults here, and DatabaseUnavailableMiddleware (after
            # this one) answers 503 when the request gets to the login check.
            prefs = DisplayPreferences()
        request.candle_colors = prefs.candle_colors
        if prefs.language:
            translation.activate(prefs.language)
            request.LANGUAGE_CODE = prefs.language
        return self.get_response(request)
