from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from analysis.radar_extensions import RadarExtension, SymbolSet, register


class AlertsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "alerts"

    def ready(self) -> None:
        """Listens for finished analyses (the evaluation) and plugs into the Radar: the watchlist
        star beside the symbol, the "alert me on its neckline break" cell of each stored
        pattern row, and the Scanner's watchlist filter."""
        # analysis knows nothing of this app: it sends `series_analysed`, alerts listens.
        from analysis.signals import series_analysed

        # The selectors import models, which the app registry allows only once it is ready.
        from .selectors import neckline_alerts, radar_star, watchlist_choices, watchlist_stock_ids
        from .tasks import series_analysed_receiver

        series_analysed.connect(series_analysed_receiver, dispatch_uid="alerts.evaluate_series")
        register(
            RadarExtension(
                name="alerts",
                decisions=neckline_alerts,
                decision_template="alerts/partials/_radar_pattern_alert.html",
                decision_column=_("Alert"),
                symbol_template="alerts/partials/_radar_star.html",
                symbol_context=radar_star,
                symbol_sets=(
                    SymbolSet(
                        param="watchlist",
                        label=_("Watchlist"),
                        choices=watchlist_choices,
                        stock_ids=watchlist_stock_ids,
                    ),
                ),
                stylesheets=("css/alerts.css",),
            )
        )
