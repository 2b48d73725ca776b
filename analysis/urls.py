from django.urls import path

from . import views

app_name = "analysis"
urlpatterns = [
    path("radar/", views.radar, name="radar"),
    path("radar/figure", views.radar_figure, name="radar_figure"),
    path("radar/symbols", views.symbol_search, name="symbol_search"),
    path("api/radar", views.api_radar, name="api_radar"),
    path("scanner/", views.scanner, name="scanner"),
    path("patterns/stats/", views.pattern_stats, name="pattern_stats"),
]
