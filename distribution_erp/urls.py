from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.api.docs import login_page_first
from distribution_erp import health
from web.views import auth

# the admin's login counts failed logins like every other login (issue 12, finding 2)
admin.site.login_form = auth.ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/login/", auth.admin_login),
    path("admin/", admin.site.urls),
    path("health/", health.ready, name="health"),
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # behind a login when API_DOCS_REQUIRE_LOGIN (default: when DEBUG is off); see core/api/docs.py
    path("api/docs/", login_page_first(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
    path("api/redoc/", login_page_first(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
    path("api/v1/", include("distribution_erp.api.urls")),
    path("", include("web.urls")),
]
