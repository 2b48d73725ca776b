from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from analysis.radar_extensions import RadarExtension, register


class LabelingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labeling"

    def ready(self):
        """Plugs the labels into the Trading Radar: their overlays, the accept/reject cell of
        each stored pattern row, the label panel under the chart and its static files."""
        # The selectors import models, which the app registry allows only once it is ready.
        from .selectors.charts import label_overlays
        from .selectors.detections import detection_decisions

        register(
            RadarExtension(
                name="labeling",
                overlays=label_overlays,
                decisions=detection_decisions,
                decision_template="labeling/partials/_detection_actions.html",
                decision_column=_("Label"),
                panel_template="labeling/partials/_radar_panel.html",
                stylesheets=("css/labeling.css",),
                scripts=("js/labeling.js",),
            )
        )
