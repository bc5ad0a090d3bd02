"""The one /api/v1/ router. Each app's ``api/urls.py`` registers its viewsets on it."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
