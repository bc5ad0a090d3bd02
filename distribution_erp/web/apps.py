from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "distribution_erp.web"
    label = "web"
    verbose_name = "Browser pages"
