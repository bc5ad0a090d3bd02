"""The /api/v1/ URLs: every app's api/urls.py registers its viewsets on the shared router
(core.api.router) and may add plain paths; they are collected here. Any other path under
/api/v1/ is a problem+json 404, never an HTML page."""

from importlib import import_module

from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from core.api.errors import plain_problem
from core.api.router import router

APP_API_URLS = [
    "governance.api.urls",
    "inventory.api.urls",
    "orders.api.urls",
    "warehouse.api.urls",
    "cutover.api.urls",
    "reporting.api.urls",
]


@csrf_exempt  # a write to no route is a 404 problem, not Django's HTML CSRF page (the API does not use the cookie)
def not_found(request, *args, **kwargs):
    return plain_problem(404, "No such API path.", code="not_found")


urlpatterns = []
for module_name in APP_API_URLS:
    urlpatterns += getattr(import_module(module_name), "urlpatterns", [])
urlpatterns.append(path("", include(router.urls)))
urlpatterns.append(re_path(r"^", not_found))
