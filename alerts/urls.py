from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("watchlists/", views.watchlists, name="watchlists"),
    path("watchlists/new", views.watchlist_create, name="watchlist_create"),
    path("watchlists/star", views.watchlist_star, name="watchlist_star"),
    path("watchlists/<int:pk>/rename", views.watchlist_rename, name="watchlist_rename"),
    path("watchlists/<int:pk>/delete", views.watchlist_delete, name="watchlist_delete"),
    path("watchlists/<int:pk>/move", views.watchlist_move, name="watchlist_move"),
    path("watchlists/<int:pk>/add", views.watchlist_item_add, name="watchlist_item_add"),
    path("watchlists/<int:pk>/remove", views.watchlist_item_remove, name="watchlist_item_remove"),
    path("alerts/", views.rules, name="rules"),
    path("alerts/neckline", views.neckline_alert, name="neckline_alert"),
    path("alerts/settings/", views.alert_settings, name="settings"),
    path("alerts/settings/secret", views.webhook_secret_rotate, name="webhook_secret_rotate"),
    path("alerts/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("alerts/<int:pk>/toggle", views.rule_toggle, name="rule_toggle"),
    path("alerts/<int:pk>/delete", views.rule_delete, name="rule_delete"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read-all", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("notifications/<int:pk>/read", views.notification_read, name="notification_read"),
]
