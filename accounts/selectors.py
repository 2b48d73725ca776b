"""Reads of the display preferences, and the copy of them a session carries."""

from dataclasses import dataclass

from . import colors
from .models import UserPreferences

# The session keeps the preferences so that no page pays a query for them: they are copied in at
# login (`signals.py`) and when the user saves them (`views.preferences`).
SESSION_KEY = "display_preferences"


@dataclass(frozen=True)
class DisplayPreferences:
    language: str = ""  # "" = the browser's Accept-Language, then settings.LANGUAGE_CODE
    candle_colors: str = colors.DEFAULT

    def as_session(self) -> dict[str, str]:
        return {"language": self.language, "candle_colors": self.candle_colors}


def preferences_get(*, user) -> DisplayPreferences:
    """The user's stored preferences, or the defaults when they never saved any."""
    row = UserPreferences.objects.filter(user=user).values("language", "candle_colors").first()
    return DisplayPreferences(**row) if row else DisplayPreferences()


def session_preferences(*, request) -> DisplayPreferences:
    """The preferences of the request's user: from the session (loaded once per session when a
    session from before this feature lacks them); the defaults for anonymous visitors."""
    if not request.user.is_authenticated:
        return DisplayPreferences()
    stored = request.session.get(SESSION_KEY)
    if stored is None:
        prefs = preferences_get(user=request.user)
        request.session[SESSION_KEY] = prefs.as_session()
        return prefs
    return DisplayPreferences(
        language=stored.get("language", ""),
        candle_colors=stored.get("candle_colors", colors.DEFAULT),
    )
