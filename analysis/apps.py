from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

UNKNOWN_DEFAULT_DETECTOR = (
    "ANALYSIS_DEFAULT_DETECTOR={name!r} is not a detector; expected one of: {names}"
)


def check_default_detector(name: str) -> None:
    """Raises ImproperlyConfigured(UNKNOWN_DEFAULT_DETECTOR) unless `name` is in
    `analysis.engine.DETECTORS`."""
    from .engine import DETECTORS

    if name not in DETECTORS:
        raise ImproperlyConfigured(
            UNKNOWN_DEFAULT_DETECTOR.format(name=name, names=", ".join(DETECTORS))
        )


class AnalysisConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analysis"

    def ready(self):
        # Every process (web, worker, beat, commands) refuses to start on a misspelt default.
        check_default_detector(settings.ANALYSIS_DEFAULT_DETECTOR)
