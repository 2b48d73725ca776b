"""Admin for labels and their revisions: browse and filter, read-only.

Labels change only through `labeling.services`, which writes a revision with every change; an
admin form would bypass that, so the admin shows labels and history without editing them.
"""

from django.contrib import admin

from analysis.admin import ReadOnlyAdmin

from .models import Label, LabelRevision, ReviewedRange


class LabelRevisionInline(admin.TabularInline):
    model = LabelRevision
    fields = ["number", "action", "actor", "changed_fields", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["number"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "owner",
        "stock",
        "timeframe",
        "pattern_type",
        "start_ts",
        "end_ts",
        "direction",
        "outcome",
        "source",
        "detector",
        "deleted_at",
        "updated_at",
    ]
    list_filter = [
        "pattern_type",
        "timeframe",
        "outcome",
        "source",
        "detector",
        "direction",
        ("deleted_at", admin.EmptyFieldListFilter),
        "owner",
    ]
    search_fields = ["stock__code", "stock__name", "owner__username", "notes"]
    list_select_related = ["stock", "owner"]
    date_hierarchy = "start_ts"
    inlines = [LabelRevisionInline]


@admin.register(LabelRevision)
class LabelRevisionAdmin(ReadOnlyAdmin):
    list_display = ["label", "number", "action", "actor", "created_at"]
    list_filter = ["action", "created_at"]
    search_fields = ["label__id", "label__stock__code", "actor__username"]
    list_select_related = ["label", "actor"]
    raw_id_fields = ["label", "actor"]


@admin.register(ReviewedRange)
class ReviewedRangeAdmin(ReadOnlyAdmin):
    """Ranges users marked as reviewed (the detector review counts precision inside them)."""

    list_display = ["owner", "stock", "timeframe", "start_ts", "end_ts", "created_at"]
    list_filter = ["timeframe", "created_at"]
    search_fields = ["owner__username", "stock__code", "stock__name"]
    list_select_related = ["owner", "stock"]
    raw_id_fields = ["owner", "stock"]
