"""Per-user display preferences: the interface language and the candle colour convention.

The lowest app: it imports no other app of the project, and every app may read it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import colors


class Language(models.TextChoices):
    # Empty: follow the browser (Accept-Language), then the site default (Korean).
    BROWSER = "", _("Browser setting")
    KOREAN = "ko", "한국어"
    ENGLISH = "en", "English"


class CandleColors(models.TextChoices):
    # The Korean convention (KRX, HTS/MTS): rising red, falling blue.
    KOREAN = colors.KOREAN, _("Korean: up red, down blue")
    # The convention of most Western charting software: rising green, falling red.
    INTERNATIONAL = colors.INTERNATIONAL, _("International: up green, down red")


class UserPreferences(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="preferences",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default="", blank=True
    )
    candle_colors = models.CharField(
        _("candle colours"), max_length=8, choices=CandleColors.choices, default=CandleColors.KOREAN
    )

    class Meta:
        verbose_name = _("user preferences")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return str(self.user)
