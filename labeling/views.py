"""Pattern label pages: create/edit/delete/restore, list and exports, accept/reject detections."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import export, services
from .forms import (
    DetectionDecisionForm,
    ExportOptionsForm,
    LabelFilterForm,
    LabelForm,
    QueueDecisionForm,
    QueueFilterForm,
    ReviewedRangeForm,
    ReviewFilterForm,
    instant_text,
    label_form_initial,
)
from .models import Label, Outcome, ReviewedRange
from .selectors.charts import label_figure
from .selectors.detections import current_detection
from .selectors.detector_review import review_report
from .selectors.labels import (
    LABEL_DEFAULT_SORT,
    label_revisions,
    labels_filtered,
    radar_url,
    reviewed_text,
)
from .selectors.queue import queue_page
from .selectors.ranges import kst_text

LABELS_CHANGED_EVENT = "radar:labels-changed"
DELETED_NOT_EDITABLE = gettext_lazy("A deleted label cannot be edited; restore it first.")
PAGE_SIZE = 50


class HttpResponsePermanentRedirectKeepMethod(HttpResponsePermanentRedirect):
    """308: like 301, but the browser repeats a POST as a POST (with its body)."""

    status_code = 308


def moved(request, to: str, **kwargs):
    """The old URL of a labeling page or action without the trailing slash: a permanent
    redirect to `labeling:<to>` with the query string kept (301 for GET/HEAD, 308 otherwise,
    so a form posted to the old URL is posted again to the new one)."""
    target = reverse(f"labeling:{to}", kwargs=kwargs)
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    if request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(target)
    return HttpResponsePermanentRedirectKeepMethod(target)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _first_error(errors) -> str:
    for field_errors in errors.values():
        return f"{field_errors[0]}"
    return ""


def _filter_form(request) -> LabelFilterForm:
    return LabelFilterForm(request.GET or None)


def _filtered_labels(request, form: LabelFilterForm):
    filters = form.cleaned_data if form.is_bound else {}
    return labels_filtered(user=request.user, **filters)


@require_GET
def label_list(request):
    """The user's labels (staff: everyone's, read-only) with filters, sorted by a column (either
    direction), 50 a page; filters, sort and page live in the URL. An HTMX request from the
    filters, headers or pages gets the results fragment only."""
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "labeling/label_list.html",
            {"form": form, "page_obj": None, "nav": "labels", "page_title": _("Labels")},
            status=400,
        )
    page_obj = Paginator(_filtered_labels(request, form), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page_obj": page_obj,
        "sort": (form.cleaned_data["sort"] if form.is_bound else "") or LABEL_DEFAULT_SORT,
        "query": query.urlencode(),
        "label_studio_config": export.label_studio_config(),
        "nav": "labels",
        "page_title": _("Labels"),
    }
    template = "labeling/label_list.html"
    if request.htmx and request.htmx.target == "label-results":
        template += "#results"
    return render(request, template, context)


def _form_initial_from_query(request) -> dict:
    initial = {"outcome": Outcome.UNKNOWN}
    for field in ("symbol", "timeframe", "start", "end", "pattern_type"):
        if request.GET.get(field):
            initial[field] = request.GET[field]
    if request.GET.get("tf") and "timeframe" not in initial:
        initial["timeframe"] = request.GET["tf"]
    # The Radar sends the bars' ISO instants; a daily bar shows as its date, an intraday one as
    # its KST date and time.
    for field in ("start", "end"):
        if field in initial:
            initial[field] = instant_text(initial[field], initial.get("timeframe"))
    return initial


def _render_form(request, form, *, status: int = 200):
    template = "labeling/label_form.html"
    if request.htmx:
        template += "#form"
    return render(
        request,
        template,
        {"form": form, "nav": "labels", "page_title": _("New label")},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def label_create(request):
    """GET: the form (pre-filled from symbol/timeframe/start/end); POST: save a label.

    A full-page POST redirects to the new label; an HTMX POST (the Radar's panel) gets the
    "saved" fragment and an `HX-Trigger: radar:labels-changed`. Invalid input: 400 + errors.
    """
    if request.method == "GET":
        return _render_form(request, LabelForm(initial=_form_initial_from_query(request)))
    form = LabelForm(request.POST)
    label = None
    if form.is_valid():
        try:
            label = services.label_create(owner=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
    if label is None:
        return _render_form(request, form, status=400)
    if request.htmx:
        response = render(
            request,
            "labeling/label_form.html#saved",
            {"label": label},
        )
        response["HX-Trigger"] = LABELS_CHANGED_EVENT
        return response
    messages.success(request, _("Saved label #{pk}.").format(pk=label.pk))
    return redirect(label)


def _owned_label(request, pk: int) -> Label:
    return get_object_or_404(Label.objects.owned_by(request.user).select_related("stock"), pk=pk)


@require_GET
def label_detail(request, pk: int):
    label = get_object_or_404(
        Label.objects.visible_to(request.user).select_related("stock", "owner"), pk=pk
    )
    return render(
        request,
        "labeling/label_detail.html",
        {
            "label": label,
            "is_owner": label.owner_id == request.user.pk,
            "figure": label_figure(label=label),
            "radar_url": radar_url(
                symbol=label.stock.code,
                timeframe=label.timeframe,
                start=label.start_ts,
                end=label.end_ts,
            ),
            "nav": "labels",
            "page_title": _("Label #{pk}").format(pk=label.pk),
        },
    )


@require_http_methods(["GET", "POST"])
def label_edit(request, pk: int):
    label = _owned_label(request, pk)
    if label.is_deleted:
        raise Http404(DELETED_NOT_EDITABLE)
    if request.method == "GET":
        form = LabelForm(initial=label_form_initial(label))
    else:
        form = LabelForm(request.POST)
        if form.is_valid():
            try:
                services.label_update(label=label, actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved label #{pk}.").format(pk=label.pk))
                return redirect(label)
    return render(
        request,
        "labeling/label_edit.html",
        {
            "form": form,
            "label": label,
            "nav": "labels",
            "page_title": _("Edit label #{pk}").format(pk=label.pk),
        },
        status=400 if form.is_bound else 200,
    )


def _row_or_redirect(request, label: Label, message: str):
    if request.htmx:
        label = Label.objects.select_related("stock", "owner").get(pk=label.pk)
        return render(request, "labeling/label_list.html#row", {"label": label})
    messages.success(request, message)
    return redirect(_safe_next(request, label.get_absolute_url()))


@require_POST
def label_delete(request, pk: int):
    label = get_object_or_404(Label.objects.owned_by(request.user).alive(), pk=pk)
    label = services.label_delete(label=label, actor=request.user)
    return _row_or_redirect(
        request, label, _("Deleted label #{pk}; restore it from its page.").format(pk=label.pk)
    )


@require_POST
def label_restore(request, pk: int):
    label = get_object_or_404(Label.objects.owned_by(request.user).deleted(), pk=pk)
    label = services.label_restore(label=label, actor=request.user)
    return _row_or_redirect(request, label, _("Restored label #{pk}.").format(pk=label.pk))


@require_GET
def label_history(request, pk: int):
    label = get_object_or_404(
        Label.objects.visible_to(request.user).select_related("stock", "owner"), pk=pk
    )
    return render(
        request,
        "labeling/label_history.html",
        {
            "label": label,
            "revisions": label_revisions(label=label),
            "nav": "labels",
            "page_title": _("History of label #{pk}").format(pk=label.pk),
        },
    )


def _export_labels(request):
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        return None, form
    return _filtered_labels(request, form), form


def _bad_export(form) -> HttpResponse:
    return HttpResponse(
        json.dumps(form.errors.get_json_data()),
        status=400,
        content_type="application/json",
    )


@require_GET
def label_export_csv(request):
    labels, form = _export_labels(request)
    if labels is None:
        return _bad_export(form)
    response = StreamingHttpResponse(
        export.csv_chunks(labels), content_type=export.CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = 'attachment; filename="labels.csv"'
    return response


@require_GET
def label_export_jsonl(request):
    """JSON Lines; `with_bars=1` adds each range's OHLCV bars, `context=N` N bars either side."""
    labels, form = _export_labels(request)
    options = ExportOptionsForm(request.GET)
    if labels is None or not options.is_valid():
        return _bad_export(form if labels is None else options)
    response = StreamingHttpResponse(
        export.jsonl_chunks(
            labels,
            with_bars=options.cleaned_data["with_bars"],
            context=options.cleaned_data["context"] or 0,
        ),
        content_type="application/x-ndjson",
    )
    response["Content-Disposition"] = 'attachment; filename="labels.jsonl"'
    return response


@require_GET
def label_export_label_studio(request):
    """Label Studio time-series tasks (JSON array); `context=N` bars either side."""
    labels, form = _export_labels(request)
    options = ExportOptionsForm(request.GET)
    if labels is None or not options.is_valid():
        return _bad_export(form if labels is None else options)
    tasks = export.label_studio_tasks(labels, context=options.cleaned_data["context"] or 0)
    response = JsonResponse(tasks, safe=False, json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="labels.label-studio.json"'
    return response


@require_GET
def label_export_label_studio_config(request):
    """The Label Studio labeling config the JSON export fits (XML), with the key point roles of
    the user's labels."""
    roles = {
        point.get("role", "")
        for points in Label.objects.owned_by(request.user).values_list("key_points", flat=True)
        for point in points or []
    }
    response = HttpResponse(
        export.label_studio_config(roles=roles - {""}), content_type="application/xml"
    )
    response["Content-Disposition"] = 'attachment; filename="label-studio-config.xml"'
    return response


@require_GET
def label_review(request):
    """The user's labels against the detector: precision/recall per type, misses, false alarms."""
    form = ReviewFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        report, status = None, 400
    else:
        filters = form.cleaned_data if form.is_bound else {}
        report, status = review_report(user=request.user, **filters), 200
    return render(
        request,
        "labeling/review.html",
        {
            "form": form,
            "report": report,
            "range_form": ReviewedRangeForm(),
            "nav": "labels",
            "page_title": _("Detector review"),
        },
        status=status,
    )


REVIEWED_RANGE_FRAGMENT = "labeling/partials/_reviewed_range.html"


@require_POST
def reviewed_range_mark(request):
    """Marks a range of one series as reviewed (every pattern in it labelled).

    A full-page POST redirects back (`next`, else the review page) with a message; an HTMX POST
    (the Radar's label panel) gets the result fragment. Invalid input: 400 with the errors.
    """
    form = ReviewedRangeForm(request.POST)
    reviewed = None
    if form.is_valid():
        try:
            reviewed = services.reviewed_range_mark(owner=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
    if reviewed is None:
        if request.htmx:
            return render(request, REVIEWED_RANGE_FRAGMENT, {"form": form}, status=400)
        return render(
            request,
            "labeling/reviewed_range_error.html",
            {
                "form": form,
                "back": _safe_next(request, reverse("labeling:review")),
                "nav": "labels",
            },
            status=400,
        )
    if request.htmx:
        response = render(request, REVIEWED_RANGE_FRAGMENT, {"reviewed": reviewed})
        response["HX-Trigger"] = LABELS_CHANGED_EVENT
        return response
    text = reviewed_text(reviewed)
    messages.success(request, _("Marked %(range)s as reviewed.") % {"range": text})
    return redirect(_safe_next(request, reverse("labeling:review")))


@require_POST
def reviewed_range_delete(request, pk: int):
    reviewed = get_object_or_404(ReviewedRange.objects.owned_by(request.user), pk=pk)
    text = reviewed_text(reviewed)
    services.reviewed_range_delete(reviewed_range=reviewed, actor=request.user)
    messages.success(request, _("%(range)s is no longer marked as reviewed.") % {"range": text})
    return redirect(_safe_next(request, reverse("labeling:review")))


DETECTION_ACTIONS = "labeling/partials/_detection_actions.html"
DETECTION_GONE_AFTER_UNDO = gettext_lazy("Undone; the detection is no longer stored.")


def _actions_response(request, *, pattern, decision=None, error: str = "", status: int = 200):
    """The accept/reject fragment of one detection (HTMX), announcing changed labels."""
    response = render(
        request,
        DETECTION_ACTIONS,
        {"pattern": pattern, "decision": decision, "error": error},
        status=status,
    )
    if not error:
        response["HX-Trigger"] = LABELS_CHANGED_EVENT
    return response


def _decision_error_page(request, error: str):
    return render(
        request,
        "labeling/detection_error.html",
        {"error": error, "back": _safe_next(request, "/"), "nav": "radar"},
        status=400,
    )


@require_POST
def detection_decide(request):
    """Accept/reject a stored detected pattern: an HTMX POST gets the actions fragment back."""
    form = DetectionDecisionForm(request.POST)
    if not form.is_valid():
        error = _first_error(form.errors)
        if request.htmx:
            pid = request.POST.get("detection", "")
            return render(
                request,
                f"{DETECTION_ACTIONS}#message",
                {"pid": pid if pid.isdigit() else "", "error": error},
                status=400,
            )
        return _decision_error_page(request, error)
    pattern = form.cleaned_data["detection"]
    try:
        label = services.detection_decide(
            user=request.user, decision=form.cleaned_data["decision"], pattern=pattern
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if request.htmx:
            return _actions_response(request, pattern=pattern, error=error, status=400)
        return _decision_error_page(request, error)
    if request.htmx:
        return _actions_response(request, pattern=pattern, decision=label)
    return redirect(_safe_next(request, label.get_absolute_url()))


@require_POST
def detection_undo(request, pk: int):
    """Undo an accept/reject: soft-deletes the label (restorable from the label pages)."""
    label = get_object_or_404(
        Label.objects.owned_by(request.user)
        .alive()
        .decisions()
        .select_related("stock", "detected_pattern"),
        pk=pk,
    )
    services.label_delete(label=label, actor=request.user)
    if request.htmx:
        pattern = label.detected_pattern or current_detection(label=label)
        if pattern is None:
            response = render(
                request, f"{DETECTION_ACTIONS}#message", {"message": DETECTION_GONE_AFTER_UNDO}
            )
            response["HX-Trigger"] = LABELS_CHANGED_EVENT
            return response
        return _actions_response(request, pattern=pattern, decision=None)
    return redirect(_safe_next(request, label.get_absolute_url()))


QUEUE = "labeling/queue.html"


def _queue_render(request, *, filters: dict, after=None, error: str = "", status: int = 200):
    """The queue page, or only its current item for an HTMX request."""
    context = {
        **queue_page(user=request.user, after=after, **filters),
        "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "error": error,
        "nav": "labels",
        "page_title": _("Review queue"),
    }
    if not request.htmx:
        context["form"] = QueueFilterForm(initial=filters)
    return render(request, QUEUE + ("#item" if request.htmx else ""), context, status=status)


@require_GET
def label_queue(request):
    """Your undecided stored detections, one at a time on a focused chart, with accept / reject /
    relabel (buttons and the hotkeys a, r, e; s skips) and the progress over the filter."""
    form = QueueFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            QUEUE,
            {"form": form, "filters": {}, "nav": "labels", "page_title": _("Review queue")},
            status=400,
        )
    after = form.cleaned_data.get("after") if form.is_bound else None
    return _queue_render(request, filters=form.filters(), after=after)


def _relabel_url(pattern) -> str:
    query = {
        "symbol": pattern.stock.code,
        "timeframe": pattern.timeframe,
        "pattern_type": pattern.pattern_type,
        "start": kst_text(pattern.start_ts, pattern.timeframe),
        "end": kst_text(pattern.end_ts, pattern.timeframe),
    }
    return f"{reverse('labeling:create')}?{urlencode(query)}"


@require_POST
def queue_decide(request):
    """Accept or reject the queue's detection and move on to the next undecided one (full page:
    a redirect; HTMX: the next item). Relabel rejects it and opens the label form filled with
    its series, type and range, for the label the detector should have found."""
    filters_form = QueueFilterForm(request.POST)
    filters = filters_form.filters() if filters_form.is_valid() else {}
    form = QueueDecisionForm(request.POST)
    if not form.is_valid():
        error = _first_error(form.errors)
        if request.htmx:
            return _queue_render(request, filters=filters, error=error, status=400)
        return _decision_error_page(request, error)
    pattern = form.cleaned_data["detection"]
    decision = form.cleaned_data["decision"]
    try:
        services.detection_decide(
            user=request.user,
            decision="reject" if decision == "relabel" else decision,
            pattern=pattern,
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
        if request.htmx:
            return _queue_render(request, filters=filters, error=error, status=400)
        return _decision_error_page(request, error)
    if decision == "relabel":
        target = _relabel_url(pattern)
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    if request.htmx:
        return _queue_render(request, filters=filters, after=pattern.pk)
    query = urlencode({**{k: v for k, v in filters.items() if v}, "after": pattern.pk})
    return redirect(f"{reverse('labeling:queue')}?{query}")
