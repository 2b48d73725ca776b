from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

admin.site.site_header = "ChartInsight Studio administration"
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
    path("", include("marketdata.urls")),
    path("", include("analysis.urls")),
    path("labels/", include("labeling.urls")),
    path("", include("alerts.urls")),
]
