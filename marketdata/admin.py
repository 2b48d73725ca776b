from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Candle, IngestionRun, IngestionRunSeries, Stock, SyncState


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "market",
        "industry",
        "last_price",
        "is_active",
        "is_analysis_target",
    ]
    list_filter = ["market", "is_active", "is_analysis_target", "nxt_enabled"]
    search_fields = ["code", "name"]


@admin.register(Candle)
class CandleAdmin(admin.ModelAdmin):
    list_display = [
        "stock",
        "timeframe",
        "ts",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "is_final",
    ]
    list_filter = ["timeframe", "is_final"]
    search_fields = ["stock__code", "stock__name"]
    list_select_related = ["stock"]
    raw_id_fields = ["stock"]
    date_hierarchy = "ts"
    show_full_result_count = False


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = [
        "stock",
        "timeframe",
        "first_bar_ts",
        "last_bar_ts",
        "rows",
        "backfill_from",
        "last_success_at",
        "last_error_at",
        "short_error",
    ]
    list_filter = ["timeframe"]
    search_fields = ["stock__code", "stock__name"]
    list_select_related = ["stock"]
    raw_id_fields = ["stock"]
    # Written by the ingestion services only; the admin shows where each series stands.
    readonly_fields = [f.name for f in SyncState._meta.fields]

    @admin.display(description=_("Last error"))
    def short_error(self, obj: SyncState) -> str:
        return obj.last_error[:120]


class IngestionRunSeriesInline(admin.TabularInline):
    """The outcome of every series of the run (written by the ingestion services only)."""

    model = IngestionRunSeries
    fields = ["code", "timeframe", "succeeded", "error", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IngestionRun)
class IngestionRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "kind",
        "timeframe",
        "trigger",
        "status",
        "series_done",
        "series_failed",
        "requests",
        "rows_upserted",
        "finished_at",
    ]
    list_filter = ["kind", "timeframe", "status", "trigger"]
    readonly_fields = [f.name for f in IngestionRun._meta.fields]
    inlines = [IngestionRunSeriesInline]


@admin.register(IngestionRunSeries)
class IngestionRunSeriesAdmin(admin.ModelAdmin):
    """Per-series outcomes across runs: which series fail, and why (read-only)."""

    list_display = ["finished_at", "run", "code", "timeframe", "succeeded", "short_error"]
    list_filter = ["succeeded", "timeframe", "run__kind"]
    search_fields = ["code", "error"]
    list_select_related = ["run"]
    raw_id_fields = ["run"]
    readonly_fields = [f.name for f in IngestionRunSeries._meta.fields]

    @admin.display(description=_("Error"))
    def short_error(self, obj: IngestionRunSeries) -> str:
        return obj.error[:120]

    def has_add_permission(self, request) -> bool:
        return False
