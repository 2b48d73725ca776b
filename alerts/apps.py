from django.apps import AppConfig


class AlertsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "alerts"

    def ready(self) -> None:
        # analysis knows nothing of this app: it sends `series_analysed`, alerts listens.
        from analysis.signals import series_analysed

        from .tasks import series_analysed_receiver

        series_analysed.connect(series_analysed_receiver, dispatch_uid="alerts.evaluate_series")
