"""Admin for watchlists, alert rules, notifications and deliveries.

Rules and watchlists are editable (staff fix a user's setup); notifications, deliveries and
the evaluation cursors are records of what happened, shown read-only. The webhook secret is
never displayed in the admin.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    AlertRule,
    Delivery,
    DeliveryAttempt,
    EvaluatedSeries,
    Notification,
    NotificationSettings,
    PendingSeries,
    Watchlist,
    WatchlistItem,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WatchlistItemInline(admin.TabularInline):
    model = WatchlistItem
    fields = ["stock", "position", "added_at"]
    readonly_fields = ["added_at"]
    raw_id_fields = ["stock"]
    extra = 0


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_default", "position", "item_count", "created_at"]
    list_filter = ["is_default"]
    search_fields = ["name", "owner__username", "items__stock__code"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    inlines = [WatchlistItemInline]

    @admin.display(description=_("symbols"))
    def item_count(self, obj) -> int:
        return obj.items.count()


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "kind", "summary", "is_active", "once", "created_at"]
    list_filter = ["kind", "is_active", "once"]
    search_fields = ["name", "owner__username", "stock__code", "watchlist__name"]
    list_select_related = ["owner", "stock", "watchlist"]
    raw_id_fields = ["owner", "stock", "watchlist"]
    readonly_fields = ["summary", "created_at", "updated_at"]

    @admin.display(description=_("rule"))
    def summary(self, obj) -> str:
        return obj.describe() if obj.pk else ""


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "ok", "status_code", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["channel", "status", "attempts", "last_error", "next_attempt_at", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "title", "kind", "timeframe", "bar_ts", "created_at", "read_at"]
    list_filter = ["kind", "timeframe", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "owner__username", "stock__code", "event_key"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "notification", "channel", "status", "attempts", "created_at"]
    list_filter = ["channel", "status"]
    search_fields = ["notification__title", "notification__owner__username", "last_error"]
    list_select_related = ["notification"]
    inlines = [DeliveryAttemptInline]


class NotificationSettingsForm(forms.ModelForm):
    webhook_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = NotificationSettings
        fields = ["user", "email_enabled", "email", "webhook_enabled", "webhook_url"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    form = NotificationSettingsForm
    list_display = ["user", "email_enabled", "email", "webhook_enabled", "webhook_url"]
    list_filter = ["email_enabled", "webhook_enabled"]
    search_fields = ["user__username", "email", "webhook_url"]
    raw_id_fields = ["user"]


@admin.register(EvaluatedSeries)
class EvaluatedSeriesAdmin(ReadOnlyAdmin):
    list_display = ["stock", "timeframe", "last_bar_ts", "evaluated_at"]
    list_filter = ["timeframe"]
    search_fields = ["stock__code"]
    list_select_related = ["stock"]


@admin.register(PendingSeries)
class PendingSeriesAdmin(ReadOnlyAdmin):
    list_display = ["stock", "timeframe", "queued_at"]
    list_filter = ["timeframe"]
    search_fields = ["stock__code"]
    list_select_related = ["stock"]
