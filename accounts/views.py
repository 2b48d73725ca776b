from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods
from django.views.i18n import JavaScriptCatalog

from . import services
from .forms import PreferencesForm
from .selectors import SESSION_KEY, session_preferences


@require_http_methods(["GET", "POST"])
def preferences(request):
    """`/settings/`: the interface language and the candle colour convention of the user."""
    current = session_preferences(request=request)
    form = PreferencesForm(request.POST or None, initial=current.as_session())
    if request.method == "POST" and form.is_valid():
        saved = services.preferences_update(user=request.user, **form.cleaned_data)
        request.session[SESSION_KEY] = saved.as_session()
        # The confirmation reads in the language just chosen.
        translation.activate(saved.language or translation.get_language_from_request(request))
        messages.success(request, _("Settings saved."))
        return redirect("accounts:preferences")
    return render(
        request,
        "accounts/preferences.html",
        {"page_title": _("Settings"), "nav": "settings", "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_not_required
@cache_control(max_age=600, public=True)
def javascript_catalog(request, language: str):
    """`/jsi18n/<language>.js`: the JavaScript strings (djangojs.po) of one language, for
    `gettext()` in static/js/. The language is in the URL so that a browser may cache it."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        return JavaScriptCatalog.as_view()(request)
