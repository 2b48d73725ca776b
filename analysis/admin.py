"""Read-only admin views of stored analyses (they are rewritten by `analyze` and the tasks)."""

from django.contrib import admin

from .models import AnalysisRun, PatternCalibration, PatternInstance, SwingPoint, TrendPeriod


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and filter only: rows come from the engine, never from hand edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyAdmin):
    list_display = [
        "stock",
        "timeframe",
        "detector",
        "is_default",
        "bars",
        "last_bar_ts",
        "last_close",
        "trend_state",
        "trend_since_ts",
        "analysed_at",
        "duration_ms",
    ]
    list_filter = ["timeframe", "detector", "is_default", "trend_state", "engine_version"]
    search_fields = ["stock__code", "stock__name"]
    list_select_related = ["stock"]
    date_hierarchy = "analysed_at"
    exclude = ["result"]


@admin.register(PatternInstance)
class PatternInstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "stock",
        "timeframe",
        "detector",
        "pattern_type",
        "status",
        "start_ts",
        "end_ts",
        "detected_ts",
        "neckline_price",
        "target",
        "score",
        "outcome",
        "bars_to_target",
    ]
    list_filter = [
        "timeframe",
        "detector",
        "pattern_type",
        "status",
        "outcome",
        "stock__market",
        "run__is_default",
    ]
    search_fields = ["stock__code", "stock__name"]
    list_select_related = ["stock"]
    date_hierarchy = "end_ts"
    show_full_result_count = False


@admin.register(SwingPoint)
class SwingPointAdmin(ReadOnlyAdmin):
    list_display = [
        "stock",
        "timeframe",
        "kind",
        "level",
        "ts",
        "price",
        "confirmed_ts",
        "strength",
    ]
    list_filter = ["timeframe", "detector", "kind", "level", "run__is_default"]
    search_fields = ["stock__code", "stock__name"]
    list_select_related = ["stock"]
    date_hierarchy = "ts"
    show_full_result_count = False


@admin.register(TrendPeriod)
class TrendPeriodAdmin(ReadOnlyAdmin):
    list_display = ["stock", "timeframe", "direction", "start_ts", "end_ts", "ongoing"]
    list_filter = ["timeframe", "detector", "direction", "ongoing", "run__is_default"]
    search_fields = ["stock__code", "stock__name"]
    list_select_related = ["stock"]
    date_hierarchy = "start_ts"


@admin.register(PatternCalibration)
class PatternCalibrationAdmin(ReadOnlyAdmin):
    list_display = ["version", "fitted_at", "engine_version", "samples"]
