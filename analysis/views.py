"""Trading Radar, its JSON endpoints, the Scanner and the pattern statistics."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from analysis import radar_extensions
from analysis.figures import LAYERS, OVERLAY_CHOICES, PANE_CHOICES
from analysis.forms import (
    LAYERS_SENTINEL,
    SCANNER_SORTS,
    ApiRadarForm,
    PatternStatsForm,
    RadarForm,
    ScannerForm,
    SymbolSearchForm,
    errors_text,
)
from analysis.models import Detector
from analysis.selectors import radar as radar_reads
from analysis.selectors import stats as stats_reads
from analysis.selectors import timeframes as timeframe_reads
from analysis.selectors.radar import DEFAULT_BARS, MORE_BARS_STEP, RadarError
from analysis.selectors.scanner import scanner_page
from marketdata.models import Timeframe

SYMBOL_SET_NOT_FOUND = gettext_lazy("No such {label} of yours.")
LOGIN_REQUIRED = "Login required: sign in at /accounts/login/ and send the session cookie."


def _bad_request_page(request, message: str):
    return render(
        request,
        "analysis/radar_error.html",
        {"page_title": _("Bad request"), "nav": "radar", "message": message},
        status=400,
    )


def _radar_view_swap(request) -> bool:
    """An htmx request from the Radar's own controls (not a history restore): answer with the
    `view` partial instead of the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _series_changed(request, params) -> bool:
    """Whether an htmx request shows another symbol or timeframe than the page it came from."""
    current = QueryDict(urlsplit(request.htmx.current_url or "").query)
    return (current.get("symbol", "").upper(), current.get("tf") or Timeframe.D1) != (
        params["symbol"],
        params["tf"],
    )


def _full_page(request):
    """For an htmx swap that cannot be answered with the chart (bad input, unknown symbol, no
    bars): the browser loads the page itself, which says why."""
    response = HttpResponse(status=204)
    response["HX-Redirect"] = request.get_full_path()
    return response


@require_GET
def radar(request):
    """The Trading Radar page: `/radar/?symbol=005930&tf=1d` (see RadarForm for the rest).

    An htmx request (the page's own controls, replay, "Load older") gets the `view` partial:
    the figure and every part of the page that depends on the query, rendered by the same code
    as the page, so a replayed bar reads exactly as the page opened with `?asof=` does.
    """
    form = RadarForm(request.GET)
    swap = _radar_view_swap(request)
    if not form.is_valid():
        return _full_page(request) if swap else _bad_request_page(request, errors_text(form))
    params = form.cleaned_data
    context = {
        "page_title": _("Trading Radar"),
        "nav": "radar",
        "form": form,
        "params": params,
        "timeframes": Timeframe.choices,
        "detectors": Detector.choices,
        "layers": LAYERS,
        "hidden": form.hidden_layers(),
        "overlay_choices": OVERLAY_CHOICES,
        "pane_choices": PANE_CHOICES,
        "layers_sentinel": LAYERS_SENTINEL,
        "tf": params["tf"],
        "default_bars": DEFAULT_BARS,
        "extensions": radar_extensions.page_assets(),
    }
    if not request.GET.get("symbol"):
        # The landing page (after login): the default stock, or the first one when it is absent.
        stock = radar_reads.default_stock(preferred=params["symbol"])
        if swap:
            return _full_page(request)
        if stock is None:
            return render(request, "analysis/radar_no_stocks.html", context)
        params["symbol"] = stock.code
    try:
        stock = radar_reads.stock_for_symbol(symbol=params["symbol"])
    except RadarError as error:
        results = radar_reads.stock_search(query=params["symbol"])
        if len(results) == 1:  # a name typed into the box and submitted: that stock
            query = request.GET.copy()
            query["symbol"] = results[0].code
            return redirect(f"{request.path}?{query.urlencode()}")  # htmx follows it
        if swap:
            return _full_page(request)
        context.update(message=error.message, query=params["symbol"], results=results)
        return render(request, "analysis/radar_unknown.html", context, status=404)
    context["stock"] = stock
    # Replay hides what came after the cursor, the other timeframes' current state included.
    context["timeframe_strip"] = (
        timeframe_reads.timeframe_strip(stock=stock, detector=params["detector"])
        if params["asof"] is None
        else []
    )
    context["symbol_controls"] = radar_extensions.symbol_controls(user=request.user, stock=stock)
    focus = (
        (params["focus_start"], params["focus_end"]) if params["focus_start"] is not None else None
    )
    try:
        data = radar_reads.radar_page_data(
            user=request.user,
            stock=stock,
            timeframe=params["tf"],
            bars=params["bars"],
            indicators=form.indicators(),
            hidden=context["hidden"],
            asof=params["asof"],
            focus=focus,
            candle_colors=request.candle_colors,
            detector=params["detector"],
        )
    except RadarError as error:
        if swap:
            return _full_page(request)
        if error.status == 400:
            return _bad_request_page(request, error.message)
        context["empty_message"] = error.message
        return render(request, "analysis/radar.html", context)
    context.update(
        data=data,
        more_bars=min(MORE_BARS_STEP, data["bars_stored"] - data["bars"]),
    )
    if swap:
        context.update(oob=True, swap_panels=_series_changed(request, params))
        return render(request, "analysis/radar.html#view", context)
    return render(request, "analysis/radar.html", context)


@require_GET
def radar_figure(request):
    """The Radar's figure dict as JSON (replay steps, "load older", labels changed)."""
    form = RadarForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": errors_text(form)}, status=400)
    params = form.cleaned_data
    focus = (
        (params["focus_start"], params["focus_end"]) if params["focus_start"] is not None else None
    )
    try:
        stock = radar_reads.stock_for_symbol(symbol=params["symbol"])
        data = radar_reads.radar_page_data(
            user=request.user,
            stock=stock,
            timeframe=params["tf"],
            bars=params["bars"],
            indicators=form.indicators(),
            hidden=form.hidden_layers(),
            asof=params["asof"],
            focus=focus,
            pattern_rows=False,
            candle_colors=request.candle_colors,
            detector=params["detector"],
        )
    except RadarError as error:
        return JsonResponse({"error": error.message}, status=error.status)
    return JsonResponse(
        {"figure": data["figure"], "bars": data["bars"], "bars_stored": data["bars_stored"]}
    )


@require_GET
def symbol_search(request):
    """Type-ahead over code and Korean name: an HTMX fragment, or a full page without HTMX."""
    # The Radar's own input submits its value as `symbol`; the search page's box as `q`.
    form = SymbolSearchForm({"q": request.GET.get("q") or request.GET.get("symbol", "")})
    query = form.cleaned_data["q"] if form.is_valid() else ""
    radar_form = RadarForm(request.GET)
    tf = radar_form.cleaned_data["tf"] if radar_form.is_valid() else Timeframe.D1
    # The Radar's layer, indicator and span choices survive picking another stock.
    keep = QueryDict(mutable=True)
    for name in ("bars", "detector", "layers", "ind", "pane"):
        keep.setlist(name, request.GET.getlist(name))
    context = {
        "query": query,
        "results": radar_reads.stock_search(query=query),
        "tf": tf,
        "keep_query": keep.urlencode(),
        "page_title": _("Find a stock"),
        "nav": "radar",
    }
    template = "analysis/symbol_search.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@login_not_required  # checked below, so that an API client gets a JSON 401, not a login page
@require_GET
def api_radar(request):
    """`GET /api/radar?symbol=005930&tf=1d&bars=500&detector=structural` — bars and their
    analysis by that swing detector (default: ANALYSIS_DEFAULT_DETECTOR) as JSON.

    Errors are JSON `{"error": …}`: 401 not logged in, 400 bad parameters (an unknown detector
    names the known ones), 404 unknown symbol or
    no bars stored yet (the message names the backfill command).
    """
    if not request.user.is_authenticated:
        return JsonResponse({"error": LOGIN_REQUIRED}, status=401)
    form = ApiRadarForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": errors_text(form)}, status=400)
    params = form.cleaned_data
    try:
        stock = radar_reads.stock_for_symbol(symbol=params["symbol"])
        payload = radar_reads.radar_api_payload(
            user=request.user,
            stock=stock,
            timeframe=params["tf"],
            bars=params["bars"],
            use_stored=params["stored"],
            detector=params["detector"],
        )
    except RadarError as error:
        return JsonResponse({"error": error.message}, status=error.status)
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})


def _symbol_set_filters(request) -> tuple[list[dict], object]:
    """The Scanner's filters by the user's own symbol sets (`radar_extensions.symbol_sets`, e.g.
    `?watchlist=<id>`): ([{"param", "label", "choices", "selected"}], the chosen set's stock ids
    or None). Http404 for a set that is not the user's."""
    filters, stock_ids = [], None
    for symbol_set in radar_extensions.symbol_sets():
        selected = request.GET.get(symbol_set.param, "")
        if selected:
            try:
                stock_ids = symbol_set.stock_ids(user=request.user, key=selected)
            except radar_extensions.SymbolSetNotFound:
                raise Http404(SYMBOL_SET_NOT_FOUND.format(label=symbol_set.label)) from None
        filters.append(
            {
                "param": symbol_set.param,
                "label": symbol_set.label,
                "choices": symbol_set.choices(user=request.user),
                "selected": selected,
            }
        )
    return filters, stock_ids


@require_GET
def scanner(request):
    """`/scanner/`: recent stored patterns across the market; filters, sort and page in the URL.

    An HTMX request (filters, sort, pages) gets the results fragment only.
    """
    form = ScannerForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "analysis/radar_error.html",
            {"page_title": _("Bad request"), "nav": "scanner", "message": errors_text(form)},
            status=400,
        )
    params = form.cleaned_data
    symbol_filters, stock_ids = _symbol_set_filters(request)
    page = scanner_page(
        timeframe=params["tf"],
        market=params["market"],
        pattern_type=params["type"],
        status=params["status"],
        days_back=params["days"],
        min_score=params["min_score"],
        sort=params["sort"],
        page=params["page"],
        stock_ids=stock_ids,
        detector=params["detector"],
    )
    context = {
        "page_title": _("Scanner"),
        "symbol_filters": symbol_filters,
        "nav": "scanner",
        "form": form,
        "params": params,
        "page": page,
        "sorts": SCANNER_SORTS,
    }
    template = "analysis/scanner.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@require_GET
def pattern_stats(request):
    """`/patterns/stats/`: per pattern type x timeframe x market, what completed patterns did
    afterwards (counts, outcome rates, median bars to target and excursions), an outcome
    histogram and the score's calibration curve. Filters live in the URL."""
    form = PatternStatsForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "analysis/radar_error.html",
            {"page_title": _("Bad request"), "nav": "stats", "message": errors_text(form)},
            status=400,
        )
    data = stats_reads.stats_page(
        pattern_type=form.cleaned_data["type"],
        timeframe=form.cleaned_data["tf"],
        market=form.cleaned_data["market"],
        detector=form.cleaned_data["detector"],
    )
    context = {"page_title": _("Pattern statistics"), "nav": "stats", "form": form, **data}
    return render(request, "analysis/pattern_stats.html", context)
