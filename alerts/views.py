"""Watchlists, alert rules, notification settings and notifications (login required for all).

Another user's watchlist, rule or notification is a 404: every fetch filters by owner. Full-page
POSTs redirect; HTMX POSTs get the fragment they replace.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketdata.models import Timeframe

from . import selectors, services
from .forms import (
    AlertRuleForm,
    MoveForm,
    NecklineAlertForm,
    NotificationFilterForm,
    NotificationSettingsForm,
    SymbolForm,
    WatchlistNameForm,
)
from .models import AlertRule, Notification, Watchlist

RULE_SAVED = _("Alert saved: {rule}.")
NECKLINE_ALERT_CREATED = _("You will be notified when this pattern breaks its neckline: {rule}.")
NECKLINE_ALERT_EXISTS = _("You already have this alert: {rule}.")
FAILED_DELIVERIES_SHOWN = 20


def _first_error(form) -> str:
    for field, errors in form.errors.items():
        prefix = "" if field == "__all__" else f"{form.fields[field].label or field}: "
        return f"{prefix}{errors[0]}"
    return ""


def _back(request, fallback: str):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


# --- Watchlists -----------------------------------------------------------------------------


def _watchlists_context(request) -> dict:
    services.watchlist_default_get(user=request.user)
    watchlists = selectors.watchlists_of(user=request.user)
    rows = selectors.watchlist_rows(watchlists=watchlists)
    return {
        "page_title": _("Watchlists"),
        "nav": "watchlists",
        "watchlists": [(w, rows[w.pk]) for w in watchlists],
        "timeframes": Timeframe.values,
        "name_form": WatchlistNameForm(),
    }


@require_GET
def watchlists(request):
    """`/watchlists/`: every list with last close, change, trend per timeframe and the latest
    pattern of each symbol. An HTMX request (the page's periodic refresh) gets the lists only."""
    template = "alerts/watchlists.html"
    if request.htmx:
        template += "#lists"
    return render(request, template, _watchlists_context(request))


def _watchlist_done(request):
    if request.htmx:
        return render(request, "alerts/watchlists.html#lists", _watchlists_context(request))
    return redirect("alerts:watchlists")


@require_POST
def watchlist_create(request):
    form = WatchlistNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _watchlist_done(request)
    try:
        services.watchlist_create(user=request.user, name=form.cleaned_data["name"])
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return _watchlist_done(request)


@require_POST
def watchlist_rename(request, pk: int):
    watchlist = get_object_or_404(Watchlist, pk=pk, owner=request.user)
    form = WatchlistNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _watchlist_done(request)
    try:
        services.watchlist_rename(
            watchlist=watchlist, user=request.user, name=form.cleaned_data["name"]
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return _watchlist_done(request)


@require_POST
def watchlist_delete(request, pk: int):
    watchlist = get_object_or_404(Watchlist, pk=pk, owner=request.user)
    try:
        services.watchlist_delete(watchlist=watchlist, user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    return _watchlist_done(request)


@require_POST
def watchlist_move(request, pk: int):
    watchlist = get_object_or_404(Watchlist, pk=pk, owner=request.user)
    form = MoveForm(request.POST)
    if form.is_valid():
        services.watchlist_move(watchlist=watchlist, user=request.user, offset=form.offset)
    return _watchlist_done(request)


@require_POST
def watchlist_item_add(request, pk: int):
    watchlist = get_object_or_404(Watchlist, pk=pk, owner=request.user)
    form = SymbolForm(request.POST)
    if form.is_valid():
        services.watchlist_item_add(
            watchlist=watchlist, user=request.user, stock=form.cleaned_data["stock"]
        )
    else:
        messages.error(request, _first_error(form))
    return _watchlist_done(request)


@require_POST
def watchlist_item_remove(request, pk: int):
    watchlist = get_object_or_404(Watchlist, pk=pk, owner=request.user)
    form = SymbolForm(request.POST)
    if form.is_valid():
        services.watchlist_item_remove(
            watchlist=watchlist, user=request.user, stock=form.cleaned_data["stock"]
        )
    return _watchlist_done(request)


@require_POST
def watchlist_star(request):
    """The Radar's star: toggles the symbol on the default watchlist. HTMX gets the star."""
    form = SymbolForm(request.POST)
    if not form.is_valid():
        return render(
            request, "alerts/partials/_error.html", {"message": _first_error(form)}, status=400
        )
    stock = form.cleaned_data["stock"]
    starred = services.watchlist_star_toggle(user=request.user, stock=stock)
    if request.htmx:
        context = {"stock": stock, "starred": starred, "next": request.POST.get("next", "")}
        return render(request, "alerts/partials/_star.html", context)
    return _back(request, "alerts:watchlists")


# --- Rules ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def rules(request):
    """`/alerts/`: the user's rules and a form for a new one."""
    services.watchlist_default_get(user=request.user)  # offered as a scope from the start
    form = AlertRuleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        rule = services.alert_rule_create(user=request.user, spec=form.spec())
        messages.success(request, RULE_SAVED.format(rule=rule))
        return redirect("alerts:rules")
    return render(
        request,
        "alerts/rules.html",
        {
            "page_title": _("Alerts"),
            "nav": "alerts",
            "form": form,
            "rules": selectors.rules_of(user=request.user),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def rule_edit(request, pk: int):
    rule = get_object_or_404(
        AlertRule.objects.select_related("watchlist", "stock"), pk=pk, owner=request.user
    )
    form = AlertRuleForm(
        request.POST or None, user=request.user, initial=AlertRuleForm.initial_for(rule)
    )
    if request.method == "POST" and form.is_valid():
        services.alert_rule_update(rule=rule, user=request.user, spec=form.spec())
        messages.success(request, RULE_SAVED.format(rule=rule))
        return redirect("alerts:rules")
    return render(
        request,
        "alerts/rule_edit.html",
        {"page_title": _("Edit alert"), "nav": "alerts", "form": form, "rule": rule},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
def rule_toggle(request, pk: int):
    rule = get_object_or_404(
        AlertRule.objects.select_related("watchlist", "stock"), pk=pk, owner=request.user
    )
    services.alert_rule_set_active(rule=rule, user=request.user, active=not rule.is_active)
    if request.htmx:
        return render(request, "alerts/rules.html#rule", {"rule": rule})
    return redirect("alerts:rules")


@require_POST
def rule_delete(request, pk: int):
    rule = get_object_or_404(AlertRule, pk=pk, owner=request.user)
    services.alert_rule_delete(rule=rule, user=request.user)
    if request.htmx:
        return render(request, "alerts/partials/_empty.html")
    return redirect("alerts:rules")


@require_POST
def neckline_alert(request):
    """The Radar's "alert me on its neckline break" on one pattern (see the service)."""
    form = NecklineAlertForm(request.POST)
    if not form.is_valid():
        return render(
            request, "alerts/partials/_error.html", {"message": _first_error(form)}, status=400
        )
    data = form.cleaned_data
    rule, created = services.neckline_alert_create(
        user=request.user,
        stock=data["stock"],
        timeframe=data["tf"],
        pattern_type=data["pattern_type"],
        pattern_start_ts=data["start_ts"],
    )
    text = (NECKLINE_ALERT_CREATED if created else NECKLINE_ALERT_EXISTS).format(rule=rule)
    if request.htmx:
        return render(request, "alerts/partials/_neckline_alert_done.html", {"rule": rule})
    messages.success(request, text)
    return _back(request, "alerts:rules")


# --- Settings -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def alert_settings(request):
    """`/alerts/settings/`: e-mail and webhook delivery, the webhook secret, recent failures."""
    prefs = services.notification_settings_get(user=request.user)
    initial = {
        "email_enabled": prefs.email_enabled,
        "email": prefs.email,
        "webhook_enabled": prefs.webhook_enabled,
        "webhook_url": prefs.webhook_url,
    }
    form = NotificationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.notification_settings_update(user=request.user, **form.cleaned_data)
        messages.success(request, _("Notification settings saved."))
        return redirect("alerts:settings")
    failed = selectors.troubled_deliveries(user=request.user, limit=FAILED_DELIVERIES_SHOWN)
    return render(
        request,
        "alerts/settings.html",
        {
            "page_title": _("Alert settings"),
            "nav": "alerts",
            "form": form,
            "prefs": prefs,
            "failed": failed,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
def webhook_secret_rotate(request):
    services.webhook_secret_rotate(user=request.user)
    messages.success(request, _("New webhook secret generated; update your receiver."))
    return redirect("alerts:settings")


# --- Notifications --------------------------------------------------------------------------

NOTIFICATIONS_PAGE_SIZE = 50


@require_GET
def notifications(request):
    """`/notifications/`: newest first, 50 a page; `?unread=1` shows unread ones only."""
    form = NotificationFilterForm(request.GET)
    params = form.cleaned_data if form.is_valid() else {"unread": False, "page": 1}
    page = Paginator(
        selectors.notifications_of(user=request.user, unread_only=params["unread"]),
        NOTIFICATIONS_PAGE_SIZE,
    ).get_page(params["page"] or 1)
    return render(
        request,
        "alerts/notifications.html",
        {
            "page_title": _("Notifications"),
            "nav": "notifications",
            "page": page,
            "unread_only": params["unread"],
            "unread": selectors.unread_count(user=request.user),
        },
    )


@require_GET
def notification_open(request, pk: int):
    """Marks the notification read and opens the Radar at the event's bar."""
    notification = get_object_or_404(
        Notification.objects.select_related("stock"), pk=pk, owner=request.user
    )
    services.notification_mark_read(notification=notification, user=request.user)
    return redirect(notification.radar_url())


@require_POST
def notification_read(request, pk: int):
    notification = get_object_or_404(
        Notification.objects.select_related("stock", "rule"), pk=pk, owner=request.user
    )
    services.notification_mark_read(notification=notification, user=request.user)
    if request.htmx:
        return render(request, "alerts/notifications.html#row", {"n": notification})
    return _back(request, "alerts:notifications")


@require_POST
def notifications_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    text = ngettext(
        "%(count)d notification marked read.", "%(count)d notifications marked read.", count
    )
    messages.success(request, text % {"count": count})
    return redirect("alerts:notifications")
