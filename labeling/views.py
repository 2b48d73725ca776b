"""Pattern label pages: create/edit/delete/restore, list and exports, accept/reject detections."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import services
from .forms import DetectionDecisionForm
from .models import Label

LABELS_CHANGED_EVENT = "radar:labels-changed"


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _first_error(errors) -> str:
    for messages in errors.values():
        return f"{messages[0]}"
    return ""


@require_GET
def label_list(request):
    return render(request, "not_built.html", {"page_title": "Labels", "nav": "labels"})


@require_GET
def label_detail(request, pk: int):
    label = get_object_or_404(
        Label.objects.visible_to(request.user).select_related("stock", "owner"), pk=pk
    )
    return render(
        request,
        "labeling/label_detail.html",
        {"label": label, "nav": "labels", "page_title": f"Label #{label.pk}"},
    )


@require_POST
def detection_decide(request):
    """Accept/reject a detected pattern: an HTMX POST gets the actions fragment back."""
    form = DetectionDecisionForm(request.POST)
    data = request.POST
    pattern = {
        "id": data.get("detection"),
        "type": data.get("pattern_type"),
        "symbol": data.get("symbol"),
        "timeframe": data.get("timeframe"),
        "start_ts": data.get("start"),
        "end_ts": data.get("end"),
    }
    error = ""
    label = None
    if form.is_valid():
        try:
            label = services.detection_decide(
                user=request.user,
                decision=form.cleaned_data["decision"],
                detection_id=form.cleaned_data["detection"],
                stock=form.cleaned_data["symbol"],
                timeframe=form.cleaned_data["timeframe"],
                pattern_type=form.cleaned_data["pattern_type"],
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
            )
        except ValidationError as exc:
            error = (
                _first_error(exc.message_dict) if hasattr(exc, "error_dict") else exc.messages[0]
            )
    else:
        error = _first_error(form.errors)
    status = 400 if error else 200
    if request.htmx:
        response = render(
            request,
            "labeling/partials/_detection_actions.html",
            {"pattern": pattern, "error": error},
            status=status,
        )
        if not error:
            response["HX-Trigger"] = LABELS_CHANGED_EVENT
        return response
    if error:
        return render(
            request,
            "labeling/detection_error.html",
            {"error": error, "back": _safe_next(request, "/"), "nav": "radar"},
            status=400,
        )
    return redirect(_safe_next(request, label.get_absolute_url()))


@require_POST
def detection_undo(request, pk: int):
    """Undo an accept/reject: soft-deletes the label (restorable from the label pages)."""
    label = get_object_or_404(
        Label.objects.owned_by(request.user).alive().select_related("stock"),
        pk=pk,
        detection_ref__isnull=False,
    )
    services.label_delete(label=label, actor=request.user)
    ref = label.detection_ref
    if request.htmx:
        pattern = {
            "id": ref["id"],
            "type": ref["pattern_type"],
            "symbol": label.stock.code,
            "timeframe": label.timeframe,
            "start_ts": ref["start_ts"],
            "end_ts": ref["end_ts"],
        }
        response = render(
            request, "labeling/partials/_detection_actions.html", {"pattern": pattern}
        )
        response["HX-Trigger"] = LABELS_CHANGED_EVENT
        return response
    return redirect(_safe_next(request, label.get_absolute_url()))
