from django.contrib import admin

from .models import UserPreferences


@admin.register(UserPreferences)
class UserPreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "language", "candle_colors")
    list_filter = ("language", "candle_colors")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
