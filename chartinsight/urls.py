from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import set_language

from accounts.views import javascript_catalog

admin.site.site_header = _("ChartInsight Studio administration")
admin.site.site_title = "ChartInsight Studio"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="analysis:radar", permanent=False), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "favicon.ico",
        # Lazy: the static-files manifest is only read when the icon is first asked for.
        login_not_required(
            RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True)
        ),
    ),
    path("admin/", admin.site.urls),
    # POST (with CSRF) language, next: sets the language cookie (the login page's switch).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jsi18n/<str:language>.js", javascript_catalog, name="javascript-catalog"),
    path("", include("accounts.urls")),
    path("", include("marketdata.urls")),
    path("", include("analysis.urls")),
    path("labels/", include("labeling.urls")),
    path("", include("alerts.urls")),
]
