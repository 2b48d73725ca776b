"""Writes of the display preferences."""

from django.db import transaction

from .models import UserPreferences
from .selectors import DisplayPreferences


@transaction.atomic
def preferences_update(*, user, language: str, candle_colors: str) -> DisplayPreferences:
    """Stores the user's interface language ("" = follow the browser) and candle colours."""
    UserPreferences.objects.update_or_create(
        user=user, defaults={"language": language, "candle_colors": candle_colors}
    )
    return DisplayPreferences(language=language, candle_colors=candle_colors)
