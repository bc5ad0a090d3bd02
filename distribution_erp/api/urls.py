"""The /api/v1/ URLs: every app's api/urls.py registers its viewsets on the shared router
(distribution_erp.api.router) and may add plain paths; they are collected here."""

from importlib import import_module

from django.urls import include, path

from .router import router

APP_API_URLS = ["governance.api.urls", "inventory.api.urls", "orders.api.urls", "warehouse.api.urls"]

urlpatterns = []
for module_name in APP_API_URLS:
    urlpatterns += getattr(import_module(module_name), "urlpatterns", [])
urlpatterns.append(path("", include(router.urls)))
